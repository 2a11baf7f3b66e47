import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NVLBControl
import NVLBManagement
import NVLBPolicy
import Testing

@Suite("Management API: authentication")
struct AuthenticationTests {
    @Test("healthz needs no token")
    func healthz() async throws {
        try await ManagementFixture().test { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "{\"status\":\"ok\"}")
            }
        }
    }

    @Test(
        "every /v1 endpoint answers 401 with WWW-Authenticate without a valid token",
        arguments: [
            ("/v1/config", HTTPRequest.Method.get), ("/v1/config", .put), ("/v1/status", .get),
            ("/v1/openapi.yaml", .get), ("/v1/load-balancers/blue-web", .put), ("/v1/load-balancers/blue-web", .delete),
            ("/v1/load-balancers/blue-web/backends/5001/10.1.6.20", .patch),
            ("/v1/routing-domains/blue/lookup-records/5001/10.1.6.20", .put),
            ("/v1/routing-domains/blue/lookup-records/5001/10.1.6.20", .delete),
        ])
    func unauthorized(path: String, method: HTTPRequest.Method) async throws {
        let fixture = try ManagementFixture()
        try await fixture.test { client in
            for header: HTTPFields in [
                [:], [.authorization: "Bearer wrong-secret-0123456789"], [.authorization: "Basic b3BlcmF0b3I6eA=="],
                [.authorization: "Bearer \(operatorSecret)x"], [.authorization: "Bearer"],
            ] {
                try await client.execute(uri: path, method: method, headers: header, body: json("{}")) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                    #expect(problems(response).first?["message"] as? String != nil)
                }
            }
        }
        #expect(fixture.backend.count == 0)
    }

    @Test("metrics are public unless management.metrics_auth")
    func metricsAuth() async throws {
        try await ManagementFixture().test { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
        }
        try await ManagementFixture(metricsAuth: true).test { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get, headers: authorized()) { #expect($0.status == .ok) }
        }
    }

    @Test("a second token authenticates too")
    func secondToken() async throws {
        try await ManagementFixture().test { client in
            try await client.execute(
                uri: "/v1/status", method: .get, headers: [.authorization: "Bearer other-secret-0123456789ab"]
            ) { #expect($0.status == .ok) }
        }
    }
}

