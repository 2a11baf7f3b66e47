import Foundation
import NVLBControl
import NVLBManagement
import Testing

@Suite("Change path: persistence and the file")
struct PersistenceTests {
    @Test("an accepted change survives a restart: a new store reads the written file and gets the same document")
    func survivesRestart() async throws {
        let fixture = try ManagementFixture()
        let changed = try fixture.store.change { (document: inout ConfigurationDocument) throws(ChangeFailure) in
            try document.setBackendWeight(
                loadBalancer: "blue-web", vsid: "5001", ca: "10.1.6.21",
                body: .object([.init(key: "weight", value: .integer(0))]))
            try document.putLookupRecord(
                domain: "red", vsid: "6001", ca: "10.1.6.22",
                body: .object([
                    .init(key: "pa", value: .string("192.168.6.99")),
                    .init(key: "mac", value: .string("00:15:5d:02:06:22")),
                ]))
        }
        let restarted = try ConfigurationStore(path: fixture.configPath) { _ in }
        #expect(restarted.current.document == changed.document)
        #expect(restarted.current.etag == changed.etag)
        #expect(restarted.current.configuration == changed.configuration)
        #expect(restarted.current.configuration.loadBalancers[0].backends[1].weight == 0)
        let red = try #require(restarted.current.configuration.routingDomains.first { $0.name == "red" })
        #expect(red.lookupRecords.first { $0.ca.description == "10.1.6.22" }?.pa.description == "192.168.6.99")
    }

    @Test("comments survive where nothing changed; the changed item is rewritten")
    func comments() async throws {
        let fixture = try ManagementFixture()
        _ = try fixture.store.change { (document: inout ConfigurationDocument) throws(ChangeFailure) in
            try document.setBackendWeight(
                loadBalancer: "blue-web", vsid: "5001", ca: "10.1.6.20",
                body: .object([.init(key: "weight", value: .integer(5))]))
        }
        let text = fixture.fileText
        for kept in [
            "# nvlb test configuration (header comment)", "  workers: 2                     # two workers",
            "  # blue tenant", "  # red tenant keeps this comment", "  # red-web comment survives a change of blue-web",
            "  hash_seed: 0x6e766c62", "    rules: [ { protocol: tcp, frontend_port: 443, backend_port: 443 } ]",
        ] {
            #expect(text.contains(kept + "\n"), "lost: \(kept)")
        }
        // The changed load balancer loses its inline comment and is written in the house style.
        #expect(!text.contains("# public VIP"))
        #expect(text.contains("      - { vsid: 5001, ca: 10.1.6.20, weight: 5 }\n"))
        // The file is valid and equals the document.
        let reread = try ConfigurationDocument(text: text, fileName: "x")
        #expect(reread == fixture.store.current.document)
    }

    @Test("a refused change leaves the file byte for byte and publishes nothing")
    func refusedLeavesFile() async throws {
        let fixture = try ManagementFixture()
        let before = fixture.fileText
        #expect(throws: ChangeFailure.self) {
            try fixture.store.change { (document: inout ConfigurationDocument) throws(ChangeFailure) in
                try document.deleteLookupRecord(domain: "blue", vsid: "5001", ca: "10.1.6.21")
            }
        }
        #expect(throws: ChangeFailure.self) {
            try fixture.store.replace(body: "{\"underlay\": 1}", ifMatch: nil)
        }
        #expect(fixture.fileText == before)
        #expect(fixture.backend.count == 0)
        #expect(fixture.store.current.generation == 1)
    }

    @Test("the file is replaced atomically: same permissions, no temporary left behind")
    func atomicWrite() throws {
        let fixture = try ManagementFixture()
        chmod(fixture.configPath, 0o640)
        _ = try fixture.store.change { (document: inout ConfigurationDocument) throws(ChangeFailure) in
            try document.deleteLoadBalancer(name: "red-web")
        }
        var info = stat()
        #expect(stat(fixture.configPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o640)
        let names = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path)
        #expect(names == ["nvlb.yaml"])
    }

    @Test("SIGHUP path: a valid file is published with the next generation, an invalid one refused")
    func reloadFile() throws {
        let fixture = try ManagementFixture()
        try fixtureYAML.replacingOccurrences(of: "weight: 2", with: "weight: 3")
            .write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        let state = try fixture.store.reloadFile()
        #expect(state.generation == 2)
        #expect(fixture.backend.last?.loadBalancers[0].backends[1].weight == 3)
        try "balancer: [".write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try fixture.store.reloadFile() }
        #expect(fixture.store.current.generation == 2)
        #expect(fixture.backend.count == 1)
    }

    @Test("YAML written for a new document reads back as the same document", arguments: [fixtureYAML])
    func roundTrip(yaml: String) throws {
        let document = try ConfigurationDocument(text: yaml, fileName: "x")
        let again = try ConfigurationDocument(text: document.yaml(), fileName: "y")
        #expect(again == document)
        let fromJSON = try ConfigurationDocument(text: document.json(), fileName: "z")
        #expect(fromJSON == document)
        #expect(YAMLTextProbe.quoted(["yes", "10", "0x10", "a b", "#x", "-x", "", "1.5"]))
    }
}

