import Foundation
import NVLBControl
import NVLBPolicy
import NVLBTestSupport
import Testing

/// The loader's own behaviour, around the reader and validator (whose rules
/// `StructureTests` and `ValidationRuleTests` cover): files versus text, bytes that are not
/// text, libyaml's reader errors positioned by their offset, and what a failed load returns.
@Suite struct ConfigurationLoaderTests {
    /// Writes `bytes` to a new file and returns its path and the directory to remove.
    static func file(_ bytes: [UInt8], name: String = "c.yaml") throws -> (path: String, directory: URL) {
        let directory = try TestSupport.temporaryDirectory()
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return (url.path, directory)
    }

    static func diagnostics(path: String) -> [String] {
        do {
            _ = try ConfigurationLoader.load(path: path)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func aFileLoadsAsItsText() throws {
        let path = TestSupport.configPath("example.yaml")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let fromFile = try ConfigurationLoader.load(path: path)
        let fromText = try ConfigurationLoader.load(yaml: text, fileName: "other name")
        #expect(fromFile == fromText)
        #expect(fromFile.loadBalancers.count > 1 && !fromFile.routingDomains.isEmpty)
    }

    @Test func aFileThatIsNotUTF8IsRefusedAtItsStart() throws {
        let (path, directory) = try Self.file(Array(baseYAML.utf8.prefix(40)) + [0xC3, 0x28, 0x0A])
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(
            Self.diagnostics(path: path) == ["\(path):1:1: cannot read the configuration: the file is not UTF-8 text"])
    }

    @Test func aReaderErrorIsPositionedAtTheOffendingCharacter() {
        // A control character inside a value, on line 9 column 18 (after "    gateway_mac: ").
        let yaml = base(replacing: ("gateway_mac: 02:4c:42:00:b1:00", "gateway_mac: 02:4c\u{07}:42:00:b1:00"))
        let found = problems(yaml)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("t.yaml:9:23: invalid YAML: ") == true, "\(found)")
    }

    @Test func aSyntaxErrorHidesTheRestButSemanticErrorsAreAllReported() {
        // Four semantic problems in different sections: all four, in file order.
        let semantic = problems(
            base(
                replacing: ("address: 192.168.6.2", "address: 224.0.0.1"), ("subnets: [5001, 5002]", "subnets: [5001]"),
                ("frontend_port: 80", "frontend_port: 0"),
                ("vsid: 5001, ca: 10.1.6.20 } ]", "vsid: 5001, ca: 10.9.9.9 } ]")))
        #expect(semantic.count == 4, "\(semantic)")
        #expect(semantic.map { $0.split(separator: ":")[1] } == ["2", "13", "18", "19"], "\(semantic)")
        // The same file with a syntax error as well: only the syntax error (the rest cannot be read).
        let syntax = problems(
            base(
                replacing: ("address: 192.168.6.2", "address: 224.0.0.1"), ("subnets: [5001, 5002]", "subnets: [5001")))
        #expect(syntax.count == 1 && syntax[0].contains("invalid YAML"), "\(syntax)")
    }

    @Test func aFailedLoadThrowsOnlyDiagnosticsNamingTheFile() throws {
        let (path, directory) = try Self.file(Array("underlay: { mtu: 70000 }\n".utf8), name: "odd name.yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        let found = Self.diagnostics(path: path)
        #expect(!found.isEmpty)
        #expect(found.allSatisfy { $0.hasPrefix("\(path):") }, "\(found)")
        #expect(found.contains("\(path):1:18: underlay.mtu: must be between 576 and 9216, found 70000"), "\(found)")
    }
}
