import Foundation
import NVLBIO
import Yams

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - JSON

extension ConfigurationDocument {
    /// The document as JSON: keys in written order; `pretty` indents by two spaces.
    public func json(pretty: Bool = true) -> String {
        var out = ""
        JSONText.write(root, into: &out, indent: pretty ? 0 : nil)
        return pretty ? out + "\n" : out
    }
}

/// A small JSON writer that keeps member order (Foundation's encoder sorts or scrambles it).
enum JSONText {
    static func write(_ value: ConfigValue, into out: inout String, indent: Int?) {
        let newline = indent.map { "\n" + String(repeating: "  ", count: $0 + 1) } ?? ""
        let close = indent.map { "\n" + String(repeating: "  ", count: $0) } ?? ""
        let inner = indent.map { $0 + 1 }
        switch value {
        case .object(let members):
            if members.isEmpty { return out += "{}" }
            out += "{"
            for (i, member) in members.enumerated() {
                out += (i > 0 ? "," : "") + newline
                quote(member.key, into: &out)
                out += indent == nil ? ":" : ": "
                write(member.value, into: &out, indent: inner)
            }
            out += close + "}"
        case .array(let elements):
            if elements.isEmpty { return out += "[]" }
            out += "["
            for (i, element) in elements.enumerated() {
                out += (i > 0 ? "," : "") + newline
                write(element, into: &out, indent: inner)
            }
            out += close + "]"
        case .string(let text): quote(text, into: &out)
        case .integer(let number): out += String(number)
        case .bool(let flag): out += flag ? "true" : "false"
        case .null: out += "null"
        }
    }

    /// A JSON string literal (also a valid YAML double-quoted scalar).
    static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

// MARK: - YAML

extension ConfigurationDocument {
    /// The document as YAML in the style of docs/configuration.md: sections as block
    /// mappings, lists of mappings as `- ` items, mappings and lists of scalars inline
    /// (`{ vsid: 5001, ca: 10.1.6.20 }`, `[5001, 5002]`).
    public func yaml() -> String {
        guard let members = root.members else { return "{}\n" }
        return members.map { YAMLText.section($0) }.joined()
    }
}

/// The YAML writer used for new files and for the parts of a file that changed.
enum YAMLText {
    /// One top-level key and its value, ending with a newline.
    static func section(_ member: ConfigMember) -> String {
        var out = ""
        writeMember(member, indent: 0, into: &out)
        return out
    }

    /// Whether a value is written inline: scalars, and mappings/lists whose values are scalars.
    static func isInline(_ value: ConfigValue) -> Bool {
        switch value {
        case .object(let members): return members.allSatisfy { isScalar($0.value) }
        case .array(let elements): return elements.allSatisfy { isScalar($0) }
        default: return true
        }
    }

    static func isScalar(_ value: ConfigValue) -> Bool {
        switch value {
        case .object, .array: return false
        default: return true
        }
    }

    static func writeMember(_ member: ConfigMember, indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        out += pad + key(member.key) + ":"
        if isInline(member.value) {
            out += " " + inline(member.value) + "\n"
        } else if case .object(let members) = member.value {
            out += "\n"
            for child in members { writeMember(child, indent: indent + 2, into: &out) }
        } else if case .array(let elements) = member.value {
            out += "\n"
            for element in elements { out += item(element, indent: indent + 2) }
        }
    }

    /// One list element as `- …` lines at `indent`.
    static func item(_ value: ConfigValue, indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        guard case .object(let members) = value, !isInline(value), !members.isEmpty else {
            return pad + "- " + inline(value) + "\n"
        }
        var body = ""
        for child in members { writeMember(child, indent: indent + 2, into: &body) }
        // The first key goes on the dash line.
        return pad + "- " + body.dropFirst(indent + 2)
    }

