import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Forecasts that know the week. The series forecast is each key's daily p95 (the p95 of a day's
/// bins, empty bins as 0: the daily cycle is inside it, the busy hours set it), modelled as a
/// seasonal linear model: a straight trend plus one level per day of the week,
///
///     p95(day d) = a + b·d + s[weekday(d)],   s summing to 0 over the week,
///
/// fitted by least squares. The band is the fit ± 1.96 × the residuals' standard deviation (about
/// 95 % of days inside it when the residuals are roughly normal). Its error is measured by
/// backtesting: the model (and, beside it, the plain linear fit of the same days) is fitted on all
/// days but the last seven, forecasts those seven, and the mean absolute percentage error (MAPE)
/// of each is printed. Days are the stamps' days (local time, or UTC with timestamps_utc).
public enum SeasonalForecast {
    public struct Model: Sendable, Equatable {
        /// bit/s at day 0 (1970-01-01; days are numbered from it), and per day.
        public var intercept: Double
        public var slope: Double
        /// Per weekday (index: the day number modulo 7), summing to 0.
        public var weekly: [Double]
        /// The residuals' standard deviation.
        public var sigma: Double

        public func value(day d: Int) -> Double { intercept + slope * Double(d) + weekly[((d % 7) + 7) % 7] }
    }

    /// The least-squares seasonal model through (day, value) points; nil with fewer than 14 days
    /// or without every weekday.
    public static func fit(_ points: [(day: Int, value: Double)]) -> Model? {
        guard points.count >= 14, Set(points.map { (($0.day % 7) + 7) % 7 }).count == 7 else { return nil }
        // Unknowns: a, b, c1…c6 (weekday k's level minus weekday 0's); normal equations.
        let n = 8
        // Days counted from the first: small numbers keep the normal equations well conditioned.
        let d0 = points[0].day
        var m = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
        for p in points {
            var x = [Double](repeating: 0, count: n)
            x[0] = 1
            x[1] = Double(p.day - d0)
            let w = ((p.day % 7) + 7) % 7
            if w > 0 { x[1 + w] = 1 }
            for i in 0..<n {
                for j in 0..<n { m[i][j] += x[i] * x[j] }
                m[i][n] += x[i] * p.value
            }
        }
        guard let beta = solve(m) else { return nil }
        // Re-centre the weekday levels so they sum to 0 (the mean goes into the intercept).
        let levels = [0.0] + Array(beta[2...7])
        let mean = levels.reduce(0, +) / 7
        // Levels by the absolute day number's weekday, as `value(day:)` reads them.
        var model = Model(
            intercept: beta[0] + mean - beta[1] * Double(d0), slope: beta[1], weekly: levels.map { $0 - mean }, sigma: 0)
        let squares = points.reduce(0.0) { $0 + pow($1.value - model.value(day: $1.day), 2) }
        model.sigma = points.count > n ? (squares / Double(points.count - n)).squareRoot() : 0
        return model
    }

