import NetCore

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
        JSONText.quoted(value)
    }

    static func appendString(_ value: String, to out: inout String) {
        JSONText.append(value, to: &out)
    }
}
