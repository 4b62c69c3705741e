/// The reports `pathflow report` prints, each from a `Breakdown` of a view's table.
public enum Reports {
    /// What a matrix cell shows.
    public enum Cell: String, Sendable, CaseIterable {
        /// Bytes over the range.
        case bytes
        /// Average bit/s over the range.
        case avg
        /// The busiest bin's bit/s.
        case peak
        /// 95th percentile of the per-bin bit/s.
        case p95

        /// What a cell holds, for a chart's legend.
        var caption: String {
            switch self {
            case .bytes: "bytes over the range"
            case .avg: "average bit/s over the range"
            case .peak: "bit/s of the busiest bin"
            case .p95: "95th percentile of the per-bin bit/s"
            }
        }
    }

    /// Top N keys by bytes, with rates, share of the total and cumulative share. `flows` only
    /// when the table has the column (pmacct's v1 table has not).
    public static func top(_ b: Breakdown, limit: Int) -> ReportTable {
        // Shares in floating point: right even when the integer total saturates.
        let total = max(1, b.totalBytesAsDouble)
        var cumulative = 0.0
        var rows: [[ReportTable.Value]] = []
        for e in b.entries.prefix(max(0, limit)) {
            cumulative += Double(e.bytes)
            rows.append(e.key.map(ReportTable.Value.text) + [.bytes(e.bytes), .integer(e.packets)]
                + (b.hasFlows ? [.integer(e.flows)] : []) + [
                .rate(b.averageBitsPerSecond(e)), .rate(b.peakBitsPerSecond(e)), .rate(b.percentileBitsPerSecond(e)),
                .percent(Double(e.bytes) * 100 / total), .percent(cumulative * 100 / total),
            ])
        }
        let counters = ["bytes", "packets"] + (b.hasFlows ? ["flows"] : [])
        return ReportTable(
            columns: b.columns + counters + ["avg_bps", "peak_bps", "p95_bps", "share", "cumulative"],
            rows: rows, notes: notes(b, what: "\(min(max(0, limit), b.entries.count)) of \(b.entries.count) keys"),
            title: "Top \(b.columns.joined(separator: ", ")) by traffic",
            chart: .bars(ChartBars(
                keys: b.columns.count, value: b.columns.count + counters.count + 3,
                details: [b.columns.count, b.columns.count + counters.count], axis: "share of all keys' bytes")),
            subtitle: subtitle(b))
    }

    /// Rows × columns, keys from two primitives; the largest `maxColumns` column keys get a
    /// column each, the rest add up in `other`; every row has its total.
    public static func matrix(_ b: Breakdown, cell: Cell, maxColumns: Int, maxRows: Int) -> ReportTable {
        precondition(b.columns.count == 2, "a matrix breaks down by two primitives")
        var columnTotals: [String: Int64] = [:]
        var rowTotals: [String: Int64] = [:]
        for e in b.entries {
            columnTotals[e.key[1], default: 0].addSaturated(e.bytes)
            rowTotals[e.key[0], default: 0].addSaturated(e.bytes)
        }
        let order = { (a: (key: String, value: Int64), c: (key: String, value: Int64)) in a.value != c.value ? a.value > c.value : a.key < c.key }
        let shown = columnTotals.sorted(by: order).prefix(max(0, maxColumns)).map(\.key)
        let shownSet = Set(shown)
        let hasOther = columnTotals.count > shown.count
        // Entries by row; cells (and their per-bin rates) are merged for the rows shown only.
        var byRow: [String: [Int]] = [:]
        for (i, e) in b.entries.enumerated() { byRow[e.key[0], default: []].append(i) }
        func sum(_ indices: [Int]) -> Breakdown.Entry {
            var total = Breakdown.Entry(key: [])
            for i in indices {
                total.bytes.addSaturated(b.entries[i].bytes)
                total.packets.addSaturated(b.entries[i].packets)
                total.flows.addSaturated(b.entries[i].flows)
            }
            if cell == .peak || cell == .p95 {
                total.bins = indices.count == 1 ? b.entries[indices[0]].bins
                    : BinSeries.sum(indices.lazy.map { b.entries[$0].bins }, first: b.firstBin, step: b.binSeconds, count: b.binCount)
            }
            return total
        }
        func value(_ e: Breakdown.Entry?) -> ReportTable.Value {
            guard let e else { return cell == .bytes ? .bytes(0) : .rate(0) }
            switch cell {
            case .bytes: return .bytes(e.bytes)
            case .avg: return .rate(b.averageBitsPerSecond(e))
            case .peak: return .rate(b.peakBitsPerSecond(e))
            case .p95: return .rate(b.percentileBitsPerSecond(e))
            }
        }
        let columnKeys = shown + (hasOther ? ["other"] : [])
        var rows: [[ReportTable.Value]] = []
        for (rowKey, _) in rowTotals.sorted(by: order).prefix(max(0, maxRows)) {
            var cells: [String: [Int]] = [:]
            let all = byRow[rowKey, default: []]
            for i in all { cells[shownSet.contains(b.entries[i].key[1]) ? b.entries[i].key[1] : "other", default: []].append(i) }
            rows.append([.text(rowKey)] + columnKeys.map { cells[$0].map { value(sum($0)) } ?? value(nil) } + [value(sum(all))])
        }
        return ReportTable(
            columns: ["\(b.columns[0]) \\ \(b.columns[1])"] + columnKeys + ["total"], rows: rows,
            notes: notes(b, what: "cells: \(cell.rawValue)"),
            title: "Traffic matrix: \(b.columns[0]) × \(b.columns[1]) (\(cell.rawValue))",
            chart: .heatmap(ChartHeatmap(rows: b.columns[0], columns: b.columns[1], cell: cell.caption)), subtitle: subtitle(b))
    }