    /// Gaussian elimination with partial pivoting on an augmented matrix; nil when singular.
    static func solve(_ matrix: [[Double]]) -> [Double]? {
        var a = matrix
        let n = a.count
        for col in 0..<n {
            guard let pivot = (col..<n).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[pivot][col]) > 1e-9 else { return nil }
            a.swapAt(col, pivot)
            for row in 0..<n where row != col {
                let f = a[row][col] / a[col][col]
                if f != 0 { for k in col...n { a[row][k] -= f * a[col][k] } }
            }
        }
        return (0..<n).map { a[$0][n] / a[$0][$0] }
    }

    /// The plain least-squares line through the same points, as a seasonal model without weekly
    /// levels (the linear forecast, for the backtest).
    static func linear(_ points: [(day: Int, value: Double)]) -> Model? {
        guard let t = Trend.fit(points.map { (t: $0.day, value: $0.value) }) else { return nil }
        return Model(intercept: t.intercept, slope: t.slope, weekly: [Double](repeating: 0, count: 7), sigma: 0)
    }

    /// Mean absolute percentage error of `model` on `points` (days whose value is 0 left out).
    static func mape(_ model: Model, _ points: [(day: Int, value: Double)]) -> Double? {
        let used = points.filter { $0.value != 0 }
        guard !used.isEmpty else { return nil }
        return used.reduce(0.0) { $0 + abs(model.value(day: $1.day) - $1.value) / abs($1.value) } / Double(used.count) * 100
    }

    /// Each day of the grid (in the stamps' zone) and the p95 bit/s of its bins; days the range
    /// only partly covers are left out.
    static func dailyP95(_ grid: BinGrid, _ series: BinSeries, utc: Bool) -> [(day: Int, value: Double, start: Int)] {
        var binsOfDay: [Int: (start: Int, values: [Int64], count: Int)] = [:]
        for i in 0..<grid.count {
            let t = grid.start(i)
            let day = dayNumber(t, utc: utc)
            binsOfDay[day, default: (t, [], 0)].count += 1
        }
        for bin in series {
            binsOfDay[dayNumber(bin.start, utc: utc)]?.values.append(bin.bytes)
        }
        let perDay = max(1, 86_400 / grid.seconds)
        return binsOfDay.filter { $0.value.count >= perDay }.map { day, v in
            let sorted = v.values.sorted()
            let rank = Int((0.95 * Double(v.count)).rounded(.up))
            let empty = v.count - sorted.count
            let bytes = rank <= empty ? 0 : sorted[rank - empty - 1]
            return (day, Double(bytes) * 8 / Double(grid.seconds), v.start)
        }.sorted { $0.day < $1.day }
    }

    /// Days since 1970-01-01 in the stamps' zone.
    static func dayNumber(_ t: Int, utc: Bool) -> Int {
        var offset = 0
        if !utc {
            var time = time_t(t)
            var parts = tm()
            localtime_r(&time, &parts)
            offset = parts.tm_gmtoff
        }
        let local = t + offset
        return local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
    }

    /// One key's whole days and their model: what its line of the table and its chart are made of.
    public struct Series: Sendable, Equatable {
        /// A whole day of the range: its number (days since 1970-01-01 in the stamps' zone), the
        /// p95 bit/s of its bins, and the unix time of its first bin.
        public struct Day: Sendable, Equatable {
            public var day: Int
            public var p95: Double
            public var start: Int

            public init(day: Int, p95: Double, start: Int) {
                self.day = day
                self.p95 = p95
                self.start = start
            }
        }

        /// The key's value of each `by` column.
        public var key: [String]
        /// In order of day.
        public var days: [Day]
        /// The fit of the days (`fit`): nil with fewer than 14 days or without every weekday.
        public var model: Model?
        /// bit/s of the key's capacity line, nil when none matches.
        public var capacity: Double?

        public init(key: [String], days: [Day], model: Model?, capacity: Double?) {
            self.key = key
            self.days = days
            self.model = model
            self.capacity = capacity
        }

        /// The days as the model's points.
        public var points: [(day: Int, value: Double)] { days.map { (day: $0.day, value: $0.p95) } }

        /// When day `d` starts: a day of the range at its first bin, any other the last day's start
        /// and as many times 86,400 s as days between (as the runout dates are counted); nil
        /// without days.
        public func start(day d: Int) -> Int? {
            guard let last = days.last else { return nil }
            if d >= days[0].day && d <= last.day {
                // Days are in order and mostly consecutive: day d is usually at d - first.
                let guess = d - days[0].day
                if guess < days.count && days[guess].day == d { return days[guess].start }
                if let own = days.first(where: { $0.day == d }) { return own.start }
            }
            return last.start + (d - last.day) * 86_400
        }

        /// The model's value on each day from the first whole day to `horizonDays` past the last;
        /// empty without a model.
        public func fitted(horizonDays: Int) -> [(day: Int, value: Double)] {
            guard let model, let first = days.first?.day, let last = days.last?.day else { return [] }
            return (first...(last + max(0, horizonDays))).map { (day: $0, value: model.value(day: $0)) }
        }

        /// The first day from the one after the last whole day, within ten years, on which the
        /// model plus `band` reaches `level`; nil without a model or when it never does.
        public func runout(level: Double, band: Double) -> Int? {
            guard let model, let lastDay = days.last?.day else { return nil }
            return ((lastDay + 1)...(lastDay + 3_650)).first { model.value(day: $0) + band >= level }
        }

        /// A day as the table writes it (`YYYY-MM-DD`, the date of `start(day:)`).
        public func date(day d: Int, utc: Bool) -> String {
            start(day: d).map { StampText.format($0, utc: utc).prefix(10).description } ?? "-"
        }
    }

    /// The report: one line per key of `by`, largest last-day p95 first.
    public static func report(
        _ source: ReportSource, by columns: [String], query: ReportQuery, horizonDays: Int, capacities: [CapacityEntry],
        threshold: Double, limit: Int
    ) throws -> ReportTable {
        let b = try Breakdown.compute(source, by: columns, query: query)
        struct Line { var series: Series; var cells: [ReportTable.Value]; var last: Double }
        var lines: [Line] = []
        for e in b.entries {
            let days = dailyP95(b.grid, e.bins, utc: b.utc).map { Series.Day(day: $0.day, p95: $0.value, start: $0.start) }
            let capacity = capacities.first { c in
                c.conditions.allSatisfy { cond in
                    guard let i = columns.firstIndex(where: { (try? source.column($0)) == (try? source.column(cond.column)) }) else { return false }
                    return e.key[i] == cond.value
                }
            }?.bitsPerSecond
            var series = Series(key: e.key, days: days, model: nil, capacity: capacity)
            let points = series.points
            series.model = fit(points)
            let last = points.last?.value ?? 0
            guard let lastDay = days.last?.day, let model = series.model else {
                lines.append(Line(series: series, cells: [.integer(Int64(days.count))] + [ReportTable.Value](repeating: .text("-"), count: 9), last: last))
                continue
            }
            let ahead = lastDay + horizonDays
            let central = model.value(day: ahead)
            // Backtest: fitted without the last seven days, on the last seven.
            let held = Array(points.suffix(7)), kept = Array(points.dropLast(7))
            let seasonalError = fit(kept).flatMap { mape($0, held) }
            let linearError = linear(kept).flatMap { mape($0, held) }
            func percent(_ v: Double?) -> ReportTable.Value { v.map { .percent($0) } ?? .text("-") }
            // Runout: the first day from tomorrow on when the forecast (and its upper band) reaches
            // the threshold, within ten years.
            func runout(_ band: Double) -> ReportTable.Value {
                guard let capacity, let d = series.runout(level: threshold * capacity, band: band) else { return .text("-") }
                return .text(series.date(day: d, utc: b.utc))
            }
            lines.append(Line(series: series, cells: [
                .integer(Int64(days.count)), .rate(model.slope), .rate((model.weekly.max() ?? 0) - (model.weekly.min() ?? 0)),
                .rate(central), .rate(max(0, central - 1.96 * model.sigma)), .rate(central + 1.96 * model.sigma),
                percent(seasonalError), percent(linearError), runout(0), runout(1.96 * model.sigma),
            ], last: last))
        }
        lines.sort { $0.last != $1.last ? $0.last > $1.last : $0.series.key.lexicographicallyPrecedes($1.series.key) }
        let shown = lines.prefix(max(0, limit))
        var notes = Reports.notes(b, what: "\(b.entries.count) keys; forecast \(horizonDays) days past the last whole day")
        notes.append("# model: daily p95 = trend + a level per weekday (least squares); band ±1.96 σ of the residuals; "
            + "backtest: fitted without the last 7 days, MAPE on them (seasonal and linear); needs 14 whole days")
        return ReportTable(
            columns: columns + ["days", "trend_bps_per_day", "weekly_swing_bps", "forecast_p95_bps", "band_low_bps", "band_high_bps",
                                "backtest_mape", "linear_mape", "runout", "runout_band"],
            rows: shown.map { $0.series.key.map(ReportTable.Value.text) + $0.cells },
            notes: notes, title: "Forecast of the daily p95, \(horizonDays) days ahead, by \(columns.joined(separator: ", "))",
            chart: .forecast(ChartForecast(
                columns: columns, utc: b.utc, horizonDays: horizonDays, threshold: threshold, lines: shown.map(\.series))),
            subtitle: Reports.subtitle(b))
    }
}
