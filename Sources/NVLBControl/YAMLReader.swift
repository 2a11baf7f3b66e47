import NVLBWire
import Yams

/// A 1-based line and column in the configuration text.
struct SourcePosition: Sendable, Hashable, Comparable {
    var line: Int
    var column: Int

    /// The start of the file: where file-level problems are reported.
    static let start = SourcePosition(line: 1, column: 1)

    init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// The position of a Yams node (`start` if the node carries none).
    init(_ mark: Mark?) {
        self = mark.map { SourcePosition(line: $0.line, column: $0.column) } ?? .start
    }

    static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}

/// A value read from the configuration with the position and key path of its YAML node,
/// so that later (semantic) checks can report exactly where the offending value is.
struct Located<Value> {
    var value: Value
    var position: SourcePosition
    var path: String
}

extension Located: Sendable where Value: Sendable {}

/// Key paths in the diagnostic format: YAML key names joined by `.`, list indices as `[i]`.
enum ConfigPath {
    static func key(_ key: String, in parent: String) -> String {
        parent.isEmpty ? key : parent + "." + key
    }

    static func index(_ index: Int, in parent: String) -> String {
        parent + "[\(index)]"
    }
}

/// Collects the diagnostics of one load: every reader and check appends here and carries on.
///
/// A class because every part of the loader shares one list; it never leaves the loader.
final class DiagnosticCollector {
    let file: String
    private(set) var diagnostics: [ConfigurationDiagnostic] = []

    init(file: String) {
        self.file = file
    }

    var isEmpty: Bool { diagnostics.isEmpty }

    func report(_ message: String, path: String, at position: SourcePosition) {
        diagnostics.append(
            ConfigurationDiagnostic(
                file: file, line: position.line, column: position.column, path: path, message: message))
    }

    func report<Value>(_ message: String, at located: Located<Value>) {
        report(message, path: located.path, at: located.position)
    }

    /// The diagnostics in file order; reports at the same position keep their order.
    var sorted: [ConfigurationDiagnostic] {
        diagnostics.enumerated().sorted { lhs, rhs in
            (lhs.element.line, lhs.element.column, lhs.offset) < (rhs.element.line, rhs.element.column, rhs.offset)
        }.map(\.element)
    }
}

/// Reads typed values out of a composed YAML node tree.
///
/// Every method reports a problem to the collector and returns `nil` instead of throwing,
/// so one pass finds every structural error of the file. Scalars are read from their
/// source text, not from Yams' YAML 1.1 tag resolution, except for integers: a MAC
/// address such as `10:20:30:40:50:59` would otherwise be read as a sexagesimal number.
struct YAMLReader {
    let diagnostics: DiagnosticCollector

