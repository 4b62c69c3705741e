import Foundation
import NetCore

/// A report's result: named, typed columns and rows, printed as an aligned text table, CSV or
/// JSON (an array of objects, numbers as numbers).
public struct ReportTable: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
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

    public init(columns: [String], rows: [[Value]], notes: [String] = [], title: String = "pathflow report", chart: Chart? = nil) {
        self.columns = columns
        self.rows = rows
        self.notes = notes
        self.title = title
        self.chart = chart
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
        let cells = rows.map { $0.map(Self.display) }
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
        var out = notes.map { $0 + "\n" }.joined()
        out += line(columns) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in cells { out += line(row) + "\n" }
        return out
    }

    func csv() -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = columns.map(field).joined(separator: ",") + "\n"
        for row in rows { out += row.map { field(Self.raw($0)) }.joined(separator: ",") + "\n" }
        return out
    }

    func json() -> String {
        let objects = rows.map { row -> String in
            let pairs = zip(columns, row).map { name, value -> String in
                let v: String
                switch value {
                case .text(let s): v = Self.quoted(s)
                default: v = Self.raw(value)
                }
                return Self.quoted(name) + ":" + v
            }
            return "{" + pairs.joined(separator: ",") + "}"
        }
        return "[" + objects.joined(separator: ",\n") + "]\n"
    }

    static func isText(_ v: Value) -> Bool {
        if case .text = v { return true }
        return false
    }

    /// CSV and JSON: plain numbers (rates in bit/s, rounded to whole bits; percentages to 0.01).
    static func raw(_ v: Value) -> String {
        switch v {
        case .text(let s): s
        case .integer(let n), .bytes(let n): String(n)
        case .rate(let r): String(Int64(r.rounded()))
        case .percent(let p): String(format: "%.2f", p)
        }
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
        let prefixes = ["", "k", "M", "G", "T", "P"]
        var v = value
        var i = 0
        while abs(v) >= 1000 && i < prefixes.count - 1 {
            v /= 1000
            i += 1
        }
        return i == 0 ? String(format: "%.0f ", v) + unit : String(format: "%.2f ", v) + prefixes[i] + unit
    }

    static func quoted(_ s: String) -> String {
        JSONText.quoted(s)
    }
}
