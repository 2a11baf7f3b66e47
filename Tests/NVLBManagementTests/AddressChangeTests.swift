import Foundation
import Hummingbird
import HummingbirdTesting
import NVLBControl
import NVLBManagement
import NVLBPolicy
import NVLBWire
import Testing

/// PA assignment through the API (docs/management.md "What changes without a restart").
@Suite("Management API: PA assignment")
struct AddressChangeTests {
    @Test("PUT /v1/config with a new PA and MACs → 200, published and persisted")
    func paChange() async throws {
        let fixture = try ManagementFixture()
        try await fixture.test { client in
            var document = fixture.store.current.document
            document.root["underlay"]?["address"] = .string("192.168.6.9")
            document.root["underlay"]?["mac"] = .string("02:4c:42:00:06:09")
            document.root["external"]?["mac"] = .string("02:4c:42:00:00:09")
            try await client.execute(
                uri: "/v1/config", method: .put, headers: authorized(), body: json(document.json())
            ) { #expect($0.status == .ok) }
        }
        let published = try #require(fixture.backend.last)
        #expect(published.underlay.address == IPv4Address("192.168.6.9"))
        #expect(published.underlay.mac == MACAddress("02:4c:42:00:06:09"))
        #expect(published.external?.mac == MACAddress("02:4c:42:00:00:09"))
        #expect(fixture.fileText.contains("address: 192.168.6.9"))
        #expect(fixture.fileText.contains("mac: 02:4c:42:00:06:09"))
    }

    @Test("interfaces, workers and the flow table size are refused with 422 at their keys; nothing changes")
    func restartOnly() async throws {
        let fixture = try ManagementFixture()
        let before = fixture.fileText
        try await fixture.test { client in
            var document = fixture.store.current.document
            document.root["underlay"]?["interface"] = .string("pa1")
            document.root["underlay"]?["address"] = .string("192.168.6.9")
            document.root["balancer"]?["workers"] = .integer(4)
            document.root["balancer"]?["flow_table_capacity"] = .integer(2048)
            try await client.execute(
                uri: "/v1/config", method: .put, headers: authorized(), body: json(document.json())
            ) { response in
                #expect(response.status == .unprocessableContent)
                let errors = problems(response)
                #expect(
                    errors.map { $0["path"] as? String } == [
                        "underlay.interface", "external.interface", "balancer.workers", "balancer.flow_table_capacity",
                    ])
                #expect(
                    errors.first?["message"] as? String
                        == "takes effect only at a restart of nvlb (running: pa0); change it in the configuration file and restart"
                )
            }
        }
        #expect(fixture.backend.count == 0)
        #expect(fixture.fileText == before)
    }

    @Test("bgp.next_hop changes through the API; the other bgp keys need a restart")
    func bgpNextHop() throws {
        let yaml = fixtureYAML.replacingOccurrences(
            of: "management:",
            with: """
                bgp:
                  speaker: exabgp
                  local_as: 65010
                  router_id: 192.168.7.2
                  local_address: 192.168.7.2
                  next_hop: 192.168.6.11
                  peers: [ { address: 192.168.7.1, as: 65000 } ]

                management:
                """)
        let fixture = try ManagementFixture(yaml: yaml)
        let state = try fixture.store.change { (document: inout ConfigurationDocument) throws(ChangeFailure) in
            document.root["bgp"]?["next_hop"] = .string("192.168.6.12")
        }
        #expect(state.configuration.bgp?.nextHop == IPv4Address("192.168.6.12"))
        #expect(fixture.backend.last?.bgp?.nextHop == IPv4Address("192.168.6.12"))
        #expect(throws: ChangeFailure.self) {
            try fixture.store.change { (document: inout ConfigurationDocument) throws(ChangeFailure) in
                document.root["bgp"]?["local_as"] = .integer(65011)
            }
        }
        do {
            _ = try fixture.store.change { (document: inout ConfigurationDocument) throws(ChangeFailure) in
                document.root["bgp"]?["local_as"] = .integer(65011)
            }
        } catch {
            #expect(
                error
                    == .invalid([
                        ChangeProblem(
                            path: "bgp.local_as",
                            message:
                                "takes effect only at a restart of nvlb (running: 65010); change it in the configuration file and restart"
                        )
                    ]))
        }
        #expect(fixture.backend.count == 1)
    }
}

/// The PA changed through the API of a running `nvlb run`, seen from the wire.
@Suite("PA assignment on the wire", .serialized)
struct AddressChangeLiveTests {
    static let ready: Bool = getuid() == 0 && nvlbBinary != nil && which("ip") != nil

    @Test(
        "gratuitous ARP at start and after a PA change; the flow goes on from the new PA; flows counted",
        .enabled(if: ready, "needs root, the nvlb executable and ip"), .timeLimit(.minutes(3)))
    func onTheWire() async throws {
        let binary = try #require(nvlbBinary)
        let result = try await runChild("/usr/bin/env", ["python3", "Tests/Live/pa_change.py", binary], timeout: 150)
        #expect(result.status == 0, "\(result.output)\n\(result.error)")
    }
}