    /// A mapping whose keys must all be in `keys`; each other key is reported at its own position.
    func mapping(_ node: Node, path: String, keys: [String]) -> MappingReader? {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping, found \(Self.describe(node))", node, path)
            return nil
        }
        var values: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                report("mapping keys must be plain strings, found \(Self.describe(keyNode))", keyNode, path)
                continue
            }
            let key = scalar.string
            guard keys.contains(key) else {
                var message = "unknown key '\(key)'"
                if let suggestion = Self.closest(to: key, among: keys) {
                    message += " (did you mean '\(suggestion)'?)"
                }
                report(message, keyNode, ConfigPath.key(key, in: path))
                continue
            }
            values[key] = value
        }
        return MappingReader(reader: self, path: path, position: SourcePosition(node.mark), values: values)
    }

    /// The elements of a list node, with the list's own position and path.
    func list(_ node: Node, path: String) -> Located<[Node]>? {
        guard case .sequence(let sequence) = node else {
            report("expected a list, found \(Self.describe(node))", node, path)
            return nil
        }
        return Located(value: Array(sequence), position: SourcePosition(node.mark), path: path)
    }

    /// A list whose elements are read by `element` (called with the element node and its path);
    /// elements that fail to read are left out, their problems reported. `nil` when no element
    /// of a non-empty list could be read, so that the list does not also count as empty.
    func list<Element>(
        _ node: Node, path: String, element: (Node, String) -> Element?
    ) -> Located<[Element]>? {
        guard let nodes = list(node, path: path) else { return nil }
        let elements = nodes.value.enumerated().compactMap { index, node in
            element(node, ConfigPath.index(index, in: path))
        }
        if elements.isEmpty && !nodes.value.isEmpty { return nil }
        return Located(value: elements, position: nodes.position, path: path)
    }

    /// A plain (unquoted) YAML integer: decimal, `0x` hex, `0o`/`0` octal, `0b` binary, `_` separators.
    func integer(_ node: Node, path: String) -> Located<Int>? {
        guard case .scalar(let scalar) = node, let value = Int.construct(from: scalar) else {
            report("expected an integer, found \(Self.describe(node))", node, path)
            return nil
        }
        return Located(value: value, position: SourcePosition(node.mark), path: path)
    }

    /// Any non-null scalar, as written.
    func string(_ node: Node, path: String) -> Located<String>? {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            report("expected a string, found \(Self.describe(node))", node, path)
            return nil
        }
        return Located(value: scalar.string, position: SourcePosition(node.mark), path: path)
    }

    /// A dotted-quad IPv4 address.
    func ipv4(_ node: Node, path: String) -> Located<IPv4Address>? {
        guard case .scalar(let scalar) = node, let address = IPv4Address(scalar.string) else {
            report(
                "expected an IPv4 address (dotted quad, e.g. 10.1.6.20), found \(Self.describe(node))", node, path)
            return nil
        }
        return Located(value: address, position: SourcePosition(node.mark), path: path)
    }

    /// A MAC address: six two-digit hex octets separated by `:` (or `-`).
    func mac(_ node: Node, path: String) -> Located<MACAddress>? {
        guard case .scalar(let scalar) = node, let address = MACAddress(scalar.string) else {
            report(
                "expected a MAC address (six hex octets, e.g. 02:4c:42:00:06:02), found \(Self.describe(node))",
                node, path)
            return nil
        }
        return Located(value: address, position: SourcePosition(node.mark), path: path)
    }

    /// One of a fixed set of words.
    func choice<Value>(_ node: Node, path: String, options: [(String, Value)]) -> Located<Value>? {
        guard case .scalar(let scalar) = node, let match = options.first(where: { $0.0 == scalar.string }) else {
            let names = options.map(\.0).joined(separator: ", ")
            report("expected one of \(names); found \(Self.describe(node))", node, path)
            return nil
        }
        return Located(value: match.1, position: SourcePosition(node.mark), path: path)
    }

    func report(_ message: String, _ node: Node, _ path: String) {
        diagnostics.report(message, path: path, at: SourcePosition(node.mark))
    }

    /// A plain `~`, `null` or empty scalar.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// How a node is named in "found …" messages.
    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            if isNull(node) { return "null" }
            let text = scalar.string
            let quoted = "'" + (text.count > 40 ? text.prefix(40) + "…" : text) + "'"
            let isQuoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
            return isQuoted ? "the quoted string \(quoted)" : quoted
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The known key nearest to a misspelt one (edit distance ≤ 2 or one contains the other).
    static func closest(to key: String, among keys: [String]) -> String? {
        let lowered = key.lowercased()
        var best: (key: String, distance: Int)?
        for candidate in keys {
            let distance = editDistance(Array(lowered.utf8), Array(candidate.utf8))
            let related = distance <= 2 || (lowered.count >= 3 && candidate.contains(lowered))
            if related, best == nil || distance < best!.distance {
                best = (candidate, distance)
            }
        }
        return best?.key
    }

    /// Levenshtein distance, O(|a|·|b|); keys are short.
    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// The keys of one YAML mapping, read through a `YAMLReader`.
///
/// A key whose value is null (`key:` or `key: ~`) counts as absent, so the default applies.
struct MappingReader {
    let reader: YAMLReader
    /// Key path of the mapping itself.
    let path: String
    /// Position of the mapping: where missing keys are reported.
    let position: SourcePosition
    let values: [String: Node]

    /// The path of one of this mapping's keys.
    func path(_ key: String) -> String { ConfigPath.key(key, in: path) }

    /// The value node of `key`, or `nil` if absent or null; reports a missing required key.
    func node(_ key: String, required: Bool = false) -> Node? {
        guard let value = values[key] else {
            if required {
                reader.diagnostics.report("missing required key", path: path(key), at: position)
            }
            return nil
        }
        if YAMLReader.isNull(value) {
            if required { reader.report("a value is required", value, path(key)) }
            return nil
        }
        return value
    }

    /// Reads `key` with `read` (a `YAMLReader` method) when present.
    func read<Value>(
        _ key: String, required: Bool = false, _ read: (YAMLReader) -> (Node, String) -> Located<Value>?
    ) -> Located<Value>? {
        node(key, required: required).flatMap { read(reader)($0, path(key)) }
    }

    func integer(_ key: String, required: Bool = false) -> Located<Int>? {
        read(key, required: required, YAMLReader.integer(_:path:))
    }

    func string(_ key: String, required: Bool = false) -> Located<String>? {
        read(key, required: required, YAMLReader.string(_:path:))
    }

    func ipv4(_ key: String, required: Bool = false) -> Located<IPv4Address>? {
        read(key, required: required, YAMLReader.ipv4(_:path:))
    }

    func mac(_ key: String, required: Bool = false) -> Located<MACAddress>? {
        read(key, required: required, YAMLReader.mac(_:path:))
    }

    func choice<Value>(_ key: String, options: [(String, Value)]) -> Located<Value>? {
        node(key).flatMap { reader.choice($0, path: path(key), options: options) }
    }

    /// A list of mappings, each read by `element` from its `MappingReader`.
    func list<Element>(
        _ key: String, required: Bool = false, keys: [String], element: (MappingReader) -> Element
    ) -> Located<[Element]>? {
        guard let node = node(key, required: required) else { return nil }
        return reader.list(node, path: path(key)) { node, path in
            reader.mapping(node, path: path, keys: keys).map(element)
        }
    }

    /// A nested mapping.
    func mapping(_ key: String, required: Bool = false, keys: [String]) -> MappingReader? {
        node(key, required: required).flatMap { reader.mapping($0, path: path(key), keys: keys) }
    }
}
