import Foundation
import GRDB

/// Egress shifts: each recorded change of a prefix's best path at a router (`rib_best_changes`,
/// written by the collector's BGP daemon) joined with the traffic that followed it, and the split
/// of a change between two periods into what demand changed and what routing changed.
public enum EgressShifts {
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// The traffic a shift report reads: per router, prefix and exit.
    static let keyColumns = ["peer_ip_src", "net_dst", "mask_dst", "peer_ip_dst"]

    /// One change read from `rib_best_changes`.
    struct Change {
        /// An exit: next-hop and peer AS.
        struct Exit {
            var nextHop: String
            var peerAS: Int64
        }

        var timeMilliseconds: Int64
        var router: String
        var bgpID: String
        var net: String
        var mask: Int
        var reason: String
        /// Before and after; nil: no path.
        var from: Exit?
        var to: Exit?
    }

    /// The changes with time in [from, to) (unix seconds), oldest first.
    static func changes(_ db: Database, from: Int, to: Int) throws -> [Change] {
        let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(rib_best_changes)").map { $0["name"] as String }
        guard columns.contains("time_ms") else { throw Error(description: noHistory) }
        let rows = try Row.fetchAll(db, sql: """
            SELECT time_ms, peer_ip_src, bgp_id, net_dst, mask_dst, reason,
                   old_peer_ip_dst, old_peer_as_dst, new_peer_ip_dst, new_peer_as_dst
            FROM rib_best_changes WHERE time_ms >= ? AND time_ms < ? ORDER BY time_ms, rowid
            """, arguments: [Int64(from) * 1000, Int64(to) * 1000])
        return rows.map { r in
            let oldHop: String? = r[6], newHop: String? = r[8]
            return Change(
                timeMilliseconds: r[0], router: r[1], bgpID: r[2], net: r[3], mask: r[4], reason: r[5],
                from: oldHop.map { Change.Exit(nextHop: $0, peerAS: r[7] as Int64? ?? 0) },
                to: newHop.map { Change.Exit(nextHop: $0, peerAS: r[9] as Int64? ?? 0) })
        }
    }

    static let noHistory = "no best-path history (table rib_best_changes): the collector records it with bgp_daemon "
        + "(bgp_best_path_history above 0, the default) into bgp_rib_snapshot_db or the first sqlite3 view's sql_db, "
        + "from each router's End-of-RIB on"

    /// The bins around a change at `milliseconds`: the last whole bin ending at or before it and
    /// the first whole bin starting at or after it (indexes into `grid`, possibly outside it).
    static func bins(around milliseconds: Int64, _ grid: BinGrid) -> (before: Int, after: Int) {
        let offset = milliseconds - Int64(grid.first) * 1000, length = Int64(grid.seconds) * 1000
        let (q, r) = offset.quotientAndRemainder(dividingBy: length)
        let k = Int(r < 0 ? q - 1 : q)
        let onBoundary = r == 0
        return (k - 1, onBoundary ? k : k + 1)
    }

