import Foundation
import Hummingbird
import HummingbirdTesting
import NVLBControl
import NVLBManagement
import NVLBTestSupport
import Testing

/// A child process's outcome.
struct ChildResult {
    var status: Int32
    var output: String
    var error: String
}

/// Runs a program without blocking a Swift concurrency thread (the in-process server needs
/// them): the wait happens on a dispatch thread. Output is read to the end before the wait.
func runChild(_ executable: String, _ arguments: [String], timeout: Double = 300) async throws -> ChildResult {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            // Output goes to files: no pipe can fill up and block the child.
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("nvlb-child-\(UUID().uuidString)")
            let outPath = base.path + ".out"
            let errPath = base.path + ".err"
            defer {
                unlink(outPath)
                unlink(errPath)
            }
            _ = FileManager.default.createFile(atPath: outPath, contents: nil)
            _ = FileManager.default.createFile(atPath: errPath, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.currentDirectoryURL = TestSupport.repositoryRoot
            process.standardOutput = FileHandle(forWritingAtPath: outPath)
            process.standardError = FileHandle(forWritingAtPath: errPath)
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
                return
            }
            let killer = DispatchWorkItem { process.terminate() }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
            process.waitUntilExit()
            killer.cancel()
            continuation.resume(
                returning: ChildResult(
                    status: process.terminationStatus,
                    output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                    error: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""))
        }
    }
}

/// The `nvlb` executable next to the test bundle, or under `.build/debug`.
let nvlbBinary: String? = {
    var candidates: [URL] = []
    if let path = ProcessInfo.processInfo.environment["NVLB_BINARY"] { candidates.append(URL(fileURLWithPath: path)) }
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<5 {
        candidates.append(directory.appendingPathComponent("nvlb"))
        directory.deleteLastPathComponent()
    }
    candidates.append(TestSupport.repositoryRoot.appendingPathComponent(".build/debug/nvlb"))
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }?.path
}()

/// A Python module, if it imports (installed from PyPI by `make test-deps` or pip).
func pythonHas(_ module: String) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import \(module)"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

func which(_ program: String) -> String? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite("Management API over loopback", .serialized)
struct LiveServerTests {
    /// Runs `body` with a live server on a loopback port and a token file for the clients.
    func live(
        _ fixture: ManagementFixture, _ body: @Sendable (Int, String, any TestClientProtocol) async throws -> Void
    ) async throws {
        let tokenFile = fixture.directory.appendingPathComponent("client-token").path
        try "operator \(operatorSecret)\n".write(toFile: tokenFile, atomically: false, encoding: .utf8)
        let app = Application(
            router: fixture.server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await body(try #require(client.port), tokenFile, client)
        }
    }

    @Test("nvlb status, weight and apply against a running server; exit statuses 0, 1, 2")
    func cliClients() async throws {
        let binary = try #require(nvlbBinary, "nvlb executable not built")
        let fixture = try ManagementFixture()
        fixture.backend.scripted.withLock {
            $0.backendPackets = ["blue-web": ["5001/10.1.6.20": 41]]
            $0.workers = [WorkerFigures(flows: 7, capacity: 1024)]
        }
        try await live(fixture) { port, tokenFile, _ in
            let url = "http://127.0.0.1:\(port)"
            let status = try await runChild(binary, ["status", "--url", url, "--token-file", tokenFile])
            #expect(status.status == 0, "\(status.error)")
            let lines = status.output.split(separator: "\n").map(String.init)
            #expect(lines.first?.contains("policy generation 1, 1 workers (flows 7)") == true)
            let header = try #require(lines.first { $0.hasPrefix("LB") })
            #expect(
                header.split(separator: " ", omittingEmptySubsequences: true) == [
                    "LB", "VIP", "RULE", "DIP", "HEALTH", "WEIGHT", "PACKETS", "FLOWS",
                ])
            // The second DIP of blue-web continues the row block, aligned under DIP.
            let dipColumn = try #require(header.range(of: "DIP")).lowerBound.utf16Offset(in: header)
            let continuation = try #require(lines.first { $0.contains("5001/10.1.6.21") })
            #expect(continuation.range(of: "5001/10.1.6.21")?.lowerBound.utf16Offset(in: continuation) == dipColumn)
            let row = try #require(lines.first { $0.hasPrefix("blue-web") })
            #expect(
                row.split(separator: " ", omittingEmptySubsequences: true) == [
                    "blue-web", "131.107.10.10", "tcp/80→80", "5001/10.1.6.20", "up", "1", "41", "-",
                ])

            let drain = try await runChild(
                binary, ["weight", "blue-web", "5001/10.1.6.21", "0", "--url", url, "--token-file", tokenFile])
            #expect(drain.status == 0, "\(drain.error)")
            #expect(fixture.backend.last?.loadBalancers[0].backends[1].weight == 0)
            let unknown = try await runChild(
                binary, ["weight", "blue-web", "5001/10.1.6.99", "1", "--url", url, "--token-file", tokenFile])
            #expect(unknown.status == 1)
            #expect(unknown.error.contains("HTTP 404"))
            let misuse = try await runChild(
                binary, ["weight", "blue-web", "10.1.6.21", "1", "--url", url, "--token-file", tokenFile])
            #expect(misuse.status == 2)
            let range = try await runChild(
                binary, ["weight", "blue-web", "5001/10.1.6.21", "1001", "--url", url, "--token-file", tokenFile])
            #expect(range.status == 2)

            let bad = fixture.directory.appendingPathComponent("bad.yaml").path
            try fixtureYAML.replacingOccurrences(of: "weight: 2", with: "weight: 2000").write(
                toFile: bad, atomically: false, encoding: .utf8)
            let refused = try await runChild(binary, ["apply", bad, "--url", url, "--token-file", tokenFile])
            #expect(refused.status == 2)
            #expect(
                refused.error.contains(
                    "\(bad):42:46: load_balancers[0].backends[1].weight: must be between 0 and 1000, found 2000"),
                "\(refused.error)")
            let good = fixture.directory.appendingPathComponent("good.yaml").path
            try fixtureYAML.replacingOccurrences(of: "weight: 2", with: "weight: 7").write(
                toFile: good, atomically: false, encoding: .utf8)
            let applied = try await runChild(binary, ["apply", good, "--url", url, "--token-file", tokenFile])
            #expect(applied.status == 0, "\(applied.error)")
            #expect(fixture.backend.last?.loadBalancers[0].backends[1].weight == 7)

