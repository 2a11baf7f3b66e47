import Foundation
import NVLBPolicy
import Yams

/// Loads the YAML configuration file (docs/configuration.md) into a validated `PolicyConfiguration`.
///
/// Every problem is reported at once, each as `FILE:LINE:COLUMN: key.path: message`
/// (see `ConfigurationDiagnostic`): unknown keys (at the key), wrong types, out-of-range
/// values and inconsistent references. docs/configuration.md lists every key, default,
/// range and rule. Loading has no side effects, so a failed reload leaves the running
/// policy untouched.
public enum ConfigurationLoader {
    /// Reads and validates the file at `path`; diagnostics name the file as `path` is written.
    ///
    /// - Throws: `ConfigurationError` with every problem found; an unreadable file or a
    ///   YAML syntax error is a single diagnostic with its position (1:1 for the file).
    public static func load(path: String) throws(ConfigurationError) -> PolicyConfiguration {
        try load(yaml: readFile(path), fileName: path)
    }

    /// Validates configuration text; `fileName` is used in diagnostics only.
    ///
    /// - Throws: `ConfigurationError` with every problem found, in file order.
    public static func load(yaml: String, fileName: String) throws(ConfigurationError) -> PolicyConfiguration {
        let diagnostics = DiagnosticCollector(file: fileName)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError(diagnostics: [syntaxDiagnostic(error, yaml: yaml, file: fileName)])
        }
        guard let root else {
            throw ConfigurationError(diagnostics: [
                ConfigurationDiagnostic(
                    file: fileName, line: 1, column: 1, path: "", message: "the configuration is empty")
            ])
        }
        guard let raw = RawConfiguration(root: root, reader: YAMLReader(diagnostics: diagnostics)) else {
            throw ConfigurationError(diagnostics: diagnostics.sorted)
        }
        ConfigurationValidator(raw: raw, diagnostics: diagnostics).validate()
        if diagnostics.isEmpty, let configuration = raw.policyConfiguration() {
            return configuration
        }
        if diagnostics.isEmpty {
            // Unreachable if validation is complete; never return a half-built policy.
            diagnostics.report("internal error: incomplete configuration passed validation", path: "", at: .start)
        }
        throw ConfigurationError(diagnostics: diagnostics.sorted)
    }

    private static func readFile(_ path: String) throws(ConfigurationError) -> String {
        func failure(_ message: String) -> ConfigurationError {
            ConfigurationError(diagnostics: [
                ConfigurationDiagnostic(file: path, line: 1, column: 1, path: "", message: message)
            ])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure("cannot read the configuration: no such file")
        }
        guard !isDirectory.boolValue else { throw failure("cannot read the configuration: it is a directory") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason =
                FileManager.default.isReadableFile(atPath: path) ? error.localizedDescription : "permission denied"
            throw failure("cannot read the configuration: \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw failure("cannot read the configuration: the file is not UTF-8 text")
        }
        return text
    }

    /// A Yams parse error as one diagnostic at the position libyaml reports.
    private static func syntaxDiagnostic(_ error: any Error, yaml: String, file: String) -> ConfigurationDiagnostic {
        var position = SourcePosition.start
        var message = "invalid YAML: \(error)"
        if let error = error as? YamlError {
            switch error {
            case .scanner(let context, let problem, let mark, _),
                .parser(let context, let problem, let mark, _),
                .composer(let context, let problem, let mark, _):
                position = SourcePosition(mark)
                message = "invalid YAML: \(problem)"
                if let context {
                    message += " (\(context.text) at \(context.mark.line):\(context.mark.column))"
                }
            case .reader(let problem, let offset, _, _):
                message = "invalid YAML: \(problem)"
                if let offset {
                    let prefix = yaml.prefix(offset)
                    let line = prefix.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
                    let column = prefix.reversed().prefix(while: { $0 != "\n" }).count + 1
                    position = SourcePosition(line: line, column: column)
                }
            case .duplicatedKeysInMapping(let duplicates, let context):
                position = SourcePosition(context.mark)
                let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
                message = "invalid YAML: duplicate key \(keys) in one mapping"
            default:
                break
            }
        }
        return ConfigurationDiagnostic(
            file: file, line: position.line, column: position.column, path: "", message: message)
    }
}
