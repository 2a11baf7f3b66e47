import Foundation
import NVLBTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LabSuites {
    /// The lab's end-to-end paths through `nvlb run --io af_xdp` (docs/afxdp.md): real TCP
    /// from the external client (plain IPv4 on ext0, kernel senders with their default
    /// offloads) and from the internal client (NVGRE on pa0), XDP programs on both
    /// interfaces, a clean SIGTERM. Skips like the pcap end-to-end test, and when the XDP
    /// program is not built.
    @Suite("End to end through nvlb run --io af_xdp")
    struct AFXDPEndToEndTests {
        @Test("External and internal clients through nvlb --io af_xdp; Red isolated; SIGTERM exits 0")
        func endToEnd() throws {
            if let reason = LabEnvironment.labUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            if let reason = LabEnvironment.nvlbRunUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            let object = LabEnvironment.binDirectory.appendingPathComponent("nvlb_xdp.o").path
            guard FileManager.default.isReadableFile(atPath: object) else {
                try Test.cancel("the XDP program is not built (\(object)); run 'make build'")
            }
            let executable = LabEnvironment.nvlb.path
            let directory = try TestSupport.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let configuration = directory.appendingPathComponent("lab.yaml")
            try FileManager.default.copyItem(
                at: URL(fileURLWithPath: TestSupport.configPath("lab.yaml")), to: configuration)

            let lab = Lab(tag: "x", configuration: configuration)
            defer { lab.down() }
            try lab.up()
            let nvlb = try lab.startLoadBalancer(executable, arguments: ["--io", "af_xdp", "--stats-interval", "0"])
            defer { nvlb.kill() }

            let ready = try lab.awaitAnswer(EndToEndTests.externalVIP, while: nvlb)
            try #require(ready, "no answer from the public VIP within 20 s\n\(lab.logTails())")

            let external = try lab.requests(from: "client", EndToEndTests.externalVIP, count: 60)
            #expect(external.ok == 60, "\(external)\n\(lab.logTails())")
            #expect(external.by.count >= 2 && Set(external.by.keys).isSubset(of: Lab.blueVMs.keys), "\(external.by)")
            #expect(external.peers.keys.sorted() == ["203.0.113.10"], "\(external.peers)")

            let inside = try lab.requests(from: "blue-client", EndToEndTests.internalVIP, count: 40)
            #expect(inside.ok == 40, "\(inside)\n\(lab.logTails())")
            #expect(inside.by.count >= 2 && Set(inside.by.keys).isSubset(of: Lab.blueVMs.keys), "\(inside.by)")

            let red = try lab.requests(from: "client", EndToEndTests.redVIP, count: 20)
            #expect(red.ok == 20, "\(red)\n\(lab.logTails())")
            #expect(Set(red.by.keys).isSubset(of: Lab.redVMs.keys), "\(red.by)")

            // A large download: many full-size segments from a kernel sender, byte for byte.
            let blob = try lab.download(from: "client", "http://131.107.10.10/blob?size=2000000")
            #expect(blob.ok, "download through af_xdp failed\n\(lab.logTails())")

            let status = nvlb.stop(within: 10)
            #expect(status == 0, "exit status after SIGTERM: \(String(describing: status))\n\(lab.logTails())")
            let log =
                (try? String(contentsOf: lab.runDirectory.appendingPathComponent("nvlb.log"), encoding: .utf8)) ?? ""
            #expect(log.contains("XDP program"), "no XDP program in the log:\n\(log)")
            let final = log.split(separator: "\n").last { $0.contains("final counters:") }.map(String.init) ?? ""
            #expect(final.contains(" handoffs=0 "), "final counters: \(final)")
            #expect(final.contains(" checksum_drops=0"), "final counters: \(final)")
        }
    }
}
