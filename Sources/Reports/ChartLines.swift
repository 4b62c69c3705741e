/// The series chart: each column after the first is a line over the range's bins (the rows),
/// on a time axis in the stamps' zone and a bit/s axis with round ticks, with a legend.
public struct ChartLines: Sendable, Equatable {
    /// The rows' bins: row i is the bin starting at `grid.start(i)`.
    public var grid: BinGrid
    public var utc: Bool
    /// The legend's name of each series (columns 1…).
    public var labels: [String]
    /// What the value axis measures.
    public var axis: String

    public init(grid: BinGrid, utc: Bool, labels: [String], axis: String = "bit/s per bin") {
        self.grid = grid
        self.utc = utc
        self.labels = labels
        self.axis = axis
    }

    static let width = 1280.0
    static let plotHeight = 380.0
    /// Up to this many bins each gets a dot (one bin alone still shows).
    static let dotted = 60

    /// Where bin i's point lies in time: its start. The axis spans the first to the last bin's
    /// start (one bin: its start to its end).
    static func domain(_ grid: BinGrid) -> (start: Int, end: Int) {
        (grid.first, grid.count >= 2 ? grid.start(grid.count - 1) : grid.end)
    }

    func svg(_ t: ReportTable) -> String {
        let series = Array(1..<max(1, t.columns.count))
        let values = series.map { c in t.rows.indices.map { t.number($0, c) ?? 0 } }
        let unit = t.rows.first.map { $0.count > 1 ? ChartScale.Unit($0[1]) : .bitsPerSecond } ?? .bitsPerSecond
        let scale = ChartScale(maximum: values.joined().filter(\.isFinite).max() ?? 0, unit: unit, ticks: 6)
        let left = 24 + max(60, scale.ticks.map { ChartSVG.textWidth(scale.label($0)) }.max() ?? 0)
        let right = Self.width - 24
        // The legend: entries in rows across the top.
        var entries: [(x: Double, row: Int)] = []
        var x = left, row = 0
        let names = series.indices.map { k in
            let name = k < labels.count ? labels[k] : t.columns[series[k]]
            let peak = values[k].filter(\.isFinite).max() ?? 0
            return ChartSVG.fit(name, width: 520) + " (peak \(ChartScale.text(peak, unit)))"
        }
        for name in names {
            let w = 28 + ChartSVG.textWidth(name) + 18
            if x + w > right && x > left {
                x = left
                row += 1
            }
            entries.append((x, row))
            x += w
        }
        let top = 18 + 20 * Double(entries.isEmpty ? 0 : row + 1) + 10
        let bottom = top + Self.plotHeight
        var s = ChartSVG(width: Self.width, height: bottom + 64)
        for (k, e) in entries.enumerated() {
            s.legendLine(names[k], e.x, 18 + 20 * Double(e.row), colour: ChartSVG.colour(k), dash: ChartSVG.dash(k))
        }
        s.yAxis(scale, left: left, right: right, top: top, bottom: bottom, caption: axis)
        let domain = Self.domain(grid)
        let time = ChartTimeScale(start: domain.start, end: domain.end, utc: utc, maxTicks: Int((right - left) / 90))
        if t.rows.isEmpty {
            s.line(left, bottom, right, bottom)
            s.text("no bins in the range", left + 10, bottom - 10)
        } else {
            s.timeAxis(time, left: left, right: right, top: top, bottom: bottom)
            let zones = ChartTimeScale.zones(from: domain.start, to: domain.end, utc: utc)
            s.text("time (\(zones))", (left + right) / 2, bottom + 56, anchor: .middle)
        }
        for (k, c) in series.enumerated() {
            var points = t.rows.indices.map { i -> (x: Double, y: Double) in
                (time.position(grid.start(i), from: left, to: right), scale.position(values[k][i], from: bottom, to: top))
            }
            // One bin: a level line across it.
            if points.count == 1 { points.append((right, points[0].y)) }
            let raw = t.rows.map { c < $0.count ? ReportTable.raw($0[c]) : "0" }.joined(separator: " ")
            let attributes = "class=\"series\" data-series=\"\(ReportTable.escape(t.columns[c]))\" data-values=\"\(ReportTable.escape(raw))\""
            s.polyline(Self.thin(points), stroke: ChartSVG.colour(k), width: 1.8, dash: ChartSVG.dash(k), attributes: attributes)
            if t.rows.count <= Self.dotted {
                for p in points.prefix(t.rows.count) { s.circle(p.x, p.y, r: 2.8, fill: ChartSVG.colour(k)) }
            }
        }
        return s.svg
    }

    /// Many more points than pixels: per pixel column its first, lowest, highest and last point,
    /// in order, which draws the same picture (every peak kept) from a few points per pixel.
    static func thin(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        guard points.count > 4 * Int(width) else { return points }
        var out: [(x: Double, y: Double)] = []
        var i = 0
        while i < points.count {
            let column = points[i].x.rounded(.down)
            var j = i, low = i, high = i
            while j < points.count && points[j].x.rounded(.down) == column {
                if points[j].y < points[low].y { low = j }
                if points[j].y > points[high].y { high = j }
                j += 1
            }
            for k in Set([i, low, high, j - 1]).sorted() { out.append(points[k]) }
            i = j
        }
        return out
    }
}
