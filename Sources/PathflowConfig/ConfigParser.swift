/// Splits pmacct-syntax text into lines of `key[name]: value`, following pmacct's cfg.c:
/// a line whose first non-blank character is `!` or `#` is a comment (there are no inline
/// comments: `!` later in a line belongs to the value); the key ends at the first `:` so values
/// may hold more (`nfprobe_timeouts: tcp=10:udp=10`, IPv6 addresses); whitespace is removed from
/// the key and the key lowercased, the bracketed name kept as written; the value is trimmed.
public enum ConfigParser {
    /// Reads and parses a file; `ConfigError.unreadable` when it cannot be read.
    public static func read(path: String) throws -> RawConfig {
        do {
            return parse(text: try TextFile.read(path), file: path)
        } catch {
            throw ConfigError.unreadable(path: path, reason: "\(error)")
        }
    }

    public static func parse(text: String, file: String) -> RawConfig {
        var lines: [RawConfig.Line] = []
        var diagnostics: [ConfigDiagnostic] = []
        // Split on "\n" and "\r\n" (one Character in Swift); fgets() in pmacct does the same.
        let rows = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, row) in rows.enumerated() {
            let number = index + 1
            guard let first = row.first(where: { !ASCIIText.isSpace($0) }) else { continue }
            if first == "!" || first == "#" { continue }
            switch parseLine(row) {
            case .success(let (key, instance, value)):
                lines.append(RawConfig.Line(key: key, instance: instance, value: value, file: file, line: number))
            case .failure(let error):
                diagnostics.append(ConfigDiagnostic(
                    file: file, line: number, key: error.key, message: error.message, severity: .fatal))
            }
        }
        return RawConfig(file: file, lines: lines, diagnostics: diagnostics)
    }

    struct SyntaxError: Error {
        var key: String
        var message: String
    }

    static func parseLine(_ row: Substring) -> Result<(String, String?, String), SyntaxError> {
        guard let colon = row.firstIndex(of: ":") else {
            return .failure(SyntaxError(key: shortened(row), message: "syntax error: missing ':'"))
        }
        let keyPart = row[..<colon]
        let value = ASCIIText.trim(row[row.index(after: colon)...])
        var key = Substring(keyPart)
        var instance: String?
        if let open = keyPart.firstIndex(of: "[") {
            guard let close = keyPart.firstIndex(of: "]"), close > open,
                  !keyPart[keyPart.index(after: open)..<close].contains("["),
                  ASCIIText.trim(keyPart[keyPart.index(after: close)...]).isEmpty
            else {
                return .failure(SyntaxError(key: shortened(keyPart), message: "syntax error: unbalanced or misplaced brackets"))
            }
            key = keyPart[..<open]
            instance = ASCIIText.trim(keyPart[keyPart.index(after: open)..<close])
        } else if keyPart.contains("]") {
            return .failure(SyntaxError(key: shortened(keyPart), message: "syntax error: unbalanced or misplaced brackets"))
        }
        let normalized = ASCIIText.lowercased(ASCIIText.removingSpaces(key))
        guard !normalized.isEmpty else {
            return .failure(SyntaxError(key: "", message: "syntax error: missing key before ':'"))
        }
        return .success((normalized, instance, value))
    }

    /// Keeps messages about a broken line readable.
    private static func shortened(_ text: Substring) -> String {
        let trimmed = ASCIIText.trim(text)
        return trimmed.count > 40 ? String(trimmed.prefix(40)) + "…" : trimmed
    }
}
