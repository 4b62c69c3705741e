/// The forecast chart: one small chart per key of the table (its rows, in their order). Each
/// shows the key's daily p95 (dots and a thin line, at each day's start), the seasonal model
/// (trend plus a level per weekday) over those days and on to the horizon, the band of ±1.96 σ
/// over the forecast days only, the forecast days shaded, and, when a capacity line applies, the
/// threshold and the table's runout. A key with too few whole days for the model shows its days
/// and says so. The time axis ends at the horizon: a runout after it is written at the edge
/// ("runout beyond chart").
public struct ChartForecast: Sendable, Equatable {
    /// The `by` columns: they name each key.
    public var columns: [String]
    public var utc: Bool
    public var horizonDays: Int
    /// Of the capacity, 0–1.
    public var threshold: Double
    /// One per row of the table, in the same order.
    public var lines: [SeasonalForecast.Series]

    public init(columns: [String], utc: Bool, horizonDays: Int, threshold: Double, lines: [SeasonalForecast.Series]) {
        self.columns = columns
        self.utc = utc
        self.horizonDays = horizonDays
        self.threshold = threshold
        self.lines = lines
    }

    /// Two charts side by side fit a 1300-pixel page.
    static let width = 632.0
    static let plotHeight = 200.0
    static let dataColour = ChartSVG.palette[0]
    static let modelColour = ChartSVG.palette[1]
    static let bandOpacity = 0.3
    static let markerColour = "#000000"
    /// A threshold more than this many times the highest value drawn is written, not drawn: the
    /// chart would be flattened to show it.
    static let headroom = 2.5

    /// The table's cells after the key columns.
    enum Cell: Int {
        case forecast = 3, backtest = 6, runout = 8
    }

    func svgs(_ t: ReportTable) -> [String] {
        lines.enumerated().map { i, line in svg(line, row: i < t.rows.count ? t.rows[i] : []) }
    }

    /// The legend's marks.
    enum Mark {
        case days, model, band, threshold
    }

