import Foundation
import NVLBTestSupport
import Testing

extension LabSuites {
    /// The lab without nvlb: tenant VMs talk to each other across emulated Hyper-V hosts,
    /// which can only work through NVGRE on the provider bridge (no namespace has GRE, and
    /// nothing else connects the VMs). Proves encapsulation, decapsulation, the ARP proxy,
    /// ARP on the underlay, and tenant isolation with overlapping CAs, before `nvlb run` exists.
    @Suite("Emulator plumbing (no nvlb)")
    struct PlumbingTests {
        @Test("VM to VM across hosts through NVGRE; overlapping CAs stay in their tenant")
        func vmToVMAcrossHosts() throws {
            if let reason = LabEnvironment.labUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            let lab = Lab(tag: "p", configuration: URL(fileURLWithPath: TestSupport.configPath("lab.yaml")))
            defer { lab.down() }
            try lab.up()

            // blue-vm1 (hv1) → 10.1.6.21: Blue's is blue-vm2 on hv2, though Red's 10.1.6.21
            // (red-vm1) sits on hv1, next to the sender. hv1 → hv2: static neighbour.
            let blue = try lab.requests(from: "blue-vm1", "http://10.1.6.21/whoami", count: 20)
            #expect(blue.ok == 20 && blue.by == ["blue-vm2": 20], "\(blue)\n\(lab.logTails())")
            #expect(blue.peers == ["10.1.6.20": 20], "the server sees the sender's CA: \(blue)")

            // Red's 10.1.6.22 is red-vm2 (hv2), Blue's is blue-vm3 (hv3).
            let red = try lab.requests(from: "red-vm1", "http://10.1.6.22:443/whoami", count: 10)
            #expect(red.ok == 10 && red.by == ["red-vm2": 10], "\(red)")
            // hv2 → hv3 is resolved by ARP on the underlay (hv3 has no static neighbour entry).
            let blueVM3 = try lab.requests(from: "blue-vm2", "http://10.1.6.22/whoami", count: 10)
            #expect(blueVM3.ok == 10 && blueVM3.by == ["blue-vm3": 10], "\(blueVM3)")

            // Between Blue's two subnets (5002 → 5001): routed by the hosts with the gateway MAC.
            let routed = try lab.requests(from: "blue-client", "http://10.1.6.20:8080/whoami", count: 10)
            #expect(routed.ok == 10 && routed.by == ["blue-vm1": 10], "\(routed)")

            // Full-size segments (MTU 1458 in the VMs, 1500 outer) and intact checksums.
            let download = try lab.download(from: "blue-vm3", "http://10.1.6.20/blob?size=2000000")
            #expect(download.ok && download.vm == "blue-vm1", "2 MB download: \(download)")

            // Red has no record of 10.1.6.20: its packets go to the gateway (nvlb, not running
            // here) and never to Blue's VM of that address.
            let crossTenant = try lab.requests(from: "red-vm2", "http://10.1.6.20/whoami", count: 1, timeout: 1)
            #expect(crossTenant.ok == 0, "\(crossTenant)")

            Thread.sleep(forTimeInterval: 0.8)  // the hosts write their counters twice a second
            var encapsulated = 0
            var decapsulated = 0
            for host in ["hv1", "hv2", "hv3"] {
                let counters = try lab.hostCounters(host)
                encapsulated += counters["encapsulated"] as? Int ?? 0
                decapsulated += counters["decapsulated"] as? Int ?? 0
                let drops = counters["drops"] as? [String: Int] ?? [:]
                #expect(drops["spoofed"] == 0 && drops["malformed"] == 0, "\(host) drops: \(drops)")
                #expect(counters["inner_checksum_errors"] as? Int == 0, "\(host)")
            }
            #expect(encapsulated > 100 && decapsulated > 100, "NVGRE frames: \(encapsulated) out, \(decapsulated) in")
            let connections = try lab.connectionsByVM()
            #expect(connections["red-vm1"]?.isEmpty == true, "red-vm1 was never addressed: \(connections)")
            #expect((connections["blue-vm2"]?["80"] ?? 0) >= 20, "\(connections)")
            #expect(connections["blue-vm1"]?["443"] == nil && connections["blue-vm3"]?["443"] == nil, "\(connections)")
        }
    }
}