    /// At most this many rows in a series (a year of 5-minute bins is 105,120).
    public static let maxSeriesBins = 1_000_000

    /// Per-bin bit/s of the top `limit` keys, one row per bin of the range, empty bins as 0;
    /// with `other`, a last column of every other key's, so the columns add up to all traffic.
    public static func series(_ b: Breakdown, limit: Int, utc: Bool, other: Bool = false) throws -> ReportTable {
        guard b.binCount <= maxSeriesBins else { throw ReportSource.Error.tooManyBins(b.binCount, limit: maxSeriesBins) }
        let keys = Array(b.entries.prefix(max(0, limit)))
        func rates(_ entries: ArraySlice<Breakdown.Entry>) -> [ReportTable.Value] {
            var bytes = [Int64](repeating: 0, count: b.binCount)
            for e in entries {
                for bin in e.bins { if let i = b.grid.index(bin.start) { bytes[i] = bytes[i].addingSaturated(bin.bytes) } }
            }
            return bytes.map { .rate(Double($0) * 8 / Double(b.binSeconds)) }
        }
        // Each key's bins are sorted and on the grid: one pass per key.
        var columns = keys.indices.map { rates(b.entries[$0...$0]) }
        var names = keys.map { $0.key.joined(separator: " ") }
        var labels = keys.map { keyLabel(b.columns, $0.key) }
        if other {
            // Every key past the first `limit`, so that the columns add up to all the traffic.
            columns.append(rates(b.entries.dropFirst(keys.count)))
            names.append("other")
            labels.append("other")
        }
        let rows = (0..<b.binCount).map { i -> [ReportTable.Value] in
            [.text(StampText.format(b.grid.start(i), utc: utc))] + columns.map { $0[i] }
        }
        return ReportTable(
            columns: ["stamp_inserted"] + names, rows: rows, notes: notes(b, what: "bit/s per bin"),
            title: "bit/s per bin by \(b.columns.joined(separator: ", "))",
            chart: .lines(ChartLines(grid: b.grid, utc: utc, labels: labels)), subtitle: subtitle(b))
    }

    /// How many prefixes carry each share of the traffic (FIB-reduction coverage), from a
    /// breakdown by net_dst and mask_dst.
    /// Traffic that matched no prefix (mask 0: no route, no session) is left out and noted.
    public static func coverage(_ b: Breakdown, shares: [Double] = [50, 90, 95, 99]) -> ReportTable {
        let unmapped = b.entries.filter { $0.key[1] == "0" }.reduce(Int64(0)) { $0.addingSaturated($1.bytes) }
        var b = b
        b.entries.removeAll { $0.key[1] == "0" }
        // Shares in floating point: right even when an integer sum would saturate.
        let total = max(1, b.totalBytesAsDouble)
        var rows: [[ReportTable.Value]] = []
        for share in shares {
            var sum = 0.0
            var n = 0
            for e in b.entries {
                if sum * 100 / total >= share { break }
                sum += Double(e.bytes)
                n += 1
            }
            rows.append([.percent(share), .integer(Int64(n)), .percent(Double(n) * 100 / Double(max(1, b.entries.count))),
                         .percent(sum * 100 / total)])
        }
        rows.append([.percent(100), .integer(Int64(b.entries.count)), .percent(100), .percent(100)])
        // Each share but the whole marked on the curve where it is reached.
        let marks = rows.dropLast().compactMap { row -> ChartCurve.Point? in
            guard case .percent(let share) = row[0], case .integer(let n) = row[1], case .percent(let x) = row[2],
                  case .percent(let y) = row[3] else { return nil }
            return ChartCurve.Point(
                x: x, y: y, label: "\(ReportTable.plain(share) ?? "") % of traffic: \(n) prefix\(n == 1 ? "" : "es") (\(String(format: "%.1f", x)) %)")
        }
        return ReportTable(
            columns: ["traffic_share", "prefixes", "of_prefixes", "covered"], rows: rows,
            notes: notes(b, what: "\(b.entries.count) prefixes with traffic")
                + (unmapped > 0 ? ["# left out: \(ReportTable.si(Double(unmapped), "B")) that matched no prefix (mask 0)"] : []),
            title: "Prefix coverage",
            chart: .curve(ChartCurve(
                points: coverageCurve(b).map { ChartCurve.Point(x: $0.x, y: $0.y) }, marks: marks,
                xLabel: "share of prefixes, largest first", yLabel: "share of traffic")),
            subtitle: subtitle(b))
    }

