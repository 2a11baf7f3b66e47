import Foundation
import NVLBTestSupport
import Testing

/// Code, tests and docs cite sections of the repository's docs by heading, like
/// `docs/packets.md "ICMP and path MTU"`, and link them by anchor, like
/// `(packets.md#icmp-and-path-mtu)`. Every cited heading and linked anchor must exist, so a
/// renamed section cannot leave its citations pointing nowhere.
@Suite("Doc citations")
struct DocCitationTests {
    @Test func everyCitedSectionExists() throws {
        let root = TestSupport.repositoryRoot
        let docs = try DocCitations.headings(root: root)
        var checked = 0
        var broken: [String] = []
        // This file's own examples of broken citations are not citations.
        for path in DocCitations.citingFiles(root: root) where !path.hasSuffix("/DocCitationTests.swift") {
            let text = try String(contentsOfFile: root.appendingPathComponent(path).path, encoding: .utf8)
            for citation in DocCitations.citations(in: text) + DocCitations.anchors(in: text) {
                checked += 1
                if let problem = DocCitations.problem(citation, docs: docs) {
                    broken.append("\(path):\(citation.line): \(problem)")
                }
            }
        }
        #expect(broken == [])
        // The scanner finds the citations that are there (code and docs hold well over 200).
        #expect(checked > 200)
    }

    @Test func theScannerReadsEveryForm() throws {
        let text = """
            /// See docs/packets.md "Drop reasons" and "Terms"; also (docs/architecture.md
            /// "The worker loop"). [packets.md "Wire format"](packets.md#wire-format)
            /// docs/packets.md "No such heading", [x](packets.md#no-such-anchor)
            /// README.md "Performance" is not a doc.
            """
        let docs = ["packets.md": DocCitations.Document(markdown: "## Drop reasons\n## Terms\n## Wire format\n")]
        let found = DocCitations.citations(in: text)
        #expect(found.map(\.heading) == ["Drop reasons", "Terms", "The worker loop", "Wire format", "No such heading"])
        #expect(found.map(\.line) == [1, 1, 2, 2, 3])
        #expect(DocCitations.anchors(in: text).map(\.anchor) == ["wire-format", "no-such-anchor"])
        #expect(
            found.compactMap { DocCitations.problem($0, docs: docs) } == [
                "no file docs/architecture.md", "docs/packets.md has no section \"No such heading\"",
            ])
        #expect(
            DocCitations.anchors(in: text).compactMap { DocCitations.problem($0, docs: docs) } == [
                "docs/packets.md has no anchor #no-such-anchor"
            ])
    }

    @Test func headingsAreCitedWithoutMarkupAndByTheirName() {
        let document = DocCitations.Document(
            markdown: "# Title\n```\n## not a heading\n```\n### `bgp` (optional)\n## Live counters (`nvlb run`)\n")
        #expect(document.sections.contains("bgp (optional)"))
        #expect(document.sections.contains("bgp"))
        #expect(document.sections.contains("Live counters"))
        #expect(!document.sections.contains("not a heading"))
        #expect(document.anchors.contains("live-counters-nvlb-run"))
        #expect(document.anchors.contains("bgp-optional"))
        let cited = DocCitations.Citation(document: "a.md", heading: "`bgp`", anchor: nil, line: 1)
        #expect(DocCitations.problem(cited, docs: ["a.md": document]) == nil)
    }
}

/// Finds and checks citations of docs/ sections.
enum DocCitations {
    /// One cited heading or linked anchor, at a 1-based line.
    struct Citation: Equatable {
        var document: String
        var heading: String?
        var anchor: String?
        var line: Int
    }

    /// The sections of one Markdown document.
    struct Document {
        /// Each heading without its backticks, and also without a trailing parenthesis
        /// (`` `bgp` (optional) `` is cited as "bgp", "Live counters (`nvlb run`)" as
        /// "Live counters").
        var sections: Set<String> = []
        /// GitHub's anchor of each heading.
        var anchors: Set<String> = []

        init(markdown: String) {
            var fenced = false
            for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("```") { fenced.toggle() }
                guard !fenced, line.hasPrefix("#") else { continue }
                let heading = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                let plain = heading.replacingOccurrences(of: "`", with: "")
                sections.insert(plain)
                if plain.hasSuffix(")"), let open = plain.range(of: " (") {
                    sections.insert(String(plain[..<open.lowerBound]))
                }
                anchors.insert(Self.anchor(heading))
            }
        }

