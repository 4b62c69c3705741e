import Foundation
@testable import PathflowConfig

/// Paths and helpers shared by the tests.
enum Fixtures {
    /// The repository root, found from this file so tests run from any directory.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func tutorial(_ name: String) -> String {
        root.appendingPathComponent("configs/tutorial/\(name)").path
    }

    /// Parses and evaluates configuration text given as lines.
    static func make(_ lines: [String], file: String = "test.conf") -> (CollectorConfig?, [ConfigDiagnostic]) {
        CollectorConfig.make(raw: ConfigParser.parse(text: lines.joined(separator: "\n") + "\n", file: file))
    }

    /// A fresh directory for files a test writes.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("pathflow-config-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension ConfigDiagnostic {
    /// Compact form for comparing whole lists in expectations.
    var summary: String { "\(line) \(key) \(severity == .fatal ? "fatal" : "skipped")" }
}
