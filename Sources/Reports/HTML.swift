import Foundation

/// Reports as one self-contained HTML page: a subtitle with the range and bins, the notes, the
/// chart as inline SVG, the table; no scripts, no fetches, readable from a file and printable.
extension ReportTable {
    /// What chart a report draws in HTML, with the data it needs beyond the table's cells.
    public enum Chart: Sendable, Equatable {
        /// Rows × columns of numbers (all columns but the first and the last, a total) as a heatmap.
        case heatmap(ChartHeatmap)
        /// Every column after the first is a series over the rows (the bins of a range).
        case lines(ChartLines)
        /// One horizontal bar per row (top-N).
        case bars(ChartBars)
        /// Two bars per row, before and after, with a capacity marker (what-if).
        case beforeAfter(ChartBeforeAfter)
        /// One small chart per capacity line: utilisation per bin, trend, threshold, runout.
        case capacity(ChartCapacity)
        /// One small chart per key: daily p95, the seasonal fit and its forecast with the band,
        /// threshold and runout.
        case forecast(ChartForecast)
        /// A curve through (x, y) points, both 0–100 (coverage: share of prefixes, share of traffic).
        case curve(ChartCurve)
    }

    static let style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px 28px;color:#222;background:#fff}
        h1{font-size:22px;margin:0 0 4px}
        p.subtitle{font-size:14px;color:#333;margin:0 0 8px}
        div.table{overflow-x:auto}
        table{border-collapse:collapse;font-size:13px;margin-top:12px}
        th,td{border:1px solid #ccc;padding:3px 8px}
        td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        th{background:#f3f3f3}
        p.note{color:#555;font-size:13px;margin:2px 0}
        figure{margin:12px 0}
        div.charts{display:flex;flex-wrap:wrap;gap:4px 16px}
        div.charts figure{margin:8px 0}
        svg{max-width:100%;height:auto;font-family:inherit}
        svg text:not([fill]){fill:#222}
        svg text.halo{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
        @media print{
        body{margin:0;color:#000;background:#fff}
        p.subtitle,p.note,th,td{color:#000}
        th{background:#fff}
        div.table{overflow:visible}
        table{font-size:11px}
        td.n{white-space:normal}
        svg text:not([fill="#ffffff"]){fill:#000}
        figure,svg{break-inside:avoid;page-break-inside:avoid}
        tr{break-inside:avoid;page-break-inside:avoid}
        *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
        }
        """

    /// The page: title, subtitle (range and bins), notes, chart, table.
    public func html(title: String, chart: Chart?) -> String {
        var out = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            \(Self.style)
            </style></head><body>
            <h1>\(Self.escape(title))</h1>

            """
        if let subtitle { out += "<p class=\"subtitle\">\(Self.escape(subtitle))</p>\n" }
        for note in notes { out += "<p class=\"note\">\(Self.escape(note.hasPrefix("# ") ? String(note.dropFirst(2)) : note))</p>\n" }
        if let chart { out += svg(chart) + "\n" }
        // A table wider than the page scrolls on its own; the page and its chart stay.
        out += "<div class=\"table\"><table><tr>" + columns.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows {
            out += "<tr>" + row.map { v in
                Self.isText(v) ? "<td>\(Self.escape(Self.display(v)))</td>" : "<td class=\"n\">\(Self.escape(Self.display(v)))</td>"
            }.joined() + "</tr>\n"
        }
        return out + "</table></div>\n</body></html>\n"
    }

    static func number(_ v: Value) -> Double? {
        switch v {
        case .text: nil
        case .integer(let n), .bytes(let n): Double(n)
        case .rate(let r): r
        case .percent(let p): p
        }
    }

    /// The number of row `row`'s cell `column`; nil for text or a missing cell.
    func number(_ row: Int, _ column: Int) -> Double? {
        column < rows[row].count ? Self.number(rows[row][column]) : nil
    }

    /// The chart as figures (one per capacity line or forecast key, else one).
    func svg(_ chart: Chart) -> String {
        switch chart {
        case .heatmap(let c): "<figure>" + c.svg(self) + "</figure>"
        case .lines(let c): "<figure>" + c.svg(self) + "</figure>"
        case .bars(let c): "<figure>" + c.svg(self) + "</figure>"
        case .beforeAfter(let c): "<figure>" + c.svg(self) + "</figure>"
        case .capacity(let c): "<div class=\"charts\">" + c.svgs(self).map { "<figure>" + $0 + "</figure>" }.joined() + "</div>"
        case .curve(let c): "<figure>" + c.svg(self) + "</figure>"
        case .forecast(let c): "<div class=\"charts\">" + c.svgs(self).map { "<figure>" + $0 + "</figure>" }.joined() + "</div>"
        }
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