    /// One row per change in the range: when, where, why, from and to which exit, and the
    /// prefix's bit/s at that router on the old exit in the last whole bin before the change and
    /// on the new exit in the first whole bin after it. Notes sum what moved per pair of exits.
    /// `history`: the SQLite file with `rib_best_changes` when it is not the view's database.
    public static func report(_ source: ReportSource, query: ReportQuery, history: String? = nil) throws -> ReportTable {
        for c in keyColumns { try source.require(c) }
        let b = try Breakdown.compute(source, by: keyColumns, query: query)
        let grid = b.grid
        let changes = try WhatIfAnalysis.withSnapshot(source, history) { db in
            try Self.changes(db, from: grid.first, to: grid.end)
        }
        var traffic: [[String]: BinSeries] = [:]
        for e in b.entries { traffic[e.key] = e.bins }
        func rate(_ router: Change, _ nextHop: String?, _ bin: Int) -> ReportTable.Value {
            guard let nextHop, bin >= 0, bin < grid.count else { return .text("-") }
            let start = grid.start(bin)
            var bytes: Int64 = 0
            for name in Set([router.router, router.bgpID]) {
                bytes.addSaturated(traffic[[name, router.net, String(router.mask), nextHop]]?[start] ?? 0)
            }
            return .rate(Double(bytes) * 8 / Double(grid.seconds))
        }
        var rows: [[ReportTable.Value]] = []
        struct Pair: Hashable { var from: String, to: String }
        var moved: [Pair: (changes: Int, bps: Double)] = [:]
        for c in changes {
            let (before, after) = bins(around: c.timeMilliseconds, grid)
            let was = rate(c, c.from?.nextHop, before), now = rate(c, c.to?.nextHop, after)
            rows.append([
                .text(StampText.format(Int(c.timeMilliseconds / 1000), utc: b.utc)), .text(c.router), .text("\(c.net)/\(c.mask)"),
                .text(c.reason), .text(c.from?.nextHop ?? "-"), c.from.map { .integer($0.peerAS) } ?? .text("-"),
                .text(c.to?.nextHop ?? "-"), c.to.map { .integer($0.peerAS) } ?? .text("-"), was, now,
            ])
            // What moved: the traffic the new exit carries after the change; with no new exit,
            // what the old one carried before it.
            let pair = Pair(from: c.from?.nextHop ?? "-", to: c.to?.nextHop ?? "-")
            var value = 0.0
            if c.to != nil, case .rate(let r) = now { value = r } else if c.to == nil, case .rate(let r) = was { value = r }
            moved[pair, default: (0, 0)].changes += 1
            moved[pair, default: (0, 0)].bps += value
        }
        var notes = Reports.notes(b, what: "\(changes.count) best-path change(s) recorded in the range")
        // The largest moves as sentences.
        let largest = rows.indices.compactMap { i -> (Int, Double)? in
            guard case .rate(let r) = changes[i].to != nil ? rows[i][9] : rows[i][8], r > 0 else { return nil }
            return (i, r)
        }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(5)
        for (i, r) in largest {
            let c = changes[i]
            let from = c.from.map { "\($0.nextHop) (AS\($0.peerAS))" } ?? "no path"
            let to = c.to.map { "\($0.nextHop) (AS\($0.peerAS))" } ?? "no path"
            notes.append("# \(ReportTable.display(rows[i][0])): \(ReportTable.si(r, "bit/s")) moved from \(from) to \(to) at "
                + "\(c.router) because \(c.net)/\(c.mask)'s best path changed (\(c.reason))")
        }
        for (pair, m) in moved.sorted(by: { $0.value.bps != $1.value.bps ? $0.value.bps > $1.value.bps : $0.key.from < $1.key.from }) {
            notes.append("# \(pair.from) -> \(pair.to): \(m.changes) change(s), \(ReportTable.si(m.bps, "bit/s")) moved "
                + "(each prefix's bit/s on the new exit in the first whole bin after its change; to '-': on the old exit before it)")
        }
        return ReportTable(
            columns: ["time", "peer_ip_src", "prefix", "reason", "from", "from_as", "to", "to_as", "before_bps", "after_bps"],
            rows: rows, notes: notes, title: "Egress shifts: best-path changes and the traffic that moved",
            chart: rows.isEmpty ? nil : .bars(ChartBars(keys: 3, value: 9, details: [8, 3], axis: "bit/s on the new exit after the change")),
            subtitle: Reports.subtitle(b))
    }

    /// One part of a split: the baseline's and the range's average bit/s, and the change divided
    /// into demand and routing.
    public struct SplitEntry: Sendable, Equatable {
        public var key: [String]
        public var baseline = 0.0
        public var current = 0.0
        public var demand = 0.0
        public var routing = 0.0

        public var change: Double { current - baseline }
    }

