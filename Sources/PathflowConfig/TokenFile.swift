/// A file whose first line is a secret token (`console_token_file`, `serve --token-file`):
/// the line without the blanks around it.
public enum TokenFile {
    /// The token; nil when the file cannot be read or its first line is blank.
    public static func read(_ path: String) -> String? {
        guard let text = try? TextFile.read(path) else { return nil }
        // "\r\n" is one Character: split on both so a file written on Windows gives the same token.
        let first = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).first ?? ""
        let token = ASCIIText.trim(first)
        return token.isEmpty ? nil : token
    }
}