@Suite("Management API: configuration")
struct ConfigurationEndpointTests {
    @Test("GET /v1/config returns the document as JSON with an ETag")
    func getConfig() async throws {
        try await ManagementFixture().test { client in
            try await client.execute(uri: "/v1/config", method: .get, headers: authorized()) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let etag = try #require(response.headers[.eTag])
                #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count == 18)
                let body = object(response)
                let balancer = body["balancer"] as? [String: Any]
                #expect(balancer?["workers"] as? Int == 2)
                #expect(balancer?["hash_seed"] as? Int == 0x6e76_6c62)
                let lbs = body["load_balancers"] as? [[String: Any]]
                #expect(lbs?.map { $0["name"] as? String } == ["blue-web", "red-web"])
                let underlay = body["underlay"] as? [String: Any]
                #expect(underlay?["mac"] as? String == "02:4c:42:00:06:02")
            }
        }
    }

    @Test("PUT /v1/config: If-Match stale → 412, current → 200, published and persisted")
    func putConfig() async throws {
        let fixture = try ManagementFixture()
        try await fixture.test { client in
            let etag = try await client.execute(uri: "/v1/config", method: .get, headers: authorized()) {
                $0.headers[.eTag]!
            }
            let current = fixture.store.current.document
            var changed = current
            changed.root["balancer"]?["hash_seed"] = .integer(42)
            let body = json(changed.json())
            try await client.execute(
                uri: "/v1/config", method: .put, headers: authorized([.ifMatch: "\"0000000000000000\""]), body: body
            ) { response in
                #expect(response.status == .preconditionFailed)
                #expect(response.headers[.eTag] == etag)
            }
            #expect(fixture.backend.count == 0)
            try await client.execute(
                uri: "/v1/config", method: .put, headers: authorized([.ifMatch: etag]), body: body
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] != etag)
                #expect(response.headers[.eTag] == fixture.store.current.etag)
            }
            #expect(fixture.backend.last?.balancer.hashSeed == 42)
            #expect(fixture.store.current.generation == 2)
            // The old ETag is stale now.
            try await client.execute(
                uri: "/v1/config", method: .put, headers: authorized([.ifMatch: etag]), body: body
            ) { #expect($0.status == .preconditionFailed) }
        }
        #expect(fixture.fileText.contains("hash_seed: 42"))
    }

    @Test("PUT /v1/config with an invalid body → 422 with key paths and positions in the body; nothing changes")
    func putInvalidConfig() async throws {
        let fixture = try ManagementFixture()
        let before = fixture.fileText
        try await fixture.test { client in
            var document = fixture.store.current.document
            document.root["balancer"]?["flow_table_capacity"] = .integer(1000)
            var lbs = document.root["load_balancers"]!.elements!
            lbs[0]["backends"] = .array([
                .object([.init(key: "vsid", value: .integer(5001)), .init(key: "ca", value: .string("10.1.6.99"))])
            ])
            document.root["load_balancers"] = .array(lbs)
            let text = document.json()
            try await client.execute(uri: "/v1/config", method: .put, headers: authorized(), body: json(text)) {
                response in
                #expect(response.status == .unprocessableContent)
                let errors = problems(response)
                #expect(
                    errors.map { $0["path"] as? String } == [
                        "balancer.flow_table_capacity", "load_balancers[0].backends[0]",
                    ])
                #expect(
                    errors.first?["message"] as? String
                        == "must be a power of two between 1024 and 67108864, found 1000")
                #expect(
                    errors.last?["message"] as? String
                        == "no lookup record for VSID 5001 CA 10.1.6.99 in routing domain blue")
                // The position is that of the value in the JSON body.
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let line = try #require(errors.first?["line"] as? Int)
                #expect(lines[line - 1].contains("\"flow_table_capacity\": 1000"))
            }
            try await client.execute(uri: "/v1/config", method: .put, headers: authorized(), body: json("{ not json")) {
                response in
                #expect(response.status == .unprocessableContent)
                #expect(problems(response).first?["line"] as? Int != nil)
            }
            try await client.execute(uri: "/v1/config", method: .put, headers: authorized(), body: json("[1, 2]")) {
                #expect($0.status == .unprocessableContent)
            }
        }
        #expect(fixture.backend.count == 0)
        #expect(fixture.fileText == before)
    }

    @Test("the messages of a refused change are those of nvlb check for the same file")
    func sameMessagesAsCheck() async throws {
        let fixture = try ManagementFixture()
        let bad = fixtureYAML.replacingOccurrences(
            of: "frontend_port: 443, backend_port: 443", with: "frontend_port: 70000, backend_port: 443")
        let check: [ConfigurationDiagnostic]
        do {
            _ = try ConfigurationLoader.load(yaml: bad, fileName: "x.yaml")
            check = []
        } catch { check = error.diagnostics }
        #expect(!check.isEmpty)
        try await fixture.test { client in
            try await client.execute(uri: "/v1/config", method: .put, headers: authorized(), body: json(bad)) {
                response in
                #expect(response.status == .unprocessableContent)
                let errors = problems(response)
                #expect(errors.map { $0["path"] as? String } == check.map(\.path))
                #expect(errors.map { $0["message"] as? String } == check.map(\.message))
                #expect(errors.map { $0["line"] as? Int } == check.map(\.line))
            }
        }
    }

    @Test("a body over 4 MiB → 413")
    func tooLarge() async throws {
        let fixture = try ManagementFixture()
        try await fixture.test { client in
            let huge = ByteBuffer(repeating: UInt8(ascii: " "), count: ManagementServer.maxBodySize + 1)
            for uri in ["/v1/config", "/v1/load-balancers/x", "/v1/routing-domains/blue/lookup-records/5001/10.1.6.50"]
            {
                try await client.execute(uri: uri, method: .put, headers: authorized(), body: huge) { response in
                    #expect(response.status == .contentTooLarge)
                }
            }
        }
        #expect(fixture.backend.count == 0)
    }
}

