import NVLBBalancing
import NVLBManagement
import Testing

/// `Authorization` decoding under random and mutated headers (docs/robustness.md "Fuzzing"):
/// a header is accepted exactly when it is `Bearer ` (scheme in any ASCII case) followed by the
/// bytes of a configured secret, and then names that secret's token; anything else, however
/// close, is refused.
@Suite("Authorization header fuzzing")
struct AuthorizationFuzzTests {
    /// The package's SplitMix64: a fixed seed keeps the run reproducible.
    typealias Generator = SplitMix64

    static let tokens = try! TokenFile(
        text: """
            # operators
            ops   0123456789abcdef0123
            admin S3cret-Admin-Token-ÄÖ-0123
            tabbed\tzzzzzzzzzzzzzzzzzzzz
            """, fileName: "tokens")

    /// The oracle: the first token whose secret is exactly the bytes after a `bearer ` scheme.
    static func expected(_ header: [UInt8]) -> String? {
        let scheme = Array("bearer ".utf8)
        guard header.count > scheme.count,
            zip(header, scheme).allSatisfy({ byte, want in
                byte == want || (want >= UInt8(ascii: "a") && want <= UInt8(ascii: "z") && byte == want - 0x20)
            })
        else { return nil }
        let secret = Array(header.dropFirst(scheme.count))
        return tokens.tokens.first { $0.secret == secret }?.name
    }

    @Test("every header is accepted exactly when it carries a configured secret")
    func mutatedHeaders() {
        var random = Generator(state: 0x6e76_6c62)
        let schemes = [
            "Bearer ", "bearer ", "BEARER ", "bEaReR ", "Bearer  ", "Bearer\t", "Basic ", "Bearer", " Bearer ",
        ]
        var accepted = 0
        for _ in 0..<20_000 {
            let token = Self.tokens.tokens.randomElement(using: &random)!
            var header = Array(schemes.randomElement(using: &random)!.utf8) + token.secret
            // Zero to three mutations: flip, insert, delete, truncate, or a byte of another secret.
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let position = Int.random(in: 0..<max(header.count, 1), using: &random)
                switch Int.random(in: 0..<6, using: &random) {
                case 0 where !header.isEmpty: header[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
                case 1: header.insert(UInt8.random(in: 0...255, using: &random), at: min(position, header.count))
                case 2 where !header.isEmpty: header.remove(at: position)
                case 3: header = Array(header.prefix(position))
                case 4 where !header.isEmpty: header[position] = Self.tokens.tokens[0].secret[position % 20]
                default: break
                }
            }
            // Header values reach the server as strings; bytes that are not UTF-8 become U+FFFD.
            let text = String(decoding: header, as: UTF8.self)
            let want = Self.expected(Array(text.utf8))
            let got = Self.tokens.authenticate(authorization: text)
            #expect(got == want, "header \(Array(text.utf8))")
            if got != nil { accepted += 1 }
            if got != want { return }
        }
        // The unmutated headers with a valid scheme must have been accepted.
        #expect(accepted > 2_000)
    }

    @Test("near misses are refused")
    func nearMisses() {
        let secret = "0123456789abcdef0123"
        #expect(Self.tokens.authenticate(authorization: "Bearer " + secret) == "ops")
        #expect(Self.tokens.authenticate(authorization: "bEARER " + secret) == "ops")
        #expect(Self.tokens.authenticate(authorization: "Bearer S3cret-Admin-Token-ÄÖ-0123") == "admin")
        for header in [
            "Bearer " + secret.uppercased(), "Bearer  " + secret, "Bearer " + secret + " ", "Bearer\t" + secret,
            "Bearer " + secret.dropLast(), "Bearer " + secret + "4", "Bearer", "Bearer ", "", secret,
            "Basic " + secret, "Bearer S3cret-Admin-Token-äö-0123", "Bearer \u{0}" + secret,
        ] {
            #expect(Self.tokens.authenticate(authorization: header) == nil, "\(header)")
        }
    }
}
