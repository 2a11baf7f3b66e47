import Foundation
import NVLBPolicy
import Synchronization

/// One problem of a refused change, in the terms of `nvlb check`: the key path and message
/// of the configuration validator; `line`/`column` only where they point into text the
/// client sent (a `PUT /v1/config` body).
public struct ChangeProblem: Sendable, Equatable, Codable {
    /// Key path, e.g. `load_balancers[0].backends[1].weight`; empty for the document as a whole.
    public var path: String
    /// What is wrong.
    public var message: String
    /// 1-based line in the request body, when known.
    public var line: Int?
    /// 1-based column in the request body, when known.
    public var column: Int?

    /// Creates a problem.
    public init(path: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }
}

/// Why a change was refused. The running policy and the file are untouched in every case.
public enum ChangeFailure: Error, Sendable, Equatable {
    /// The result would not validate (HTTP 422).
    case invalid([ChangeProblem])
    /// The addressed resource does not exist (HTTP 404).
    case notFound(String)
    /// The change would leave a reference dangling (HTTP 409).
    case conflict([ChangeProblem])
    /// `If-Match` named another version (HTTP 412); carries the current ETag.
    case preconditionFailed(current: String)
    /// The file could not be written (HTTP 500).
    case persistence(String)
}

/// The one path of every configuration change (docs/management.md "One change path"):
/// validate → compile → persist → publish, whether the change comes from the file (SIGHUP)
/// or from the management API.
///
/// Validation is `ConfigurationLoader`'s, so a refused change reports the key paths and
/// messages of `nvlb check`. An API change is written to the file before it is published:
/// a change that cannot be persisted never runs, and a restart comes back with every change
/// that was acknowledged. Changes are serialized; they run on the caller's thread (never a
/// worker's) and reach the workers through `publish` (one snapshot swap).
public final class ConfigurationStore: Sendable {
    /// The running configuration.
    public struct State: Sendable {
        /// The document as written (what `GET /v1/config` returns).
        public var document: ConfigurationDocument
        /// The validated policy.
        public var configuration: PolicyConfiguration
        /// `management:` of the document, if any.
        public var management: ManagementSettings?
        /// The file text last read or written.
        public var text: String
        /// Strong ETag of `document` (quoted).
        public var etag: String
        /// Policies published by this store (1 for the first).
        public var generation: UInt64
    }

    /// The configuration file.
    public let path: String
    private let publish: @Sendable (PolicyConfiguration) -> Void
    private let state: Mutex<State>

    /// Loads and validates `path`. The caller starts the runtime with `current.configuration`;
    /// `publish` is called for every later change.
    ///
    /// - Throws: `ConfigurationError` with every diagnostic, as `nvlb check` prints them.
    public init(path: String, publish: @escaping @Sendable (PolicyConfiguration) -> Void) throws(ConfigurationError) {
        self.path = path
        self.publish = publish
        let loaded = try Self.read(path: path)
        state = Mutex(loaded)
    }

    /// The running configuration.
    public var current: State { state.withLock { $0 } }

    /// SIGHUP: re-reads the file; a valid file is published, an invalid one is refused and
    /// the running policy kept.
    @discardableResult
    public func reloadFile() throws(ConfigurationError) -> State {
        let loaded = try Self.read(path: path)
        return state.withLock { state in
            var next = loaded
            next.generation = state.generation + 1
            publish(next.configuration)
            state = next
            return next
        }
    }

    /// `PUT /v1/config`: replaces the configuration with `body` (JSON, or YAML); problems are
    /// positioned in the body.
    public func replace(body: String, ifMatch: String?) throws(ChangeFailure) -> State {
        if let problem = RequestBodyLimits.problem(in: body) { throw .invalid([problem]) }
        let document: ConfigurationDocument
        do {
            _ = try ConfigurationLoader.load(yaml: body, fileName: "request")
            document = try ConfigurationDocument(text: body, fileName: "request")
        } catch {
            throw .invalid(
                error.diagnostics.map {
                    ChangeProblem(path: $0.path, message: $0.message, line: $0.line, column: $0.column)
                })
        }
        return try change(ifMatch: ifMatch) { $0 = document }
    }

    /// Applies `edit` to the running document and then the change path; `edit` may refuse
    /// with `.notFound`, `.conflict` or `.invalid`.
    public func change(
        ifMatch: String? = nil, _ edit: (inout ConfigurationDocument) throws(ChangeFailure) -> Void
    ) throws(ChangeFailure) -> State {
        try state.withLock { (state: inout State) throws(ChangeFailure) -> State in
            var document = state.document
            try edit(&document)
            let yaml = document.yaml()
            let configuration: PolicyConfiguration
            let management: ManagementSettings?
            do throws(ConfigurationError) {
                configuration = try ConfigurationLoader.load(yaml: yaml, fileName: "request")
                management = ConfigurationLoader.managementSection(yaml: yaml, fileName: "request")
            } catch {
                // Positions refer to text the client never saw: key paths only.
                throw .invalid(error.diagnostics.map { ChangeProblem(path: $0.path, message: $0.message) })
            }
            // Interfaces, workers and the BGP sessions are set up at start (docs/management.md
            // "What changes without a restart"): the API cannot change them.
            let restartOnly = RestartOnlyKeys.changes(from: state.configuration, to: configuration)
            if !restartOnly.isEmpty { throw .invalid(restartOnly) }
            // Checked after the change is known to be valid: 412 means only "a valid change,
            // made against a version that is no longer current" (404, 409 and 422 come first).
            if let ifMatch, !Self.matches(ifMatch, state.etag) {
                throw .preconditionFailed(current: state.etag)
            }
            if document == state.document { return state }
            let text = ConfigurationWriter.render(document, previousText: state.text)
            do throws(ConfigurationWriteError) {
                try ConfigurationWriter.writeAtomically(text, to: path)
            } catch {
                throw .persistence(error.description)
            }
            publish(configuration)
            state = State(
                document: document, configuration: configuration, management: management, text: text,
                etag: Self.etag(document), generation: state.generation + 1)
            return state
        }
    }

    /// `If-Match`: `*` or a list of entity tags (weak ones compare by value).
    static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { part in
            var tag = part.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }

    static func etag(_ document: ConfigurationDocument) -> String { "\"\(document.digest)\"" }

    private static func read(path: String) throws(ConfigurationError) -> State {
        let configuration = try ConfigurationLoader.load(path: path)
        // The loader has read the same bytes; a file replaced in between fails validation below.
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let document = try ConfigurationDocument(text: text, fileName: path)
        let management = try ConfigurationLoader.managementSettings(yaml: text, fileName: path)
        return State(
            document: document, configuration: configuration, management: management, text: text,
            etag: etag(document), generation: 1)
    }
}
