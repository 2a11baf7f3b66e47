import Foundation
import Hummingbird
import HummingbirdTesting
import NVLBTestSupport
import Testing

@testable import NVLBManagement

@Suite("Web console: static files")
struct ConsoleTests {
    static let assets = ["/index.html", "/console.css", "/console.js"]

    @Test("/ and the console's files load without a token, with a CSP that allows no inline script")
    func servedWithoutToken() async throws {
        try await ManagementFixture().test { client in
            for (path, type) in [
                ("/", "text/html"), ("/index.html", "text/html"), ("/console.css", "text/css"),
                ("/console.js", "text/javascript"),
            ] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType]?.hasPrefix(type) == true, "\(path)")
                    let policy = response.headers[.contentSecurityPolicy] ?? ""
                    #expect(policy.contains("script-src 'self'"), "\(path): \(policy)")
                    #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "\(path)")
                    #expect(policy.contains("default-src 'none'"))
                    #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
                    #expect(response.body.readableBytes > 500, "\(path)")
                }
            }
            try await client.execute(uri: "/console.jsx", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test("the API still answers 401 without a token next to the console")
    func apiStillNeedsToken() async throws {
        try await ManagementFixture().test { client in
            for path in ["/v1/status", "/v1/config", "/v1/openapi.yaml"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(path)")
                    #expect(response.headers[.contentSecurityPolicy] == nil)
                }
            }
            try await client.execute(uri: "/v1/status", method: .get, headers: authorized()) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("the compiled-in files equal Sources/NVLBManagement/Console/assets (run its embed.py after a change)")
    func embeddedCopyIsCurrent() throws {
        let directory = TestSupport.repositoryRoot.appendingPathComponent("Sources/NVLBManagement/Console/assets")
        for path in Self.assets {
            let text = try String(
                contentsOf: directory.appendingPathComponent(String(path.dropFirst())), encoding: .utf8)
            let embedded = try #require(ConsoleAssets.files[path]).body
            #expect(embedded + "\n" == text, "\(path) differs from its compiled-in copy")
        }
    }

    @Test("the page has no inline script or event-handler attribute (the CSP would block them)")
    func noInlineScript() throws {
        let html = try #require(ConsoleAssets.files["/index.html"]).body
        let scripts = html.components(separatedBy: "<script").dropFirst()
        #expect(scripts.count == 1)
        for script in scripts { #expect(script.hasPrefix(" src=\"console.js\"")) }
        #expect(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil)
        #expect(html.range(of: "style=") == nil)
    }
}

/// The console in a real browser: `Tests/Browser/console_browser.py` starts `nvlb run` in a
/// network namespace and drives headless Chromium there (docs/console.md "Tests").
@Suite("Web console in headless Chromium", .serialized)
struct ConsoleBrowserTests {
    /// What the test needs and this machine lacks (`make test-deps` installs the packages); nil
    /// when it can run.
    static let unavailableReason: String? = {
        var missing: [String] = []
        if getuid() != 0 { missing.append("root") }
        if nvlbBinary == nil { missing.append("the nvlb executable") }
        for tool in ["ip", "tcpreplay", "chromium", "chromedriver"] where which(tool) == nil {
            missing.append(tool == "chromedriver" ? "chromedriver (Debian chromium-driver)" : tool)
        }
        if !pythonHas("selenium") { missing.append("Python selenium") }
        return missing.isEmpty ? nil : "needs " + missing.joined(separator: ", ") + " (make test-deps)"
    }()

    @Test(
        .enabled(if: unavailableReason == nil, Comment(rawValue: unavailableReason ?? "")),
        .timeLimit(.minutes(5)))
    func browser() async throws {
        let binary = try #require(nvlbBinary)
        let out = TestSupport.repositoryRoot.appendingPathComponent("out/console").path
        // Screenshots of an earlier run must not stand in for this run's.
        try? FileManager.default.removeItem(atPath: out)
        let result = try await runChild(
            "/usr/bin/env", ["python3", "Tests/Browser/console_browser.py", binary, out], timeout: 280)
        // 77: the script found something missing that the check above did not see.
        if result.status == 77 {
            try Test.cancel(Comment(rawValue: result.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        #expect(result.status == 0, "\(result.output)\n\(result.error)")
        for name in ["console-overview.png", "console-load-balancer.png"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "\(name) missing")
        }
    }
}
