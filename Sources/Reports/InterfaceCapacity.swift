import GRDB
import Storage

extension Reports {
    /// Capacity from the ports themselves: every interface that sent sFlow counter samples
    /// (`interface_counters`), in and out, with its reported speed as the capacity and its own
    /// octet counters as the utilisation (average, p95 and peak over the range's bins, the trend
    /// and the date it reaches `threshold`). Beside them, what the flows say for the same port
    /// and direction (the view's bytes with `peer_ip_src` = the agent and `iface_in` or
    /// `iface_out` = the ifIndex) and the share of the counters' bytes they account for: the
    /// sampling coverage (about 1/rate without renormalisation, about 1 with it).
    /// Every row of `interface_counters` with a stamp in [from, to), oldest first: agent,
    /// ifIndex, stamp, in and out bytes, speed. From the SQLite file of the view, or from the
    /// ClickHouse database of the view (its rows of a minute summed there, the speed the highest
    /// reported in the minute). The speed used is the last one reported in the range.
    static func interfaceCounters(
        _ source: ReportSource, from: Int, to: Int, _ body: (String, Int64, Int, Int64, Int64, Int64) throws -> Void
    ) throws {
        if let clickhouse = source.clickhouse {
            try clickhouse.interfaceCounters(from: from, to: to, body)
            return
        }
        guard let queue = source.queue else { return }
        try queue.read { db in
            guard try db.tableExists(InterfaceCountersTable.name) else {
                throw ReportSource.Error.noInterfaceCounters(path: source.path)
            }
            let rows = try Row.fetchCursor(db, sql: """
                SELECT peer_ip_src, iface, stamp_inserted, in_bytes, out_bytes, if_speed FROM \(InterfaceCountersTable.name)
                WHERE stamp_inserted >= ? AND stamp_inserted < ? ORDER BY stamp_inserted
                """, arguments: [SQLTime.format(from, utc: source.utc), SQLTime.format(to, utc: source.utc)])
            while let row = try rows.next() {
                guard let stamp = SQLTime.parse(row[2] as String? ?? "", utc: source.utc) else { continue }
                try body(row[0] as String? ?? "", row[1] as Int64? ?? 0, stamp,
                         row[3] as Int64? ?? 0, row[4] as Int64? ?? 0, row[5] as Int64? ?? 0)
            }
        }
    }

    public static func interfaceCapacity(
        _ source: ReportSource, query: ReportQuery, threshold: Double, now: Int
    ) throws -> ReportTable {
        let grid = try BinGrid.resolve(source, query)
        struct Port: Hashable { var agent: String, ifIndex: Int64 }
        var inBytes: [Port: [Int: Int64]] = [:], outBytes: [Port: [Int: Int64]] = [:], speed: [Port: Int64] = [:]
        try interfaceCounters(source, from: grid.first, to: grid.end) { agent, ifIndex, stamp, i, o, s in
            guard let bin = grid.index(stamp) else { return }
            let port = Port(agent: agent, ifIndex: ifIndex)
            let start = grid.start(bin)
            inBytes[port, default: [:]][start, default: 0].addSaturated(max(0, i))
            outBytes[port, default: [:]][start, default: 0].addSaturated(max(0, o))
            if s > 0 { speed[port] = s }
        }
        let flowColumns = Set(source.columns.map { $0.lowercased() })
        var rows: [[ReportTable.Value]] = []
        var lines: [ChartCapacity.Line] = []
        let ports = Set(inBytes.keys).union(outBytes.keys).sorted { ($0.agent, $0.ifIndex) < ($1.agent, $1.ifIndex) }
        for port in ports {
            for (direction, bytes, column) in [("in", inBytes[port] ?? [:], "iface_in"), ("out", outBytes[port] ?? [:], "iface_out")] {
                let series = BinSeries(bytes)
                let counters = Breakdown(
                    columns: [], entries: [Breakdown.Entry(key: [], bytes: bytes.values.reduce(0) { $0.addingSaturated($1) }, bins: series)],
                    grid: grid, utc: source.utc)
                let total = counters.entries[0]
                let avg = counters.averageBitsPerSecond(total), p95 = counters.percentileBitsPerSecond(total)
                let peak = counters.peakBitsPerSecond(total)
                let name = "\(port.agent) ifIndex \(port.ifIndex) \(direction)"
                let capacity = Double(speed[port] ?? 0)
                let trend = Trend.fit(grid, series)
                let runout = capacity > 0 ? Self.runout(p95: p95, trend: trend, level: threshold * capacity, grid: grid, now: now, utc: source.utc) : "-"
                var flowP95: ReportTable.Value = .text("-"), coverage: ReportTable.Value = .text("-")
                if flowColumns.contains("peer_ip_src") && flowColumns.contains(column) {
                    var q = query
                    q.filters += [("peer_ip_src", port.agent), (column, String(port.ifIndex))]
                    let flows = try Breakdown.compute(source, by: [], query: q, grid: grid)
                    let entry = flows.entries.first ?? Breakdown.Entry(key: [])
                    flowP95 = .rate(flows.percentileBitsPerSecond(entry))
                    if avg > 0 { coverage = .percent(flows.averageBitsPerSecond(entry) * 100 / avg) }
                }
                func util(_ v: Double) -> ReportTable.Value { capacity > 0 ? .percent(v * 100 / capacity) : .text("-") }
                rows.append([
                    .text(name), capacity > 0 ? .rate(capacity) : .text("-"), util(avg), util(p95), util(peak), .rate(p95),
                    .rate((trend?.slope ?? 0) * 86_400), .text(runout), flowP95, coverage,
                ])
                if capacity > 0 {
                    lines.append(ChartCapacity.Line(name: name, bitsPerSecond: capacity, bins: series, trend: trend, runout: runout))
                }
            }
        }
        return ReportTable(
            columns: ["name", "capacity", "avg_util", "p95_util", "peak_util", "p95_bps", "trend_bps_per_day", "runout",
                      "flow_p95_bps", "flow_coverage"],
            rows: rows,
            notes: ["capacity and utilisation from sFlow counter samples (\(InterfaceCountersTable.name)); "
                + "flow_coverage: the flows' average over the counters' for the same port and direction; "
                + "threshold \(ReportTable.plain(threshold * 100) ?? "?") %"],
            title: "Capacity from interface counters: p95 utilisation",
            chart: .capacity(ChartCapacity(grid: grid, utc: source.utc, threshold: threshold, lines: lines)))
    }

    /// "over" when the range's p95 reaches `level` already, else the date the trend does, "now"
    /// when that is past, "-" when never.
    static func runout(p95: Double, trend: Trend?, level: Double, grid: BinGrid, now: Int, utc: Bool) -> String {
        if grid.count > 0 && p95 >= level { return "over" }
        if let trend, let t = trend.crossing(level) { return t <= now ? "now" : StampText.format(t, utc: utc) }
        return "-"
    }
}