    /// The top `limit` prefixes, `net/mask` one per line (for a controller to install).
    /// Control characters from the table are made visible: one line per prefix whatever it holds.
    public static func prefixList(_ b: Breakdown, limit: Int) -> String {
        b.entries.filter { $0.key[1] != "0" }.prefix(max(0, limit))
            .map { "\(ReportTable.visible($0.key[0]))/\(ReportTable.visible($0.key[1]))\n" }.joined()
    }

    /// What the report covers, and what was clamped (`CounterClamps`) when anything was.
    static func notes(_ b: Breakdown, what: String) -> [String] {
        [range(b.grid, b.bin, utc: b.utc) + ", \(ReportTable.si(Double(b.totalBytes), "B")) in all; \(what)"]
            + (b.clamps.note.map { [$0] } ?? [])
    }

    /// The HTML subtitle of a report on `b`'s range (`subtitle(_:_:utc:)`).
    static func subtitle(_ b: Breakdown) -> String { subtitle(b.grid, b.bin, utc: b.utc) }

    /// `2025-12-01 00:00:00 to 2025-12-02 00:00:00 (UTC), last bin 2025-12-01 23:55:00 · 5 min
    /// bins, 288 bins · bin size recorded by the collector`: the range from the first bin's start
    /// to the last bin's end in the stamps' zone (each end with its own when they differ, as
    /// across a change to or from summer time), the last bin's start, the bin size and count.
    public static func subtitle(_ grid: BinGrid, _ bin: BinSize, utc: Bool) -> String {
        let bins = "\(duration(grid.seconds)) bins, \(grid.count) bin\(grid.count == 1 ? "" : "s") · \(bin.originText)"
        guard grid.count > 0 else { return "No bin in the range · " + bins }
        let from = ChartTimeScale.zone(at: grid.first, utc: utc), to = ChartTimeScale.zone(at: grid.end, utc: utc)
        let first = StampText.format(grid.first, utc: utc), end = StampText.format(grid.end, utc: utc)
        let span = from == to ? "\(first) to \(end) (\(from))" : "\(first) (\(from)) to \(end) (\(to))"
        return span + ", last bin \(StampText.format(grid.start(grid.count - 1), utc: utc)) · " + bins
    }

    /// 300 → "5 min", 3600 → "1 h", 86400 → "1 day", 90 → "90 s" (as in "5 min bins").
    static func duration(_ seconds: Int) -> String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400) day" }
        if seconds % 3_600 == 0 { return "\(seconds / 3_600) h" }
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    /// A key as a chart labels it: its value alone when it has one column, else
    /// `column=value · column=value`.
    static func keyLabel(_ columns: [String], _ values: [String]) -> String {
        values.count == 1 ? values[0] : zip(columns, values).map { "\($0)=\($1)" }.joined(separator: " · ")
    }

    /// `# 288 bins of 300 s from 2025-12-01 00:00:00 to 2025-12-02 00:00:00 (bin size …)`.
    static func range(_ grid: BinGrid, _ bin: BinSize, utc: Bool) -> String {
        let span = grid.count > 0
            ? " from \(StampText.format(grid.first, utc: utc)) to \(StampText.format(grid.end, utc: utc))" : ""
        return "# \(grid.count) bin\(grid.count == 1 ? "" : "s") of \(bin)\(span) (\(bin.originText))"
    }
}
