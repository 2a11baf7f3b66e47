import Foundation
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import NVLBRuntime
import NVLBTestSupport
import NVLBTraffic
import NVLBWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The XDP program of the af_xdp backend (bpf/nvlb_xdp.c, docs/afxdp.md) computes the same
/// owner worker as the data plane (``Steering/owner(of:workers:)``) for every frame the data
/// plane gives flow state: the same generated frames (requests of external and internal
/// clients, the DIPs' replies) go through the loaded program (BPF_PROG_TEST_RUN) and through
/// the classifier. Root only (loading BPF programs); skipped with the reason otherwise.
@Suite struct AFXDPSteeringTests {
    /// The compiled program: next to the test bundle (`make build`), else compiled here.
    static func object() -> String? {
        let bin = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let path = bin.appendingPathComponent("nvlb_xdp.o").path
        if FileManager.default.isReadableFile(atPath: path) { return path }
        let source = TestSupport.repositoryRoot.appendingPathComponent("bpf/nvlb_xdp.c").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("nvlb_xdp-\(getpid()).o").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/clang")
        process.arguments = [
            "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", source, "-o", output,
        ]
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return process.terminationStatus == 0 ? output : nil
    }

    @Test("XDP owner = data plane owner for every flow frame, 2, 3 and 7 workers", arguments: [2, 3, 7])
    func sameOwner(workers: Int) throws {
        guard getuid() == 0 else { try Test.cancel("loading a BPF program needs root") }
        guard let object = Self.object() else { try Test.cancel("nvlb_xdp.o is not built and clang cannot build it") }
        let configuration = TestPolicies.example()
        let snapshot = PolicySnapshot(configuration: configuration)
        let program = try AFXDPProgram(
            loadingOnly: object, workers: workers, hashSeed: configuration.balancer.hashSeed)
        var keys = Set<UInt64>()
        for i in 0..<snapshot.listeners.count {
            keys.insert(UInt64(snapshot.listeners[i].vsid) << 32 | UInt64(snapshot.listeners[i].vip))
        }
        #expect(program.setFrontends(keys) == 0)

        let generator = try TrafficGenerator(
            configuration: configuration, options: .init(flows: 300, seed: 11, replies: true))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Packet.headroom + 65_536, alignment: 64)
        defer { buffer.deallocate() }
        var checked = 0
        var owners = Set<Int>()
        for frame in generator.frames() {
            frame.bytes.withUnsafeBytes {
                (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
            }
            var packet = Packet(base: buffer, start: Packet.headroom, length: frame.bytes.count)
            let classification = DataplaneWorker.classify(&packet, snapshot: snapshot)
            guard let expected = Steering.owner(of: classification, workers: workers) else { continue }
            let steered = try program.testRun(frame.bytes)
            #expect(
                steered == expected,
                "kind \(classification.kind): XDP \(String(describing: steered)), data plane \(expected)")
            owners.insert(expected)
            checked += 1
        }
        #expect(checked > 300, "only \(checked) flow frames")
        #expect(owners.count == workers, "the flows reach only workers \(owners.sorted())")

        // An ARP frame belongs to no flow: worker 0 by default, not counted as steered.
        var arp = [UInt8](repeating: 0xff, count: 6) + [2, 0, 0, 0, 0, 1, 0x08, 0x06]
        arp += [0, 1, 0x08, 0, 6, 4, 0, 1] + [UInt8](repeating: 0, count: 20)
        #expect(try program.testRun(arp) == nil)
    }
}
