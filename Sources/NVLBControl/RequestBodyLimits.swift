/// Limits on configuration text that comes from the network (docs/management.md "Limits"):
/// the parser and the tree conversions recurse once per nesting level, and YAML aliases
/// can expand exponentially, so bodies with deep nesting or anchors are refused before
/// parsing. Files written by the operator are not checked.
enum RequestBodyLimits {
    /// Deepest `[`/`{` nesting accepted (a configuration needs 4).
    static let maxFlowDepth = 32
    /// Widest indentation accepted, in columns (a configuration needs about 12).
    static let maxIndentation = 256

    /// The first problem of `text`, or `nil`.
    static func problem(in text: String) -> ChangeProblem? {
        var depth = 0
        var line = 1
        var column = 0
        var indentation = 0
        var atLineStart = true
        var quote: UInt8? = nil
        var escaped = false
        var previous: UInt8 = UInt8(ascii: "\n")
        for byte in text.utf8 {
            column += 1
            defer { previous = byte }
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 0
                indentation = 0
                atLineStart = true
                if quote == UInt8(ascii: "\n") { quote = nil }
                continue
            }
            if atLineStart {
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-") {
                    indentation += 1
                    if indentation > maxIndentation {
                        return ChangeProblem(
                            path: "", message: "nesting is too deep (indentation over \(maxIndentation) columns)",
                            line: line, column: column)
                    }
                } else {
                    atLineStart = false
                }
            }
            if let open = quote {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\"), open == UInt8(ascii: "\"") {
                    escaped = true
                } else if byte == open {
                    quote = nil
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                quote = byte
            case UInt8(ascii: "#") where previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\n"):
                // A comment: quotes inside it do not open strings. Skipped by treating it as a string to end of line.
                quote = UInt8(ascii: "\n")
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxFlowDepth {
                    return ChangeProblem(
                        path: "", message: "nesting is too deep (over \(maxFlowDepth) levels)", line: line,
                        column: column)
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            case UInt8(ascii: "&"), UInt8(ascii: "*"):
                let tokenStart: [UInt8] = [
                    UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","),
                    UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "\t"),
                ]
                if tokenStart.contains(previous) {
                    return ChangeProblem(
                        path: "", message: "YAML anchors and aliases are not accepted in a request", line: line,
                        column: column)
                }
            default:
                break
            }
        }
        return nil
    }
}