    func svg(_ line: SeasonalForecast.Series, row: [ReportTable.Value]) -> String {
        func cell(_ c: Cell) -> String {
            let i = columns.count + c.rawValue
            return i < row.count ? ReportTable.display(row[i]) : "-"
        }
        let horizon = max(0, horizonDays)
        let model = line.days.isEmpty ? nil : line.model
        let fitted = line.fitted(horizonDays: horizon)
        let lastDay = line.days.last?.day ?? 0
        let band = 1.96 * (model?.sigma ?? 0)
        let ahead = fitted.filter { $0.day > lastDay }
        let level = line.capacity.map { threshold * $0 }
        let runout = level.flatMap { line.runout(level: $0, band: 0) }

        // The axes: values up to the highest day, fit or upper band; the threshold when it is not
        // far above them.
        let highest = (line.days.map(\.p95) + fitted.map(\.value) + ahead.map { $0.value + band }).filter(\.isFinite).max() ?? 0
        let showLevel = level.map { $0 <= Self.headroom * highest } ?? false
        let upper = max(highest, showLevel ? level ?? 0 : 0)
        let scale = ChartScale(maximum: upper * 1.08, unit: .bitsPerSecond, ticks: 5)
        let left = 30 + (scale.ticks.map { ChartSVG.textWidth(scale.label($0)) }.max() ?? 30)
        let right = Self.width - 18

        // Title: the key, then the facts as the table has them, on a line of their own when a
        // long key leaves no room beside it.
        var facts: String
        if model != nil {
            facts = "forecast p95 \(cell(.forecast)) (\(horizon) d) · backtest MAPE \(cell(.backtest))"
            if line.capacity != nil { facts += " · runout \(cell(.runout))" }
        } else {
            facts = "\(line.days.count) whole day\(line.days.count == 1 ? "" : "s"): no forecast, the model needs 14 with every weekday"
        }
        let name = ChartSVG.fit(Reports.keyLabel(columns, line.key), width: right - 8, size: 14)
        let beside = ChartSVG.textWidth(name, size: 14) + ChartSVG.textWidth(facts) + 24 <= right - 8
        if !beside { facts = ChartSVG.fit(facts, width: right - 8) }
        let shift = beside ? 0.0 : 18.0

        // The legend, in rows from the plot's left edge.
        var legend: [(label: String, mark: Mark)] = [("daily p95", .days)]
        if model != nil { legend += [("fit: trend + weekday levels", .model), ("band ±1.96 σ", .band)] }
        if let capacity = line.capacity, showLevel {
            legend.append(("threshold \(ChartSVG.number(threshold * 100)) % of \(ReportTable.si(capacity, "bit/s"))", .threshold))
        }
        var placed: [(x: Double, row: Int)] = []
        var lx = left, legendRow = 0
        for entry in legend {
            let w = 28 + ChartSVG.textWidth(entry.label) + 18
            if lx + w > right && lx > left {
                lx = left
                legendRow += 1
            }
            placed.append((lx, legendRow))
            lx += w
        }
        let legendY = 42 + shift
        let top = 62 + shift + 18 * Double(legendRow), bottom = top + Self.plotHeight
        var s = ChartSVG(width: Self.width, height: bottom + 48)
        s.text(name, 8, 18, size: 14, bold: true)
        s.text(facts, beside ? right : 8, beside ? 18 : 36, anchor: beside ? .end : .start,
               attributes: model == nil ? "class=\"too-few\"" : "")
        for (k, entry) in legend.enumerated() {
            let x = placed[k].x, y = legendY + 18 * Double(placed[k].row)
            switch entry.mark {
            case .days:
                s.line(x, y - 4, x + 22, y - 4, stroke: Self.dataColour, width: 1.2)
                s.circle(x + 11, y - 4, r: 2.6, fill: Self.dataColour)
            case .model: s.line(x, y - 4, x + 22, y - 4, stroke: Self.modelColour, width: 2)
            case .band: s.rect(x, y - 10, 22, 12, fill: Self.modelColour, attributes: "fill-opacity=\"\(ChartSVG.n(Self.bandOpacity))\"")
            case .threshold: s.line(x, y - 4, x + 22, y - 4, stroke: ChartSVG.threshold, width: 2, dash: "6 4")
            }
            s.text(entry.label, x + 28, y)
        }

        guard let first = line.days.first, let lastStart = line.start(day: lastDay) else {
            s.yAxis(scale, left: left, right: right, top: top, bottom: bottom, caption: "daily p95, bit/s")
            s.line(left, bottom, right, bottom)
            s.text("no whole day in the range", left + 10, bottom - 10)
            return s.svg
        }
        // Time: from the first day's start to half a day past the horizon's (so that a forecast of
        // a day shows), or without a model to the last day's start.
        let end = model != nil ? (line.start(day: lastDay + horizon) ?? lastStart) + 43_200 : lastStart
        let time = ChartTimeScale(start: first.start, end: max(end, first.start + 86_400), utc: utc, maxTicks: Int((right - left) / 75))
        func x(_ t: Int) -> Double { time.position(t, from: left, to: right) }
        func y(_ v: Double) -> Double { scale.position(v, from: bottom, to: top) }
        func at(_ d: Int) -> Double { x(line.start(day: d) ?? lastStart) }

        // The forecast days, past the end of the last whole day.
        let forecastFrom = lastStart + 86_400
        if model != nil && horizon > 0 {
            s.rect(x(forecastFrom), top, right - x(forecastFrom), bottom - top, fill: "#f2f2f2",
                   attributes: "class=\"forecast\" data-from=\"\(forecastFrom)\"")
        }
        s.yAxis(scale, left: left, right: right, top: top, bottom: bottom, caption: "daily p95, bit/s")
        s.timeAxis(time, left: left, right: right, top: top, bottom: bottom)

        if let model, !ahead.isEmpty {
            let upper = ahead.map { (x: at($0.day), y: y($0.value + band)) }
            let lower = ahead.reversed().map { (x: at($0.day), y: y(max(0, $0.value - band))) }
            // A single day's band: a narrow bar into the forecast days rather than a line of no width.
            let outline = ahead.count > 1 ? upper + lower
                : [upper[0], (x: min(right, upper[0].x + 5), y: upper[0].y), (x: min(right, lower[0].x + 5), y: lower[0].y), lower[0]]
            let from = line.start(day: ahead[0].day) ?? 0, to = line.start(day: ahead[ahead.count - 1].day) ?? 0
            s.polygon(outline, fill: Self.modelColour, opacity: Self.bandOpacity,
                      attributes: "class=\"band\" data-sigma=\"\(ChartSVG.number(model.sigma))\" data-from=\"\(from)\" data-to=\"\(to)\"")
            if right - x(forecastFrom) >= ChartSVG.textWidth("forecast") + 12 {
                s.text("forecast", x(forecastFrom) + 6, bottom - 8, fill: "#555", attributes: "class=\"halo\"")
            }
        }
        if !fitted.isEmpty {
            let times = fitted.map { String(line.start(day: $0.day) ?? 0) }.joined(separator: " ")
            let values = fitted.map { ChartSVG.number($0.value) }.joined(separator: " ")
            s.polyline(fitted.map { (x: at($0.day), y: y($0.value)) }, stroke: Self.modelColour, width: 1.8,
                       attributes: "class=\"model\" data-times=\"\(times)\" data-values=\"\(values)\"")
        }
        var points = line.days.map { (x: x($0.start), y: y($0.p95)) }
        // One day: a level line across it.
        if points.count == 1 { points.append((x(first.start + 86_400), points[0].y)) }
        let times = line.days.map { String($0.start) }.joined(separator: " ")
        let values = line.days.map { ChartSVG.number($0.p95) }.joined(separator: " ")
        s.polyline(points, stroke: Self.dataColour, width: 1.1,
                   attributes: "class=\"series\" data-times=\"\(times)\" data-values=\"\(values)\"")
        let perDay = (right - left) / Double(max(1, (end - first.start) / 86_400))
        let r = min(2.6, max(1.2, perDay * 0.3))
        for p in points.prefix(line.days.count) { s.circle(p.x, p.y, r: r, fill: Self.dataColour) }

        // Notes at the top right, one under the other.
        var noteY = top + 14
        func note(_ text: String, _ attributes: String) {
            s.text(text, right - 6, noteY, anchor: .end, attributes: attributes)
            noteY += 16
        }
        if let level {
            if showLevel {
                s.line(left, y(level), right, y(level), stroke: ChartSVG.threshold, width: 2, dash: "6 4",
                       attributes: "class=\"threshold\" data-threshold=\"\(ChartSVG.number(level))\"")
            } else {
                note("threshold \(ReportTable.si(level, "bit/s")) far above the chart",
                     "class=\"halo threshold-above\" data-threshold=\"\(ChartSVG.number(level))\"")
            }
        }
        if let d = runout, let t = line.start(day: d) {
            let date = line.date(day: d, utc: utc)
            if d > lastDay + horizon {
                note("runout beyond chart: \(date)", "class=\"halo runout-beyond\" data-time=\"\(t)\"")
            } else {
                let cx = x(t)
                s.line(cx, top, cx, bottom, stroke: Self.markerColour, width: 1.5, dash: "3 3",
                       attributes: "class=\"runout\" data-time=\"\(t)\"")
                // The label on the side with room.
                let onLeft = cx > (left + right) / 2
                s.text("runout \(date)", onLeft ? cx - 5 : cx + 5, top + 14, anchor: onLeft ? .end : .start, attributes: "class=\"halo\"")
            }
        }
        return s.svg
    }
}
