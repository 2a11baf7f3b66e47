import Foundation
import NVLBControl
import NVLBTestSupport
import Testing

/// Reading the file: YAML syntax, unknown keys, missing keys, wrong types, several errors at once.
@Suite("Structure and types")
struct StructureTests {
    @Test func unknownKeyIsReportedAtTheKeyWithASuggestion() {
        #expect(
            problems(base(replacing: ("frontend_port: 80 }", "fronted_port: 80 }"))) == [
                "t.yaml:18:14: load_balancers[0].rules[0].frontend_port: missing required key",
                "t.yaml:18:31: load_balancers[0].rules[0].fronted_port: unknown key 'fronted_port' (did you mean 'frontend_port'?)",
            ])
    }

    @Test func unknownTopLevelKey() {
        #expect(
            problems(base(appending: "metrics: { port: 9100 }\n")) == [
                "t.yaml:20:1: metrics: unknown key 'metrics'"
            ])
    }

    @Test func missingRequiredKeyIsReportedAtItsMapping() {
        #expect(
            problems(base(replacing: ("  address: 192.168.6.2\n", ""))) == [
                "t.yaml:2:3: underlay.address: missing required key"
            ])
        #expect(
            problems(base(replacing: ("    routing_domain: blue\n", ""))) == [
                "t.yaml:15:5: load_balancers[0].routing_domain: missing required key"
            ])
    }

    @Test func nullForARequiredValue() {
        #expect(
            problems(base(replacing: ("address: 192.168.6.2", "address: ~"))) == [
                "t.yaml:2:12: underlay.address: a value is required"
            ])
    }

    @Test func nullForAnOptionalValueMeansTheDefault() throws {
        let policy = try configuration(base(appending: "balancer:\n  workers:\n  maglev_table_size: null\n"))
        #expect(policy.balancer.workers == .auto)
        #expect(policy.balancer.maglevTableSize == 65537)
    }

    @Test func wrongTypes() {
        let yaml = base(
            replacing: ("frontend_port: 80 }", "frontend_port: eighty }"),
            ("subnets: [5001, 5002]", "subnets: 5001"),
            ("mac: 02:4c:42:00:06:02", "mac: [02, 4c]"),
            appending: "balancer: { workers: many, hash_seed: \"1\" }\n")
        #expect(
            problems(yaml) == [
                "t.yaml:3:8: underlay.mac: expected a MAC address (six hex octets, e.g. 02:4c:42:00:06:02), found a list",
                "t.yaml:10:14: routing_domains[0].subnets: expected a list, found '5001'",
                "t.yaml:18:46: load_balancers[0].rules[0].frontend_port: expected an integer, found 'eighty'",
                "t.yaml:20:22: balancer.workers: expected 'auto' or a number of workers, found 'many'",
                "t.yaml:20:39: balancer.hash_seed: expected an integer, found the quoted string '1'",
            ])
    }

    @Test func malformedAddresses() {
        let yaml = base(
            replacing: ("ca: 10.1.6.20 } ]", "ca: 10.1.6.020 } ]"), ("pa: 192.168.6.7", "pa: 192.168.6"),
            ("mac: 00:15:5d:01:05:20", "mac: 00:15:5d:01:05"))
        #expect(
            problems(yaml) == [
                "t.yaml:13:42: routing_domains[0].lookup_records[1].pa: expected an IPv4 address (dotted quad, e.g. 10.1.6.20), found '192.168.6'",
                "t.yaml:13:58: routing_domains[0].lookup_records[1].mac: expected a MAC address (six hex octets, e.g. 02:4c:42:00:06:02), found '00:15:5d:01:05'",
                "t.yaml:19:35: load_balancers[0].backends[0].ca: expected an IPv4 address (dotted quad, e.g. 10.1.6.20), found '10.1.6.020'",
            ])
    }

    @Test func unknownWords() {
        #expect(
            problems(
                base(
                    replacing: (
                        "{ protocol: tcp, frontend_port: 80 }",
                        "{ protocol: icmp, frontend_port: 80, load_distribution: round_robin }"
                    ))) == [
                    "t.yaml:18:26: load_balancers[0].rules[0].protocol: expected one of tcp, udp; found 'icmp'",
                    "t.yaml:18:70: load_balancers[0].rules[0].load_distribution: expected one of five_tuple, source_ip, source_ip_protocol; found 'round_robin'",
                ])
        #expect(
            problems(base(replacing: ("  mac: 02:4c:42:00:06:02", "  mac: 02:4c:42:00:06:02\n  flow_id: random"))) == [
                "t.yaml:4:12: underlay.flow_id: expected one of hash, zero; found 'random'"
            ])
    }

    @Test func listElementThatIsNotAMapping() {
        #expect(
            problems(base(replacing: ("backends: [ { vsid: 5001, ca: 10.1.6.20 } ]", "backends: [ 5001/10.1.6.20 ]")))
                == [
                    "t.yaml:19:17: load_balancers[0].backends[0]: expected a mapping, found '5001/10.1.6.20'"
                ])
    }

    @Test func severalErrorsAreAllReportedInFileOrder() {
        let yaml = base(
            replacing: ("address: 192.168.6.2", "adress: 192.168.6.2"),
            ("subnets: [5001, 5002]", "subnets: [5001, 5002, 1]"),
            ("routing_domain: blue", "routing_domain: bleu"), ("ca: 10.1.6.20 } ]", "ca: 10.1.6.20, weight: -1 } ]"),
            appending: "balancer: { maglev_table_size: 100 }\n")
        #expect(
            problems(yaml) == [
                "t.yaml:2:3: underlay.adress: unknown key 'adress' (did you mean 'address'?)",
                "t.yaml:2:3: underlay.address: missing required key",
                "t.yaml:10:27: routing_domains[0].subnets[2]: VSID 1 is reserved or out of range (valid: 4096–16777214)",
                "t.yaml:16:21: load_balancers[0].routing_domain: no routing domain named bleu",
                "t.yaml:19:54: load_balancers[0].backends[0].weight: must be between 0 and 1000, found -1",
                "t.yaml:20:32: balancer.maglev_table_size: must be a prime number between 101 and 16777213, found 100",
            ])
    }

    @Test func yamlSyntaxErrorHasAPosition() {
        #expect(
            problems(base(replacing: ("subnets: [5001, 5002]", "subnets: [5001, 5002"))) == [
                "t.yaml:11:19: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at 10:14)"
            ])
        #expect(
            problems("underlay:\n  address: 1\n   mac: 2\n") == [
                "t.yaml:3:7: invalid YAML: mapping values are not allowed in this context"
            ])
    }

    @Test func duplicateKeyIsAYAMLError() {
        #expect(
            problems(base(appending: "underlay: {}\n")) == [
                "t.yaml:1:1: invalid YAML: duplicate key 'underlay' in one mapping"
            ])
    }

    @Test func emptyFileAndNonMappingRoot() {
        #expect(problems("# nothing yet\n") == ["t.yaml:1:1: the configuration is empty"])
        #expect(problems("- underlay\n") == ["t.yaml:1:1: expected a mapping, found a list"])
    }

    @Test func unreadableFile() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("missing.yaml").path
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: missing) }
        do {
            _ = try ConfigurationLoader.load(path: missing)
        } catch {
            #expect(error.description == "\(missing):1:1: cannot read the configuration: no such file")
        }
        do {
            _ = try ConfigurationLoader.load(path: directory.path)
        } catch {
            #expect(error.description == "\(directory.path):1:1: cannot read the configuration: it is a directory")
        }
    }

    @Test func diagnosticsNameTheFileAsGiven() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml")
        try
            "underlay: { address: 192.168.6.2, mac: 02:4c:42:00:06:02, mtu: 1 }\nrouting_domains: []\nload_balancers: []\n"
            .write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigurationLoader.load(path: file.path)
            Issue.record("expected an error")
        } catch {
            #expect(
                error.diagnostics == [
                    ConfigurationDiagnostic(
                        file: file.path, line: 1, column: 64, path: "underlay.mtu",
                        message: "must be between 576 and 9216, found 1")
                ])
        }
    }
}
