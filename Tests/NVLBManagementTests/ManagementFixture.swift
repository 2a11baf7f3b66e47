import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NVLBControl
import NVLBManagement
import NVLBPolicy
import Synchronization
import Testing

/// The configuration the API tests start from: the documented example, with comments that
/// persistence must keep where nothing changed.
let fixtureYAML = """
    # nvlb test configuration (header comment)
    balancer:
      workers: 2                     # two workers
      hash_seed: 0x6e766c62

    underlay:
      interface: pa0
      address: 192.168.6.2
      mac: 02:4c:42:00:06:02
      gateway_mac: 02:00:00:00:06:01

    external:
      mac: 02:4c:42:00:00:01
      gateway_mac: 02:00:00:00:00:fe

    routing_domains:
      # blue tenant
      - name: blue
        gateway_mac: 02:4c:42:00:b1:00
        subnets: [5001, 5002]
        lookup_records:
          - { vsid: 5001, ca: 10.1.6.20, pa: 192.168.6.3, mac: 00:15:5d:01:06:20 }
          - { vsid: 5001, ca: 10.1.6.21, pa: 192.168.6.4, mac: 00:15:5d:01:06:21 }
          - { vsid: 5002, ca: 10.1.5.20, pa: 192.168.6.7, mac: 00:15:5d:01:05:20 }
          - { vsid: 5001, ca: 10.1.6.30, pa: 192.168.6.4, mac: 00:15:5d:01:06:30 }
      # red tenant keeps this comment
      - name: red
        gateway_mac: 02:4c:42:00:e1:00
        subnets: [6001]
        lookup_records:
          - { vsid: 6001, ca: 10.1.6.21, pa: 192.168.6.5, mac: 00:15:5d:02:06:21 }
          - { vsid: 6001, ca: 10.1.6.22, pa: 192.168.6.6, mac: 00:15:5d:02:06:22 }

    load_balancers:
      - name: blue-web                   # public VIP
        routing_domain: blue
        frontends: [ { vip: 131.107.10.10 } ]
        rules:
          - { protocol: tcp, frontend_port: 80, backend_port: 80 }
        backends:
          - { vsid: 5001, ca: 10.1.6.20 }
          - { vsid: 5001, ca: 10.1.6.21, weight: 2 }
      # red-web comment survives a change of blue-web
      - name: red-web
        routing_domain: red
        frontends: [ { vip: 131.107.20.20 } ]
        rules: [ { protocol: tcp, frontend_port: 443, backend_port: 443 } ]
        backends: [ { vsid: 6001, ca: 10.1.6.21 }, { vsid: 6001, ca: 10.1.6.22 } ]

    management:
      listen: 127.0.0.1:9180
      token_file: tokens

    """

/// The secret of the fixture's `operator` token.
let operatorSecret = "s3cret-operator-token-0123456789"

/// A runtime stand-in: records every published policy and returns scripted figures.
final class RecordingBackend: ManagementBackend {
    let published = Mutex<[PolicyConfiguration]>([])
    let scripted = Mutex(RuntimeFigures())

    func publish(_ configuration: PolicyConfiguration) {
        published.withLock { $0.append(configuration) }
    }

    func figures() -> RuntimeFigures { scripted.withLock { $0 } }

    var last: PolicyConfiguration? { published.withLock { $0.last } }
    var count: Int { published.withLock { $0.count } }
}

/// A temporary directory with the configuration and token files, and a server over them.
final class ManagementFixture: Sendable {
    let directory: URL
    let configPath: String
    let backend = RecordingBackend()
    let store: ConfigurationStore
    let server: ManagementServer

    init(yaml: String = fixtureYAML, metricsAuth: Bool = false) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nvlb-mgmt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        configPath = directory.appendingPathComponent("nvlb.yaml").path
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let tokens = try TokenFile(
            text: "operator \(operatorSecret)\nprobe other-secret-0123456789ab\n", fileName: "tokens")
        let publisher = PolicyPublisher(backend: backend)
        store = try ConfigurationStore(path: configPath) { publisher.publish($0) }
        var settings = try #require(store.current.management)
        settings.metricsAuth = metricsAuth
        server = ManagementServer(
            store: store, backend: backend, publisher: publisher, tokens: tokens, settings: settings,
            logger: Logger(label: "test"))
    }

    /// Runs `body` against the router (no sockets).
    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: server.router())
        try await app.test(.router, body)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var fileText: String { (try? String(contentsOfFile: configPath, encoding: .utf8)) ?? "" }
}

/// `Authorization: Bearer` with the operator's secret (plus `extra`).
func authorized(_ extra: HTTPFields = [:]) -> HTTPFields {
    var fields = extra
    fields[.authorization] = "Bearer \(operatorSecret)"
    return fields
}

func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

/// The `errors` of an error reply.
func problems(_ response: TestResponse) -> [[String: Any]] {
    let object = try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]
    return object?["errors"] as? [[String: Any]] ?? []
}

func object(_ response: TestResponse) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))) as? [String: Any] ?? [:]
}
