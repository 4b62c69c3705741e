/// The capacity chart: one small chart per capacity line, its utilisation per bin (percent of
/// its capacity) over the range, the least-squares trend extended to the threshold, the
/// threshold, and the runout (where the trend reaches the threshold) marked. A runout after the
/// range stretches the time axis to show it, up to four times the range and at most a year
/// past it; a later one is written at the edge ("runout beyond chart").
public struct ChartCapacity: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var name: String
        public var bitsPerSecond: Double
        /// Bytes per bin of the line's traffic.
        public var bins: BinSeries
        /// The least-squares line through every bin's bit/s (`Trend.fit`), nil with fewer than two bins.
        public var trend: Trend?
        /// The table's runout: a date, "over", "now" or "-".
        public var runout: String

        public init(name: String, bitsPerSecond: Double, bins: BinSeries, trend: Trend?, runout: String) {
            self.name = name
            self.bitsPerSecond = bitsPerSecond
            self.bins = bins
            self.trend = trend
            self.runout = runout
        }
    }

    /// The bins every line walks.
    public var grid: BinGrid
    public var utc: Bool
    /// Of the capacity, 0–1.
    public var threshold: Double
    public var lines: [Line]

    public init(grid: BinGrid, utc: Bool, threshold: Double, lines: [Line]) {
        self.grid = grid
        self.utc = utc
        self.threshold = threshold
        self.lines = lines
    }

    /// Two charts side by side fit a 1300-pixel page.
    static let width = 632.0
    static let height = 310.0
    static let dataColour = ChartSVG.palette[0]
    static let trendColour = ChartSVG.palette[1]
    static let markerColour = "#000000"
    /// A runout after the range is shown when the axis need not pass this many times the range…
    static let stretch = 4
    /// …nor a year past its end.
    static let maxProjection = 366 * 86_400

    func svgs(_ t: ReportTable) -> [String] {
        lines.enumerated().map { i, line in svg(line, row: i < t.rows.count ? t.rows[i] : []) }
    }

    /// Utilisation of each bin of the grid, percent of `line`'s capacity.
    func utilisation(_ line: Line) -> [Double] {
        var out = [Double](repeating: 0, count: grid.count)
        for bin in line.bins {
            if let i = grid.index(bin.start) { out[i] = Double(bin.bytes) * 8 / Double(grid.seconds) * 100 / line.bitsPerSecond }
        }
        return out
    }

    /// The time axis: the range's bin starts (one bin: its start to its end), stretched to a later
    /// runout within the limit; and whether the runout lies beyond it.
    func domain(_ crossing: Int?) -> (start: Int, last: Int, end: Int, beyond: Bool) {
        let (start, last) = ChartLines.domain(grid)
        let span = max(last - start, grid.seconds)
        let limit = last + min((Self.stretch - 1) * span, Self.maxProjection)
        guard let c = crossing, c > last else { return (start, last, last, false) }
        if c > limit { return (start, last, limit, true) }
        // A little room past the marker for its label.
        return (start, last, min(limit, c + max((c - start) / 25, grid.seconds)), false)
    }

    func svg(_ line: Line, row: [ReportTable.Value]) -> String {
        let level = threshold * 100
        let util = utilisation(line)
        let crossing = line.trend.flatMap { $0.crossing(threshold * line.bitsPerSecond) }
        let domain = domain(crossing)
        func percent(_ t: Int) -> Double { (line.trend?.value(at: t) ?? 0) * 100 / line.bitsPerSecond }
        // The trend from the range's start to the threshold (or the axis's end), above 0 only.
        var segment: (Int, Int)?
        if let trend = line.trend, grid.count > 0 {
            var a = domain.start, b = crossing.map { $0 > domain.last ? min($0, domain.end) : domain.last } ?? domain.last
            let zero = -trend.intercept / trend.slope
            if trend.slope != 0, zero.isFinite, abs(zero) < Trend.horizon {
                if trend.slope > 0, percent(a) < 0 { a = max(a, Int(zero.rounded())) }
                if trend.slope < 0, percent(b) < 0 { b = min(b, Int(zero.rounded())) }
            } else if trend.intercept < 0 {
                b = a
            }
            if a < b { segment = (a, b) }
        }
        let highest = ([level] + util + (segment.map { [percent($0.0), percent($0.1)] } ?? [])).filter(\.isFinite).max() ?? level
        let scale = ChartScale(maximum: highest * 1.08, unit: .percent, ticks: 5)
        let left = 30 + (scale.ticks.map { ChartSVG.textWidth(scale.label($0)) }.max() ?? 30)
        let right = Self.width - 18
        // Title: the line, its capacity, p95 and runout as the table has them; the facts on a line
        // of their own when a long name leaves no room beside it.
        let p95 = row.count > 3 ? ReportTable.display(row[3]) : ""
        let facts = "capacity \(ReportTable.si(line.bitsPerSecond, "bit/s")) · p95 \(p95) · runout \(line.runout)"
        let name = ChartSVG.fit(line.name, width: right - 8, size: 14)
        let beside = ChartSVG.textWidth(name, size: 14) + ChartSVG.textWidth(facts) + 24 <= right - 8
        let shift = beside ? 0.0 : 18.0
        let top = 62.0 + shift, bottom = Self.height + shift - 48
        let time = ChartTimeScale(start: domain.start, end: domain.end, utc: utc, maxTicks: Int((right - left) / 75))
        func x(_ t: Int) -> Double { time.position(t, from: left, to: right) }
        func y(_ v: Double) -> Double { scale.position(v, from: bottom, to: top) }
        var s = ChartSVG(width: Self.width, height: Self.height + shift)
        s.text(name, 8, 18, size: 14, bold: true)
        s.text(facts, beside ? right : 8, beside ? 18 : 36, anchor: beside ? .end : .start)
        var lx = left
        let legendY = 42 + shift
        lx += s.legendLine("utilisation per bin", lx, legendY, colour: Self.dataColour, width: 1.8)
        lx += s.legendLine(line.trend == nil ? "no trend (fewer than two bins)" : "trend", lx, legendY, colour: Self.trendColour, width: 2)
        s.legendLine("threshold \(ChartSVG.number(level)) %", lx, legendY, colour: ChartSVG.threshold, dash: "6 4", width: 2)

        if domain.end > domain.last {
            s.rect(x(domain.last), top, right - x(domain.last), bottom - top, fill: "#f2f2f2", attributes: "class=\"projection\"")
            s.text("projection", x(domain.last) + 6, bottom - 8, fill: "#555")
        }
        s.yAxis(scale, left: left, right: right, top: top, bottom: bottom, caption: "% of capacity")
        if grid.count > 0 {
            s.timeAxis(time, left: left, right: right, top: top, bottom: bottom)
        } else {
            s.line(left, bottom, right, bottom)
            s.text("no bins in the range", left + 10, bottom - 10)
        }

        var points = util.indices.map { i in (x: x(grid.start(i)), y: y(util[i])) }
        // One bin: a level line across it.
        if points.count == 1 { points.append((x(grid.end), points[0].y)) }
        let raw = util.map { ReportTable.raw(.percent($0)) }.joined(separator: " ")
        s.polyline(ChartLines.thin(points), stroke: Self.dataColour, width: 1.6, attributes: "class=\"series\" data-values=\"\(raw)\"")
        if util.count <= ChartLines.dotted { for p in points.prefix(util.count) { s.circle(p.x, p.y, r: 2.5, fill: Self.dataColour) } }
        if let (a, b) = segment {
            s.line(x(a), y(percent(a)), x(b), y(percent(b)), stroke: Self.trendColour, width: 2.2,
                   attributes: "class=\"trend\" data-from=\"\(a)\" data-to=\"\(b)\"")
        }
        s.line(left, y(level), right, y(level), stroke: ChartSVG.threshold, width: 2, dash: "6 4",
               attributes: "class=\"threshold\" data-threshold=\"\(ChartSVG.number(level))\"")

        if let c = crossing {
            let date = StampText.format(c, utc: utc)
            if domain.beyond {
                s.text("\(line.runout == date ? "runout" : "trend at threshold") beyond chart: \(date)", right - 6, top + 14, anchor: .end,
                       attributes: "class=\"halo runout-beyond\" data-time=\"\(c)\"")
            } else if c < domain.start {
                s.text("trend above the threshold since before the range (\(date))", left + 6, top + 14, attributes: "class=\"halo\"")
            } else {
                let cx = x(c)
                s.line(cx, top, cx, bottom, stroke: Self.markerColour, width: 1.5, dash: "3 3",
                       attributes: "class=\"runout\" data-time=\"\(c)\"")
                // The label on the side with room.
                let onLeft = cx > (left + right) / 2
                s.text(line.runout == date ? "runout \(date)" : "trend at threshold \(date)", onLeft ? cx - 5 : cx + 5, top + 14,
                       anchor: onLeft ? .end : .start, attributes: "class=\"halo\"")
            }
        }
        return s.svg
    }
}
