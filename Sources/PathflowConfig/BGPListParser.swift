import NetCore

/// Reads pmacct's list files: the allow lists `bgp_daemon_allow_file` and `nfacctd_allow_file`
/// (one address or prefix per line) and `bgp_daemon_md5_file` (`address, password`). `!` or
/// `#` starts a comment; a bad line is reported and ignored, as pmacct does.
public enum BGPListParser {
    public static func allowList(text: String, file: String, key: String) -> ([IPPrefix], [ConfigDiagnostic]) {
        var prefixes: [IPPrefix] = []
        var diagnostics: [ConfigDiagnostic] = []
        for (number, row) in rows(text) {
            if let prefix = IPPrefix(row) {
                prefixes.append(prefix)
            } else {
                diagnostics.append(ignored(file, number, key, "'\(row)' is not an IP address or prefix"))
            }
        }
        return (prefixes, diagnostics)
    }

    public static func md5Keys(text: String, file: String) -> ([BGPDaemonConfig.MD5Key], [ConfigDiagnostic]) {
        var keys: [BGPDaemonConfig.MD5Key] = []
        var diagnostics: [ConfigDiagnostic] = []
        for (number, row) in rows(text) {
            guard let comma = row.firstIndex(of: ",") else {
                diagnostics.append(ignored(file, number, "bgp_daemon_md5_file", "expected 'address, password'"))
                continue
            }
            let addressText = ASCIIText.trim(row[..<comma])
            let password = ASCIIText.trim(row[row.index(after: comma)...])
            guard let address = IPAddress(addressText) else {
                diagnostics.append(ignored(file, number, "bgp_daemon_md5_file", "'\(addressText)' is not an IP address"))
                continue
            }
            // Linux keeps at most 80 bytes of key (TCP_MD5SIG_MAXKEYLEN).
            guard !password.isEmpty, password.utf8.count <= 80 else {
                diagnostics.append(ignored(file, number, "bgp_daemon_md5_file", "the password must be 1 to 80 bytes"))
                continue
            }
            keys.append(.init(address: address, password: password))
        }
        return (keys, diagnostics)
    }

    /// Non-comment, non-blank rows, trimmed, with their 1-based line numbers.
    static func rows(_ text: String) -> [(Int, String)] {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        return lines.enumerated().compactMap { index, line in
            let row = ASCIIText.trim(line)
            guard let first = row.first, first != "!", first != "#" else { return nil }
            return (index + 1, row)
        }
    }

    static func ignored(_ file: String, _ line: Int, _ key: String, _ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(file: file, line: line, key: key, message: "line ignored: \(message)", severity: .skipped)
    }
}