            let wrongToken = fixture.directory.appendingPathComponent("wrong-token").path
            try "x wrong-secret-0123456789\n".write(toFile: wrongToken, atomically: false, encoding: .utf8)
            let denied = try await runChild(binary, ["status", "--url", url, "--token-file", wrongToken])
            #expect(denied.status == 1)
            #expect(denied.error.contains("HTTP 401"))
            let noToken = try await runChild(binary, ["status", "--url", url, "--token-file", "/nonexistent"])
            #expect(noToken.status == 2)
        }
        let closed = try await runChild(
            binary, ["status", "--url", "http://127.0.0.1:1", "--token-file", "/dev/null"])
        #expect(closed.status == 2)  // no secret in /dev/null: misuse before any connection
    }

    @Test("nvlb run refuses a token file that group or others may read, before opening any interface")
    func runRefusesTokenFile() async throws {
        let binary = try #require(nvlbBinary, "nvlb executable not built")
        let fixture = try ManagementFixture(
            yaml: fixtureYAML.replacingOccurrences(of: "interface: pa0", with: "interface: nvlb-no-such-if0"))
        let tokens = fixture.directory.appendingPathComponent("tokens").path
        try "operator \(operatorSecret)\n".write(toFile: tokens, atomically: false, encoding: .utf8)
        chmod(tokens, 0o644)
        let run = try await runChild(binary, ["run", "--config", fixture.configPath], timeout: 60)
        #expect(run.status == 2)
        #expect(
            run.error.contains(
                "management.token_file: \(tokens): the token file is readable or writable by group or others (mode 644)"
            ), "\(run.error)")
        chmod(tokens, 0o600)
        // With a good token file the run gets as far as the (missing) interface: exit 1.
        let next = try await runChild(binary, ["run", "--config", fixture.configPath], timeout: 60)
        #expect(next.status == 1, "\(next.error)")
    }

    @Test(
        "/metrics parses with prometheus_client: every family and label",
        .enabled(if: pythonHas("prometheus_client"), "pip install prometheus-client"))
    func metricsParse() async throws {
        let fixture = try ManagementFixture()
        fixture.backend.scripted.withLock {
            $0.packetsOut = 90
            $0.answered = 3
            $0.dropped = 5
            $0.drops = [("malformed", 2), ("no_vip", 3), ("flow_table_full", 0)]
            $0.handoffs = 11
            $0.fragmentsOut = 12
            $0.mssClamped = 13
            $0.echoReplies = 14
            $0.fragmentationNeeded = 15
            $0.icmpErrorsForwarded = 16
            $0.workers = [WorkerFigures(flows: 7, capacity: 1024), WorkerFigures(flows: 8, capacity: 1024)]
            $0.backendPackets = ["blue-web": ["5001/10.1.6.20": 41]]
            $0.backendUp = ["red-web": ["6001/10.1.6.22": false]]
            var buckets = [UInt64](repeating: 0, count: 4)
            buckets[0] = 5  // ≤ 5 ms
            buckets[3] = 2  // longer than 2 s: timeouts
            $0.probes = [
                "red-web": [
                    "6001/10.1.6.22": ProbeFigures(
                        sent: 9, failed: 4, durationBounds: [0.005, 0.5, 2], durationBuckets: buckets,
                        durationSum: 4.02)
                ]
            ]
            $0.vipTraffic = [
                VIPTraffic(loadBalancer: "blue-web", vip: "131.107.10.10", direction: "in", packets: 50, bytes: 5000),
                VIPTraffic(loadBalancer: "blue-web", vip: "131.107.10.10", direction: "out", packets: 40, bytes: 8000),
            ]
        }
        _ = try fixture.store.change { (document: inout ConfigurationDocument) throws(ChangeFailure) in
            try document.setBackendWeight(
                loadBalancer: "blue-web", vsid: "5001", ca: "10.1.6.21",
                body: .object([.init(key: "weight", value: .integer(0))]))
        }
        let script = """
            import sys, json
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                out[family.name] = {"type": family.type, "samples": [[s.name, s.labels, s.value] for s in family.samples]}
            print(json.dumps(out))
            """
        try await live(fixture) { _, _, client in
            let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            let metricsFile = fixture.directory.appendingPathComponent("metrics.txt").path
            try text.write(toFile: metricsFile, atomically: false, encoding: .utf8)
            let parsed = try await runChild("/bin/sh", ["-c", "python3 -c '\(script)' < \(metricsFile)"])
            #expect(parsed.status == 0, "\(parsed.error)")
            let families = try #require(
                try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [String: [String: Any]])
            // prometheus_client strips the _total suffix from counter family names.
            let expected: [String: String] = [
                "nvlb_packets": "counter", "nvlb_drops": "counter", "nvlb_vip_packets": "counter",
                "nvlb_vip_bytes": "counter", "nvlb_backend_packets": "counter", "nvlb_backend_up": "gauge",
                "nvlb_backend_weight": "gauge", "nvlb_flows": "gauge", "nvlb_flow_table_capacity": "gauge",
                "nvlb_handoffs": "counter", "nvlb_policy_generation": "gauge",
                "nvlb_policy_publish_seconds": "histogram",
                "nvlb_probe_duration_seconds": "histogram", "nvlb_bgp_peer_up": "gauge", "nvlb_vip_announced": "gauge",
                "nvlb_probes": "counter", "nvlb_probe_failures": "counter", "nvlb_fragments_out": "counter",
                "nvlb_mss_clamped": "counter", "nvlb_echo_replies": "counter", "nvlb_fragmentation_needed": "counter",
                "nvlb_icmp_errors_forwarded": "counter",
            ]
            for (name, type) in expected {
                #expect(families[name]?["type"] as? String == type, "\(name)")
            }
            func samples(_ family: String) -> [(String, [String: String], Double)] {
                (families[family]?["samples"] as? [[Any]] ?? []).map {
                    ($0[0] as? String ?? "", $0[1] as? [String: String] ?? [:], ($0[2] as? NSNumber)?.doubleValue ?? -1)
                }
            }
            func value(_ family: String, _ labels: [String: String]) -> Double? {
                samples(family).first { $0.1 == labels }?.2
            }
            #expect(value("nvlb_packets", ["outcome": "forwarded"]) == 90)
            #expect(value("nvlb_packets", ["outcome": "answered"]) == 3)
            #expect(value("nvlb_packets", ["outcome": "dropped"]) == 5)
            #expect(value("nvlb_drops", ["reason": "no_vip"]) == 3)
            #expect(value("nvlb_drops", ["reason": "flow_table_full"]) == 0)
            #expect(value("nvlb_vip_packets", ["lb": "blue-web", "vip": "131.107.10.10", "direction": "out"]) == 40)
            #expect(value("nvlb_vip_bytes", ["lb": "blue-web", "vip": "131.107.10.10", "direction": "in"]) == 5000)
            #expect(value("nvlb_backend_packets", ["lb": "blue-web", "backend": "5001/10.1.6.20"]) == 41)
            #expect(value("nvlb_backend_packets", ["lb": "red-web", "backend": "6001/10.1.6.22"]) == 0)
            #expect(value("nvlb_backend_up", ["lb": "red-web", "backend": "6001/10.1.6.22"]) == 0)
            #expect(value("nvlb_backend_up", ["lb": "red-web", "backend": "6001/10.1.6.21"]) == 1)
            #expect(value("nvlb_backend_weight", ["lb": "blue-web", "backend": "5001/10.1.6.21"]) == 0)
            #expect(value("nvlb_flows", ["worker": "1"]) == 8)
            #expect(value("nvlb_flow_table_capacity", ["worker": "0"]) == 1024)
            #expect(value("nvlb_handoffs", [:]) == 11)
            #expect(value("nvlb_fragments_out", [:]) == 12)
            #expect(value("nvlb_mss_clamped", [:]) == 13)
            #expect(value("nvlb_echo_replies", [:]) == 14)
            #expect(value("nvlb_fragmentation_needed", [:]) == 15)
            #expect(value("nvlb_icmp_errors_forwarded", [:]) == 16)
            #expect(value("nvlb_policy_generation", [:]) == 2)
            let dip = ["lb": "red-web", "backend": "6001/10.1.6.22"]
            #expect(value("nvlb_probes", dip) == 9)
            #expect(value("nvlb_probe_failures", dip) == 4)
            let probe = samples("nvlb_probe_duration_seconds")
            func bucket(_ le: String) -> Double? {
                probe.first { $0.0 == "nvlb_probe_duration_seconds_bucket" && $0.1 == dip.merging(["le": le]) { $1 } }?
                    .2
            }
            #expect(bucket("0.005") == 5 && bucket("0.5") == 5 && bucket("2") == 5 && bucket("+Inf") == 7)
            #expect(probe.first { $0.0 == "nvlb_probe_duration_seconds_count" }?.2 == 7)
            #expect(probe.first { $0.0 == "nvlb_probe_duration_seconds_sum" }?.2 == 4.02)
            let publish = samples("nvlb_policy_publish_seconds")
            #expect(publish.first { $0.0 == "nvlb_policy_publish_seconds_count" }?.2 == 1)
            #expect(publish.first { $0.0 == "nvlb_policy_publish_seconds_bucket" && $0.1["le"] == "+Inf" }?.2 == 1)
        }
    }

    @Test(
        "schemathesis: every documented operation, no server error, every response as documented",
        .enabled(if: which("schemathesis") != nil, "pip install schemathesis"),
        .timeLimit(.minutes(10)))
    func schemathesis() async throws {
        let fixture = try ManagementFixture()
        try await live(fixture) { port, _, _ in
            let spec = TestSupport.repositoryRoot.appendingPathComponent("docs/openapi.yaml").path
            let result = try await runChild(
                which("schemathesis")!,
                [
                    "--no-color", "run", spec, "--url", "http://127.0.0.1:\(port)", "-H",
                    "Authorization: Bearer \(operatorSecret)",
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,ignored_auth",
                    "--max-examples", "25", "--seed", "1", "--workers", "1",
                    "--phases", "examples,coverage,fuzzing",
                    "--suppress-health-check", "all",
                ], timeout: 540)
            #expect(result.status == 0, "\(result.output.suffix(6000))\n\(result.error.suffix(2000))")
        }
    }
}

