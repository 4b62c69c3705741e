import Foundation

/// One line of a capacity file: a name, the rows it covers (column = value conditions, all of
/// which must hold), and its capacity in bit/s.
public struct CapacityEntry: Sendable, Equatable {
    public var name: String
    public var conditions: [(column: String, value: String)]
    public var bitsPerSecond: Double

    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.bitsPerSecond == b.bitsPerSecond
            && a.conditions.map { "\($0.column)=\($0.value)" } == b.conditions.map { "\($0.column)=\($0.value)" }
    }

    /// Parses a capacity file: `NAME COLUMN=VALUE[,COLUMN=VALUE…] CAPACITY` per line, capacity in
    /// bit/s with an optional k, M, G or T (e.g. `10G`); `!` or `#` starts a comment. Errors name
    /// the line.
    public static func parse(_ text: String, file: String) throws -> [CapacityEntry] {
        var entries: [CapacityEntry] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("!") || line.hasPrefix("#") { continue }
            func fail(_ why: String) -> CapacityError { CapacityError(description: "\(file):\(i + 1): \(why)") }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 3 else { throw fail("expected NAME COLUMN=VALUE[,COLUMN=VALUE…] CAPACITY") }
            var conditions: [(String, String)] = []
            for part in fields[1].split(separator: ",") {
                guard let eq = part.firstIndex(of: "="), eq != part.startIndex, part.index(after: eq) != part.endIndex else {
                    throw fail("'\(part)': expected COLUMN=VALUE")
                }
                conditions.append((String(part[..<eq]), String(part[part.index(after: eq)...])))
            }
            guard let capacity = Self.bits(fields[2]), capacity > 0, capacity.isFinite else {
                throw fail("'\(fields[2])': expected a capacity in bit/s, e.g. 10G, 400M, 2500000")
            }
            entries.append(CapacityEntry(name: fields[0], conditions: conditions, bitsPerSecond: capacity))
        }
        return entries
    }

    /// bit/s with an optional k, M, G or T (`10G`).
    public static func bits(_ text: String) -> Double? {
        let units: [Character: Double] = ["k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12]
        if let last = text.last, let unit = units[last] { return Double(text.dropLast()).map { $0 * unit } }
        return Double(text)
    }
}

public struct CapacityError: Error, CustomStringConvertible {
    public var description: String
}

/// A least-squares line through (time, bit/s) points.
public struct Trend: Sendable, Equatable {
    /// bit/s gained per second.
    public var slope: Double
    /// bit/s at time 0.
    public var intercept: Double

    public init(slope: Double, intercept: Double) {
        self.slope = slope
        self.intercept = intercept
    }

    public func value(at t: Int) -> Double { intercept + slope * Double(t) }

    /// Latest time a crossing is reported for (the end of year 9999).
    static let horizon = 253_402_300_799.0

    /// When the line reaches `level`: nil if it never does (flat or falling) or only after the
    /// year 9999; a crossing before the year 0 is given as then (Int() would trap far below).
    public func crossing(_ level: Double) -> Int? {
        guard slope > 0 else { return nil }
        let t = ((level - intercept) / slope).rounded(.up)
        guard t.isFinite, t < Self.horizon else { return nil }
        return Int(max(t, -Self.horizon))
    }

    /// The least-squares line through the bit/s of every bin of `grid` (bin starts as times),
    /// empty bins at 0: the sums over all bins are closed forms, so only the bins with traffic
    /// are visited. nil with fewer than two bins.
    public static func fit(_ grid: BinGrid, _ series: BinSeries) -> Trend? {
        guard grid.count >= 2 else { return nil }
        // x = bin index: Σx and Σx² over 0..<n in closed form; Σy and Σxy over the bins with traffic.
        let n = Double(grid.count)
        let sx = n * (n - 1) / 2, sxx = (n - 1) * n * (2 * n - 1) / 6
        var sy = 0.0, sxy = 0.0
        for bin in series {
            guard let i = grid.index(bin.start) else { continue }
            let y = Double(bin.bytes) * 8 / Double(grid.seconds)
            sy += y
            sxy += Double(i) * y
        }
        let d = n * sxx - sx * sx
        guard d != 0 else { return nil }
        let perBin = (n * sxy - sx * sy) / d
        let atFirst = (sy - perBin * sx) / n
        let slope = perBin / Double(grid.seconds)
        return Trend(slope: slope, intercept: atFirst - slope * Double(grid.first))
    }

