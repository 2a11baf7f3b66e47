import Foundation

/// Helpers shared by the test targets.
public enum TestSupport {
    /// The repository root (two levels above this file's directory).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A file under `Config/`.
    public static func configPath(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Config").appendingPathComponent(name).path
    }

    /// A new empty temporary directory, removed by the caller.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nvlb-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
