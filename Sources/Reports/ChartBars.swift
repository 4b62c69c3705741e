/// A top-N chart: one horizontal bar per row, labelled with every key column, its value and
/// details written at its end, on a value axis with gridlines.
public struct ChartBars: Sendable, Equatable {
    /// The first `keys` columns name a row.
    public var keys: Int
    /// The column the bars draw (its cells' unit is the axis's).
    public var value: Int
    /// Columns written after the value (`avg_bps` as "avg 1.2 Mbit/s").
    public var details: [Int]
    /// What the value axis measures.
    public var axis: String

    public init(keys: Int, value: Int, details: [Int] = [], axis: String) {
        self.keys = keys
        self.value = value
        self.details = details
        self.axis = axis
    }

    static let width = 1280.0
    static let colour = ChartSVG.palette[0]

    /// A row's name: its key column (`10.0.0.1`) or columns (`peer_ip_src=10.0.0.1 · peer_as_dst=65001`).
    func label(_ t: ReportTable, _ row: [ReportTable.Value]) -> String {
        let n = min(keys, row.count, t.columns.count)
        return Reports.keyLabel(Array(t.columns.prefix(n)), row.prefix(n).map { ReportTable.display($0) })
    }

    /// The value and the details, with units.
    func valueText(_ t: ReportTable, _ row: [ReportTable.Value]) -> String {
        guard value < row.count else { return "" }
        let details = self.details.filter { $0 < row.count && $0 < t.columns.count }.map { c -> String in
            let name = t.columns[c]
            return (name.hasSuffix("_bps") ? String(name.dropLast(4)) + " " : "") + ReportTable.display(row[c])
        }
        return ([ReportTable.display(row[value])] + details).joined(separator: " · ")
    }

    func svg(_ t: ReportTable) -> String {
        let labels = t.rows.map { label(t, $0) }
        let texts = t.rows.map { valueText(t, $0) }
        let values = t.rows.indices.map { t.number($0, value) ?? 0 }
        let unit = t.rows.first.map { value < $0.count ? ChartScale.Unit($0[value]) : .count } ?? .count
        let scale = ChartScale(maximum: values.filter(\.isFinite).max() ?? 0, unit: unit, ticks: 5)
        let labelWidth = labels.map { ChartSVG.textWidth($0) }.max() ?? 0
        // Long labels (several key columns) get a line of their own above their bar.
        let beside = labelWidth <= 440
        let valueRoom = (texts.map { ChartSVG.textWidth($0) }.max() ?? 0) + 14
        let left = beside ? max(90, labelWidth + 16) : 16
        let right = max(left + 300, Self.width - 16 - valueRoom)
        let rowHeight = beside ? 26.0 : 44.0, barHeight = 16.0
        let top = 30.0
        let axisY = top + rowHeight * Double(t.rows.count) + 4
        var s = ChartSVG(width: max(Self.width, right + valueRoom + 16), height: axisY + 52)
        if keys == 1, beside, let name = t.columns.first {
            s.text(name, left - 8, top - 10, anchor: .end, bold: true)
        }
        if t.rows.isEmpty { s.text("no keys in the range", left, top + 14) }
        for tick in scale.ticks {
            let x = scale.position(tick, from: left, to: right)
            s.line(x, top - 4, x, axisY, stroke: tick == 0 ? ChartSVG.axis : ChartSVG.grid,
                   attributes: "class=\"grid-x\" data-tick=\"\(ChartSVG.number(tick))\"")
            s.text(scale.label(tick), x, axisY + 16, anchor: .middle)
        }
        s.text(axis, (left + right) / 2, axisY + 38, anchor: .middle)
        for (i, row) in t.rows.enumerated() {
            let y = top + rowHeight * Double(i)
            let barY = beside ? y + 3 : y + 21
            if beside {
                s.text(labels[i], left - 8, y + 16, anchor: .end, attributes: "class=\"bar-label\"")
            } else {
                s.text(labels[i], left + 4, y + 14, attributes: "class=\"bar-label\"")
            }
            let w = scale.position(values[i], from: 0, to: right - left)
            let raw = value < row.count ? ReportTable.raw(row[value]) : ""
            s.rect(left, barY, w, barHeight, fill: Self.colour, attributes: "class=\"bar\" data-value=\"\(ReportTable.escape(raw))\"",
                   title: labels[i] + ": " + texts[i])
            s.text(texts[i], left + w + 6, barY + 13, attributes: "class=\"halo\"")
        }
        return s.svg
    }
}
