import NetCore

/// Parses a pmacct `sampling_map` file (examples/sampling.map.example): one rule per line,
/// `id=RATE ip=ADDRESS[/LEN] [in=N] [out=N]` in any order, separated by blanks, no spaces
/// around `=`; `!` or `#` starts a comment line. As in pmacct, a bad line is reported and
/// ignored, and the other lines still load.
public enum SamplingMapParser {
    public static func parse(text: String, file: String) -> ([SamplingRule], [ConfigDiagnostic]) {
        MapFile.parse(text: text, file: file, key: "sampling_map") { parseRule($0, file: file, line: $1) }
    }

    struct Problem: Error {
        var message: String
    }

    static func parseRule(_ row: Substring, file: String, line: Int) -> Result<SamplingRule, Problem> {
        // pmacct reserves '|' as its internal column separator.
        if row.contains("|") { return .failure(Problem(message: "invalid symbol '|'")) }
        var fields: [String: String] = [:]
        for token in tokens(row) {
            guard let equals = token.firstIndex(of: "="), equals != token.startIndex else {
                return .failure(Problem(message: "malformed field '\(token)': expected key=value"))
            }
            let key = String(token[..<equals])
            let value = String(token[token.index(after: equals)...])
            guard ["id", "ip", "in", "out"].contains(key) else {
                return .failure(Problem(message: "unknown key '\(key)' (valid keys: id, ip, in, out)"))
            }
            guard fields[key] == nil else { return .failure(Problem(message: "key '\(key)' given twice")) }
            guard !value.isEmpty else { return .failure(Problem(message: "key '\(key)' has no value")) }
            fields[key] = value
        }
        guard let idText = fields["id"], let ipText = fields["ip"] else {
            return .failure(Problem(message: "required key missing: a rule needs 'id' and 'ip'"))
        }
        guard let rate = ASCIIText.decimal(idText), rate > 0 else {
            return .failure(Problem(message: "bad 'id' value '\(idText)': expected a sampling rate of 1 or more"))
        }
        guard let prefix = IPPrefix(ipText) else {
            return .failure(Problem(message: "bad 'ip' value '\(ipText)': expected an IP address or prefix"))
        }
        var rule = SamplingRule(rate: rate, exporter: prefix, file: file, line: line)
        for (key, path) in [("in", \SamplingRule.input), ("out", \SamplingRule.output)] {
            guard let text = fields[key] else { continue }
            guard let match = interfaceMatch(text) else {
                return .failure(Problem(message: "bad '\(key)' value '\(text)': expected an interface index, '-' to negate"))
            }
            rule[keyPath: path] = match
        }
        return .success(rule)
    }

    static func interfaceMatch(_ text: String) -> SamplingRule.InterfaceMatch? {
        let negated = text.hasPrefix("-")
        guard let n = ASCIIText.decimal(negated ? text.dropFirst() : Substring(text)), let index = UInt32(exactly: n) else {
            return nil
        }
        return SamplingRule.InterfaceMatch(ifIndex: index, negated: negated)
    }

    /// Blank-separated fields; single quotes group blanks and are then removed, as pmacct's
    /// mark_columns() and strip_quotes() do.
    static func tokens(_ row: Substring) -> [String] {
        var result: [String] = []
        var current = ""
        var quoted = false
        for c in row {
            if c == "'" {
                quoted.toggle()
            } else if ASCIIText.isSpace(c) && !quoted {
                if !current.isEmpty { result.append(current); current = "" }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }
}

/// The line structure pmacct's map files share: one entry per line, blank lines and lines
/// starting with `!` or `#` skipped. A bad line is reported (file, line, the map's key) and
/// ignored; the other lines still load, as in pmacct.
enum MapFile {
    static func parse<Entry>(
        text: String, file: String, key: String, _ parseLine: (Substring, Int) -> Result<Entry, SamplingMapParser.Problem>
    ) -> ([Entry], [ConfigDiagnostic]) {
        var entries: [Entry] = []
        var diagnostics: [ConfigDiagnostic] = []
        let rows = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, row) in rows.enumerated() {
            guard let first = row.first(where: { !ASCIIText.isSpace($0) }), first != "!", first != "#" else { continue }
            switch parseLine(row, index + 1) {
            case .success(let entry):
                entries.append(entry)
            case .failure(let problem):
                diagnostics.append(ConfigDiagnostic(
                    file: file, line: index + 1, key: key, message: "line ignored: \(problem.message)", severity: .skipped))
            }
        }
        return (entries, diagnostics)
    }
}
