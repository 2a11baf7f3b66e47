import Yams

/// `management:` — the management API server (docs/management.md).
///
/// Absent: no server. The values are read and checked by the loader like every other key,
/// so `nvlb check` reports a wrong `management.listen` at its position.
public struct ManagementSettings: Sendable, Equatable {
    /// The default `listen`: loopback only.
    public static let defaultListen = "127.0.0.1:9180"

    /// The address to bind (an IPv4 address, or a host name resolved at start).
    public var host: String
    /// The TCP port.
    public var port: Int
    /// The bearer token file: lines `NAME SECRET`.
    public var tokenFile: String
    /// PEM certificate chain and private key; `nil` serves plain HTTP.
    public var tls: TLS?
    /// Whether `GET /metrics` also needs a token.
    public var metricsAuth: Bool

    /// Certificate and key files of `management.tls`.
    public struct TLS: Sendable, Equatable {
        /// PEM certificate chain.
        public var certificate: String
        /// PEM private key.
        public var key: String

        /// Creates TLS settings.
        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// Creates settings.
    public init(
        host: String = "127.0.0.1", port: Int = 9180, tokenFile: String, tls: TLS? = nil, metricsAuth: Bool = false
    ) {
        self.host = host
        self.port = port
        self.tokenFile = tokenFile
        self.tls = tls
        self.metricsAuth = metricsAuth
    }

    /// Splits `ADDRESS:PORT`; `nil` when malformed.
    static func parseListen(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty, !host.contains(":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        return (host, port)
    }
}

/// `management:` as written, with positions (read by `RawConfiguration`).
struct RawManagement {
    static let keys = ["listen", "token_file", "tls", "metrics_auth"]
    static let tlsKeys = ["certificate", "key"]

    var settings: ManagementSettings?

    init(_ map: MappingReader) {
        var listen = ManagementSettings.parseListen(ManagementSettings.defaultListen)!
        if let text = map.string("listen") {
            if let parsed = ManagementSettings.parseListen(text.value) {
                listen = parsed
            } else {
                map.reader.diagnostics.report(
                    "expected ADDRESS:PORT (e.g. 127.0.0.1:9180), found '\(text.value)'", path: text.path,
                    at: text.position)
            }
        }
        let tokenFile = map.string("token_file", required: true)
        var tls: ManagementSettings.TLS?
        if let tlsMap = map.mapping("tls", keys: Self.tlsKeys) {
            let certificate = tlsMap.string("certificate", required: true)
            let key = tlsMap.string("key", required: true)
            if let certificate, let key { tls = .init(certificate: certificate.value, key: key.value) }
        }
        var metricsAuth = false
        if let flag = map.choice("metrics_auth", options: [("true", true), ("false", false)]) {
            metricsAuth = flag.value
        }
        if let tokenFile {
            settings = ManagementSettings(
                host: listen.host, port: listen.port, tokenFile: tokenFile.value, tls: tls, metricsAuth: metricsAuth)
        }
    }
}

extension ConfigurationLoader {
    /// The `management:` section of a configuration that `load` accepted; `nil` when absent.
    ///
    /// - Throws: `ConfigurationError` exactly when `load(yaml:fileName:)` does.
    public static func managementSettings(yaml: String, fileName: String) throws(ConfigurationError)
        -> ManagementSettings?
    {
        _ = try load(yaml: yaml, fileName: fileName)
        return managementSection(yaml: yaml, fileName: fileName)
    }

    /// `management:` of text that has been validated already.
    static func managementSection(yaml: String, fileName: String) -> ManagementSettings? {
        let diagnostics = DiagnosticCollector(file: fileName)
        guard let root = try? Yams.compose(yaml: yaml),
            let map = YAMLReader(diagnostics: diagnostics).mapping(root, path: "", keys: RawConfiguration.keys),
            let section = map.mapping("management", keys: RawManagement.keys)
        else { return nil }
        return RawManagement(section).settings
    }
}
