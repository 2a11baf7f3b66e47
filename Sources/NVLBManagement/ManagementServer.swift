import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import NVLBControl
import NVLBPolicy

/// The management API server (docs/management.md): Hummingbird over HTTP/1.1, bearer
/// tokens, the routes of docs/openapi.yaml, and `/metrics`.
///
/// Every route runs on Swift concurrency threads; it reaches the workers only through
/// `ConfigurationStore` (snapshot publication) and `ManagementBackend.figures()` (plain
/// counters), so a request never blocks or slows the packet path.
public struct ManagementServer: Sendable {
    /// Largest accepted request body (413 above).
    public static let maxBodySize = 4 * 1024 * 1024
    /// Time a connection may stay idle (also bounds a client that never finishes its headers).
    public static let idleTimeout: TimeAmount = .seconds(30)
    /// Concurrent connections; further ones wait in the listen backlog.
    public static let maxConnections = 64

    /// The running configuration and its one change path.
    public let store: ConfigurationStore
    /// The runtime.
    public let backend: any ManagementBackend
    /// Publication timing for `nvlb_policy_publish_seconds`.
    public let publisher: PolicyPublisher
    /// Accepted tokens.
    public let tokens: TokenFile
    /// `management:` settings.
    public let settings: ManagementSettings
    /// Where audit lines and server messages go.
    public let logger: Logger
    /// When the process started (for `/v1/status`).
    public let started: Date

    /// Creates the server; `publisher` must be the one `store` publishes through.
    public init(
        store: ConfigurationStore, backend: any ManagementBackend, publisher: PolicyPublisher, tokens: TokenFile,
        settings: ManagementSettings, logger: Logger, started: Date = Date()
    ) {
        self.store = store
        self.backend = backend
        self.publisher = publisher
        self.tokens = tokens
        self.settings = settings
        self.logger = logger
        self.started = started
    }

    /// The router with every route and middleware (used as is by the tests, without sockets).
    public func router() -> Router<ManagementContext> {
        let router = Router(context: ManagementContext.self)
        router.add(middleware: ErrorBodyMiddleware(logger: logger))
        router.add(middleware: AuditMiddleware(logger: logger))
        router.add(middleware: BearerAuthMiddleware(tokens: tokens, metricsAuth: settings.metricsAuth))
        addRoutes(to: router)
        addConsoleRoutes(to: router)
        return router
    }

    /// The application bound to `management.listen` (with TLS when configured).
    ///
    /// - Throws: when the TLS certificate or key cannot be read.
    public func application(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        throws -> some ApplicationProtocol
    {
        let http = HTTP1Channel.Configuration(idleTimeout: Self.idleTimeout)
        var server: HTTPServerBuilder = .http1(configuration: http)
        if let tls = settings.tls {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map {
                NIOSSLCertificateSource.certificate($0)
            }
            let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(key))
            server = try .tls(.http1(configuration: http), tlsConfiguration: configuration)
        }
        return Application(
            router: router(), server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(settings.host, port: settings.port), serverName: "nvlb",
                availableConnectionsDelegate: MaximumAvailableConnections(Self.maxConnections)),
            onServerRunning: onServerRunning, logger: logger)
    }
}

/// Times each publication for `nvlb_policy_publish_seconds` and forwards it to the runtime.
public final class PolicyPublisher: Sendable {
    private let backend: any ManagementBackend
    /// Seconds per publication (the snapshot build and swap).
    public let histogram = Histogram(bounds: [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
    ])

    /// Creates a publisher for `backend`.
    public init(backend: any ManagementBackend) {
        self.backend = backend
    }

    /// Publishes `configuration` and records how long it took.
    public func publish(_ configuration: PolicyConfiguration) {
        let start = ContinuousClock.now
        backend.publish(configuration)
        let elapsed = ContinuousClock.now - start
        histogram.observe(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
