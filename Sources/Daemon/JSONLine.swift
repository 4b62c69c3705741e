/// One JSON object written key by key, in the order given (pmacct's dumps keep their order).
struct JSONLine {
    private(set) var text = "{"
    private var first = true

    mutating func add(_ key: String, _ value: String) {
        separator(key)
        JSONLine.appendString(value, to: &text)
    }

    mutating func add<I: BinaryInteger>(_ key: String, _ value: I) {
        separator(key)
        text += String(value)
    }

    mutating func add(_ key: String, _ value: Bool) {
        separator(key)
        text += value ? "true" : "false"
    }

    /// A value already encoded as JSON (an array or object).
    mutating func add(_ key: String, raw: String) {
        separator(key)
        text += raw
    }

    var line: String { text + "}" }

    private mutating func separator(_ key: String) {
        text += first ? "" : ", "
        first = false
        JSONLine.appendString(key, to: &text)
        text += ": "
    }

    static func string(_ value: String) -> String {
        var out = ""
        appendString(value, to: &out)
        return out
    }

    static func appendString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
