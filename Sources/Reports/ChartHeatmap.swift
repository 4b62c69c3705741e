import Foundation

/// The matrix chart: a cell per row key × column key (the table's columns but the first, the row
/// key, and the last, the row total), shaded from white to dark blue by the square root of its
/// value (small cells stay visible next to one large one), its value written in it where it fits;
/// a legend maps shades to values.
public struct ChartHeatmap: Sendable, Equatable {
    /// The rows' and the columns' primitive.
    public var rows: String
    public var columns: String
    /// What a cell holds (the legend's caption).
    public var cell: String

    public init(rows: String, columns: String, cell: String) {
        self.rows = rows
        self.columns = columns
        self.cell = cell
    }

    static let maxWidth = 1280.0
    static let cellHeight = 24.0
    /// ColorBrewer's sequential blues: ordered by lightness, so readable without hue and in grey.
    static let stops: [(Double, Double, Double)] = [(247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107)]
    static let cellFont = 11.0

    /// The shade of `t` in 0…1.
    static func colour(_ t: Double) -> String {
        let t = t.isNaN ? 0 : min(max(t, 0), 1)
        let p = t * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(p)), f = p - Double(i)
        let a = stops[i], b = stops[i + 1]
        func mix(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * f).rounded()) }
        return String(format: "#%02x%02x%02x", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    func svg(_ t: ReportTable) -> String {
        let valueColumns = Array(1..<max(1, t.columns.count - 1))
        let rowLabels = t.rows.map { $0.first.map { ReportTable.display($0) } ?? "" }
        let labelWidth = min(300, max(ChartSVG.textWidth(rows) + 14, rowLabels.map { ChartSVG.textWidth($0) }.max() ?? 0))
        let left = max(110, labelWidth + 22)
        // Column labels are drawn at 35 degrees: how far the longest reaches up and to the right.
        let longest = valueColumns.map { ChartSVG.textWidth(ChartSVG.fit(t.columns[$0], width: 220)) }.max() ?? 0
        let rise = longest * sin(35 * Double.pi / 180), reach = longest * cos(35 * Double.pi / 180)
        let n = Double(max(1, valueColumns.count))
        let cellWidth = min(120, max(52, (Self.maxWidth - left - 24 - reach) / n))
        let top = 34 + rise + 14
        let values = t.rows.indices.flatMap { r in valueColumns.compactMap { t.number(r, $0) } }.filter(\.isFinite)
        let highest = max(values.max() ?? 0, 0)
        let legendY = top + Self.cellHeight * Double(t.rows.count) + 24
        let unit = t.rows.first.map { $0.count > 1 ? ChartScale.Unit($0[1]) : .count } ?? .count
        func label(_ v: Double) -> String { v == 0 ? "0" : ChartScale.text(v, unit) }
        // The legend: the shades from 0 to the largest cell, labelled at 0, a quarter and the whole.
        let legendWidth = 280.0
        let gx = left + ChartSVG.textWidth("cells: \(cell)") + 16
        let width = max(left + cellWidth * n + reach + 24, gx + legendWidth + ChartSVG.textWidth(label(highest)) / 2 + 24)
        var s = ChartSVG(width: width, height: legendY + 46)

        s.text("\(columns) →", left, 18, bold: true)
        s.text("\(rows) ↓", left - 8, top - 8, anchor: .end, bold: true)
        for (j, c) in valueColumns.enumerated() {
            let x = left + cellWidth * (Double(j) + 0.5)
            s.text(ChartSVG.fit(t.columns[c], width: 220), x, top - 8, rotate: -35)
        }
        for (i, row) in t.rows.enumerated() {
            let y = top + Self.cellHeight * Double(i)
            s.text(ChartSVG.fit(rowLabels[i], width: labelWidth), left - 8, y + 16, anchor: .end)
            for (j, c) in valueColumns.enumerated() where c < row.count {
                let v = ReportTable.number(row[c]) ?? 0
                let shade = highest > 0 ? (v / highest).squareRoot() : 0
                let x = left + cellWidth * Double(j)
                s.rect(x, y, cellWidth - 1, Self.cellHeight - 1, fill: Self.colour(shade),
                       attributes: "data-value=\"\(ReportTable.escape(ReportTable.raw(row[c])))\"",
                       title: "\(rowLabels[i]) → \(t.columns[c]): \(ReportTable.display(row[c]))")
                let text = ReportTable.display(row[c])
                if ChartSVG.textWidth(text, size: Self.cellFont) <= cellWidth - 6 {
                    s.text(text, x + cellWidth / 2, y + 16, anchor: .middle, size: Self.cellFont, fill: shade > 0.6 ? "#ffffff" : "#222222")
                }
            }
        }
        s.text("cells: \(cell)", left, legendY)
        s.raw("<defs><linearGradient id=\"heat-scale\">" + stride(from: 0.0, through: 1.0001, by: 0.1).map {
            "<stop offset=\"\(ChartSVG.n($0))\" stop-color=\"\(Self.colour($0))\"/>"
        }.joined() + "</linearGradient></defs>")
        s.raw("<path d=\"M\(ChartSVG.n(gx)) \(ChartSVG.n(legendY - 11))h\(ChartSVG.n(legendWidth))v14h-\(ChartSVG.n(legendWidth))z\" "
            + "fill=\"url(#heat-scale)\" stroke=\"#999\"/>")
        for (p, v) in [(0.0, 0.0), (0.5, highest / 4), (1.0, highest)] {
            s.line(gx + legendWidth * p, legendY + 3, gx + legendWidth * p, legendY + 8)
            s.text(label(v), gx + legendWidth * p, legendY + 22, anchor: p == 0 ? .start : .middle)
        }
        return s.svg
    }
}
