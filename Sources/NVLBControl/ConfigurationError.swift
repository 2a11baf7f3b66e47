/// One problem found in a configuration file, with the position of the offending YAML node.
///
/// Its `description` is the format of docs/configuration.md "Errors":
/// `FILE:LINE:COLUMN: key.path: message`, for example
/// `example.yaml:41:9: load_balancers[1].backends[0]: no lookup record for VSID 5001 CA 10.1.6.99 in routing domain blue`.
/// `key.path` uses the YAML key names and `[i]` list indices. Problems that concern the file
/// as a whole (unreadable file, YAML syntax error) have an empty path and print as
/// `FILE:LINE:COLUMN: message`.
public struct ConfigurationDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// The file name as given to the loader (a path, or a display name for in-memory text).
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column, counted in Unicode scalars (libyaml's convention).
    public var column: Int
    /// The key path of the offending value, e.g. `load_balancers[0].rules[1].frontend_port`;
    /// empty for file-level problems.
    public var path: String
    /// What is wrong, in operator language.
    public var message: String

    /// Creates a diagnostic.
    public init(file: String, line: Int, column: Int, path: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    /// `FILE:LINE:COLUMN: key.path: message` (or `FILE:LINE:COLUMN: message` without a path).
    public var description: String {
        path.isEmpty
            ? "\(file):\(line):\(column): \(message)"
            : "\(file):\(line):\(column): \(path): \(message)"
    }
}

/// A configuration that could not be loaded: every problem found, in file order.
///
/// The loader never stops at the first problem: all structural and semantic errors of a
/// file are reported at once (a YAML syntax error, which prevents reading the rest of the
/// file, is the only exception).
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The problems, sorted by line and column; never empty.
    public var diagnostics: [ConfigurationDiagnostic]

    /// Creates an error from its diagnostics.
    public init(diagnostics: [ConfigurationDiagnostic]) {
        self.diagnostics = diagnostics
    }

    /// One diagnostic per line, in the `FILE:LINE:COLUMN: key.path: message` format.
    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