    /// The change of each exit's average bit/s (per `by`: peer_ip_dst, peer_as_dst, optionally
    /// with peer_ip_src) from `baseline` to `query`, divided exactly into demand and routing.
    ///
    /// Per router r and prefix p: d1, d2 its average bit/s in the baseline and in the range (bytes ×
    /// 8 / the period's seconds); s1(x), s2(x) the shares of it each exit x carried (s2 = s1 when
    /// p has no traffic in the range, s1 unused when it had none in the baseline). routing(x) =
    /// Σ d1·(s2(x) − s1(x)): the baseline's demand on the range's routing minus on its own;
    /// demand(x) = Σ (d2 − d1)·s2(x). Their sum is the change of x's average. Returns the parts,
    /// largest change first, the prefixes whose exits moved, and the two periods.
    public static func split(
        _ source: ReportSource, baseline: ReportQuery, query: ReportQuery, by: [String]
    ) throws -> (entries: [SplitEntry], movedPrefixes: Int, baseline: Breakdown, current: Breakdown) {
        let allowed = ["peer_ip_src", "peer_ip_dst", "peer_as_dst"]
        let by = try by.map(source.column)
        guard !by.isEmpty, by.allSatisfy(allowed.contains), by.contains(where: { $0 != "peer_ip_src" }) else {
            throw Error(description: "--by: peer_ip_dst or peer_as_dst, optionally with peer_ip_src (the exits that routing chooses)")
        }
        for c in ["peer_ip_src", "net_dst", "mask_dst"] + by { try source.require(c) }
        var columns = ["peer_ip_src", "net_dst", "mask_dst"]
        for c in by where !columns.contains(c) { columns.append(c) }
        let group = by.map { columns.firstIndex(of: $0)! }
        let b1 = try Breakdown.compute(source, by: columns, query: baseline, detail: false)
        let b2 = try Breakdown.compute(source, by: columns, query: query, detail: false)
        guard b1.rangeSeconds > 0, b2.rangeSeconds > 0 else {
            throw Error(description: "the baseline and the range need at least one bin each")
        }
        // Per (router, prefix): bit/s per exit group in each period.
        struct Demand { var one: [[String]: Double] = [:], two: [[String]: Double] = [:] }
        var demands: [[String]: Demand] = [:]
        for (breakdown, first) in [(b1, true), (b2, false)] {
            for e in breakdown.entries {
                let bps = Double(e.bytes) * 8 / Double(breakdown.rangeSeconds)
                let x = group.map { e.key[$0] }
                let rp = Array(e.key.prefix(3))
                if first { demands[rp, default: Demand()].one[x, default: 0] += bps } else { demands[rp, default: Demand()].two[x, default: 0] += bps }
            }
        }
        var parts: [[String]: SplitEntry] = [:]
        var movedPrefixes = 0
        for d in demands.values {
            let d1 = d.one.values.reduce(0, +), d2 = d.two.values.reduce(0, +)
            func s1(_ x: [String]) -> Double { d1 > 0 ? (d.one[x] ?? 0) / d1 : 0 }
            func s2(_ x: [String]) -> Double { d2 > 0 ? (d.two[x] ?? 0) / d2 : s1(x) }
            let exits = Set(d.one.keys).union(d.two.keys)
            if d1 > 0 && d2 > 0 && exits.contains(where: { abs(s1($0) - s2($0)) > 1e-9 }) { movedPrefixes += 1 }
            for x in exits {
                parts[x, default: SplitEntry(key: x)].baseline += d.one[x] ?? 0
                parts[x, default: SplitEntry(key: x)].current += d.two[x] ?? 0
                parts[x, default: SplitEntry(key: x)].routing += d1 * (s2(x) - s1(x))
                parts[x, default: SplitEntry(key: x)].demand += (d2 - d1) * s2(x)
            }
        }
        let entries = parts.values.sorted {
            abs($0.change) != abs($1.change) ? abs($0.change) > abs($1.change) : $0.key.lexicographicallyPrecedes($1.key)
        }
        return (entries, movedPrefixes, b1, b2)
    }

    /// `split` as a table: per exit the baseline's and the range's average, the change, and its
    /// demand and routing parts, with totals in the notes.
    public static func splitReport(
        _ source: ReportSource, baseline: ReportQuery, query: ReportQuery, by: [String]
    ) throws -> ReportTable {
        let (entries, moved, b1, b2) = try split(source, baseline: baseline, query: query, by: by)
        let names = try by.map(source.column)
        let rows: [[ReportTable.Value]] = entries.map { e in
            e.key.map { ReportTable.Value.text($0) }
                + [.rate(e.baseline), .rate(e.current), .rate(e.change), .rate(e.demand), .rate(e.routing)]
        }
        let total = entries.reduce(into: SplitEntry(key: [])) {
            $0.baseline += $1.baseline
            $0.current += $1.current
            $0.demand += $1.demand
            $0.routing += $1.routing
        }
        func period(_ name: String, _ b: Breakdown) -> String {
            let range = Reports.range(b.grid, b.bin, utc: b.utc)
            return "# \(name): " + (range.hasPrefix("# ") ? String(range.dropFirst(2)) : range)
        }
        var notes = [period("baseline", b1), period("range", b2)]
        notes.append("# average \(ReportTable.si(total.baseline, "bit/s")) -> \(ReportTable.si(total.current, "bit/s")): "
            + "demand \(ReportTable.si(total.demand, "bit/s")), routing \(ReportTable.si(total.routing, "bit/s")) "
            + "(routing moves traffic between exits: it sums to 0 over all); \(moved) router prefix(es) changed exits")
        let n = names.count
        return ReportTable(
            columns: names + ["avg_bps_baseline", "avg_bps", "change_bps", "demand_bps", "routing_bps"],
            rows: rows, notes: notes, title: "What changed per exit: demand and routing",
            chart: rows.isEmpty ? nil : .beforeAfter(ChartBeforeAfter(
                before: n, after: n + 1, capacity: nil, beforeLabel: "baseline", afterLabel: "range", axis: "average bit/s per exit")),
            subtitle: "Baseline " + Reports.subtitle(b1) + " · range " + Reports.subtitle(b2))
    }
}
