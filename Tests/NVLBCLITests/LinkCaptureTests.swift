import Foundation
import NVLBIO
import NVLBLabSupport
import NVLBWire
import Testing

/// nvlb's own receive path (``LinkCapture``) on a veth pair whose sender keeps the kernel's
/// default offloads (checksum offload, TSO/GSO): a real kernel TCP sender in one namespace
/// sends to a listener in another, and every frame the capture yields on the receiving end
/// has valid checksums and fits the MTU (docs/packets.md "Frames from virtual links").
@Suite(.serialized) struct LinkCaptureTests {
    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Two namespaces joined by veth `nvs0` (10.77.0.1, sender side) ↔ `nvr0` (10.77.0.2),
    /// both at their default offloads and MTU 1500; deleted afterwards whatever happens.
    static func withTwoNamespaces(_ body: (_ sender: String, _ receiver: String) throws -> Void) throws {
        let tag = "\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        let sender = "nvlb-snd-\(tag)"
        let receiver = "nvlb-rcv-\(tag)"
        try LiveIOTests.ip("netns", "add", sender)
        defer { _ = try? LiveIOTests.ip("netns", "del", sender) }
        try LiveIOTests.ip("netns", "add", receiver)
        defer { _ = try? LiveIOTests.ip("netns", "del", receiver) }
        for namespace in [sender, receiver] {
            try LiveIOTests.ip("netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            try LiveIOTests.ip("netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        }
        try LiveIOTests.ip(
            "-n", sender, "link", "add", "nvs0", "type", "veth", "peer", "name", "nvr0", "netns", receiver)
        try LiveIOTests.ip("-n", sender, "addr", "add", "10.77.0.1/24", "dev", "nvs0")
        try LiveIOTests.ip("-n", receiver, "addr", "add", "10.77.0.2/24", "dev", "nvr0")
        try LiveIOTests.ip("-n", sender, "link", "set", "nvs0", "up")
        try LiveIOTests.ip("-n", receiver, "link", "set", "nvr0", "up")
        try body(sender, receiver)
    }

    /// Starts `python3 -c script` in `namespace`.
    static func spawn(in namespace: String, _ script: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: LiveIOTests.ipTool ?? "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace, python ?? "python3", "-c", script]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Read 64 frames at a time, and 7 at a time (a super-frame's segments, and the frames
    /// received behind it, then span several reads).
    @Test(
        .enabled(if: LiveIOTests.namespacesAvailable && python != nil, "needs root, ip netns and python3"),
        arguments: [64, 7])
    func kernelTCPSenderAtDefaultOffloadsYieldsCompleteMTUSizedFrames(batch: Int) throws {
        try Self.withTwoNamespaces { sender, receiver in
            let capture = try NetworkNamespace.run(in: receiver) { try LinkCapture(interface: "nvr0") }
            // The listener reads everything and closes; the sender writes 1 MiB in one go.
            let listener = try Self.spawn(
                in: receiver,
                """
                import socket
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("10.77.0.2", 5001)); s.listen(1); s.settimeout(10)
                c, _ = s.accept(); c.settimeout(10)
                while c.recv(1 << 16): pass
                c.close()
                """)
            defer { if listener.isRunning { listener.terminate() } }
            let size = 1 << 20
            let senderProcess = try Self.spawn(
                in: sender,
                """
                import socket, time
                for attempt in range(100):
                    try:
                        c = socket.create_connection(("10.77.0.2", 5001), timeout=10); break
                    except OSError: time.sleep(0.05)
                c.sendall(bytes((i * 7) & 0xFF for i in range(\(size))))
                c.close()
                """)
            defer { if senderProcess.isRunning { senderProcess.terminate() } }

            let buffers = FrameBuffers(count: 64)
            var frames = 0
            var invalid = 0
            var oversized = 0
            var payloadBytes = 0
            var finSeen = false
            var firstSequence: UInt32? = nil
            var covered = IndexSet()
            var contentMismatches = 0
            let deadline = Date().addingTimeInterval(20)
            while !finSeen, Date() < deadline {
                let n = try capture.receive(into: buffers.slots, maxFrames: batch, timeoutMilliseconds: 50)
                for i in 0..<n {
                    let bytes = Array(
                        UnsafeRawBufferPointer(start: buffers.slots.frame(i), count: buffers.slots.lengths[i]))
                    frames += 1
                    if bytes.count > 1514 { oversized += 1 }
                    guard let frame = ParsedFrame(bytes), let ip = frame.ipv4, let tcp = frame.tcp,
                        ip.source == IPv4Address(10, 77, 0, 1)
                    else { continue }
                    if !frame.checksumsValid { invalid += 1 }
                    if tcp.flags.contains(.syn) { firstSequence = tcp.sequenceNumber &+ 1 }
                    if tcp.flags.contains(.fin) { finSeen = true }
                    guard let first = firstSequence, !tcp.payload.isEmpty else { continue }
                    let offset = Int(tcp.sequenceNumber &- first)
                    payloadBytes += tcp.payload.count
                    covered.insert(integersIn: offset..<(offset + tcp.payload.count))
                    for (k, byte) in tcp.payload.enumerated() where byte != UInt8(truncatingIfNeeded: (offset + k) * 7)
                    {
                        contentMismatches += 1
                        break
                    }
                }
            }
            senderProcess.waitUntilExit()
            listener.waitUntilExit()
            let counters = capture.counters
            #expect(finSeen)
            #expect(frames > 0)
            #expect(invalid == 0, "frames with a wrong checksum: \(invalid) of \(frames)")
            #expect(oversized == 0, "frames over 1,514 bytes: \(oversized) of \(frames)")
            #expect(covered == IndexSet(integersIn: 0..<size), "payload coverage \(covered.count) of \(size)")
            #expect(contentMismatches == 0)
            #expect(payloadBytes >= size)
            // The sender's defaults are what this test is about: it did hand over partial
            // checksums and super-frames, and the capture finished them.
            #expect(counters.checksumsCompleted > 0, "\(counters)")
            #expect(counters.superframes > 0, "\(counters)")
            #expect(counters.segments > counters.superframes, "\(counters)")
            #expect(counters.unsupportedSuperframes == 0)
            print("LinkCapture: \(frames) frames, \(counters)")
        }
    }

    /// `SIOCETHTOOL` `ETHTOOL_GGRO`/`ETHTOOL_SGRO` on `interface` in `namespace`, with Python's
    /// `fcntl.ioctl` (an independent check of ``ReceiveCoalescing``): sets GRO to `value` when
    /// given, and returns GRO's state afterwards.
    static func gro(_ namespace: String, _ interface: String, set value: Int? = nil) throws -> Int {
        let script = """
            import array, fcntl, socket, struct
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            def call(command, data=0):
                buffer = array.array("B", struct.pack("II", command, data))
                fcntl.ioctl(s.fileno(), 0x8946, struct.pack("16sP", b"\(interface)", buffer.buffer_info()[0]))
                return struct.unpack("II", buffer.tobytes())[1]
            \(value.map { "call(0x2c, \($0))" } ?? "")
            print(call(0x2b))
            """
        let output = try LiveIOTests.run(["netns", "exec", namespace, python ?? "python3", "-c", script])
        return Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test(.enabled(if: LiveIOTests.namespacesAvailable && python != nil, "needs root, ip netns and python3"))
    func receiveCoalescingIsTurnedOffOnlyWhenOn() throws {
        try LiveIOTests.withVethPair { namespace in
            #expect(try Self.gro(namespace, "nv0a", set: 1) == 1)
            let first = try NetworkNamespace.run(in: namespace) { try ReceiveCoalescing.disable(on: "nv0a") }
            #expect(first.groTurnedOff)
            #expect(try Self.gro(namespace, "nv0a") == 0)
            let second = try NetworkNamespace.run(in: namespace) { try ReceiveCoalescing.disable(on: "nv0a") }
            #expect(!second.groTurnedOff && !second.lroTurnedOff)
            let missing = #expect(throws: LiveIOError.self) { try ReceiveCoalescing.disable(on: "nvlb-nope0") }
            #expect(missing?.kind == .noSuchDevice)
        }
    }

    /// A veth takes the 802.1Q tag off every received frame (into the packet's metadata);
    /// the capture puts it back, so tagged frames arrive byte for byte as sent.
    @Test(.enabled(if: LiveIOTests.namespacesAvailable, "needs root and network namespaces (ip netns)"))
    func taggedFramesArriveWithTheirTag() throws {
        try LiveIOTests.withVethPair { namespace in
            let frames = (0..<8).map { i in
                FrameBuilder.tcp(
                    srcMAC: MACAddress(rawValue: 0x02_00_00_00_00_0A),
                    dstMAC: MACAddress(rawValue: 0x02_00_00_00_00_0B),
                    src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2), sport: 1000, dport: 80,
                    flags: .ack, seq: UInt32(i) * 1000, payload: [UInt8](repeating: UInt8(i), count: 100 + i),
                    vlanID: 42 + UInt16(i))
            }
            let capture = try NetworkNamespace.run(in: namespace) { try LinkCapture(interface: "nv0b") }
            var transmitter = try NetworkNamespace.run(in: namespace) { try BatchTransmitter(interface: "nv0a") }
            LiveIOTests.send(frames, with: &transmitter)
            let buffers = FrameBuffers(count: 64)
            var received: [[UInt8]] = []
            let deadline = Date().addingTimeInterval(5)
            while received.count < frames.count, Date() < deadline {
                let n = try capture.receive(into: buffers.slots, maxFrames: 64, timeoutMilliseconds: 50)
                for i in 0..<n {
                    received.append(
                        Array(UnsafeRawBufferPointer(start: buffers.slots.frame(i), count: buffers.slots.lengths[i])))
                }
            }
            #expect(received == frames)
            #expect(capture.counters.vlanTagsRestored == UInt64(frames.count))
        }
    }
}
