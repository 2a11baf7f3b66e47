import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NVLBManagement
import Synchronization
import Testing

/// Log records kept in memory.
final class LogRecords: Sendable {
    let records = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
}

/// Keeps every log record in memory.
struct CapturingLogHandler: LogHandler {
    let store: LogRecords
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.records.withLock { $0.append((event.message.description, event.metadata ?? [:])) }
    }
}

@Suite("Audit log")
struct AuditLogTests {
    @Test("one line per change request: token name, request, result, and why a change was refused")
    func auditLines() async throws {
        let fixture = try ManagementFixture()
        let records = LogRecords()
        let handler = CapturingLogHandler(store: records)
        let server = ManagementServer(
            store: fixture.store, backend: fixture.backend, publisher: fixture.server.publisher,
            tokens: fixture.server.tokens, settings: fixture.server.settings,
            logger: Logger(label: "audit-test") { _ in handler })
        let app = Application(router: server.router())
        try await app.test(.router) { client in
            let uri = "/v1/load-balancers/blue-web/backends/5001/10.1.6.21"
            try await client.execute(uri: uri, method: .patch, headers: authorized(), body: json(#"{"weight": 0}"#)) {
                _ in
            }
            try await client.execute(uri: uri, method: .patch, headers: authorized(), body: json(#"{"weight": 1001}"#))
            { _ in }
            try await client.execute(uri: uri, method: .patch, body: json(#"{"weight": 3}"#)) { _ in }
            try await client.execute(uri: "/v1/config", method: .get, headers: authorized()) { _ in }
        }
        let audit = records.records.withLock { $0 }.filter { $0.message == "audit" }.map(\.metadata)
        #expect(audit.count == 3, "reads are not audited")
        #expect(audit.map { $0["token"]?.description } == ["operator", "operator", "-"])
        #expect(audit.map { $0["result"]?.description } == ["200", "422", "401"])
        #expect(
            audit.allSatisfy {
                $0["request"]?.description == "PATCH /v1/load-balancers/blue-web/backends/5001/10.1.6.21"
            })
        #expect(audit[0]["etag"]?.description == fixture.store.current.etag)
        #expect(
            audit[1]["error"]?.description
                == "load_balancers[0].backends[1].weight: must be between 0 and 1000, found 1001")
    }
}