        /// GitHub's anchor: lower case, punctuation other than `-` and `_` dropped, spaces as `-`.
        static func anchor(_ heading: String) -> String {
            String(
                heading.lowercased().unicodeScalars.compactMap { scalar -> Character? in
                    if scalar == " " { return "-" }
                    if scalar == "-" || scalar == "_" || CharacterSet.alphanumerics.contains(scalar) {
                        return Character(scalar)
                    }
                    return nil
                })
        }
    }

    /// The documents under `docs/`, by file name.
    static func headings(root: URL) throws -> [String: Document] {
        let directory = root.appendingPathComponent("docs")
        var documents: [String: Document] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".md") {
            let text = try String(contentsOfFile: directory.appendingPathComponent(name).path, encoding: .utf8)
            documents[name] = Document(markdown: text)
        }
        return documents
    }

    /// The files that cite docs, relative to `root`: Swift sources of the package and its
    /// nested packages, the package manifest, the docs and the README.
    static func citingFiles(root: URL) -> [String] {
        var files = ["Package.swift", "README.md"]
        for folder in ["Sources", "Tests", "Benchmarks", "Fuzz", "docs"] {
            guard let walker = FileManager.default.enumerator(atPath: root.appendingPathComponent(folder).path) else {
                continue
            }
            for case let path as String in walker where path.hasSuffix(".swift") || path.hasSuffix(".md") {
                guard !path.hasPrefix(".build"), !path.contains("/.build/") else { continue }
                files.append(folder + "/" + path)
            }
        }
        return files.sorted()
    }

    /// Headings cited as `docs/NAME.md "Heading"` (or `NAME.md "Heading"`), the quote on the
    /// same line or the next comment line, several joined by `,`, `and` or `or`.
    static func citations(in text: String) -> [Citation] {
        let bytes = Array(text.utf8)
        var found: [Citation] = []
        var line = 1
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") { line += 1 }
            guard let (name, end) = documentName(bytes, endingBefore: index) else {
                index += 1
                continue
            }
            var cursor = end
            var cursorLine = line
            while true {
                var probe = cursor
                var probeLine = cursorLine
                skipSeparators(bytes, &probe, &probeLine)
                guard probe < bytes.count, bytes[probe] == UInt8(ascii: "\"") else { break }
                guard let close = bytes[(probe + 1)...].firstIndex(where: { $0 == UInt8(ascii: "\"") || $0 == 10 }),
                    bytes[close] == UInt8(ascii: "\""), close > probe + 1
                else { break }
                let heading = String(decoding: bytes[(probe + 1)..<close], as: UTF8.self)
                found.append(Citation(document: name, heading: heading, anchor: nil, line: probeLine))
                cursor = close + 1
                cursorLine = probeLine
            }
            index += 1
        }
        return found
    }

    /// Anchors linked as `NAME.md#anchor`.
    static func anchors(in text: String) -> [Citation] {
        var found: [Citation] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var rest = Substring(line)
            while let mark = rest.range(of: ".md#") {
                let before = rest[..<mark.lowerBound].reversed().prefix { isNameCharacter($0) }
                let name = String(before.reversed()) + ".md"
                let anchor = rest[mark.upperBound...].prefix { isNameCharacter($0) || $0 == "_" }
                if before.count > 0 {
                    found.append(Citation(document: name, heading: nil, anchor: String(anchor), line: number + 1))
                }
                rest = rest[mark.upperBound...]
            }
        }
        return found
    }

    /// What is wrong with `citation`, or nil.
    static func problem(_ citation: Citation, docs: [String: Document]) -> String? {
        guard let document = docs[citation.document] else { return "no file docs/\(citation.document)" }
        if let heading = citation.heading, !document.sections.contains(heading.replacingOccurrences(of: "`", with: ""))
        {
            return "docs/\(citation.document) has no section \"\(heading)\""
        }
        if let anchor = citation.anchor, !document.anchors.contains(anchor) {
            return "docs/\(citation.document) has no anchor #\(anchor)"
        }
        return nil
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLowercase || character.isNumber || character == "-")
    }

    /// `NAME.md` ending right before `index` (at the `.md`'s end), when it names a doc: with a
    /// `docs/` prefix, or without one when not preceded by a path or a capital letter (so
    /// `README.md` is not taken for a doc).
    private static func documentName(_ bytes: [UInt8], endingBefore index: Int) -> (String, Int)? {
        let suffix = Array(".md".utf8)
        guard index + suffix.count <= bytes.count, Array(bytes[index..<(index + suffix.count)]) == suffix else {
            return nil
        }
        let end = index + suffix.count
        if end < bytes.count, bytes[end] != UInt8(ascii: " ") && bytes[end] != 10 { return nil }
        var start = index
        while start > 0, isNameByte(bytes[start - 1]) { start -= 1 }
        guard start < index else { return nil }
        if start > 0 {
            let previous = bytes[start - 1]
            if previous == UInt8(ascii: "/") {
                let prefix = Array("docs/".utf8)
                guard start >= prefix.count, Array(bytes[(start - prefix.count)..<start]) == prefix else { return nil }
            } else if (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(previous) || previous == UInt8(ascii: "_") {
                return nil
            }
        }
        return (String(decoding: bytes[start..<index], as: UTF8.self) + ".md", end)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "-")
    }

    /// Skips spaces, one line break followed by a comment marker, and a joining `,`, `and` or `or`.
    private static func skipSeparators(_ bytes: [UInt8], _ cursor: inout Int, _ line: inout Int) {
        var crossedLine = false
        while cursor < bytes.count {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: ",") {
                cursor += 1
            } else if byte == 10, !crossedLine {
                crossedLine = true
                line += 1
                cursor += 1
                while cursor < bytes.count, bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
                while cursor < bytes.count, bytes[cursor] == UInt8(ascii: "/") { cursor += 1 }
            } else if matches(bytes, cursor, "and ") {
                cursor += 4
            } else if matches(bytes, cursor, "or ") {
                cursor += 3
            } else {
                return
            }
        }
    }

    private static func matches(_ bytes: [UInt8], _ at: Int, _ word: String) -> Bool {
        let word = Array(word.utf8)
        return at + word.count <= bytes.count && Array(bytes[at..<(at + word.count)]) == word
    }
}