/// Strings that YAML would read as something else are quoted and read back as strings.
enum YAMLTextProbe {
    static func quoted(_ strings: [String]) -> Bool {
        let document = ConfigurationDocument(
            root: .object(strings.enumerated().map { ConfigMember(key: "k\($0.offset)", value: .string($0.element)) }))
        return (try? ConfigurationDocument(text: document.yaml(), fileName: "q")) == document
    }
}

@Suite("Request limits")
struct RequestLimitTests {
    @Test(
        "deep nesting and anchors are refused before parsing",
        arguments: [
            String(repeating: "[", count: 100_000), "a: &x [1]\nb: *x\n",
            String(repeating: " ", count: 300) + "x: 1",
        ])
    func refused(body: String) throws {
        #expect(throws: ChangeFailure.self) { try ConfigValue.parse(body: body) }
    }

    @Test("ordinary JSON with quotes, stars and hashes in strings passes")
    func accepted() throws {
        let value = try ConfigValue.parse(body: #"{"a": "*x &y # [[[", "b": [1, {"c": "d"}]}"#)
        #expect(value["a"] == .string("*x &y # [[["))
    }
}

@Suite("Token file")
struct TokenFileTests {
    @Test("refused when group or others may read it; accepted at 0600")
    func permissions() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nvlb-tokens-\(UUID().uuidString)")
            .path
        defer { unlink(path) }
        try "ops 0123456789abcdef0123\n".write(toFile: path, atomically: false, encoding: .utf8)
        for mode: mode_t in [0o644, 0o640, 0o604, 0o660, 0o606] {
            chmod(path, mode)
            #expect(throws: TokenFileError.self) { try TokenFile.load(path: path) }
        }
        chmod(path, 0o600)
        let tokens = try TokenFile.load(path: path)
        #expect(tokens.authenticate(Array("0123456789abcdef0123".utf8)) == "ops")
        #expect(tokens.authenticate(Array("0123456789abcdef012".utf8)) == nil)
        #expect(tokens.authenticate(Array("0123456789abcdef01234".utf8)) == nil)
        #expect(tokens.authenticate([]) == nil)
        #expect(throws: TokenFileError.self) { try TokenFile.load(path: path + ".missing") }
    }

    @Test(
        "bad lines are refused with their line number",
        arguments: ["ops\n", "a b c\n", "ops short\n", "# only\n", "a 0123456789abcdef\na 0123456789abcdefg\n"])
    func badLines(text: String) {
        #expect(throws: TokenFileError.self) { try TokenFile(text: text, fileName: "t") }
    }
}

@Suite("management: keys in the loader")
struct ManagementKeysTests {
    @Test("nvlb check reports management errors at their position with their key path")
    func errors() throws {
        let bad = fixtureYAML.replacingOccurrences(
            of: "  listen: 127.0.0.1:9180\n  token_file: tokens\n",
            with: "  listen: 127.0.0.1\n  tls: { certificate: c.pem }\n  metrics_auth: maybe\n  tokenfile: x\n")
        var diagnostics: [ConfigurationDiagnostic] = []
        do {
            _ = try ConfigurationLoader.load(yaml: bad, fileName: "n.yaml")
        } catch {
            diagnostics = error.diagnostics
        }
        let lines = bad.split(separator: "\n", omittingEmptySubsequences: false)
        let managementLine = try #require(lines.firstIndex { $0 == "management:" }) + 1
        // In file order; missing keys are reported where their mapping starts.
        #expect(
            diagnostics.map(\.path) == [
                "management.token_file", "management.listen", "management.tls.key", "management.metrics_auth",
                "management.tokenfile",
            ])
        #expect(diagnostics.first { $0.path == "management.listen" }?.line == managementLine + 1)
        #expect(
            diagnostics.first { $0.path == "management.listen" }?.message
                == "expected ADDRESS:PORT (e.g. 127.0.0.1:9180), found '127.0.0.1'")
    }

    @Test("defaults: loopback port 9180, no TLS, metrics without a token")
    func defaults() throws {
        let minimal = fixtureYAML.replacingOccurrences(of: "  listen: 127.0.0.1:9180\n", with: "")
        let settings = try #require(try ConfigurationLoader.managementSettings(yaml: minimal, fileName: "m.yaml"))
        #expect(settings == ManagementSettings(host: "127.0.0.1", port: 9180, tokenFile: "tokens"))
        let none = fixtureYAML.components(separatedBy: "management:")[0]
        #expect(try ConfigurationLoader.managementSettings(yaml: none, fileName: "m.yaml") == nil)
    }
}
