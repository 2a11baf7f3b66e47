import Foundation
import Yams

/// One value of the configuration in the JSON form of the management API: the YAML file's
/// tree with keys in written order, scalars typed as JSON types.
///
/// A YAML scalar becomes a number when it is a plain decimal, `0x` hexadecimal or `0o` octal
/// integer, a boolean when it is plain `true`/`false`, `null` when it is a plain null, and a
/// string otherwise (addresses, MACs, names, `auto`). A quoted scalar is always a string. The
/// loader reads the same value from either form, so the JSON form validates exactly like the
/// file (docs/management.md "Configuration as JSON").
public indirect enum ConfigValue: Sendable, Equatable {
    case object([ConfigMember])
    case array([ConfigValue])
    case string(String)
    case integer(Int)
    case bool(Bool)
    case null

    /// The members of an object, or `nil`.
    public var members: [ConfigMember]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The elements of an array, or `nil`.
    public var elements: [ConfigValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The value of `key` in an object (`nil` when absent or not an object).
    public subscript(key: String) -> ConfigValue? {
        get { members?.first { $0.key == key }?.value }
        set {
            guard case .object(var members) = self else { return }
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(ConfigMember(key: key, value: newValue))
            }
            self = .object(members)
        }
    }

    /// The scalar as the text the loader reads (`nil` for objects, arrays and null).
    public var scalarText: String? {
        switch self {
        case .string(let text): return text
        case .integer(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .object, .array, .null: return nil
        }
    }
}

/// One key of a `ConfigValue.object`, in written order.
public struct ConfigMember: Sendable, Equatable {
    /// The key.
    public var key: String
    /// Its value.
    public var value: ConfigValue

    /// Creates a member.
    public init(key: String, value: ConfigValue) {
        self.key = key
        self.value = value
    }
}

extension ConfigValue {
    /// Converts a composed YAML (or JSON: JSON is YAML) tree. Aliases are resolved by Yams;
    /// mapping keys are taken as written.
    init(node: Node) {
        switch node {
        case .mapping(let mapping):
            self = .object(mapping.map { ConfigMember(key: $0.key.string ?? "", value: ConfigValue(node: $0.value)) })
        case .sequence(let sequence):
            self = .array(sequence.map { ConfigValue(node: $0) })
        case .scalar(let scalar):
            self = Self.scalar(scalar)
        case .alias:
            self = .null
        }
    }

    private static func scalar(_ scalar: Node.Scalar) -> ConfigValue {
        let text = scalar.string
        guard scalar.style == .plain || scalar.style == .any else { return .string(text) }
        if ["", "~", "null", "Null", "NULL"].contains(text) { return .null }
        if text == "true" || text == "True" || text == "TRUE" { return .bool(true) }
        if text == "false" || text == "False" || text == "FALSE" { return .bool(false) }
        if let value = strictInteger(text) { return .integer(value) }
        return .string(text)
    }

    /// A decimal, `0x` or `0o` integer without YAML 1.1's sexagesimal or `_` forms (a MAC
    /// such as `10:20:30:40:50:59` must stay a string).
    static func strictInteger(_ text: String) -> Int? {
        var body = Substring(text)
        var negative = false
        if body.first == "-" || body.first == "+" {
            negative = body.first == "-"
            body = body.dropFirst()
        }
        let radix: Int
        if body.hasPrefix("0x") || body.hasPrefix("0X") {
            radix = 16
            body = body.dropFirst(2)
        } else if body.hasPrefix("0o") {
            radix = 8
            body = body.dropFirst(2)
        } else {
            radix = 10
        }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isHexDigit }),
            let magnitude = Int(body, radix: radix)
        else { return nil }
        return negative ? -magnitude : magnitude
    }
}

/// The configuration as a document: the tree of the file (or of a JSON body) before
/// validation, with the conversions the management API and persistence need.
public struct ConfigurationDocument: Sendable, Equatable {
    /// The root object.
    public var root: ConfigValue

    /// Wraps a root value.
    public init(root: ConfigValue) {
        self.root = root
    }

    /// Parses YAML or JSON text without validating it.
    ///
    /// - Throws: `ConfigurationError` for a syntax error (positioned) or a root that is not a
    ///   mapping/object.
    public init(text: String, fileName: String) throws(ConfigurationError) {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            // The loader gives the positioned message; it fails for the same reason.
            do {
                _ = try ConfigurationLoader.load(yaml: text, fileName: fileName)
            } catch let failure {
                throw failure
            }
            throw ConfigurationError(diagnostics: [
                ConfigurationDiagnostic(file: fileName, line: 1, column: 1, path: "", message: "invalid YAML: \(error)")
            ])
        }
        guard let node, case .mapping = node else {
            throw ConfigurationError(diagnostics: [
                ConfigurationDiagnostic(
                    file: fileName, line: 1, column: 1, path: "",
                    message: "the configuration must be a mapping of the sections balancer, underlay, …")
            ])
        }
        root = ConfigValue(node: node)
    }

    /// A stable digest of the document (FNV-1a 64 over its compact JSON), for `ETag`.
    public var digest: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in json(pretty: false).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension ConfigValue {
    /// Parses a request body (JSON; YAML is accepted too) into a value.
    ///
    /// - Throws: `.invalid` with the syntax error's position in the body.
    public static func parse(body: String) throws(ChangeFailure) -> ConfigValue {
        if let problem = RequestBodyLimits.problem(in: body) { throw .invalid([problem]) }
        do {
            guard let node = try Yams.compose(yaml: body) else {
                throw ChangeFailure.invalid([ChangeProblem(path: "", message: "the request body is empty")])
            }
            return ConfigValue(node: node)
        } catch let failure as ChangeFailure {
            throw failure
        } catch let error as YamlError {
            var line: Int?
            var column: Int?
            var message = "invalid JSON: \(error)"
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                line = mark.line
                column = mark.column
                message = "invalid JSON: \(problem)"
            default: break
            }
            throw .invalid([ChangeProblem(path: "", message: message, line: line, column: column)])
        } catch {
            throw .invalid([ChangeProblem(path: "", message: "invalid JSON: \(error)")])
        }
    }
}
