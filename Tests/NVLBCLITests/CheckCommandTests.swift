import Foundation
import NVLBTestSupport
import Testing

/// The `nvlb` executable built next to the test bundle (`swift test` builds every target).
///
/// Looked up, in order: `$NVLB_BINARY`; the directory of the running test binary and its
/// parents (Linux: `.build/<triple>/debug/nvlbPackageTests.xctest`; macOS: inside the
/// `.xctest` bundle); `.build/debug/nvlb` under the repository root.
enum NVLBBinary {
    static let url: URL? = {
        let fileManager = FileManager.default
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["NVLB_BINARY"] {
            candidates.append(URL(fileURLWithPath: path))
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent("nvlb"))
            directory.deleteLastPathComponent()
        }
        candidates.append(TestSupport.repositoryRoot.appendingPathComponent(".build/debug/nvlb"))
        return candidates.first { url in
            var isDirectory: ObjCBool = false
            return fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && fileManager.isExecutableFile(atPath: url.path)
        }
    }()
}

/// What one run of `nvlb` did.
struct RunResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// Runs `nvlb` with `arguments` from the repository root and waits for it.
func runNVLB(_ arguments: [String]) throws -> RunResult {
    let binary = try #require(NVLBBinary.url, "nvlb executable not found: build it (swift build) or set NVLB_BINARY")
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.currentDirectoryURL = TestSupport.repositoryRoot
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read both pipes to the end before waiting, so a full pipe cannot block the child.
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(
        status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
        standardError: String(decoding: errorData, as: UTF8.self))
}

@Suite("nvlb check")
struct CheckCommandTests {
    @Test func validConfigurationPrintsTheSummary() throws {
        let result = try runNVLB(["check", "--config", "Config/example.yaml"])
        #expect(result.status == 0)
        #expect(result.standardError == "")
        #expect(
            result.standardOutput.hasPrefix(
                "configuration valid: 2 routing domains, 3 load balancers, 4 rules, 6 backends\n"))
        #expect(result.standardOutput.contains("    backends:  5001/10.1.6.20 weight 1, 5001/10.1.6.21 weight 2\n"))
    }

    @Test(arguments: ["Config/tier-to-tier.yaml", "Config/bench.yaml"])
    func committedConfigurationsAreValid(path: String) throws {
        let result = try runNVLB(["check", "--config", path])
        #expect(result.status == 0, "\(result.standardError)")
    }

    @Test func invalidConfigurationExits2WithEveryDiagnosticOnStandardError() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml")
        try """
        underlay: { address: 192.168.6.2, mac: 02:4c:42:00:06:02, mtu: 10 }
        routing_domains:
          - { name: blue, gateway_mac: 02:4c:42:00:b1:00, subnets: [5001] }
        load_balancers:
          - { name: web, routing_domain: green, frontends: [], rules: [], backends: [], colour: red }

        """.write(to: file, atomically: true, encoding: .utf8)
        let result = try runNVLB(["check", "--config", file.path])
        #expect(result.status == 2)
        #expect(result.standardOutput == "")
        let path = file.path
        #expect(
            result.standardError.split(separator: "\n").map(String.init) == [
                "\(path):1:64: underlay.mtu: must be between 576 and 9216, found 10",
                "\(path):5:34: load_balancers[0].routing_domain: no routing domain named green",
                "\(path):5:52: load_balancers[0].frontends: a load balancer needs at least one frontend",
                "\(path):5:63: load_balancers[0].rules: a load balancer needs at least one rule",
                "\(path):5:77: load_balancers[0].backends: a load balancer needs at least one backend",
                "\(path):5:81: load_balancers[0].colour: unknown key 'colour'",
            ])
    }

    @Test func missingFileExits2() throws {
        let result = try runNVLB(["check", "--config", "Config/does-not-exist.yaml"])
        #expect(result.status == 2)
        #expect(result.standardError == "Config/does-not-exist.yaml:1:1: cannot read the configuration: no such file\n")
    }

    @Test func missingConfigOptionIsMisuse() throws {
        let result = try runNVLB(["check"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("Missing expected argument '--config <FILE>'"))
    }

    @Test func unknownSubcommandIsMisuse() throws {
        let result = try runNVLB(["chekc"])
        #expect(result.status == 2)
    }

    @Test func helpExits0() throws {
        let result = try runNVLB(["check", "--help"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("--config <FILE>"))
        let root = try runNVLB(["--help"])
        #expect(root.status == 0)
        #expect(root.standardOutput.contains("check"))
    }
}
