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

/// The live benchmark (README.md "Performance", issue "live benchmark"): not a timed test. Runs only with
/// `NVLB_LIVE_BENCH=1` (see `bench/live-bench.sh`), as root, in a release build.
///
/// Topology: namespace `gen` ─ veth ─ namespace `dut` ─ veth ─ namespace `sink`. A sendmmsg
/// generator in `gen` blasts 60-byte UDP frames of 256 flows; the forwarder under test in
/// `dut` forwards `d0` → `d1` unchanged; the figure is the sink interface's `rx_packets`
/// delta over the measured seconds (after one second of warm-up). Each mode runs in turn
/// in the same process, on the same topology, so the figures compare.
@Suite(.serialized) struct LiveBenchmark {
    static var enabled: Bool {
        ProcessInfo.processInfo.environment["NVLB_LIVE_BENCH"] == "1" && LiveIOTests.namespacesAvailable
    }

    /// Thread-crossing result slot.
    final class Box<T>: @unchecked Sendable {
        var value: T?
        let done = DispatchSemaphore(value: 0)
    }

    /// Runs `body` on a new thread inside namespace `namespace`.
    static func spawn<T>(in namespace: String, _ body: @escaping @Sendable () throws -> T) -> Box<Result<T, any Error>>
    {
        let box = Box<Result<T, any Error>>()
        let thread = Thread {
            box.value = Result { try NetworkNamespace.run(in: namespace) { try body() } }
            box.done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        return box
    }

    static func receivedPackets(_ namespace: String, _ interface: String) throws -> UInt64 {
        try NetworkNamespace.run(in: namespace) { NetworkNamespace.statistics(interface: interface)?.receivedPackets }
            ?? 0
    }

    @Test(.enabled(if: enabled, "set NVLB_LIVE_BENCH=1 and run as root (bench/live-bench.sh)"))
    func forwardedMppsOverVeth() throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = Double(environment["NVLB_LIVE_BENCH_SECONDS"] ?? "") ?? 5
        let batch = Int(environment["NVLB_LIVE_BENCH_BATCH"] ?? "") ?? 256
        // `nvlb` and `nvlb-w2`: the real engine (`nvlb run`, 1 or 2 workers); the others are
        // LiveForwarder modes (I/O only).
        let requested = (environment["NVLB_LIVE_BENCH_MODES"] ?? "naive,capture-inject,batched,batched-bypass")
            .split(separator: ",").map(String.init)
        let modes = requested.compactMap { LiveForwarder.Mode(rawValue: $0) }
        let engineModes = requested.filter { EngineRun.workers(mode: $0) != nil }
        let tag = environment["NVLB_LIVE_BENCH_TAG"] ?? "\(getpid() % 100_000)"
        let gen = "nvlb-lb-gen-\(tag)"
        let dut = "nvlb-lb-dut-\(tag)"
        let sink = "nvlb-lb-sink-\(tag)"
        let ip = LiveIOTests.run
        defer {
            for namespace in [gen, dut, sink] { _ = try? ip(["netns", "del", namespace]) }
        }
        for namespace in [gen, dut, sink] {
            _ = try ip(["netns", "add", namespace])
            _ = try ip(["netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
            _ = try ip(["netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"])
        }
        _ = try ip(["-n", gen, "link", "add", "g0", "type", "veth", "peer", "name", "d0", "netns", dut])
        _ = try ip(["-n", dut, "link", "add", "d1", "type", "veth", "peer", "name", "s0", "netns", sink])
        for (namespace, interface) in [(gen, "g0"), (dut, "d0"), (dut, "d1"), (sink, "s0")] {
            _ = try ip(["-n", namespace, "link", "set", interface, "up"])
        }
        for (namespace, interface) in [(gen, "g0"), (dut, "d0"), (dut, "d1"), (sink, "s0")] {
            try LiveIOTests.waitUntilUp([interface], in: namespace)
        }
        // CPUs: the forwarder on `dutCPU`, the generator and the sink's receive processing
        // (RPS) on the other, so that the DUT's CPU is not billed for the sink's kernel work,
        // as a real NIC's receiver would not be.
        let cpus = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let dutCPU = Int(environment["NVLB_LIVE_BENCH_DUT_CPU"] ?? "") ?? (cpus > 1 ? 1 : 0)
        let otherCPU = dutCPU == 0 && cpus > 1 ? 1 : 0
        _ = try ip([
            "netns", "exec", sink, "sh", "-c",
            "printf %x \(1 << otherCPU) > /sys/class/net/s0/queues/rx-0/rps_cpus",
        ])

        // 60-byte frames (the Ethernet minimum): valid external requests, TCP to the public VIP
        // 131.107.10.10:80 at nvlb's external MAC, 4,096 flows (16 clients × 256 ports), so that
        // the `nvlb` modes get real work and the fanout hash spreads the flows. The LiveForwarder
        // modes copy the same frames unchanged.
        let frames: [[UInt8]] = (0..<4096).map { (flow: Int) -> [UInt8] in
            let client = IPv4Address(203, 0, 113, UInt8(flow % 16 + 1))
            let port = UInt16(10_000 + flow / 16)
            let frame = FrameBuilder.tcp(
                srcMAC: MACAddress(rawValue: 0x02_00_00_00_00_01), dstMAC: EngineRun.externalMAC,
                src: client, dst: EngineRun.vip, sport: port, dport: 80, seq: UInt32(flow))
            return FrameBuilder.padded(frame)
        }
        let warmup = 1.0
        var report: [String] = []
        var json: [String] = []

        // The generator alone (no forwarder): what the offered load can be on this machine.
        do {
            let generator = Self.spawn(in: gen) {
                try LiveForwarder.generate(on: "g0", frames: frames, seconds: seconds, batch: batch, cpu: otherCPU)
            }
            let start = Date()
            let before = try Self.receivedPackets(dut, "d0")
            generator.done.wait()
            let after = try Self.receivedPackets(dut, "d0")
            let generated = try generator.value!.get()
            let mpps = Double(after - before) / Date().timeIntervalSince(start) / 1e6
            report.append(
                "generator alone: \(String(format: "%.3f", Double(generated.sent) / generated.seconds / 1e6)) Mpps sent, "
                    + "\(String(format: "%.3f", mpps)) Mpps received by d0 (no forwarder)")
            json.append("\"generator\": {\"mpps\": \(String(format: "%.4f", mpps))}")
        }
        for mode in modes {
            let total = warmup + seconds + 0.5
            let ready = LiveForwarder.Gate()
            let schedule = LiveForwarder.Schedule(seconds: total, cpu: dutCPU)
            let forwarder = Self.spawn(in: dut) {
                try LiveForwarder.run(mode: mode, from: "d0", to: "d1", schedule: schedule, batch: batch, ready: ready)
            }
            ready.wait()  // the forwarder opens its capture first
            let generator = Self.spawn(in: gen) {
                try LiveForwarder.generate(on: "g0", frames: frames, seconds: total, batch: batch, cpu: otherCPU)
            }
            Thread.sleep(forTimeInterval: warmup)
            let before = try Self.receivedPackets(sink, "s0")
            let start = Date()
            Thread.sleep(forTimeInterval: seconds)
            let after = try Self.receivedPackets(sink, "s0")
            let elapsed = Date().timeIntervalSince(start)
            generator.done.wait()
            forwarder.done.wait()
            let generated = try generator.value!.get()
            let forwarded = try forwarder.value!.get()
            let mpps = Double(after - before) / elapsed / 1e6
            let offered = Double(generated.sent) / generated.seconds / 1e6
            let perCall = forwarded.transmitCalls == 0 ? 0 : Double(forwarded.sent) / Double(forwarded.transmitCalls)
            report.append(
                "\(mode.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)) "
                    + "forwarded \(String(format: "%.3f", mpps)) Mpps at the sink "
                    + "(offered \(String(format: "%.3f", offered)) Mpps; forwarder read \(forwarded.received), "
                    + "sent \(forwarded.sent), failed \(forwarded.failed), "
                    + "\(String(format: "%.1f", perCall)) frames per transmit call)")
            json.append(
                "\"\(mode.rawValue)\": {\"mpps\": \(String(format: "%.4f", mpps)), "
                    + "\"offered_mpps\": \(String(format: "%.4f", offered)), \"received\": \(forwarded.received), "
                    + "\"sent\": \(forwarded.sent), \"failed\": \(forwarded.failed), "
                    + "\"transmit_calls\": \(forwarded.transmitCalls)}")
            #expect(forwarded.sent > 0)
            print(report.last!)
        }

        // The real engine: `nvlb run` in dut with external.interface = d0 and
        // underlay.interface = d1 — NAT and NVGRE encapsulation toward the DIPs' hosts, whose
        // PAs are static neighbours at s0's MAC. Steady rate at the sink, and nvlb's CPU time
        // (utime + stime of the whole process) over the same window: frames per CPU-second,
        // comparable to the drain figures (capacity of the CPU time it used).
        let sinkMAC = try ip(["netns", "exec", sink, "cat", "/sys/class/net/s0/address"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for mode in engineModes {
            let workers = EngineRun.workers(mode: mode)!
            let total = warmup + seconds + 0.5
            let cpuList = workers == 1 ? "\(dutCPU)" : (0..<min(workers, cpus)).map(String.init).joined(separator: ",")
            let engine = try EngineRun(
                namespace: dut, workers: workers, cpuList: cpuList, sinkMAC: sinkMAC,
                binary: environment["NVLB_LIVE_BENCH_NVLB"] ?? ".build/release/nvlb")
            defer { engine.stop() }
            let generator = Self.spawn(in: gen) {
                try LiveForwarder.generate(on: "g0", frames: frames, seconds: total, batch: batch, cpu: otherCPU)
            }
            Thread.sleep(forTimeInterval: warmup)
            let before = try Self.receivedPackets(sink, "s0")
            let cpuBefore = engine.cpuSeconds()
            let start = Date()
            Thread.sleep(forTimeInterval: seconds)
            let after = try Self.receivedPackets(sink, "s0")
            let cpuAfter = engine.cpuSeconds()
            let elapsed = Date().timeIntervalSince(start)
            generator.done.wait()
            let counters = engine.stop()
            let generated = try generator.value!.get()
            let mpps = Double(after - before) / elapsed / 1e6
            let offered = Double(generated.sent) / generated.seconds / 1e6
            let cpu = cpuAfter - cpuBefore
            let perCPUSecond = cpu > 0 ? Double(after - before) / cpu / 1e6 : 0
            let figure = { (key: String) -> String in counters[key].map { "\($0)" } ?? "?" }
            report.append(
                "\(mode.padding(toLength: 15, withPad: " ", startingAt: 0)) "
                    + "forwarded \(String(format: "%.3f", mpps)) Mpps at the sink "
                    + "(offered \(String(format: "%.3f", offered)) Mpps; \(workers) worker(s) on CPU \(cpuList); "
                    + "nvlb CPU \(String(format: "%.2f", cpu)) s in \(String(format: "%.2f", elapsed)) s = "
                    + "\(String(format: "%.3f", perCPUSecond)) M frames per CPU-second; final counters in=\(figure("in")) "
                    + "out=\(figure("out")) dropped=\(figure("dropped")) flows=\(figure("flows")) "
                    + "handoffs=\(figure("handoffs")) handoff_overflows=\(figure("handoff_overflows")) send_failures=\(figure("send_failures")) "
                    + "kernel_drops=\(figure("kernel_drops"))\(engine.drops.isEmpty ? "" : " drops: " + engine.drops))")
            json.append(
                "\"\(mode)\": {\"workers\": \(workers), \"mpps\": \(String(format: "%.4f", mpps)), "
                    + "\"offered_mpps\": \(String(format: "%.4f", offered)), "
                    + "\"cpu_seconds\": \(String(format: "%.3f", cpu)), \"seconds\": \(String(format: "%.3f", elapsed)), "
                    + "\"mframes_per_cpu_second\": \(String(format: "%.4f", perCPUSecond)), "
                    + [
                        "in", "out", "dropped", "flows", "handoffs", "handoff_overflows", "send_failures",
                        "kernel_drops",
                    ].map {
                        "\"\($0)\": \(counters[$0] ?? 0)"
                    }.joined(separator: ", ") + "}")
            #expect(after - before > 0)
            #expect(counters["out"] ?? 0 > 0)
            print(report.last!)
        }

        // Drain: the generator fills the forwarder's capture ring while it waits, then the
        // forwarder empties it alone — its capacity, without a generator competing for the CPUs.
        let drainFrames = UInt64(environment["NVLB_LIVE_BENCH_DRAIN_FRAMES"] ?? "") ?? 150_000
        let rounds = max(1, Int(environment["NVLB_LIVE_BENCH_DRAIN_ROUNDS"] ?? "") ?? 3)
        var drains: [LiveForwarder.Mode: [Double]] = [:]
        for _ in 0..<rounds {
            // Rounds interleave the modes, so that noise from other load spreads over all of them.
            for mode in modes {
                let gate = LiveForwarder.Gate()
                let ready = LiveForwarder.Gate()
                let schedule = LiveForwarder.Schedule(
                    seconds: 30, idleStopMilliseconds: 300, bufferBytes: 256 << 20, cpu: dutCPU)
                let forwarder = Self.spawn(in: dut) {
                    try LiveForwarder.run(
                        mode: mode, from: "d0", to: "d1", schedule: schedule, batch: batch, ready: ready, gate: gate)
                }
                ready.wait()
                let generator = Self.spawn(in: gen) {
                    try LiveForwarder.generate(
                        on: "g0", frames: frames, seconds: 60, batch: batch, limit: drainFrames, cpu: otherCPU)
                }
                generator.done.wait()
                let before = try Self.receivedPackets(sink, "s0")
                gate.open()
                forwarder.done.wait()
                let after = try Self.receivedPackets(sink, "s0")
                _ = try generator.value!.get()
                let forwarded = try forwarder.value!.get()
                let mpps = forwarded.activeSeconds > 0 ? Double(forwarded.sent) / forwarded.activeSeconds / 1e6 : 0
                drains[mode, default: []].append(mpps)
                let line =
                    "drain \(mode.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)) "
                    + "\(String(format: "%.3f", mpps)) Mpps: \(forwarded.sent) frames in "
                    + "\(String(format: "%.3f", forwarded.activeSeconds)) s (the ring held \(forwarded.received) "
                    + "of \(drainFrames) sent; sink saw \(after - before), failed \(forwarded.failed))"
                print("  " + line)
                #expect(after - before == forwarded.sent)
            }
        }
        for mode in modes {
            let values = (drains[mode] ?? [0]).sorted()
            let median = values[values.count / 2]
            report.append(
                "drain \(mode.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)) median "
                    + "\(String(format: "%.3f", median)) Mpps, best \(String(format: "%.3f", values.last!)) of "
                    + "\(values.count) rounds")
            json.append(
                "\"drain_\(mode.rawValue)\": {\"median_mpps\": \(String(format: "%.4f", median)), "
                    + "\"best_mpps\": \(String(format: "%.4f", values.last!)), \"rounds\": \(values.count)}")
        }
        print(
            "live benchmark: veth gen → dut → sink, 60-byte frames, \(seconds) s per mode, batch \(batch), \(cpus) CPUs, "
                + "forwarder on CPU \(dutCPU), generator and sink RPS on CPU \(otherCPU)")
        for line in report { print("  " + line) }
        let object =
            "{\"seconds\": \(seconds), \"batch\": \(batch), \"cpus\": \(cpus), \(json.joined(separator: ", "))}"
        print("live benchmark JSON: " + object)
        if let path = environment["NVLB_LIVE_BENCH_OUTPUT"] {
            try (object + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}

/// `nvlb run` in a namespace for the live benchmark: writes the configuration, starts the
/// process (pinned with taskset; nvlb pins its workers within the CPUs it is allowed), waits
/// until it runs, stops it with SIGTERM and reads its final counters from its log.
final class EngineRun {
    static let externalMAC = MACAddress(rawValue: 0x02_4C_42_00_00_01)
    static let vip = IPv4Address(131, 107, 10, 10)

    /// Workers of an engine mode: `nvlb` = 1, `nvlb-wN` = N; nil for other modes.
    static func workers(mode: String) -> Int? {
        if mode == "nvlb" { return 1 }
        guard mode.hasPrefix("nvlb-w"), let n = Int(mode.dropFirst(6)), n > 0 else { return nil }
        return n
    }

    /// One routing domain, four DIPs on two hosts (static neighbours at the sink's MAC), one
    /// external VIP with a TCP rule. nvlb's PA and VIP are not on any kernel interface.
    static func configuration(workers: Int, sinkMAC: String) -> String {
        """
        balancer:
          workers: \(workers)
          flow_table_capacity: 1048576
        underlay:
          interface: d1
          address: 192.168.6.2
          mac: 02:4c:42:00:06:02
          neighbors:
            - { address: 192.168.6.3, mac: \(sinkMAC) }
            - { address: 192.168.6.4, mac: \(sinkMAC) }
        external:
          interface: d0
          mac: 02:4c:42:00:00:01
          gateway_mac: 02:00:00:00:00:fe
        routing_domains:
          - name: blue
            gateway_mac: 02:4c:42:00:b1:00
            subnets: [5001]
            lookup_records:
              - { vsid: 5001, ca: 10.1.6.20, pa: 192.168.6.3, mac: 00:15:5d:01:06:20 }
              - { vsid: 5001, ca: 10.1.6.21, pa: 192.168.6.4, mac: 00:15:5d:01:06:21 }
              - { vsid: 5001, ca: 10.1.6.22, pa: 192.168.6.3, mac: 00:15:5d:01:06:22 }
              - { vsid: 5001, ca: 10.1.6.23, pa: 192.168.6.4, mac: 00:15:5d:01:06:23 }
        load_balancers:
          - name: web
            routing_domain: blue
            frontends: [ { vip: 131.107.10.10 } ]
            rules: [ { protocol: tcp, frontend_port: 80, backend_port: 80 } ]
            backends:
              - { vsid: 5001, ca: 10.1.6.20 }
              - { vsid: 5001, ca: 10.1.6.21 }
              - { vsid: 5001, ca: 10.1.6.22 }
              - { vsid: 5001, ca: 10.1.6.23 }

        """
    }

    let process = Process()
    let directory: String
    let logPath: String
    private var stopped: [String: UInt64]? = nil
    private(set) var drops = ""

    init(namespace: String, workers: Int, cpuList: String, sinkMAC: String, binary: String) throws {
        directory = NSTemporaryDirectory() + "nvlb-live-bench-\(getpid())-\(workers)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configPath = directory + "/nvlb.yaml"
        logPath = directory + "/nvlb.log"
        try Self.configuration(workers: workers, sinkMAC: sinkMAC).write(
            toFile: configPath, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)!
        // `ip netns exec` and `taskset` exec: the process id is nvlb's.
        process.executableURL = URL(fileURLWithPath: LiveIOTests.ipTool ?? "/usr/sbin/ip")
        process.arguments = [
            "netns", "exec", namespace, "taskset", "-c", cpuList, binary, "run", "--config", configPath,
            "--workers", "\(workers)", "--stats-interval", "0",
        ]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while !self.log.contains("nvlb running") {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw LiveIOError(
                    kind: .other, interface: "d0/d1", operation: "nvlb run", message: "did not start:\n\(self.log)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// utime + stime of the nvlb process (all its threads), in seconds.
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // After "pid (comm)": field 3 is state; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Sends SIGTERM (SIGKILL after 10 s), waits, and returns the `final counters` of its log.
    @discardableResult
    func stop() -> [String: UInt64] {
        if let stopped { return stopped }
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        var counters: [String: UInt64] = [:]
        if let line = log.split(separator: "\n").last(where: { $0.contains("final counters:") }) {
            let tail = line[line.range(of: "final counters:")!.upperBound...]
            let parts = tail.components(separatedBy: " drops: ")
            for pair in parts[0].split(separator: " ") {
                let kv = pair.split(separator: "=")
                if kv.count == 2, let value = UInt64(kv[1]) { counters[String(kv[0])] = value }
            }
            if parts.count > 1 { drops = parts[1] }
        }
        stopped = counters
        try? FileManager.default.removeItem(atPath: directory)
        return counters
    }
}