    /// A scalar, or a mapping/list of scalars in flow style.
    static func inline(_ value: ConfigValue) -> String {
        switch value {
        case .object(let members):
            if members.isEmpty { return "{}" }
            return "{ " + members.map { key($0.key) + ": " + inline($0.value) }.joined(separator: ", ") + " }"
        case .array(let elements):
            return "[" + elements.map(inline).joined(separator: ", ") + "]"
        case .string(let text): return scalar(text)
        case .integer(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        }
    }

    static func key(_ text: String) -> String { scalar(text) }

    /// A string plain when YAML reads it back as the same string, else double-quoted.
    static func scalar(_ text: String) -> String {
        let safe =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy { scalar in
                (scalar.value >= 0x30 && scalar.value <= 0x39)
                    || (scalar.value | 0x20 >= 0x61 && scalar.value | 0x20 <= 0x7a)
                    || "._/:-".unicodeScalars.contains(scalar)
            }
        let first = text.unicodeScalars.first.map { !"-:".unicodeScalars.contains($0) } ?? false
        let reserved = ["yes", "no", "on", "off", "y", "n", "true", "false", "null", "~"].contains(text.lowercased())
        if safe, first, !reserved, ConfigValue.strictInteger(text) == nil, Double(text) == nil,
            !text.hasSuffix(":")
        {
            return text
        }
        var out = ""
        JSONText.quote(text, into: &out)
        return out
    }
}

// MARK: - Persistence

/// Writes an accepted configuration back to its file (docs/management.md "Persistence").
///
/// Text the operator wrote is kept where the document did not change: the lines before the
/// first section, every top-level section whose value is unchanged, and, inside a changed
/// list section written in block style (`routing_domains`, `load_balancers`, …), every item
/// that is unchanged — each with its comments. A changed item or section is written anew.
public enum ConfigurationWriter {
    /// The new file text for `document`, reusing the unchanged parts of `previousText`.
    public static func render(_ document: ConfigurationDocument, previousText: String?) -> String {
        guard let previousText, let old = OldText(previousText), let members = document.root.members else {
            return document.yaml()
        }
        var out = old.preamble
        for member in members {
            if let section = old.sections.first(where: { $0.key == member.key }) {
                if section.value == member.value {
                    out += section.text
                    continue
                }
                if let items = section.items, case .array(let elements) = member.value,
                    elements.contains(where: { !YAMLText.isScalar($0) })
                {
                    out += section.head
                    for element in elements {
                        if let same = items.first(where: { $0.value == element }) {
                            out += same.text
                        } else {
                            out += YAMLText.item(element, indent: section.itemIndent)
                        }
                    }
                    continue
                }
            }
            out += YAMLText.section(member)
        }
        return out
    }

