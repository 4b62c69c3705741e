/// The what-if chart: per exit (a row), a bar before and a bar after the failure, and the exit's
/// capacity as a marker across both when the capacity file has a line for it.
public struct ChartBeforeAfter: Sendable, Equatable {
    /// Columns of the value before and after; the capacity column (text "-" where none).
    public var before: Int
    public var after: Int
    public var capacity: Int?
    public var beforeLabel: String
    public var afterLabel: String
    /// What the value axis measures.
    public var axis: String

    public init(before: Int, after: Int, capacity: Int?, beforeLabel: String, afterLabel: String, axis: String) {
        self.before = before
        self.after = after
        self.capacity = capacity
        self.beforeLabel = beforeLabel
        self.afterLabel = afterLabel
        self.axis = axis
    }

    static let width = 1280.0
    static let beforeColour = ChartSVG.palette[1]
    static let afterColour = ChartSVG.palette[0]
    static let capacityColour = "#000000"

    func svg(_ t: ReportTable) -> String {
        let n = t.rows.count
        let was = (0..<n).map { t.number($0, before) ?? 0 }, now = (0..<n).map { t.number($0, after) ?? 0 }
        let caps = (0..<n).map { i in capacity.flatMap { t.number(i, $0) } }
        let unit = t.rows.first.map { before < $0.count ? ChartScale.Unit($0[before]) : .count } ?? .count
        let scale = ChartScale(maximum: (was + now + caps.compactMap { $0 }).filter(\.isFinite).max() ?? 0, unit: unit, ticks: 6)
        let labels = t.rows.map { $0.first.map { ReportTable.display($0) } ?? "" }
        func text(_ i: Int, _ column: Int, _ name: String) -> String {
            let v = column < t.rows[i].count ? ReportTable.display(t.rows[i][column]) : ""
            guard column == after, let cap = caps[i], cap > 0 else { return "\(name) \(v)" }
            return "\(name) \(v) · \(String(format: "%.1f", now[i] * 100 / cap)) % of \(ReportTable.si(cap, "bit/s")) capacity"
                + (now[i] > cap ? ", over it" : "")
        }
        let texts = (0..<n).map { i in (text(i, before, beforeLabel), text(i, after, afterLabel)) }
        let labelWidth = min(360, labels.map { ChartSVG.textWidth($0) }.max() ?? 0)
        let valueRoom = (texts.map { max(ChartSVG.textWidth($0.0), ChartSVG.textWidth($0.1)) }.max() ?? 0) + 14
        let left = max(90, labelWidth + 16)
        let right = max(left + 300, Self.width - 16 - valueRoom)
        let barHeight = 15.0, groupHeight = 2 * barHeight + 14
        let top = 40.0
        let axisY = top + groupHeight * Double(n) + 2
        var s = ChartSVG(width: max(Self.width, right + valueRoom + 16), height: axisY + 52)
        var x = left
        x += s.legendSwatch(beforeLabel, x, 16, colour: Self.beforeColour)
        x += s.legendSwatch(afterLabel, x, 16, colour: Self.afterColour)
        if caps.contains(where: { $0 != nil }) { s.legendLine("capacity", x, 16, colour: Self.capacityColour, width: 2) }
        if let name = t.columns.first { s.text(name, left - 8, top - 8, anchor: .end, bold: true) }
        if n == 0 { s.text("no exits in the range", left, top + 14) }
        for tick in scale.ticks {
            let x = scale.position(tick, from: left, to: right)
            s.line(x, top - 4, x, axisY, stroke: tick == 0 ? ChartSVG.axis : ChartSVG.grid,
                   attributes: "class=\"grid-x\" data-tick=\"\(ChartSVG.number(tick))\"")
            s.text(scale.label(tick), x, axisY + 16, anchor: .middle)
        }
        s.text(axis, (left + right) / 2, axisY + 38, anchor: .middle)
        for i in 0..<n {
            let y = top + groupHeight * Double(i)
            s.text(ChartSVG.fit(labels[i], width: labelWidth), left - 8, y + barHeight + 5, anchor: .end, attributes: "class=\"bar-label\"")
            // Values are written past the capacity marker, which spans both bars.
            let marker = caps[i].map { scale.position($0, from: left, to: right) + 2 } ?? left
            for (k, (v, column, colour, label)) in [
                (was[i], before, Self.beforeColour, texts[i].0), (now[i], after, Self.afterColour, texts[i].1),
            ].enumerated() {
                let barY = y + Double(k) * barHeight
                let w = scale.position(v, from: 0, to: right - left)
                let raw = column < t.rows[i].count ? ReportTable.raw(t.rows[i][column]) : ""
                s.rect(left, barY, w, barHeight - 1, fill: colour,
                       attributes: "class=\"bar \(k == 0 ? "before" : "after")\" data-value=\"\(ReportTable.escape(raw))\"",
                       title: labels[i] + ": " + label)
                s.text(label, max(left + w, marker) + 6, barY + 12, attributes: "class=\"halo\"")
            }
            if let cap = caps[i] {
                let cx = scale.position(cap, from: left, to: right)
                s.line(cx, y - 3, cx, y + 2 * barHeight + 2, stroke: Self.capacityColour, width: 2.5,
                       attributes: "class=\"capacity\" data-capacity=\"\(ChartSVG.number(cap))\"")
            }
        }
        return s.svg
    }
}
