import Foundation
import NVLBTestSupport
import Testing
import Yams

@testable import NVLBControl

/// docs/openapi.yaml's `Configuration` schema (the body of `GET/PUT /v1/config`) names exactly
/// the keys the configuration reader accepts, section by section: a key added to the file
/// format without the schema (or the other way round) fails here.
@Suite struct OpenAPIConfigurationSchemaTests {
    /// The schemas of docs/openapi.yaml's `components`.
    static func schemas() throws -> [String: Any] {
        let url = TestSupport.repositoryRoot.appendingPathComponent("docs/openapi.yaml")
        let document = try Yams.load(yaml: try String(contentsOf: url, encoding: .utf8)) as? [String: Any]
        let components = try #require(document?["components"] as? [String: Any])
        return try #require(components["schemas"] as? [String: Any])
    }

    /// The schema at `path` below `root`: each step a property name, `[]` for a list's items;
    /// `$ref`s followed.
    static func schema(_ schemas: [String: Any], _ root: String, _ path: [String]) -> [String: Any]? {
        func resolve(_ node: [String: Any]?) -> [String: Any]? {
            guard let reference = node?["$ref"] as? String else { return node }
            return schemas[String(reference.split(separator: "/").last ?? "")] as? [String: Any]
        }
        var node = resolve(schemas[root] as? [String: Any])
        for step in path {
            if step == "[]" {
                node = resolve(node?["items"] as? [String: Any])
            } else {
                node = resolve((node?["properties"] as? [String: Any])?[step] as? [String: Any])
            }
        }
        return node
    }

    @Test func everySectionListsExactlyTheKeysTheReaderAccepts() throws {
        let schemas = try Self.schemas()
        let sections: [(path: [String], keys: [String])] = [
            ([], RawConfiguration.keys),
            (["balancer"], RawBalancer.keys),
            (["underlay"], RawUnderlay.keys),
            (["underlay", "neighbors", "[]"], RawNeighbor.keys),
            (["external"], RawExternal.keys),
            (["routing_domains", "[]"], RawRoutingDomain.keys),
            (["routing_domains", "[]", "lookup_records", "[]"], RawLookupRecord.keys),
            (["load_balancers", "[]"], RawLoadBalancer.keys),
            (["load_balancers", "[]", "frontends", "[]"], RawFrontend.keys),
            (["load_balancers", "[]", "rules", "[]"], RawRule.keys),
            (["load_balancers", "[]", "backends", "[]"], RawBackend.keys),
            (["load_balancers", "[]", "probes", "[]"], RawProbe.keys),
            (["management"], RawManagement.keys),
            (["management", "tls"], RawManagement.tlsKeys),
            (["bgp"], RawBGP.keys),
            (["bgp", "peers", "[]"], RawBGPPeer.keys),
        ]
        for section in sections {
            let schema = Self.schema(schemas, "Configuration", section.path)
            let properties = Set((schema?["properties"] as? [String: Any])?.keys.map { $0 } ?? [])
            let name = section.path.isEmpty ? "Configuration" : section.path.joined(separator: ".")
            #expect(properties == Set(section.keys), "\(name): schema \(properties.sorted()), reader \(section.keys)")
        }
    }

    @Test func mssClampAndICMPRateAreDescribedAsTheReaderReadsThem() throws {
        let underlay = try #require(Self.schema(try Self.schemas(), "Configuration", ["underlay"]))
        let properties = try #require(underlay["properties"] as? [String: Any])
        // mss_clamp: 'auto', 'off' or a number.
        let clamp = try #require(properties["mss_clamp"] as? [String: Any])
        let choices = try #require(clamp["oneOf"] as? [[String: Any]])
        #expect(choices.contains { ($0["enum"] as? [String]).map(Set.init) == ["auto", "off"] })
        #expect(choices.contains { $0["type"] as? String == "integer" })
        // icmp_rate: the range the validator accepts.
        let rate = try #require(properties["icmp_rate"] as? [String: Any])
        #expect(rate["minimum"] as? Int == ConfigurationValidator.icmpRate.lowerBound)
        #expect(rate["maximum"] as? Int == ConfigurationValidator.icmpRate.upperBound)
    }
}
