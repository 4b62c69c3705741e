/// Value parsers shared by the key tables, each following the pmacct handler it replaces.
enum ConfigValue {
    /// parse_truefalse(): `true` or `false`, any case.
    static func bool(_ value: String) -> Bool? {
        switch ASCIIText.lowercased(value) {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }

    static func notBool(_ value: String) -> KeyRule.Problem {
        .invalid("invalid value '\(value)': expected true or false")
    }

    static func positive(_ value: String, max: Int = Int(Int32.max)) -> Result<Int, KeyRule.Problem> {
        guard let n = ASCIIText.decimal(value), n > 0, n <= max else {
            return .failure(.invalid("invalid value '\(value)': expected a whole number from 1 to \(max)"))
        }
        return .success(n)
    }

    static func nonEmpty(_ value: String) -> Result<String, KeyRule.Problem> {
        value.isEmpty ? .failure(.invalid("empty value")) : .success(value)
    }

    /// cfg_key_aggregate(): blanks removed, lowercased, comma-separated, empty items ignored;
    /// a repeated primitive makes pmacct exit, an unknown one is looked up among custom
    /// primitives (aggregate_primitives), which pathflow does not have.
    static func aggregate(_ value: String) -> Result<[String], KeyRule.Problem> {
        let names = ASCIIText.lowercased(ASCIIText.removingSpaces(value))
            .split(separator: ",").map(String.init)
        var seen: Set<String> = []
        for name in names where !seen.insert(name).inserted {
            return .failure(.unsupported("'\(name)' repeated in aggregate (pmacct refuses to start)"))
        }
        let notImplemented = names.filter { AggregatePrimitives.pmacctOnly.contains($0) }
        let unknown = names.filter {
            !AggregatePrimitives.implemented.contains($0) && !AggregatePrimitives.pmacctOnly.contains($0)
        }
        var reasons: [String] = []
        if !notImplemented.isEmpty {
            reasons.append("primitives not implemented yet: \(notImplemented.joined(separator: ", "))")
        }
        if !unknown.isEmpty {
            reasons.append("unknown primitives (custom primitives are not implemented): \(unknown.joined(separator: ", "))")
        }
        guard reasons.isEmpty else { return .failure(.unsupported(reasons.joined(separator: "; "))) }
        return .success(names)
    }

    /// cfg_key_sql_table() / cfg_key_print_output_file(): `%` time variables and `$` tag
    /// variables make dynamic names; pmacct exits on an unknown `%` variable and, for
    /// sql_table only, on names longer than 64 characters.
    static func tableOrFile(_ value: String, maxLength: Int?) -> Result<String, KeyRule.Problem> {
        guard !value.isEmpty else { return .failure(.invalid("empty value")) }
        let percentVariables: Set<Character> = ["d", "H", "m", "M", "w", "W", "Y", "s", "S", "z"]
        var index = value.startIndex
        while let percent = value[index...].firstIndex(of: "%") {
            let next = value.index(after: percent)
            guard next < value.endIndex, percentVariables.contains(value[next]) else {
                let variable = next < value.endIndex ? String(value[next]) : ""
                return .failure(.unsupported("'%\(variable)' is not a supported variable (pmacct refuses to start)"))
            }
            index = value.index(after: next)
        }
        if value.contains("%") || value.contains("$") {
            return .failure(.unsupported("dynamic names ('%' or '$' variables) are not implemented yet"))
        }
        if let maxLength, value.count > maxLength {
            return .failure(.unsupported("longer than \(maxLength) characters (pmacct refuses to start)"))
        }
        return .success(value)
    }

    static func tableVersion(_ value: String) -> Result<Int, KeyRule.Problem> {
        guard let n = ASCIIText.decimal(value), (1...9).contains(n) else {
            return .failure(.invalid("invalid value '\(value)': expected a table version from 1 to 9"))
        }
        return .success(n)
    }

    static func history(_ value: String) -> Result<TimeBin, KeyRule.Problem> {
        guard let bin = TimeBin(pmacct: value) else {
            return .failure(.invalid(
                "invalid value '\(value)': expected a number with an optional unit s, m, h, d, w or M;"
                    + " seconds must be under 60 or a multiple of 60"))
        }
        return .success(bin)
    }

    /// cfg_key_sql_history_roundoff(): letters from "mhdwM" ('w' excludes 'd' and 'M');
    /// commas between letters are tolerated.
    static func roundoff(_ value: String) -> Result<String, KeyRule.Problem> {
        var letters = ""
        for c in value where c != "," && !ASCIIText.isSpace(c) {
            guard "mhdwM".contains(c) else {
                return .failure(.invalid("invalid value '\(value)': expected letters from m, h, d, w, M"))
            }
            if !letters.contains(c) { letters.append(c) }
        }
        if letters.contains("w") && (letters.contains("d") || letters.contains("M")) {
            return .failure(.invalid("invalid value '\(value)': 'w' cannot be combined with 'd' or 'M'"))
        }
        return .success(letters)
    }
}
