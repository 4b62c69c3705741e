/// One problem found in a configuration or map file, pointing at the line that caused it.
public struct ConfigDiagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: Sendable, Hashable {
        /// The line (or the part named in the message) was ignored; the rest of the configuration
        /// runs, as pmacct does for unknown keys and invalid values.
        case skipped
        /// The configuration cannot run as written: pmacct would exit, or the line asks for
        /// something that would change what the data means and is not implemented.
        case fatal
    }

    public var file: String
    /// 1-based; 0 when the problem belongs to the file as a whole (e.g. no `plugins` line).
    public var line: Int
    /// The key as written, with its `[name]` when it had one.
    public var key: String
    public var message: String
    public var severity: Severity

    public init(file: String, line: Int, key: String, message: String, severity: Severity) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        self.severity = severity
    }

    public var description: String {
        let text = "\(file):\(line): key '\(key)': \(message)"
        return severity == .skipped ? text + " (skipped)" : text
    }
}

extension Array where Element == ConfigDiagnostic {
    public var hasFatal: Bool { contains { $0.severity == .fatal } }

    /// Grouped by file in order of first appearance (the configuration before the maps it
    /// names), then by line; equal lines keep the order they were found in.
    func orderedByFileAndLine() -> [ConfigDiagnostic] {
        var fileRank: [String: Int] = [:]
        for diagnostic in self where fileRank[diagnostic.file] == nil {
            fileRank[diagnostic.file] = fileRank.count
        }
        return enumerated().sorted { a, b in
            let ra = fileRank[a.element.file]!, rb = fileRank[b.element.file]!
            if ra != rb { return ra < rb }
            if a.element.line != b.element.line { return a.element.line < b.element.line }
            return a.offset < b.offset
        }.map(\.element)
    }
}
