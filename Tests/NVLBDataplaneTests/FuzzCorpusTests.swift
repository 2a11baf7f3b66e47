import Foundation
import NVLBControl
import NVLBTestSupport
import Testing

/// The fuzz harnesses' committed inputs (Fuzz/Corpus, and Fuzz/Regressions for findings)
/// replayed on every test run, so that a fixed finding stays fixed without the fuzzer.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static func inputs(_ harness: String) throws -> [URL] {
        let fuzz = TestSupport.repositoryRoot.appendingPathComponent("Fuzz")
        var files: [URL] = []
        for folder in ["Corpus", "Regressions"] {
            let directory = fuzz.appendingPathComponent(folder).appendingPathComponent(harness)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { continue }
            files += names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
        }
        return files
    }

    @Test("every pipeline input keeps the data plane's invariants")
    func pipelineCorpus() throws {
        let files = try Self.inputs("pipeline")
        #expect(files.count >= 10, "the seed corpus is missing")
        let harness = PipelineFuzzHarness()
        for file in files {
            let data = try Data(contentsOf: file)
            do {
                try data.withUnsafeBytes { try harness.run($0) }
            } catch {
                Issue.record("\(file.lastPathComponent): \(error)")
            }
        }
    }

    @Test("every configuration input loads or fails with positioned diagnostics")
    func configurationCorpus() throws {
        let files = try Self.inputs("configuration")
        #expect(files.count >= 3, "the seed corpus is missing")
        for file in files {
            let data = try Data(contentsOf: file)
            do {
                try data.withUnsafeBytes { try ConfigurationFuzzHarness.run($0) }
            } catch {
                Issue.record("\(file.lastPathComponent): \(error)")
            }
        }
    }

    @Test("every management request is applied or refused with a client error, consistently")
    func managementCorpus() throws {
        let files = try Self.inputs("management")
        #expect(files.count >= 10, "the seed corpus is missing")
        let harness = try ManagementFuzzHarness()
        for file in files {
            let data = try Data(contentsOf: file)
            do {
                try data.withUnsafeBytes { try harness.run($0) }
            } catch {
                Issue.record("\(file.lastPathComponent): \(error)")
            }
        }
    }

    @Test("the management harness applies a change and catches a stale If-Match")
    func managementHarnessReachesChanges() throws {
        let harness = try ManagementFuzzHarness()
        let put = "PATCH /v1/load-balancers/blue-web/backends/5001/10.1.6.21\nIf-Match: $ETAG\n\n{\"weight\": 7}"
        try Data(put.utf8).withUnsafeBytes { try harness.run($0) }
        #expect(harness.store.current.generation == 2)
        let weight = harness.store.current.document.root["load_balancers"]?.elements?.first?["backends"]?
            .elements?.last?["weight"]
        #expect(weight == .integer(7))
        // The next input starts from the baseline again; a stale If-Match is refused (412).
        let stale = "DELETE /v1/load-balancers/red-web\nIf-Match: \"0000000000000000\"\n\n"
        let request = try #require(
            Data(stale.utf8).withUnsafeBytes { ManagementFuzzHarness.decode($0, etag: "\"x\"") })
        #expect(request.segments == ["v1", "load-balancers", "red-web"])
        try Data(stale.utf8).withUnsafeBytes { try harness.run($0) }
        #expect(harness.store.current.document == harness.baseline)
        #expect(throws: ChangeFailure.self) { try harness.apply(request) }
    }

    @Test("the harness catches a frame into another tenant's VSID and a broken checksum")
    func harnessDetectsViolations() {
        let harness = PipelineFuzzHarness(configuration: TestPolicies.goldenExample())
        let received = GoldenFrames.internalRequestIn
        let emitted = GoldenFrames.internalRequestOut
        #expect(throws: Never.self) { try harness.checkEmitted(received: received, emitted: emitted) }

        // Blue's frame re-encapsulated into Red's VSID 6001 (GRE key bytes 38–40).
        var crossTenant = emitted
        crossTenant.replaceSubrange(38..<41, with: [0x00, 0x17, 0x71])
        #expect(throws: PipelineFuzzHarness.Violation.self) {
            try harness.checkEmitted(received: received, emitted: crossTenant)
        }
        // The inner TCP checksum (inner frame at 42: Ethernet 14 + IPv4 20 + 16) corrupted.
        var badChecksum = emitted
        badChecksum[42 + 14 + 20 + 16] ^= 0xFF
        #expect(throws: PipelineFuzzHarness.Violation.self) {
            try harness.checkEmitted(received: received, emitted: badChecksum)
        }
        // An unconfigured VSID.
        var unknown = emitted
        unknown.replaceSubrange(38..<41, with: [0x00, 0x30, 0x39])
        #expect(throws: PipelineFuzzHarness.Violation.self) {
            try harness.checkEmitted(received: received, emitted: unknown)
        }
    }
}
