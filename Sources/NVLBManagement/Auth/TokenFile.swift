import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The bearer tokens of `management.token_file`: one `NAME SECRET` per line; blank lines
/// and lines starting with `#` are ignored (docs/management.md "Authentication").
public struct TokenFile: Sendable {
    /// One token: the name written to the audit log, and the secret clients send.
    public struct Token: Sendable, Equatable {
        /// Name in audit lines.
        public var name: String
        /// The secret's bytes.
        public var secret: [UInt8]
    }

    /// The tokens, in file order.
    public var tokens: [Token]

    /// Parses token file text.
    ///
    /// - Throws: `TokenFileError` naming the first bad line.
    public init(text: String, fileName: String) throws(TokenFileError) {
        tokens = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2 else {
                throw TokenFileError("\(fileName):\(index + 1): expected 'NAME SECRET'")
            }
            guard fields[1].utf8.count >= 16 else {
                throw TokenFileError(
                    "\(fileName):\(index + 1): the secret of \(fields[0]) is shorter than 16 characters")
            }
            guard !tokens.contains(where: { $0.name == fields[0] }) else {
                throw TokenFileError("\(fileName):\(index + 1): token name \(fields[0]) is used twice")
            }
            tokens.append(Token(name: String(fields[0]), secret: Array(fields[1].utf8)))
        }
        guard !tokens.isEmpty else { throw TokenFileError("\(fileName): no tokens") }
    }

    /// Reads `path`, refusing a file that its group or others may read or write (the secrets
    /// would be readable by other users).
    public static func load(path: String) throws(TokenFileError) -> TokenFile {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw TokenFileError("\(path): cannot read the token file: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw TokenFileError(
                "\(path): the token file is readable or writable by group or others (mode "
                    + String(info.st_mode & 0o777, radix: 8) + "); chmod 600 it")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TokenFileError("\(path): cannot read the token file")
        }
        return try TokenFile(text: text, fileName: path)
    }

    /// The name of the token an `Authorization` header value presents: `Bearer SECRET`, the
    /// scheme in any ASCII case, followed by exactly one space; `nil` for any other value.
    /// Compared byte by byte, so that what is checked is exactly what the client sent.
    public func authenticate(authorization header: String) -> String? {
        let scheme = Array("bearer ".utf8)
        let bytes = header.utf8
        guard bytes.count > scheme.count else { return nil }
        for (byte, expected) in zip(bytes, scheme) {
            let lowered = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
            guard lowered == expected else { return nil }
        }
        return authenticate(bytes.dropFirst(scheme.count))
    }

    /// The name of the token whose secret is `presented`, comparing every token in
    /// constant time (no early exit on the first differing byte or on a match).
    public func authenticate(_ presented: some Collection<UInt8>) -> String? {
        let presented = Array(presented)
        var found: String?
        for token in tokens where Self.constantTimeEqual(token.secret, presented) {
            found = found ?? token.name
        }
        return found
    }

    /// Equality whose time depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        difference |= UInt8(a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}

/// A token file that cannot be used; `nvlb run` refuses to start with it.
public struct TokenFileError: Error, Sendable, CustomStringConvertible {
    /// The reason, naming the file (and line).
    public let description: String
    init(_ description: String) { self.description = description }
}
