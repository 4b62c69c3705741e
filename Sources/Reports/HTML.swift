import Foundation

/// Reports as one self-contained HTML page: an inline SVG chart above the table, no scripts,
/// no fetches, readable from a file.
extension ReportTable {
    /// What chart a report draws in HTML.
    public enum Chart: Sendable, Equatable {
        /// Rows × columns of numbers (all columns but the first and the last, a total) as a heatmap.
        case heatmap
        /// Every column after the first is a series over the rows (time bins).
        case lines
        /// One horizontal bar per row from `column` (a percentage), with a threshold line.
        case bars(column: Int, threshold: Double?)
        /// A curve through (x, y) points, both 0–100 (coverage: share of prefixes, share of traffic).
        case curve([(x: Double, y: Double)], xLabel: String, yLabel: String)

        public static func == (a: Chart, b: Chart) -> Bool {
            switch (a, b) {
            case (.heatmap, .heatmap), (.lines, .lines): true
            case let (.bars(c1, t1), .bars(c2, t2)): c1 == c2 && t1 == t2
            case let (.curve(p1, x1, y1), .curve(p2, x2, y2)):
                x1 == x2 && y1 == y2 && p1.count == p2.count && zip(p1, p2).allSatisfy { $0.x == $1.x && $0.y == $1.y }
            default: false
            }
        }
    }

