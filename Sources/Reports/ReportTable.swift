import Foundation
import NetCore

/// A report's result: named, typed columns and rows, printed as an aligned text table, CSV or
/// JSON (an array of objects, numbers as numbers).
///
/// Text cells and column names may come from the table, which may hold anything: text output
/// shows their control characters as escapes (`visible`), CSV neutralises formulas (`csvField`),
/// JSON and HTML escape them. Numbers are the report's own and print as they are.
public struct ReportTable: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        /// Text, from the table or the report: never a number in CSV.
        case text(String)
        case integer(Int64)
        /// Bytes: raw in CSV and JSON, with a unit in text.
        case bytes(Int64)
        /// Bits per second.
        case rate(Double)
        /// 0–100.
        case percent(Double)
    }

    public enum Format: String, Sendable, CaseIterable {
        case text, csv, json, html
    }

    public var columns: [String]
    public var rows: [[Value]]
    /// Lines printed above a text table (what the report covers).
    public var notes: [String] = []
    /// The HTML page's title and chart.
    public var title = "pathflow report"
    public var chart: Chart?
    /// The HTML page's line under the title: the range (first and last bin, with the stamps'
    /// zone) and the bins (`Reports.subtitle`). Text, CSV and JSON leave it out.
    public var subtitle: String?

    public init(
        columns: [String], rows: [[Value]], notes: [String] = [], title: String = "pathflow report", chart: Chart? = nil,
        subtitle: String? = nil
    ) {
        self.columns = columns
        self.rows = rows
        self.notes = notes
        self.title = title
        self.chart = chart
        self.subtitle = subtitle
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .text: text()
        case .csv: csv()
        case .json: json()
        case .html: html(title: title, chart: chart)
        }
    }

    func text() -> String {
        let cells = rows.map { $0.map { Self.visible(Self.display($0)) } }
        let columns = self.columns.map(Self.visible)
        var widths = columns.map(\.count)
        for row in cells { for (i, c) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ values: [String]) -> String {
            values.enumerated().map { i, v in
                // Numbers right-aligned, text left-aligned.
                let numeric = rows.first.map { i < $0.count && !Self.isText($0[i]) } ?? false
                let pad = String(repeating: " ", count: max(0, widths[i] - v.count))
                return numeric ? pad + v : v + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = notes.map { Self.visible($0) + "\n" }.joined()
        out += line(columns) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in cells { out += line(row) + "\n" }
        return out
    }

    func csv() -> String {
        var out = columns.map { Self.csvField($0, text: true) }.joined(separator: ",") + "\n"
        for row in rows { out += row.map { Self.csvField(Self.raw($0), text: Self.isText($0)) }.joined(separator: ",") + "\n" }
        return out
    }

    /// One CSV field. Text (table data, column names) that a spreadsheet would run as a formula,
    /// i.e. starting with = + - @, a tab, CR or NUL (or their fullwidth forms), gets a leading
    /// `'`, except a lone "-" and a plain decimal number such as "-5" or "+1.5", which no
    /// spreadsheet evaluates as more than themselves. The report's numbers are never touched.
    /// Then RFC 4180: a field holding a comma, a quote, CR or LF is quoted, quotes doubled.
    static func csvField(_ s: String, text: Bool) -> String {
        var s = s
        if text, let first = s.unicodeScalars.first, formulaStarts.contains(first), s != "-", !isPlainNumber(s) {
            s = "'" + s
        }
        guard s.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r", "\0", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}"]

    /// An optional sign, ASCII digits, and optionally a point and more digits.
    static func isPlainNumber(_ s: String) -> Bool {
        var u = Substring(s).utf8
        if u.first == UInt8(ascii: "-") || u.first == UInt8(ascii: "+") { u = u.dropFirst() }
        let parts = u.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        return u.count > 0 && u.count <= 40 && (parts.count == 1 || parts.count == 2)
            && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }
    }

    /// Text output: C0 and C1 control characters, DEL, the line and paragraph separators and the
    /// bidirectional overrides and isolates of a cell become `\xNN` or `\u{NNNN}`, so that a
    /// value from the table cannot move the cursor, recolour the terminal or start a fake row.
    public static func visible(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: isHidden) else { return s }
        var out = ""
        for scalar in s.unicodeScalars {
            if !isHidden(scalar) {
                out.unicodeScalars.append(scalar)
            } else if scalar.value <= 0xFF {
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            } else {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }

    static func isHidden(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    func json() -> String {
        let objects = rows.map { row -> String in
            let pairs = zip(columns, row).map { name, value -> String in
                let v: String
                switch value {
                case .text(let s): v = Self.quoted(s)
                // JSON has no NaN or infinity.
                default: v = Self.number(text: value) ?? "null"
                }
                return Self.quoted(name) + ":" + v
            }
            return "{" + pairs.joined(separator: ",") + "}"
        }
        return "[" + objects.joined(separator: ",\n") + "]\n"
    }

    /// The table as one JSON object for a program that draws it: `title`, `subtitle` (the range),
    /// `notes`, `columns`, `types` (per column: integer, bytes, rate in bit/s or percent as its
    /// numbers are, text when it has none) and `rows` as arrays, numbers as in `json()`.
    public func document() -> String {
        func kind(_ v: Value) -> String {
            switch v {
            case .text: "text"
            case .integer: "integer"
            case .bytes: "bytes"
            case .rate: "rate"
            case .percent: "percent"
            }
        }
        // A column's type is its first number's: a text cell such as "-" may stand among numbers.
        let types = columns.indices.map { i in
            rows.lazy.compactMap { i < $0.count && !Self.isText($0[i]) ? kind($0[i]) : nil }.first ?? "text"
        }
        let body = rows.map { row in
            "[" + row.map { v -> String in
                if case .text(let s) = v { return Self.quoted(s) }
                return Self.number(text: v) ?? "null"
            }.joined(separator: ",") + "]"
        }
        var parts = ["\"title\":" + Self.quoted(title)]
        parts.append("\"subtitle\":" + (subtitle.map(Self.quoted) ?? "null"))
        parts.append("\"notes\":[" + notes.map(Self.quoted).joined(separator: ",") + "]")
        parts.append("\"columns\":[" + columns.map(Self.quoted).joined(separator: ",") + "]")
        parts.append("\"types\":[" + types.map(Self.quoted).joined(separator: ",") + "]")
        parts.append("\"rows\":[" + body.joined(separator: ",\n") + "]")
        return "{" + parts.joined(separator: ",\n") + "}\n"
    }

    static func isText(_ v: Value) -> Bool {
        if case .text = v { return true }
        return false
    }

    /// CSV and JSON: plain numbers (rates in bit/s, rounded to whole bits; percentages to 0.01);
    /// a rate or percentage that is not finite is empty.
    static func raw(_ v: Value) -> String {
        if case .text(let s) = v { return s }
        return number(text: v) ?? ""
    }

    /// A number's digits; nil for text and for NaN or infinity.
    static func number(text v: Value) -> String? {
        switch v {
        case .text: nil
        case .integer(let n), .bytes(let n): String(n)
        case .rate(let r): plain(r.rounded())
        case .percent(let p): p.isFinite ? String(format: "%.2f", p) : nil
        }
    }

    /// A whole double's digits without Int64(), which traps from 2^63 (a rate of 2^63 bytes per
    /// second is 2^66 bit/s); nil when not finite.
    static func plain(_ d: Double) -> String? {
        guard d.isFinite else { return nil }
        if let n = Int64(exactly: d.rounded(.towardZero)), Double(n) == d { return String(n) }
        return String(format: d == d.rounded() ? "%.0f" : "%g", d)
    }

    static func display(_ v: Value) -> String {
        switch v {
        case .text(let s): s
        case .integer(let n): String(n)
        case .bytes(let n): si(Double(n), "B")
        case .rate(let r): si(r, "bit/s")
        case .percent(let p): String(format: "%.1f %%", p)
        }
    }

    /// 1234567 → "1.23 M" + unit.
    static func si(_ value: Double, _ unit: String) -> String {
        let prefixes = ["", "k", "M", "G", "T", "P", "E", "Z"]
        var v = value
        var i = 0
        while abs(v) >= 1000 && i < prefixes.count - 1 {
            v /= 1000
            i += 1
        }
        return i == 0 ? String(format: "%.0f ", v) + unit : String(format: "%.2f ", v) + prefixes[i] + unit
    }

    /// A JSON string; DEL and C1 controls, valid in JSON, are escaped too for terminals that obey
    /// them (they pass JSONText unchanged, so no escape sequence is split).
    static func quoted(_ s: String) -> String {
        let q = JSONText.quoted(s)
        guard q.unicodeScalars.contains(where: { (0x7F...0x9F).contains($0.value) }) else { return q }
        var out = ""
        for scalar in q.unicodeScalars {
            if (0x7F...0x9F).contains(scalar.value) {
                out += "\\u00" + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
