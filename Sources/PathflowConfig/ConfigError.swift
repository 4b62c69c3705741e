/// Why `CollectorConfig.load(path:)` produced no configuration.
public enum ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    /// At least one diagnostic is fatal; all diagnostics are included, in file/line order.
    case fatal([ConfigDiagnostic])

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot read configuration: \(reason)"
        case .fatal(let diagnostics):
            return diagnostics.filter { $0.severity == .fatal }.map(\.description).joined(separator: "\n")
        }
    }
}