    /// The page: title, notes, chart, table.
    public func html(title: String, chart: Chart?) -> String {
        var out = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2em;color:#222}
            table{border-collapse:collapse;font-size:13px}
            th,td{border:1px solid #ccc;padding:3px 8px}
            td.n{text-align:right;font-variant-numeric:tabular-nums}
            th{background:#f3f3f3}
            p.note{color:#555;font-size:13px;margin:2px 0}
            svg text{font-size:11px;fill:#333}
            </style></head><body>
            <h1>\(Self.escape(title))</h1>

            """
        for note in notes { out += "<p class=\"note\">\(Self.escape(note.hasPrefix("# ") ? String(note.dropFirst(2)) : note))</p>\n" }
        if let chart { out += svg(chart) + "\n" }
        out += "<table><tr>" + columns.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows {
            out += "<tr>" + row.map { v in
                Self.isText(v) ? "<td>\(Self.escape(Self.display(v)))</td>" : "<td class=\"n\">\(Self.escape(Self.display(v)))</td>"
            }.joined() + "</tr>\n"
        }
        return out + "</table>\n</body></html>\n"
    }

    static func number(_ v: Value) -> Double? {
        switch v {
        case .text: nil
        case .integer(let n), .bytes(let n): Double(n)
        case .rate(let r): r
        case .percent(let p): p
        }
    }

    func svg(_ chart: Chart) -> String {
        switch chart {
        case .heatmap: heatmap()
        case .lines: lines()
        case .bars(let column, let threshold): bars(column, threshold)
        case .curve(let points, let x, let y): curve(points, x, y)
        }
    }

    func heatmap() -> String {
        let valueColumns = Array(1..<max(1, columns.count - 1))
        // Room for the column labels, drawn at 35 degrees.
        let longest = Double(valueColumns.map { columns[$0].count }.max() ?? 4)
        let cellW = 70.0, cellH = 20.0, left = 160.0, top = 24 + 7.5 * longest * 0.6
        let values = rows.flatMap { row in valueColumns.compactMap { $0 < row.count ? Self.number(row[$0]) : nil } }
        let top1 = max(values.max() ?? 1, 1e-9)
        let w = left + cellW * Double(valueColumns.count) + 7.5 * longest * 0.85, h = top + cellH * Double(rows.count) + 10
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\">"
        for (j, c) in valueColumns.enumerated() {
            let x = left + cellW * Double(j) + cellW / 2
            s += "<text x=\"\(x)\" y=\"\(top - 8)\" text-anchor=\"start\" transform=\"rotate(-35 \(x) \(top - 8))\">\(Self.escape(columns[c]))</text>"
        }
        for (i, row) in rows.enumerated() {
            let y = top + cellH * Double(i)
            s += "<text x=\"\(left - 6)\" y=\"\(y + 14)\" text-anchor=\"end\">\(Self.escape(Self.display(row[0])))</text>"
            for (j, c) in valueColumns.enumerated() where c < row.count {
                let v = Self.number(row[c]) ?? 0
                // Int() traps on NaN: a ratio that is not in 0...1 is drawn as one of its ends.
                let ratio = v / top1
                let shade = Int(255 - 200 * (ratio.isNaN ? 0 : min(max(ratio, 0), 1)).squareRoot())
                s += "<rect x=\"\(left + cellW * Double(j))\" y=\"\(y)\" width=\"\(cellW - 1)\" height=\"\(cellH - 1)\" "
                    + "fill=\"rgb(\(shade),\(shade),255)\" data-value=\"\(Self.escape(Self.raw(row[c])))\"><title>\(Self.escape(Self.display(row[0]))) → "
                    + "\(Self.escape(columns[c])): \(Self.escape(Self.display(row[c])))</title></rect>"
            }
        }
        return s + "</svg>"
    }

    func lines() -> String {
        let w = 800.0, h = 300.0, left = 90.0, bottom = 30.0, top = 10.0
        let series = Array(1..<columns.count)
        let all = rows.flatMap { row in series.compactMap { $0 < row.count ? Self.number(row[$0]) : nil } }
        let maxY = max(all.max() ?? 1, 1e-9)
        let n = max(rows.count - 1, 1)
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w + 180))\" height=\"\(Int(h))\">"
        s += "<line x1=\"\(left)\" y1=\"\(h - bottom)\" x2=\"\(w)\" y2=\"\(h - bottom)\" stroke=\"#999\"/>"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(h - bottom)\" stroke=\"#999\"/>"
        s += "<text x=\"\(left - 4)\" y=\"\(top + 8)\" text-anchor=\"end\">\(Self.escape(Self.display(.rate(maxY))))</text>"
        if let first = rows.first, let last = rows.last {
            s += "<text x=\"\(left)\" y=\"\(h - 10)\">\(Self.escape(Self.display(first[0])))</text>"
            s += "<text x=\"\(w)\" y=\"\(h - 10)\" text-anchor=\"end\">\(Self.escape(Self.display(last[0])))</text>"
        }
        for (k, c) in series.enumerated() {
            let xy = rows.enumerated().map { i, row -> (Double, Double) in
                let x = left + (w - left) * Double(i) / Double(n)
                let y = (h - bottom) - (h - bottom - top) * ((c < row.count ? Self.number(row[c]) : nil) ?? 0) / maxY
                return (x, y)
            }
            let colour = colours[k % colours.count]
            let raw = Self.escape(rows.map { c < $0.count ? Self.raw($0[c]) : "0" }.joined(separator: " "))
            s += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" data-values=\"\(raw)\" "
                + "points=\"\(xy.map { "\($0.0),\($0.1)" }.joined(separator: " "))\"/>"
            // Few bins: mark each one, so a single bin still shows.
            if rows.count <= 60 {
                for (x, y) in xy { s += "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"2.5\" fill=\"\(colour)\"/>" }
            }
            s += "<text x=\"\(w + 10)\" y=\"\(top + 14 * Double(k + 1))\" fill=\"\(colour)\">\(Self.escape(columns[c]))</text>"
        }
        return s + "</svg>"
    }

    func bars(_ column: Int, _ threshold: Double?) -> String {
        let barH = 18.0, left = 180.0, width = 500.0
        let values = rows.map { column < $0.count ? Self.number($0[column]) ?? 0 : 0 }
        let scale = max(values.max() ?? 100, threshold ?? 0, 100)
        let h = barH * Double(rows.count) + 20
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(left + width + 80))\" height=\"\(Int(h))\">"
        for (i, row) in rows.enumerated() {
            let y = barH * Double(i)
            let v = values[i]
            let over = threshold.map { v >= $0 } ?? false
            s += "<text x=\"\(left - 6)\" y=\"\(y + 13)\" text-anchor=\"end\">\(Self.escape(Self.display(row[0])))</text>"
            s += "<rect x=\"\(left)\" y=\"\(y + 2)\" width=\"\(width * v / scale)\" height=\"\(barH - 4)\" "
                + "fill=\"\(over ? "#d62728" : "#1f77b4")\" data-value=\"\(Self.escape(column < row.count ? Self.raw(row[column]) : ""))\"/>"
            s += "<text x=\"\(left + width * v / scale + 4)\" y=\"\(y + 13)\">\(Self.escape(column < row.count ? Self.display(row[column]) : ""))</text>"
        }
        if let threshold {
            let x = left + width * threshold / scale
            s += "<line x1=\"\(x)\" y1=\"0\" x2=\"\(x)\" y2=\"\(h - 16)\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>"
            s += "<text x=\"\(x)\" y=\"\(h - 4)\" text-anchor=\"middle\">\(Self.plain(threshold) ?? "") %</text>"
        }
        return s + "</svg>"
    }

    func curve(_ points: [(x: Double, y: Double)], _ xLabel: String, _ yLabel: String) -> String {
        let w = 540.0, h = 320.0, left = 90.0, bottom = 40.0, top = 10.0
        func px(_ x: Double) -> Double { left + (w - left) * x / 100 }
        func py(_ y: Double) -> Double { (h - bottom) - (h - bottom - top) * y / 100 }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w + 30))\" height=\"\(Int(h))\">"
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(w - left)\" height=\"\(h - bottom - top)\" fill=\"none\" stroke=\"#999\"/>"
        for tick in [0.0, 50, 100] {
            s += "<text x=\"\(px(tick))\" y=\"\(h - bottom + 14)\" text-anchor=\"middle\">\(Int(tick)) %</text>"
            s += "<text x=\"\(left - 4)\" y=\"\(py(tick) + 4)\" text-anchor=\"end\">\(Int(tick)) %</text>"
        }
        s += "<text x=\"\((left + w) / 2)\" y=\"\(h - 6)\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>"
        s += "<text x=\"16\" y=\"\((top + h - bottom) / 2)\" transform=\"rotate(-90 16 \((top + h - bottom) / 2))\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>"
        let line = ([(0.0, 0.0)] + points.map { ($0.x, $0.y) }).map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " ")
        s += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"\(line)\"/>"
        return s + "</svg>"
    }

    /// Also makes control characters visible (`visible`): a browser would drop or hide them.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in visible(s) {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

extension Reports {
    /// The coverage curve: share of prefixes (largest first) against share of traffic, at most
    /// `points` points.
    public static func coverageCurve(_ b: Breakdown, points: Int = 200) -> [(x: Double, y: Double)] {
        let entries = b.entries.filter { $0.key.count < 2 || $0.key[1] != "0" }
        // In floating point: an integer sum could saturate.
        let total = max(1, entries.reduce(0.0) { $0 + Double($1.bytes) })
        guard !entries.isEmpty else { return [] }
        let step = max(1, entries.count / max(1, points))
        var out: [(x: Double, y: Double)] = []
        var sum = 0.0
        for (i, e) in entries.enumerated() {
            sum += Double(e.bytes)
            if (i + 1) % step == 0 || i == entries.count - 1 {
                out.append((Double(i + 1) * 100 / Double(entries.count), sum * 100 / total))
            }
        }
        return out
    }
}