@Suite("Management API: resources")
struct ResourceEndpointTests {
    @Test("PUT lookup record: 201 created, 200 moved (new PA published), 422 invalid, 404 unknown domain")
    func putLookupRecord() async throws {
        let fixture = try ManagementFixture()
        try await fixture.test { client in
            let uri = "/v1/routing-domains/blue/lookup-records/5001/10.1.6.40"
            try await client.execute(
                uri: uri, method: .put, headers: authorized(),
                body: json(#"{"pa": "192.168.6.9", "mac": "00:15:5d:01:06:40"}"#)
            ) { response in
                #expect(response.status == .created)
                let record = object(response)
                #expect(record["vsid"] as? Int == 5001)
                #expect(record["pa"] as? String == "192.168.6.9")
            }
            // Live migration: the VM behind 10.1.6.21 moves to another host.
            try await client.execute(
                uri: "/v1/routing-domains/blue/lookup-records/5001/10.1.6.21", method: .put, headers: authorized(),
                body: json(#"{"pa": "192.168.6.8", "mac": "00:15:5d:01:06:21"}"#)
            ) { #expect($0.status == .ok) }
            let blue = try #require(fixture.backend.last?.routingDomains.first { $0.name == "blue" })
            let moved = blue.lookupRecords.first { $0.ca.description == "10.1.6.21" }
            #expect(moved?.pa.description == "192.168.6.8")
            #expect(blue.lookupRecords.count == 5)
            try await client.execute(
                uri: uri, method: .put, headers: authorized(),
                body: json(#"{"pa": "192.168.6.300", "mac": "00:15:5d:01:06:40"}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
                let errors = problems(response)
                #expect(errors.first?["path"] as? String == "routing_domains[0].lookup_records[4].pa")
                #expect((errors.first?["message"] as? String)?.hasPrefix("expected an IPv4 address") == true)
                #expect(errors.first?["line"] == nil)
            }
            try await client.execute(
                uri: "/v1/routing-domains/blue/lookup-records/7001/10.1.6.41", method: .put, headers: authorized(),
                body: json(#"{"pa": "192.168.6.9", "mac": "00:15:5d:01:06:41"}"#)
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(problems(response).first?["path"] as? String == "routing_domains[0].lookup_records[5].vsid")
            }
            try await client.execute(
                uri: "/v1/routing-domains/green/lookup-records/5001/10.1.6.40", method: .put, headers: authorized(),
                body: json(#"{"pa": "192.168.6.9", "mac": "00:15:5d:01:06:40"}"#)
            ) { #expect($0.status == .notFound) }
        }
        #expect(fixture.backend.count == 2)
    }

    @Test("DELETE lookup record: 409 while a backend uses it, 204 when unused, 404 when absent")
    func deleteLookupRecord() async throws {
        let fixture = try ManagementFixture()
        try await fixture.test { client in
            try await client.execute(
                uri: "/v1/routing-domains/blue/lookup-records/5001/10.1.6.20", method: .delete, headers: authorized()
            ) { response in
                #expect(response.status == .conflict)
                let errors = problems(response)
                #expect(errors.first?["path"] as? String == "load_balancers[0].backends[0]")
            }
            try await client.execute(
                uri: "/v1/routing-domains/blue/lookup-records/5001/10.1.6.30", method: .delete, headers: authorized()
            ) { #expect($0.status == .noContent) }
            try await client.execute(
                uri: "/v1/routing-domains/blue/lookup-records/5001/10.1.6.30", method: .delete, headers: authorized()
            ) { #expect($0.status == .notFound) }
            // The same CA in red is another record: the red one is used by red-web.
            try await client.execute(
                uri: "/v1/routing-domains/red/lookup-records/6001/10.1.6.21", method: .delete, headers: authorized()
            ) { #expect($0.status == .conflict) }
        }
        let blue = try #require(fixture.backend.last?.routingDomains.first { $0.name == "blue" })
        #expect(!blue.lookupRecords.contains { $0.ca.description == "10.1.6.30" })
        #expect(fixture.backend.count == 1)
    }

    @Test("PUT and DELETE load balancer")
    func loadBalancers() async throws {
        let fixture = try ManagementFixture()
        try await fixture.test { client in
            let lb =
                #"{"routing_domain": "blue", "frontends": [{"vsid": 5002, "vip": "10.1.5.100"}], "rules": [{"protocol": "tcp", "frontend_port": 8080}], "backends": [{"vsid": 5001, "ca": "10.1.6.20"}]}"#
            try await client.execute(
                uri: "/v1/load-balancers/blue-app", method: .put, headers: authorized(), body: json(lb)
            ) {
                response in
                #expect(response.status == .created)
                #expect(object(response)["name"] as? String == "blue-app")
            }
            #expect(fixture.backend.last?.loadBalancers.map(\.name) == ["blue-web", "red-web", "blue-app"])
            #expect(fixture.backend.last?.loadBalancers.last?.rules.first?.backendPort == 8080)
            try await client.execute(
                uri: "/v1/load-balancers/blue-app", method: .put, headers: authorized(), body: json(lb)
            ) {
                #expect($0.status == .ok)
            }
            let bad = lb.replacingOccurrences(of: "8080", with: "0")
            try await client.execute(
                uri: "/v1/load-balancers/blue-app", method: .put, headers: authorized(), body: json(bad)
            ) {
                response in
                #expect(response.status == .unprocessableContent)
                #expect(problems(response).first?["path"] as? String == "load_balancers[2].rules[0].frontend_port")
            }
            let renamed = lb.replacingOccurrences(
                of: "{\"routing_domain\"", with: "{\"name\": \"other\", \"routing_domain\"")
            try await client.execute(
                uri: "/v1/load-balancers/blue-app", method: .put, headers: authorized(), body: json(renamed)
            ) {
                response in
                #expect(response.status == .unprocessableContent)
                #expect(problems(response).first?["path"] as? String == "name")
            }
            try await client.execute(uri: "/v1/load-balancers/blue-app", method: .delete, headers: authorized()) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/v1/load-balancers/blue-app", method: .delete, headers: authorized()) {
                #expect($0.status == .notFound)
            }
        }
        #expect(fixture.backend.last?.loadBalancers.map(\.name) == ["blue-web", "red-web"])
    }

    @Test("PATCH backend weight: 200 drains, 422 out of range, 404 unknown")
    func weight() async throws {
        let fixture = try ManagementFixture()
        try await fixture.test { client in
            let uri = "/v1/load-balancers/blue-web/backends/5001/10.1.6.21"
            try await client.execute(uri: uri, method: .patch, headers: authorized(), body: json(#"{"weight": 0}"#)) {
                response in
                #expect(response.status == .ok)
                #expect(object(response)["weight"] as? Int == 0)
            }
            #expect(fixture.backend.last?.loadBalancers[0].backends[1].weight == 0)
            try await client.execute(uri: uri, method: .patch, headers: authorized(), body: json(#"{"weight": 1001}"#))
            {
                response in
                #expect(response.status == .unprocessableContent)
                let errors = problems(response)
                #expect(errors.first?["path"] as? String == "load_balancers[0].backends[1].weight")
                #expect(errors.first?["message"] as? String == "must be between 0 and 1000, found 1001")
            }
            try await client.execute(uri: uri, method: .patch, headers: authorized(), body: json(#"{"weight": "x"}"#)) {
                #expect($0.status == .unprocessableContent)
            }
            try await client.execute(uri: uri, method: .patch, headers: authorized(), body: json(#"{"wait": 1}"#)) {
                #expect($0.status == .unprocessableContent)
            }
            try await client.execute(
                uri: "/v1/load-balancers/blue-web/backends/5001/10.1.6.99", method: .patch, headers: authorized(),
                body: json(#"{"weight": 1}"#)
            ) { #expect($0.status == .notFound) }
            try await client.execute(
                uri: "/v1/load-balancers/nope/backends/5001/10.1.6.21", method: .patch, headers: authorized(),
                body: json(#"{"weight": 1}"#)
            ) { #expect($0.status == .notFound) }
        }
        #expect(fixture.backend.count == 1)
        #expect(fixture.fileText.contains("{ vsid: 5001, ca: 10.1.6.21, weight: 0 }"))
    }

    @Test("unknown routes → 404 (after authentication)")
    func notFound() async throws {
        try await ManagementFixture().test { client in
            try await client.execute(uri: "/v1/nothing", method: .get, headers: authorized()) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/v1/nothing", method: .get) { #expect($0.status == .unauthorized) }
        }
    }
}

@Suite("Management API: status, OpenAPI")
struct StatusEndpointTests {
    @Test("GET /v1/status lists every VIP, rule and DIP with health, weight and packets")
    func status() async throws {
        let fixture = try ManagementFixture()
        fixture.backend.scripted.withLock {
            $0.packetsIn = 100
            $0.packetsOut = 90
            $0.workers = [
                WorkerFigures(flows: 3, capacity: 1024, packetsIn: 60, packetsOut: 55),
                WorkerFigures(flows: 4, capacity: 1024, packetsIn: 40, packetsOut: 35),
            ]
            $0.backendPackets = ["blue-web": ["5001/10.1.6.21": 17]]
            $0.backendUp = ["blue-web": ["5001/10.1.6.20": false]]
        }
        try await fixture.test { client in
            try await client.execute(uri: "/v1/status", method: .get, headers: authorized()) { response in
                #expect(response.status == .ok)
                let status = object(response)
                #expect(status["generation"] as? Int == 1)
                let workers = try #require(status["workers"] as? [[String: Any]])
                #expect(workers.map { $0["worker"] as? Int } == [0, 1])
                #expect(workers.map { $0["flows"] as? Int } == [3, 4])
                #expect(workers.map { $0["flow_table_capacity"] as? Int } == [1024, 1024])
                // Each worker's own packets, so the console can show packets/s per worker.
                #expect(workers.map { $0["packets_in"] as? Int } == [60, 40])
                #expect(workers.map { $0["packets_out"] as? Int } == [55, 35])
                #expect((status["packets"] as? [String: Any])?["received"] as? Int == 100)
                let lbs = try #require(status["load_balancers"] as? [[String: Any]])
                #expect(lbs.count == 2)
                let backends = try #require(lbs[0]["backends"] as? [[String: Any]])
                #expect(backends.map { $0["backend"] as? String } == ["5001/10.1.6.20", "5001/10.1.6.21"])
                #expect(backends.map { $0["health"] as? String } == ["down", "up"])
                #expect(backends.map { $0["weight"] as? Int } == [1, 2])
                #expect(backends.map { $0["packets"] as? Int } == [0, 17])
                let rules = try #require(lbs[1]["rules"] as? [[String: Any]])
                #expect(rules.first?["frontend_port"] as? Int == 443)
            }
        }
    }

    @Test("GET /v1/openapi.yaml serves docs/openapi.yaml as is")
    func openAPI() async throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml")
        let expected = try String(contentsOf: docs, encoding: .utf8)
        try await ManagementFixture().test { client in
            try await client.execute(uri: "/v1/openapi.yaml", method: .get, headers: authorized()) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == expected)
            }
        }
    }
}