@Suite("Management API over TLS")
struct TLSTests {
    @Test(
        "with management.tls the API answers over HTTPS with the configured certificate",
        .enabled(if: which("openssl") != nil, "openssl not installed"))
    func https() async throws {
        let fixture = try ManagementFixture()
        let certificate = fixture.directory.appendingPathComponent("cert.pem").path
        let key = fixture.directory.appendingPathComponent("key.pem").path
        let made = try await runChild(
            which("openssl")!,
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", certificate,
            ])
        #expect(made.status == 0, "\(made.error)")
        var settings = fixture.server.settings
        settings.tls = .init(certificate: certificate, key: key)
        settings.port = 0
        let server = ManagementServer(
            store: fixture.store, backend: fixture.backend, publisher: fixture.server.publisher,
            tokens: fixture.server.tokens, settings: settings, logger: fixture.server.logger)
        let app = try server.application()
        try await app.test(.ahc(.https)) { client in
            try await client.execute(uri: "/v1/status", method: .get, headers: authorized()) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/v1/status", method: .get) { #expect($0.status == .unauthorized) }
        }
        // Unreadable key material is refused when the server is built (nvlb run exits 2).
        settings.tls = .init(certificate: certificate + ".missing", key: key)
        let broken = ManagementServer(
            store: fixture.store, backend: fixture.backend, publisher: fixture.server.publisher,
            tokens: fixture.server.tokens, settings: settings, logger: fixture.server.logger)
        #expect(throws: (any Error).self) { _ = try broken.application() }
    }
}