    /// Writes `text` to `path` atomically: a temporary file in the same directory with the
    /// old file's permissions, `fsync`, `rename`, then `fsync` of the directory, so a crash
    /// leaves either the old or the new file, never a mix.
    public static func writeAtomically(_ text: String, to path: String) throws(ConfigurationWriteError) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary =
            (directory.isEmpty ? "." : directory) + "/." + (path as NSString).lastPathComponent
            + ".nvlb-\(getpid()).tmp"
        var mode: mode_t = 0o600
        var info = stat()
        if stat(path, &info) == 0 { mode = info.st_mode & 0o7777 }
        let descriptor: FileDescriptor
        switch Syscalls.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: mode) {
        case .success(let opened): descriptor = opened
        case .failure(let error): throw ConfigurationWriteError("cannot create \(temporary): \(error)")
        }
        var failure: String?
        if let error = Array(text.utf8).withUnsafeBytes({ Syscalls.writeAll(descriptor, $0) }) {
            failure = "cannot write \(temporary): \(error)"
        }
        if failure == nil, let error = Syscalls.fsync(descriptor) { failure = "cannot fsync \(temporary): \(error)" }
        _ = Syscalls.fchmod(descriptor, mode)
        Syscalls.close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = "cannot rename to \(path): \(errnoText())" }
        if let failure {
            unlink(temporary)
            throw ConfigurationWriteError(failure)
        }
        if case .success(let directoryDescriptor) = Syscalls.open(
            directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        {
            _ = Syscalls.fsync(directoryDescriptor)
            Syscalls.close(directoryDescriptor)
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    /// The previous file cut into top-level sections and, for block lists, items.
    struct OldText {
        struct Item {
            var value: ConfigValue
            var text: String
        }
        struct Section {
            var key: String
            var value: ConfigValue
            var text: String
            /// The section's text before its first item (key line and comments).
            var head: String
            var items: [Item]?
            var itemIndent: Int
        }
        var preamble: String
        var sections: [Section]

        init?(_ text: String) {
            guard let node = try? Yams.compose(yaml: text), case .mapping(let mapping) = node else { return nil }
            // Lines keep their terminators so that concatenation restores the text.
            var lines: [String] = []
            var current = ""
            for character in text {
                current.append(character)
                if character == "\n" {
                    lines.append(current)
                    current = ""
                }
            }
            if !current.isEmpty { lines.append(current + "\n") }
            let keyLines = mapping.map { ($0.key.mark?.line ?? 0) - 1 }
            // Sections must start at column 1 in file order; otherwise (flow-style root) rewrite all.
            guard keyLines.allSatisfy({ $0 >= 0 }), zip(keyLines, keyLines.dropFirst()).allSatisfy({ $0 < $1 }),
                mapping.allSatisfy({ $0.key.mark?.column == 1 })
            else { return nil }
            let starts = Self.withLeadingComments(keyLines, lines: lines, floor: 0)
            preamble = lines[0..<(starts.first ?? lines.count)].joined()
            sections = []
            for (index, pair) in mapping.enumerated() {
                let start = starts[index]
                let end = index + 1 < starts.count ? starts[index + 1] : lines.count
                let value = ConfigValue(node: pair.value)
                var section = Section(
                    key: pair.key.string ?? "", value: value, text: lines[start..<end].joined(), head: "", items: nil,
                    itemIndent: 2)
                if case .sequence(let sequence) = pair.value, sequence.count > 0 {
                    section.items = Self.items(sequence, lines: lines, start: start, end: end, section: &section)
                }
                sections.append(section)
            }
        }

        /// Moves each start (but the first) back over the comment lines right above it, so that
        /// a comment written above an item or section stays with it.
        static func withLeadingComments(_ starts: [Int], lines: [String], floor: Int) -> [Int] {
            var moved = starts
            for index in moved.indices.dropFirst() {
                let limit = max(starts[index - 1] + 1, floor)
                while moved[index] > limit,
                    lines[moved[index] - 1].drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("#")
                {
                    moved[index] -= 1
                }
            }
            return moved
        }

        /// Items of a block sequence: each from its `- ` line (and the comments above it) to the next item's.
        private static func items(
            _ sequence: Node.Sequence, lines: [String], start: Int, end: Int, section: inout Section
        ) -> [Item]? {
            var firstLines: [Int] = []
            var indent = -1
            for element in sequence {
                guard let mark = element.mark else { return nil }
                let line = mark.line - 1
                guard line > start, line < end else { return nil }
                let text = Array(lines[line])
                let dash = text.firstIndex { $0 != " " } ?? 0
                guard dash + 1 < text.count, text[dash] == "-", text[dash + 1] == " " else { return nil }
                if indent == -1 { indent = dash } else if indent != dash { return nil }
                if let last = firstLines.last, last >= line { return nil }
                firstLines.append(line)
            }
            firstLines = withLeadingComments(firstLines, lines: lines, floor: start + 1)
            section.head = lines[start..<firstLines[0]].joined()
            section.itemIndent = indent
            return sequence.enumerated().map { index, element in
                let from = firstLines[index]
                let to = index + 1 < firstLines.count ? firstLines[index + 1] : end
                return Item(value: ConfigValue(node: element), text: lines[from..<to].joined())
            }
        }
    }
}

/// The configuration file could not be written; the change was not applied.
public struct ConfigurationWriteError: Error, Sendable, CustomStringConvertible {
    /// What failed, with the system's reason.
    public let description: String
    init(_ description: String) { self.description = description }
}
