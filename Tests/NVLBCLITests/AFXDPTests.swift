import Foundation
import NVLBIO
import NVLBLabSupport
import NVLBTestSupport
import NVLBWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The af_xdp I/O backend (docs/afxdp.md) through `nvlb run` in a namespace made for the
/// test: a veth pair `dut` (nvlb's underlay, external traffic shares it) ↔ `peer` (where the
/// test sends a generated capture and captures what nvlb sends back). Root only; skipped with
/// the reason otherwise.
@Suite(.serialized) struct AFXDPTests {
    /// Why the suite cannot run here, or nil.
    static let unavailableReason: String? = {
        guard LiveIOTests.namespacesAvailable else { return "needs root and network namespaces ('ip netns')" }
        guard FileManager.default.isExecutableFile(atPath: nvlb.path) else {
            return "nvlb is not built (looked in \(nvlb.path))"
        }
        guard xdpObject() != nil else { return "the XDP program nvlb_xdp.o is not built and clang cannot build it" }
        return nil
    }()

    static let binDirectory: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent()
    static var nvlb: URL { binDirectory.appendingPathComponent("nvlb") }

    /// The compiled program next to nvlb (`make build` puts it there); compiled here when
    /// only `swift build` ran.
    static func xdpObject() -> String? {
        let path = binDirectory.appendingPathComponent("nvlb_xdp.o").path
        if FileManager.default.isReadableFile(atPath: path) { return path }
        let source = TestSupport.repositoryRoot.appendingPathComponent("bpf/nvlb_xdp.c").path
        var arch = utsname()
        uname(&arch)
        let machine = withUnsafeBytes(of: &arch.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let status = try? run(
            "/usr/bin/clang",
            ["-O2", "-g", "-target", "bpf", "-I/usr/include/\(machine)-linux-gnu", "-c", source, "-o", path])
        return status == 0 ? path : nil
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Runs `body(namespace)` with a new namespace holding an up veth pair `dut` ↔ `peer`
    /// (IPv6 off); deletes the namespace afterwards, also when `body` throws.
    static func withVethPair(_ body: (String) throws -> Void) throws {
        let namespace = "nvlb-xdp-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        try LiveIOTests.ip("netns", "add", namespace)
        defer { _ = try? LiveIOTests.ip("netns", "del", namespace) }
        try LiveIOTests.ip("netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        try LiveIOTests.ip("netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        try LiveIOTests.ip("-n", namespace, "link", "add", "dut", "type", "veth", "peer", "name", "peer")
        try LiveIOTests.ip("-n", namespace, "link", "set", "dut", "up")
        try LiveIOTests.ip("-n", namespace, "link", "set", "peer", "up")
        try LiveIOTests.waitUntilUp(["dut", "peer"], in: namespace)
        try body(namespace)
    }

    /// Config/example.yaml on `dut`, the external side sharing it.
    static func configuration(in directory: URL) throws -> URL {
        let text = try String(contentsOfFile: TestSupport.configPath("example.yaml"), encoding: .utf8)
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  interface: pa0") {
                lines.append("  interface: dut")
            } else if line.hasPrefix("  interface: ext0") {
                continue
            } else {
                lines.append(String(line))
            }
        }
        let url = directory.appendingPathComponent("afxdp.yaml")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// `nvlb run` in `namespace`, its log in `log`.
    final class Daemon {
        let process = Process()
        let log: URL

        init(namespace: String, configuration: URL, io: String, workers: Int, log: URL) throws {
            self.log = log
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.executableURL = URL(fileURLWithPath: LiveIOTests.ipTool ?? "/usr/sbin/ip")
            process.arguments = [
                "netns", "exec", namespace, AFXDPTests.nvlb.path, "run", "--config", configuration.path, "--io", io,
                "--workers", String(workers), "--stats-interval", "0", "--log-level", "debug",
            ]
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// Waits until the log shows `marker` (nvlb logs it once its workers run), at most `seconds`.
        func waitFor(_ marker: String, seconds: Double = 30) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if text.contains(marker) { return true }
                if !process.isRunning { return false }
                usleep(20_000)
            }
            return false
        }

        func signal(_ signal: Int32) {
            // `ip netns exec` execs nvlb: the process is nvlb itself.
            kill(process.processIdentifier, signal)
        }

        /// SIGTERM and the exit status (nil when it did not exit within `seconds`).
        func stop(seconds: Double = 20) -> Int32? {
            signal(SIGTERM)
            return waitForExit(seconds: seconds)
        }

        func waitForExit(seconds: Double) -> Int32? {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }

        /// A `key=value` figure of the final counters line.
        func finalCounter(_ key: String) -> UInt64? {
            guard let line = text.split(separator: "\n").last(where: { $0.contains("final counters:") }) else {
                return nil
            }
            for field in line.split(separator: " ") where field.hasPrefix("\(key)=") {
                return UInt64(field.dropFirst(key.count + 1))
            }
            return nil
        }
    }

    /// What one run forwarded: the IPv4 frames captured on `peer`, and nvlb's log.
    struct Outcome {
        var frames: [[UInt8]]
        var log: String
        var handoffs: UInt64?
        var flows: UInt64?
        var checksumDrops: UInt64?
        var steered: UInt64?
        var status: Int32?
    }

    /// Starts nvlb with `io` and `workers` in a fresh namespace, sends `input` on `peer`,
    /// collects what comes back until `expected` IPv4 frames arrived (or 20 s), stops nvlb.
    static func forward(
        _ input: [CapturedFrame], expected: Int, io: String, workers: Int, configuration: URL, directory: URL
    ) throws -> Outcome {
        var outcome = Outcome(frames: [], log: "")
        try Self.withVethPair { namespace in
            let daemon = try Daemon(
                namespace: namespace, configuration: configuration, io: io, workers: workers,
                log: directory.appendingPathComponent("nvlb-\(io)-\(workers).log"))
            defer { if daemon.process.isRunning { _ = daemon.stop() } }
            try #require(daemon.waitFor("Starting service"), "nvlb did not start:\n\(daemon.text)")
            var options = LinkCapture.Options()
            options.snapshotLength = 9600
            let capture = try NetworkNamespace.run(in: namespace) {
                try LinkCapture(interface: "peer", options: options)
            }
            var transmitter = try NetworkNamespace.run(in: namespace) { try BatchTransmitter(interface: "peer") }
            let buffers = FrameBuffers(count: 64, slotSize: 9600 + 128, headroom: 64)
            var received: [[UInt8]] = []
            func drain() throws {
                while true {
                    let n = try capture.read(into: buffers.slots, startingAt: 0, maxFrames: 64)
                    if n == 0 { return }
                    for i in 0..<n {
                        let bytes = Array(
                            UnsafeRawBufferPointer(start: buffers.slots.frame(i), count: buffers.slots.lengths[i]))
                        // nvlb's own ARP requests are not part of the comparison.
                        if bytes.count >= 14, bytes[12] == 0x08, bytes[13] == 0x00 { received.append(bytes) }
                    }
                }
            }
            // Batches of 128, each sent once nvlb has answered most of the previous ones:
            // the receive rings never overflow, whatever the machine's load.
            var sent = 0
            for chunk in stride(from: 0, to: input.count, by: 128) {
                for frame in input[chunk..<min(chunk + 128, input.count)] {
                    frame.bytes.withUnsafeBytes { transmitter.append($0.baseAddress!, length: $0.count) }
                }
                transmitter.flush()
                sent = min(chunk + 128, input.count)
                let target = expected * sent / input.count - 128
                let deadline = Date().addingTimeInterval(10)
                while received.count < target && Date() < deadline {
                    _ = try capture.wait(timeoutMilliseconds: 50)
                    try drain()
                }
            }
            let deadline = Date().addingTimeInterval(20)
            while received.count < expected && Date() < deadline {
                _ = try capture.wait(timeoutMilliseconds: 50)
                try drain()
            }
            outcome.status = daemon.stop()
            try drain()
            outcome.frames = received
            outcome.log = daemon.text
            outcome.handoffs = daemon.finalCounter("handoffs")
            outcome.flows = daemon.finalCounter("flows")
            outcome.checksumDrops = daemon.finalCounter("checksum_drops")
            outcome.steered = daemon.finalCounter("xdp_steered")
        }
        return outcome
    }

    /// A generated capture (clients of every VIP and the DIPs' answers) and what `nvlb
    /// replay` makes of it.
    static func traffic(configuration: URL, directory: URL, flows: Int) throws -> (
        input: [CapturedFrame], replayed: [[UInt8]]
    ) {
        let input = directory.appendingPathComponent("in.pcap").path
        let output = directory.appendingPathComponent("out.pcap").path
        #expect(
            try run(
                nvlb.path,
                [
                    "gen", "--config", configuration.path, "--output", input, "--flows", String(flows), "--replies",
                    "--seed", "7",
                ]) == 0)
        #expect(
            try run(nvlb.path, ["replay", "--config", configuration.path, "--input", input, "--output", output]) == 0)
        var reader = try PcapFileReader(path: input)
        let frames = try reader.readAll()
        var replayReader = try PcapFileReader(path: output)
        let replayed = try replayReader.readAll().map(\.bytes).filter { $0.count >= 14 && $0[12] == 8 && $0[13] == 0 }
        return (frames, replayed)
    }

    static func sorted(_ frames: [[UInt8]]) -> [[UInt8]] {
        frames.sorted { $0.lexicographicallyPrecedes($1) }
    }

    @Test("af_xdp forwards a generated capture byte for byte as pcap does; 2 workers: 0 hand-offs")
    func sameFramesAsPcap() throws {
        if let reason = Self.unavailableReason { try Test.cancel(Comment(rawValue: reason)) }
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = try Self.configuration(in: directory)
        let (input, replayed) = try Self.traffic(configuration: configuration, directory: directory, flows: 400)
        try #require(replayed.count > 500, "the generated capture forwards \(replayed.count) frames")

        let pcap = try Self.forward(
            input, expected: replayed.count, io: "pcap", workers: 2, configuration: configuration, directory: directory)
        let xdp = try Self.forward(
            input, expected: replayed.count, io: "af_xdp", workers: 2, configuration: configuration,
            directory: directory)
        #expect(
            pcap.status == 0 && xdp.status == 0,
            "exit status pcap \(String(describing: pcap.status)), af_xdp \(String(describing: xdp.status))\n\(xdp.log)")
        #expect(xdp.frames.count == replayed.count, "af_xdp sent \(xdp.frames.count) of \(replayed.count)\n\(xdp.log)")
        #expect(pcap.frames.count == replayed.count, "pcap sent \(pcap.frames.count) of \(replayed.count)\n\(pcap.log)")
        let same = Self.sorted(xdp.frames) == Self.sorted(pcap.frames)
        #expect(same, "af_xdp and pcap sent different frames")
        #expect(Self.sorted(xdp.frames) == Self.sorted(replayed), "af_xdp differs from nvlb replay")

        // Owner steering: every frame reached its flow's owner (both directions of every flow
        // on one worker), where the kernel's fanout hash hands many over.
        #expect(xdp.handoffs == 0, "af_xdp hand-offs: \(String(describing: xdp.handoffs))\n\(xdp.log)")
        #expect((xdp.steered ?? 0) >= UInt64(input.count) / 2, "XDP steered \(String(describing: xdp.steered))")
        #expect(
            (pcap.handoffs ?? 0) > 0,
            "pcap hand-offs \(String(describing: pcap.handoffs)): the comparison shows nothing")
        // One flow entry per flow, as with pcap (whose hand-offs also reach the owner).
        #expect(
            xdp.flows == pcap.flows,
            "flows af_xdp \(String(describing: xdp.flows)), pcap \(String(describing: pcap.flows))")
        #expect(xdp.checksumDrops == 0)
    }

    @Test("The XDP program is detached after SIGTERM; after SIGKILL a new run replaces it and forwards")
    func detachAndRestart() throws {
        if let reason = Self.unavailableReason { try Test.cancel(Comment(rawValue: reason)) }
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = try Self.configuration(in: directory)
        try Self.withVethPair { namespace in
            func attached() throws -> UInt32? {
                try NetworkNamespace.run(in: namespace) { AFXDPProgram.attachedProgramID(interface: "dut") }
            }
            // SIGTERM: attached while running, gone after — also when the signal comes during
            // start-up, right after the attach, before the workers run.
            let first = try Daemon(
                namespace: namespace, configuration: configuration, io: "af_xdp", workers: 1,
                log: directory.appendingPathComponent("first.log"))
            try #require(first.waitFor("XDP program"), "nvlb did not attach:\n\(first.text)")
            #expect(try attached() != nil, "no XDP program on dut while nvlb runs")
            #expect(first.stop() == 0, "\(first.text)")
            #expect(try attached() == nil, "the XDP program stayed after SIGTERM")

            // SIGKILL: the program stays behind…
            let killed = try Daemon(
                namespace: namespace, configuration: configuration, io: "af_xdp", workers: 1,
                log: directory.appendingPathComponent("killed.log"))
            try #require(killed.waitFor("Starting service"), "nvlb did not start:\n\(killed.text)")
            let stale = try attached()
            killed.signal(SIGKILL)
            _ = killed.waitForExit(seconds: 10)
            #expect(try attached() == stale && stale != nil, "after SIGKILL the program is expected to stay attached")

            // …and the next run replaces it and forwards: an ARP request for nvlb's PA is answered.
            let next = try Daemon(
                namespace: namespace, configuration: configuration, io: "af_xdp", workers: 1,
                log: directory.appendingPathComponent("next.log"))
            try #require(next.waitFor("Starting service"), "nvlb did not start after a SIGKILL:\n\(next.text)")
            let replaced = try attached()
            #expect(
                replaced != nil && replaced != stale,
                "program \(String(describing: replaced)), stale \(String(describing: stale))")
            #expect(try Self.arpAnswered(in: namespace), "no ARP answer through af_xdp after the restart\n\(next.text)")
            #expect(next.stop() == 0)
            #expect(try attached() == nil)
        }
    }

    /// Sends an ARP request for nvlb's PA (192.168.6.2 in Config/example.yaml) on `peer`;
    /// true when the answer comes back.
    static func arpAnswered(in namespace: String) throws -> Bool {
        var options = LinkCapture.Options()
        options.snapshotLength = 256
        let capture = try NetworkNamespace.run(in: namespace) { try LinkCapture(interface: "peer", options: options) }
        var transmitter = try NetworkNamespace.run(in: namespace) { try BatchTransmitter(interface: "peer") }
        var request: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0x06, 0x09, 0x08, 0x06]
        request += [0, 1, 0x08, 0, 6, 4, 0, 1]  // Ethernet, IPv4, request
        request += [0x02, 0, 0, 0, 0x06, 0x09, 192, 168, 6, 9]  // sender MAC, sender IP
        request += [0, 0, 0, 0, 0, 0, 192, 168, 6, 2]  // target: nvlb's PA
        let buffers = FrameBuffers(count: 64, slotSize: 2048, headroom: 64)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            request.withUnsafeBytes { transmitter.append($0.baseAddress!, length: $0.count) }
            transmitter.flush()
            _ = try capture.wait(timeoutMilliseconds: 200)
            let n = try capture.read(into: buffers.slots, startingAt: 0, maxFrames: 64)
            for i in 0..<n {
                let f = buffers.slots.frame(i)
                if buffers.slots.lengths[i] >= 42, f.load(fromByteOffset: 12, as: UInt8.self) == 0x08,
                    f.load(fromByteOffset: 13, as: UInt8.self) == 0x06, f.load(fromByteOffset: 21, as: UInt8.self) == 2
                {
                    return true
                }
            }
        }
        return false
    }

    @Test("Partial checksums are completed, bad ones dropped and counted")
    func checksums() throws {
        // An NVGRE-free TCP/IPv4 frame: 10.0.0.1:1000 → 10.0.0.2:80, 4 payload bytes.
        var frame: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]
        frame += [0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        frame += [0x03, 0xE8, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0x10, 0, 0, 0, 0, 0]
        frame += [0xDE, 0xAD, 0xBE, 0xEF]
        let pseudo = Checksum.pseudoHeaderSum(
            source: IPv4Address(rawValue: 0x0A00_0001), destination: IPv4Address(rawValue: 0x0A00_0002),
            protocolNumber: 6, length: 24)
        let correct = frame.withUnsafeBytes {
            Checksum.finish(Checksum.partialSum($0.baseAddress! + 34, count: 24, initial: pseudo))
        }
        func outcome(checksum: UInt16) -> (AFXDPChecksum.Outcome, UInt16) {
            var copy = frame
            copy[50] = UInt8(checksum >> 8)
            copy[51] = UInt8(checksum & 0xFF)
            let result = copy.withUnsafeMutableBytes { AFXDPChecksum.check($0.baseAddress!, length: $0.count) }
            return (result, UInt16(copy[50]) << 8 | UInt16(copy[51]))
        }
        #expect(outcome(checksum: correct) == (.valid, correct))
        // Partial: the field holds the folded pseudo-header sum; completed to the right value.
        #expect(outcome(checksum: Checksum.fold(pseudo)) == (.completed, correct))
        #expect(outcome(checksum: correct &+ 1).0 == .bad)
        // A fragment is not checked.
        var fragment = frame
        fragment[20] = 0x20
        #expect(
            fragment.withUnsafeMutableBytes { AFXDPChecksum.check($0.baseAddress!, length: $0.count) } == .notChecked)
    }
}