    public static func fit(_ points: [(t: Int, value: Double)]) -> Trend? {
        guard points.count >= 2 else { return nil }
        let n = Double(points.count)
        // Centre the times: keeps the sums small enough for exact-ish doubles.
        let t0 = points[0].t
        var st = 0.0, sv = 0.0, stt = 0.0, stv = 0.0
        for p in points {
            let t = Double(p.t - t0)
            st += t
            sv += p.value
            stt += t * t
            stv += t * p.value
        }
        let d = n * stt - st * st
        guard d != 0 else { return nil }
        let slope = (n * stv - st * sv) / d
        let interceptAtT0 = (sv - slope * st) / n
        return Trend(slope: slope, intercept: interceptAtT0 - slope * Double(t0))
    }
}

extension Reports {
    /// Utilisation of each capacity entry over the range: average, 95th percentile and peak;
    /// a linear trend through the per-bin rates (empty bins as 0), and the date the trend reaches
    /// `threshold` of the capacity ("over" when the range's p95 already does). Every entry walks
    /// the same bins (`BinGrid`): the range's, whatever bins the entry's own traffic has.
    public static func capacity(
        _ source: ReportSource, _ entries: [CapacityEntry], query: ReportQuery, threshold: Double, now: Int
    ) throws -> ReportTable {
        let grid = try BinGrid.resolve(source, query)
        // The range's traffic (the query's filters only), for the notes.
        let all = try Breakdown.compute(source, by: [], query: query, detail: false, grid: grid)
        var rows: [[ReportTable.Value]] = []
        var lines: [ChartCapacity.Line] = []
        var clamps = all.clamps
        for entry in entries {
            var q = query
            q.filters += entry.conditions
            let b = try Breakdown.compute(source, by: [], query: q, grid: grid)
            clamps.add(b.clamps)
            let total = b.entries.first ?? Breakdown.Entry(key: [])
            let avg = b.averageBitsPerSecond(total), p95 = b.percentileBitsPerSecond(total), peak = b.peakBitsPerSecond(total)
            let trend = Trend.fit(grid, total.bins)
            let runout = Self.runout(
                p95: p95, trend: trend, level: threshold * entry.bitsPerSecond, grid: grid, now: now, utc: source.utc)
            rows.append([
                .text(entry.name), .rate(entry.bitsPerSecond),
                .percent(avg * 100 / entry.bitsPerSecond), .percent(p95 * 100 / entry.bitsPerSecond),
                .percent(peak * 100 / entry.bitsPerSecond), .rate(p95), .rate((trend?.slope ?? 0) * 86_400), .text(runout),
            ])
            lines.append(ChartCapacity.Line(
                name: entry.name, bitsPerSecond: entry.bitsPerSecond, bins: total.bins, trend: trend, runout: runout))
        }
        var summary = all
        summary.clamps = clamps
        return ReportTable(
            columns: ["name", "capacity", "avg_util", "p95_util", "peak_util", "p95_bps", "trend_bps_per_day", "runout"],
            rows: rows, notes: notes(summary, what: "threshold \(ReportTable.plain(threshold * 100) ?? "?") %"),
            title: "Capacity: p95 utilisation",
            chart: .capacity(ChartCapacity(grid: grid, utc: source.utc, threshold: threshold, lines: lines)), subtitle: subtitle(all))
    }
}
