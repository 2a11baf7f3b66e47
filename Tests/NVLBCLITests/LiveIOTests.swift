import Foundation
import NVLBIO
import NVLBLabSupport
import NVLBWire
import Testing

/// Live I/O on real (virtual) interfaces: a veth pair inside a network namespace made for
/// the test, removed afterwards whatever happens. Needs root and `ip netns`; skipped with a
/// message otherwise.
@Suite(.serialized) struct LiveIOTests {
    // MARK: Fixtures

    /// `ip`, when this machine has it.
    static let ipTool: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Root and `ip` are there, and a namespace can be made (not in an unprivileged container).
    static let namespacesAvailable: Bool = {
        guard getuid() == 0, ipTool != nil else { return false }
        let name = "nvlb-probe-\(getpid())"
        guard (try? ip("netns", "add", name)) != nil else { return false }
        _ = try? ip("netns", "del", name)
        return true
    }()

    @discardableResult
    static func ip(_ arguments: String...) throws -> String { try run(arguments) }

    /// Runs `ip` with `arguments`; its output, or an error with it when it fails.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ipTool ?? "/usr/sbin/ip")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw LiveIOError(
                kind: .other, interface: arguments.joined(separator: " "), operation: "ip", message: text)
        }
        return text
    }

    /// Runs `body(namespace)` with a new namespace holding an up veth pair `nv0a` ↔ `nv0b`
    /// (IPv6 off, so the kernel sends nothing on its own); deletes the namespace (and the
    /// pair) afterwards, also when `body` throws.
    static func withVethPair(_ body: (String) throws -> Void) throws {
        let namespace = "nvlb-test-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        try ip("netns", "add", namespace)
        defer { _ = try? ip("netns", "del", namespace) }
        try ip("netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        try ip("netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        try ip("-n", namespace, "link", "add", "nv0a", "type", "veth", "peer", "name", "nv0b")
        try ip("-n", namespace, "link", "set", "nv0a", "up")
        try ip("-n", namespace, "link", "set", "nv0b", "up")
        try waitUntilUp(["nv0a", "nv0b"], in: namespace)
        try body(namespace)
    }

    /// Waits until each of `interfaces` in `namespace` is operationally up with its qdisc
    /// attached. `link set up` returns before the kernel's link watcher (a work item,
    /// late on a loaded machine) brings the carrier up and replaces the `noop` qdisc, which
    /// drops every frame sent before then; a test that sent at once could lose its frames.
    /// Polls `ip link show` (a bounded wait on the event, not a fixed delay).
    static func waitUntilUp(_ interfaces: [String], in namespace: String, seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        for interface in interfaces {
            while true {
                let line = try run(["-n", namespace, "-o", "link", "show", "dev", interface])
                if line.contains(" state UP "), !line.contains(" qdisc noop ") { break }
                guard Date() < deadline else {
                    throw LiveIOError(
                        kind: .other, interface: interface, operation: "ip link show",
                        message: "not up after \(seconds) s: \(line)")
                }
                usleep(1_000)
            }
        }
    }

    /// Ethertype of the test frames (IEEE local experimental).
    static let testEtherType: UInt16 = 0x88B5

    /// A 60-byte frame of `testEtherType` carrying `sequence` in its first payload bytes.
    static func numberedFrame(_ sequence: UInt32, length: Int = 60) -> [UInt8] {
        var payload = [UInt8](repeating: 0xA5, count: length - 14)
        withUnsafeBytes(of: sequence.bigEndian) { payload.replaceSubrange(0..<4, with: $0) }
        return FrameBuilder.ethernet(
            destination: MACAddress(rawValue: 0x02_00_00_00_00_0B), source: MACAddress(rawValue: 0x02_00_00_00_00_0A),
            etherType: testEtherType, payload: payload)
    }

    /// Sends `frames` with `transmitter` (copied into buffers first: `append` keeps pointers
    /// until the flush) and flushes.
    static func send(_ frames: [[UInt8]], with transmitter: inout BatchTransmitter) {
        let buffers = FrameBuffers(count: frames.count, slotSize: 2048, headroom: 0)
        for (i, frame) in frames.enumerated() {
            frame.withUnsafeBytes { buffers.slots.frame(i).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            transmitter.append(buffers.slots.frame(i), length: frame.count)
        }
        transmitter.flush()
    }

    /// Receives until `expected` frames arrived or `seconds` passed; returns the frames.
    static func receiveAll(
        _ capture: borrowing LiveCapture, expected: Int, seconds: Double = 5
    ) throws -> [[UInt8]] {
        let buffers = FrameBuffers(count: 64)
        var frames: [[UInt8]] = []
        let deadline = Date().addingTimeInterval(seconds)
        while frames.count < expected, Date() < deadline {
            let count = try capture.receive(into: buffers.slots, maxFrames: 64, timeoutMilliseconds: 50)
            for i in 0..<count {
                frames.append(
                    Array(UnsafeRawBufferPointer(start: buffers.slots.frame(i), count: buffers.slots.lengths[i])))
            }
        }
        return frames
    }

    // MARK: Errors

    @Test func missingInterfaceIsNamedInTheError() throws {
        let error = #expect(throws: LiveIOError.self) { _ = try LiveCapture(interface: "nvlb-nope0") }
        #expect(error?.kind == .noSuchDevice)
        #expect(error?.description.contains("nvlb-nope0") == true)
        #expect(error?.description.contains("no such device") == true)
        let sendError = #expect(throws: LiveIOError.self) { _ = try BatchTransmitter(interface: "nvlb-nope0") }
        #expect(sendError?.kind == .noSuchDevice)
        #expect(sendError?.description.contains("nvlb-nope0") == true)
    }

    @Test(.enabled(if: namespacesAvailable, "needs root and network namespaces (ip netns)"))
    func missingNamespaceIsAnError() {
        let error = #expect(throws: LiveIOError.self) { try NetworkNamespace.run(in: "nvlb-no-such-ns") {} }
        #expect(error?.kind == .noSuchDevice)
    }

    // MARK: Round trip

    @Test(.enabled(if: namespacesAvailable, "needs root and network namespaces (ip netns)"))
    func batchTransmitterFramesAllReachLiveCapture() throws {
        try Self.withVethPair { namespace in
            let filter = "ether proto 0x88b5"
            var options = LiveCapture.Options(fanout: PacketFanout(groupID: 0x4e56))
            options.filter = filter
            var ownOptions = LiveCapture.Options()
            ownOptions.filter = filter
            let receiver = try NetworkNamespace.run(in: namespace) {
                try LiveCapture(interface: "nv0b", options: options)
            }
            var transmitter = try NetworkNamespace.run(in: namespace) {
                try BatchTransmitter(interface: "nv0a", capacity: 64)
            }
            let senderSide = try NetworkNamespace.run(in: namespace) {
                try LiveCapture(interface: "nv0a", options: ownOptions)
            }
            #expect(receiver.warnings.isEmpty)

            let total = 2000
            let frames = (0..<total).map { Self.numberedFrame(UInt32($0), length: 60 + $0 % 1400) }
            var received: [[UInt8]] = []
            for chunk in stride(from: 0, to: total, by: 64) {
                Self.send(Array(frames[chunk..<min(total, chunk + 64)]), with: &transmitter)
                received += try Self.receiveAll(receiver, expected: min(total, chunk + 64) - chunk, seconds: 10)
            }
            #expect(transmitter.counters.framesSent == UInt64(total))
            #expect(transmitter.counters.framesFailed == 0)
            #expect(received.count == total)
            #expect(received == frames)
            #expect(receiver.truncatedFrames == 0)
            // PCAP_D_IN: the sender's own capture does not see what it sent.
            #expect(try Self.receiveAll(senderSide, expected: 1, seconds: 0.2).isEmpty)
            _ = consume senderSide
        }
    }

    @Test(.enabled(if: namespacesAvailable, "needs root and network namespaces (ip netns)"))
    func framesLandAfterTheHeadroomAndLongOnesAreTruncated() throws {
        try Self.withVethPair { namespace in
            var options = LiveCapture.Options()
            options.filter = "ether proto 0x88b5"
            let capture = try NetworkNamespace.run(in: namespace) {
                try LiveCapture(interface: "nv0b", options: options)
            }
            var transmitter = try NetworkNamespace.run(in: namespace) { try BatchTransmitter(interface: "nv0a") }
            let short = Self.numberedFrame(1, length: 100)
            let long = Self.numberedFrame(2, length: 1500)
            Self.send([short, long], with: &transmitter)

            let buffers = FrameBuffers(count: 4, slotSize: 1024, headroom: 64)
            var count = 0
            // Both frames are on their way once `send` returned (the links are up): wait for
            // them with a generous bound rather than a tight one a loaded machine can miss.
            let deadline = Date().addingTimeInterval(20)
            while count < 2, Date() < deadline {
                count += try capture.receive(
                    into: buffers.slots, startingAt: count, maxFrames: 2 - count, timeoutMilliseconds: 50)
            }
            #expect(count == 2)
            let slots = buffers.slots
            #expect(slots.lengths[0] == 100)
            #expect(Array(UnsafeRawBufferPointer(start: slots.frame(0), count: 100)) == short)
            #expect(UnsafeRawBufferPointer(start: slots.slot(0), count: 64).allSatisfy { $0 == 0 })
            #expect(slots.lengths[1] == 1024 - 64)
            #expect(Array(UnsafeRawBufferPointer(start: slots.frame(1), count: 960)) == Array(long[0..<960]))
            #expect(capture.truncatedFrames == 1)
        }
    }

    // MARK: Fanout

    /// Which of `captures` each frame landed in, keyed by the frame's bytes.
    static func membership(_ captures: borrowing [LiveCaptureBox], expected: Int) throws -> [[UInt8]: Int] {
        var result: [[UInt8]: Int] = [:]
        let deadline = Date().addingTimeInterval(10)
        while result.count < expected, Date() < deadline {
            for (index, box) in captures.enumerated() {
                for frame in try receiveAll(box.capture, expected: 1, seconds: 0.01) { result[frame] = index }
            }
        }
        return result
    }

    @Test(.enabled(if: namespacesAvailable, "needs root and network namespaces (ip netns)"))
    func fanoutHashKeepsBothDirectionsOfAFlowTogether() throws {
        try Self.withVethPair { namespace in
            var options = LiveCapture.Options(fanout: PacketFanout(groupID: 7, mode: .hash))
            options.filter = "ip"
            let captures = try NetworkNamespace.run(in: namespace) {
                [
                    LiveCaptureBox(try LiveCapture(interface: "nv0b", options: options)),
                    LiveCaptureBox(try LiveCapture(interface: "nv0b", options: options)),
                ]
            }
            var arpOptions = LiveCapture.Options(fanout: PacketFanout(groupID: 8, mode: .hash))
            arpOptions.filter = "arp"
            let arpCaptures = try NetworkNamespace.run(in: namespace) {
                [
                    LiveCaptureBox(try LiveCapture(interface: "nv0b", options: arpOptions)),
                    LiveCaptureBox(try LiveCapture(interface: "nv0b", options: arpOptions)),
                ]
            }
            var transmitter = try NetworkNamespace.run(in: namespace) { try BatchTransmitter(interface: "nv0a") }
            let macA = MACAddress(rawValue: 0x02_00_00_00_00_0A)
            let macB = MACAddress(rawValue: 0x02_00_00_00_00_0B)
            let client = IPv4Address(203, 0, 113, 9)
            let server = IPv4Address(10, 1, 6, 21)
            let vip = IPv4Address(131, 107, 10, 10)
            let hostPA = IPv4Address(192, 168, 6, 4)
            let nvlbPA = IPv4Address(192, 168, 6, 2)

            /// Sends each pair and returns the fraction of pairs whose two frames reached the
            /// same member, and how many frames each member got.
            func measure(_ pairs: [([UInt8], [UInt8])]) throws -> (symmetric: Double, perMember: [Int]) {
                let frames = pairs.flatMap { [$0.0, $0.1] }
                Self.send(frames, with: &transmitter)
                let landed = try Self.membership(captures, expected: frames.count)
                #expect(landed.count == frames.count)
                let together = pairs.filter { landed[$0.0] != nil && landed[$0.0] == landed[$0.1] }.count
                let perMember = (0..<captures.count).map { member in landed.values.filter { $0 == member }.count }
                return (Double(together) / Double(pairs.count), perMember)
            }

            let ports = (0..<64).map { UInt16(40000 + $0 * 17) }
            // Plain 5-tuple, both directions (the external side without NAT).
            let plain = ports.map { port in
                (
                    FrameBuilder.udp(srcMAC: macA, dstMAC: macB, src: client, dst: server, sport: port, dport: 80),
                    FrameBuilder.udp(srcMAC: macB, dstMAC: macA, src: server, dst: client, sport: 80, dport: port)
                )
            }
            let plainResult = try measure(plain)
            #expect(plainResult.symmetric == 1.0)
            #expect(plainResult.perMember.allSatisfy { $0 > 0 })

            // Across nvlb's NAT: client → VIP in, DIP → client back (docs/packets.md "Packet paths").
            let natted = ports.map { port in
                (
                    FrameBuilder.udp(srcMAC: macA, dstMAC: macB, src: client, dst: vip, sport: port, dport: 80),
                    FrameBuilder.encapsulate(
                        inner: FrameBuilder.udp(
                            srcMAC: macA, dstMAC: macB, src: server, dst: client, sport: 80, dport: port),
                        outerSourceMAC: macA, outerDestinationMAC: macB, outerSource: hostPA,
                        outerDestination: nvlbPA, vsid: 5001, flowID: UInt8(truncatingIfNeeded: port))
                )
            }
            let natResult = try measure(natted)

            // NVGRE both ways between the same PAs with the same key (no NAT inside).
            let tunnelled = ports.map { port in
                (
                    FrameBuilder.encapsulate(
                        inner: FrameBuilder.udp(
                            srcMAC: macA, dstMAC: macB, src: client, dst: server, sport: port, dport: 80),
                        outerSourceMAC: macA, outerDestinationMAC: macB, outerSource: hostPA,
                        outerDestination: nvlbPA, vsid: 5001),
                    FrameBuilder.encapsulate(
                        inner: FrameBuilder.udp(
                            srcMAC: macB, dstMAC: macA, src: server, dst: client, sport: 80, dport: port),
                        outerSourceMAC: macB, outerDestinationMAC: macA, outerSource: nvlbPA,
                        outerDestination: hostPA, vsid: 5001)
                )
            }
            let tunnelResult = try measure(tunnelled)

            // ARP carries no addresses or ports the kernel's flow hash uses: every ARP frame,
            // from any host, lands on one member (NeighborCache's ownership note relies on it).
            let arpFrames = (1...32).map { host in
                FrameBuilder.padded(
                    FrameBuilder.arpReply(
                        senderMAC: MACAddress(rawValue: 0x02_00_00_00_06_00 + UInt64(host)),
                        senderIP: IPv4Address(192, 168, 6, UInt8(host + 10)), targetMAC: macB, targetIP: nvlbPA))
            }
            Self.send(arpFrames, with: &transmitter)
            let arpLanded = try Self.membership(arpCaptures, expected: arpFrames.count)
            #expect(arpLanded.count == arpFrames.count)
            #expect(Set(arpLanded.values).count == 1)
            print(
                "PACKET_FANOUT_HASH, 2 members, 64 flows: plain 5-tuple both directions \(plainResult.symmetric * 100)% "
                    + "together \(plainResult.perMember); across NAT \(natResult.symmetric * 100)% together; "
                    + "NVGRE same key both directions \(tunnelResult.symmetric * 100)% together")
        }
    }

    @Test(.enabled(if: namespacesAvailable, "needs root and network namespaces (ip netns)"))
    func fanoutGroupWithAnotherModeIsRefused() throws {
        try Self.withVethPair { namespace in
            try NetworkNamespace.run(in: namespace) {
                let first = try LiveCapture(interface: "nv0b", options: .init(fanout: PacketFanout(groupID: 9)))
                let error = #expect(throws: LiveIOError.self) {
                    _ = try LiveCapture(
                        interface: "nv0b", options: .init(fanout: PacketFanout(groupID: 9, mode: .roundRobin)))
                }
                #expect(error?.operation.contains("PACKET_FANOUT") == true)
                _ = consume first
            }
        }
    }
}

/// A class box so that non-copyable captures can sit in an array.
final class LiveCaptureBox {
    let capture: LiveCapture
    init(_ capture: consuming LiveCapture) { self.capture = capture }
}
