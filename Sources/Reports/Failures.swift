import Foundation
import GRDB

/// Every single failure at once: for each exit (BGP next-hop or peer AS) that carries traffic in
/// the range, and each group of exits the user names (links that share a fibre, a line card, a
/// router), the traffic of every prefix leaving through it moves to the path its router would
/// use next: the first path in that router's ranking of its prefix's paths (the RIB snapshot,
/// `rib_paths`) that the failure leaves standing. Per exit of `by`: its normal p95, its worst p95
/// under any single failure and the failure that causes it, its headroom against its capacity,
/// its runout date as it is and under its worst failure, and what its own failure strands
/// (prefixes with no other path).
///
/// Exact per prefix and reproducible from the stored data: the same moves as `what-if`, for
/// every failure (tested against it).
public enum FailureAnalysis {
    /// A failure: every path whose next-hop, peer AS or exit router is a member fails with it.
    public struct Failure: Sendable, Equatable {
        public var name: String
        public var nextHops: Set<String>
        public var peerASes: Set<String>
        /// Exit routers (`rib_paths.exit_router`: a path's ORIGINATOR_ID, else the BGP identifier
        /// of the router that sent it): a router going down takes all its exits with it.
        public var exitRouters: Set<String>

        public init(name: String, nextHops: Set<String> = [], peerASes: Set<String> = [], exitRouters: Set<String> = []) {
            self.name = name
            self.nextHops = nextHops
            self.peerASes = peerASes
            self.exitRouters = exitRouters
        }

        func hits(nextHop: String, peerAS: String, exitRouter: String) -> Bool {
            nextHops.contains(nextHop) || peerASes.contains(peerAS) || exitRouters.contains(exitRouter)
        }

        /// Parses a groups file: `NAME MEMBER[,MEMBER…]` per line, each member
        /// `peer_ip_dst=ADDRESS`, `peer_as_dst=ASN` or `exit_router=ADDRESS` (the exits that fail
        /// together); `!` or `#`
        /// starts a comment. Errors name the line.
        public static func parseGroups(_ text: String, file: String) throws -> [Failure] {
            var groups: [Failure] = []
            for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.split(whereSeparator: { $0 == "#" || $0 == "!" }).first.map(String.init) ?? ""
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                if fields.isEmpty || raw.first == "#" || raw.first == "!" { continue }
                func fail(_ why: String) -> Error { Error(description: "\(file):\(i + 1): \(why)") }
                guard fields.count == 2 else {
                    throw fail("expected NAME MEMBER[,MEMBER…] (members peer_ip_dst=ADDRESS, peer_as_dst=ASN or exit_router=ADDRESS)")
                }
                var group = Failure(name: fields[0])
                for member in fields[1].split(separator: ",") {
                    let parts = member.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2, !parts[1].isEmpty else { throw fail("'\(member)': expected COLUMN=VALUE") }
                    switch parts[0] {
                    case "peer_ip_dst", "peer_dst_ip": group.nextHops.insert(parts[1])
                    case "peer_as_dst", "peer_dst_as":
                        let asn = parts[1].uppercased().hasPrefix("AS") ? String(parts[1].dropFirst(2)) : parts[1]
                        guard let n = UInt32(asn) else { throw fail("'\(member)': not an AS number") }
                        group.peerASes.insert(String(n))
                    case "exit_router": group.exitRouters.insert(parts[1])
                    default: throw fail("'\(parts[0])': a member is peer_ip_dst=ADDRESS, peer_as_dst=ASN or exit_router=ADDRESS")
                    }
                }
                guard !groups.contains(where: { $0.name == group.name }) else { throw fail("group '\(group.name)' named twice") }
                groups.append(group)
            }
            return groups
        }
    }

    /// What the failures of one kind are: every next-hop, every peer AS, or every exit router
    /// (of the paths traffic took) seen in the range.
    public enum Kind: String, Sendable, CaseIterable {
        case nextHop = "peer_ip_dst"
        case peerAS = "peer_as_dst"
        case exitRouter = "exit_router"
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// The kinds a list names (peer_dst_ip and peer_dst_as as aliases; `none` names none), each
    /// once, in order; an unknown name throws.
    public static func kinds(_ names: [String]) throws -> [Kind] {
        var kinds: [Kind] = []
        for name in names where name != "none" {
            let normalised = name == "peer_dst_ip" ? "peer_ip_dst" : name == "peer_dst_as" ? "peer_as_dst" : name
            guard let kind = Kind(rawValue: normalised) else {
                throw Error(description: "\(name): peer_ip_dst, peer_as_dst, exit_router or none")
            }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return kinds
    }

    /// The column load is shown per unless told: the first kind that is one (peer_ip_dst for
    /// exit routers or groups only).
    public static func defaultColumn(_ kinds: [Kind]) -> String {
        kinds.first { $0 != .exitRouter }?.rawValue ?? Kind.nextHop.rawValue
    }

    /// One exit's outcome.
    public struct Outcome: Sendable, Equatable {
        public var exit: String
        public var p95: Double
        public var worstP95: Double
        /// The failure behind `worstP95`; nil when no failure raises the exit's p95.
        public var worstFailure: String?
        /// The exit's own failure (when it is one of the failures): its prefix routes and bytes
        /// with no other path.
        public var stranded: Int
        public var strandedBytes: Int64
        public var worstSeries: BinSeries
        public var series: BinSeries
    }

    /// Per exit of `by` (peer_ip_dst or peer_as_dst), every failure of `kinds` seen in the range
    /// plus `groups`. `snapshot`: the RIB snapshot's SQLite file when it is not the view's.
    public static func analyse(
        _ source: ReportSource, kinds: [Kind], groups: [Failure], by: String, query: ReportQuery, snapshot: String? = nil
    ) throws -> (outcomes: [Outcome], breakdown: Breakdown, failures: Int) {
        let by = try source.column(by)
        guard by == Kind.nextHop.rawValue || by == Kind.peerAS.rawValue else { throw Error(description: "--by: peer_ip_dst or peer_as_dst") }
        var keyColumns = ["peer_ip_src", "net_dst", "mask_dst"]
        // The columns a failure is told by: each exit kind asked for, and each a group names.
        var tells = Set(kinds.map(\.rawValue))
        if groups.contains(where: { !$0.nextHops.isEmpty }) { tells.insert(Kind.nextHop.rawValue) }
        if groups.contains(where: { !$0.peerASes.isEmpty }) { tells.insert(Kind.peerAS.rawValue) }
        // A path's exit router is found by the next-hop traffic took.
        let needsRouters = kinds.contains(.exitRouter) || groups.contains { !$0.exitRouters.isEmpty }
        tells.remove(Kind.exitRouter.rawValue)
        if needsRouters { tells.insert(Kind.nextHop.rawValue) }
        tells.insert(by)
        let hopColumn = tells.contains(Kind.nextHop.rawValue) ? Kind.nextHop.rawValue : nil
        let asColumn = tells.contains(Kind.peerAS.rawValue) ? Kind.peerAS.rawValue : nil
        keyColumns += [hopColumn, asColumn].compactMap { $0 }
        for c in keyColumns { try source.require(c) }
        let b = try Breakdown.compute(source, by: keyColumns, query: query)
        let hopIndex = hopColumn.flatMap { keyColumns.firstIndex(of: $0) }
        let asIndex = asColumn.flatMap { keyColumns.firstIndex(of: $0) }
        let byIndex = keyColumns.firstIndex(of: by)!
        func hop(_ e: Breakdown.Entry) -> String { hopIndex.map { e.key[$0] } ?? "" }
        func peerAS(_ e: Breakdown.Entry) -> String { asIndex.map { e.key[$0] } ?? "" }

        // Rows without a path (no route: mask 0, or no next-hop) stay where they are.
        func routed(_ e: Breakdown.Entry) -> Bool {
            e.key[2] != "0" && e.key[2] != "" && (hopIndex == nil || !["", "0.0.0.0", "::"].contains(hop(e)))
        }

        // Each routed prefix's paths, as its router ranks them.
        struct Path { var hop: String, peerAS: String, exit: String, router: String }
        struct Prefix: Hashable { var router: String, net: String, mask: String }
        var paths: [Prefix: [Path]] = [:]
        let needed = Set(b.entries.filter(routed).map { Prefix(router: $0.key[0], net: $0.key[1], mask: $0.key[2]) })
        try WhatIfAnalysis.withSnapshot(source, snapshot) { db in
            let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(rib_paths)").map { $0["name"] as String }
            guard columns.contains("peer_ip_dst"), columns.contains("peer_as_dst") else {
                throw Error(description: "\(snapshot ?? source.path) has no RIB snapshot (table rib_paths): set "
                    + "bgp_rib_snapshot_refresh_time in the collector's configuration and wait for the first snapshot")
            }
            let hasRouters = columns.contains("exit_router")
            guard hasRouters || !needsRouters else {
                throw Error(description: "the RIB snapshot in \(snapshot ?? source.path) has no exit_router column (written by an "
                    + "older collector): wait for the next snapshot")
            }
            let statement = try db.makeStatement(sql: """
                SELECT peer_ip_dst, peer_as_dst, \(hasRouters ? "exit_router" : "''") FROM rib_paths
                WHERE (peer_ip_src = ? OR bgp_id = ?) AND net_dst = ? AND mask_dst = ? ORDER BY rank
                """)
            for p in needed {
                paths[p] = try Row.fetchAll(statement, arguments: [p.router, p.router, p.net, p.mask]).map { row in
                    let h = Breakdown.text(row[0]), a = Breakdown.text(row[1])
                    return Path(hop: h, peerAS: a, exit: by == Kind.nextHop.rawValue ? h : a, router: Breakdown.text(row[2]))
                }
            }
        }
        // The exit router of the path each row's traffic took: its prefix's first path (in rank
        // order) with the row's next-hop; "" when the snapshot has none.
        func exitRouter(_ e: Breakdown.Entry) -> String {
            guard needsRouters else { return "" }
            let h = hop(e)
            return paths[Prefix(router: e.key[0], net: e.key[1], mask: e.key[2])]?.first { $0.hop == h }?.router ?? ""
        }

        var failures: [Failure] = []
        for kind in kinds {
            let values = Set(b.entries.filter(routed).map {
                switch kind {
                case .nextHop: hop($0)
                case .peerAS: peerAS($0)
                case .exitRouter: exitRouter($0)
                }
            }).subtracting([""])
            for v in values.sorted() {
                switch kind {
                case .nextHop: failures.append(Failure(name: v, nextHops: [v]))
                case .peerAS: failures.append(Failure(name: "AS\(v)", peerASes: [v]))
                case .exitRouter: failures.append(Failure(name: "router \(v)", exitRouters: [v]))
                }
            }
        }
        failures += groups

        // Dense per-bin bytes: an exit's load under a failure is its own less what leaves plus
        // what arrives.
        let grid = b.grid
        func dense(_ s: BinSeries) -> [Int64] {
            var v = [Int64](repeating: 0, count: grid.count)
            for bin in s { if let i = grid.index(bin.start) { v[i] = v[i].addingSaturated(bin.bytes) } }
            return v
        }
        func sparse(_ v: [Int64]) -> BinSeries {
            var s = BinSeries()
            for (i, bytes) in v.enumerated() where bytes != 0 { s.add(grid.start(i), bytes) }
            return s
        }
        var load: [String: Breakdown.Entry] = [:]
        for e in b.entries { load[e.key[byIndex], default: Breakdown.Entry(key: [e.key[byIndex]])].add(e) }
        var normal: [String: [Int64]] = [:]
        for (exit, e) in load { normal[exit] = dense(e.bins) }
        let view = Breakdown(columns: [by], entries: [], grid: grid, bin: b.bin, utc: b.utc, hasFlows: b.hasFlows)
        func p95(_ v: [Int64]) -> Double { view.percentileBitsPerSecond(Breakdown.Entry(key: [], bins: sparse(v))) }
        let zeros = [Int64](repeating: 0, count: grid.count)
        var outcomes: [String: Outcome] = [:]
        for (exit, v) in normal {
            let series = sparse(v)
            let value = p95(v)
            outcomes[exit] = Outcome(
                exit: exit, p95: value, worstP95: value, worstFailure: nil, stranded: 0, strandedBytes: 0,
                worstSeries: series, series: series)
        }
        let affectedBy: [[Int]] = failures.map { f in
            b.entries.indices.filter {
                routed(b.entries[$0]) && f.hits(nextHop: hop(b.entries[$0]), peerAS: peerAS(b.entries[$0]), exitRouter: exitRouter(b.entries[$0]))
            }
        }
        for (f, failure) in failures.enumerated() {
            var delta: [String: [Int64]] = [:]
            var stranded = Set<Prefix>(), strandedBytes: Int64 = 0
            for i in affectedBy[f] {
                let e = b.entries[i]
                let prefix = Prefix(router: e.key[0], net: e.key[1], mask: e.key[2])
                let from = e.key[byIndex]
                func move(_ exit: String, _ sign: Int64) {
                    // In place: the dictionary's array is not copied per bin.
                    for bin in e.bins {
                        guard let j = grid.index(bin.start) else { continue }
                        delta[exit, default: zeros][j] = delta[exit, default: zeros][j].addingSaturated(sign &* bin.bytes)
                    }
                }
                move(from, -1)
                if let next = (paths[prefix] ?? []).first(where: { !failure.hits(nextHop: $0.hop, peerAS: $0.peerAS, exitRouter: $0.router) }) {
                    move(next.exit, 1)
                } else {
                    stranded.insert(prefix)
                    strandedBytes.addSaturated(e.bytes)
                }
            }
            for (exit, d) in delta {
                let base = normal[exit] ?? zeros
                let after = zip(base, d).map { max(0, $0.addingSaturated($1)) }
                let value = p95(after)
                var o = outcomes[exit] ?? Outcome(
                    exit: exit, p95: 0, worstP95: 0, worstFailure: nil, stranded: 0, strandedBytes: 0,
                    worstSeries: BinSeries(), series: BinSeries())
                if value > o.worstP95 {
                    o.worstP95 = value
                    o.worstFailure = failure.name
                    o.worstSeries = sparse(after)
                }
                outcomes[exit] = o
            }
            // The exit's own failure: what it strands.
            let own = by == Kind.nextHop.rawValue ? failure.nextHops : failure.peerASes
            if failure.nextHops.count + failure.peerASes.count == 1, failure.exitRouters.isEmpty, let exit = own.first, var o = outcomes[exit] {
                o.stranded = stranded.count
                o.strandedBytes = strandedBytes
                outcomes[exit] = o
            }
        }
        let sorted = outcomes.values.sorted { $0.worstP95 != $1.worstP95 ? $0.worstP95 > $1.worstP95 : $0.exit < $1.exit }
        return (sorted, b, failures.count)
    }

    /// The report: one line per exit, capacities from `capacities` (lines with one condition on
    /// the exit's column), runout at `threshold` of capacity.
    public static func report(
        _ source: ReportSource, kinds: [Kind], groups: [Failure], by: String, query: ReportQuery,
        capacities: [CapacityEntry], threshold: Double, now: Int, snapshot: String? = nil
    ) throws -> ReportTable {
        let (outcomes, b, count) = try analyse(source, kinds: kinds, groups: groups, by: by, query: query, snapshot: snapshot)
        let column = try source.column(by)
        var rows: [[ReportTable.Value]] = []
        for o in outcomes where o.exit != "" && o.exit != "0.0.0.0" && o.exit != "0" {
            let capacity = capacities.first {
                $0.conditions.count == 1 && (try? source.column($0.conditions[0].column)) == column && $0.conditions[0].value == o.exit
            }?.bitsPerSecond
            let level = capacity.map { threshold * $0 }
            func runout(_ series: BinSeries, _ p95: Double) -> ReportTable.Value {
                guard let level else { return .text("-") }
                return .text(Reports.runout(p95: p95, trend: Trend.fit(b.grid, series), level: level, grid: b.grid, now: now, utc: b.utc))
            }
            rows.append([
                .text(o.exit), capacity.map { .rate($0) } ?? .text("-"), .rate(o.p95), .rate(o.worstP95),
                .text(o.worstFailure ?? "-"),
                capacity.map { .percent(o.worstP95 * 100 / $0) } ?? .text("-"),
                capacity.map { .rate($0 - o.worstP95) } ?? .text("-"),
                .integer(Int64(o.stranded)), .bytes(o.strandedBytes),
                runout(o.series, o.p95), runout(o.worstSeries, o.worstP95),
            ])
        }
        var notes = Reports.notes(b, what: "every single failure")
        notes.append("# \(count) failure(s): each \(kinds.map(\.rawValue).joined(separator: " and ")) in the range"
            + (groups.isEmpty ? "" : ", and \(groups.count) group(s)") + "; traffic moves to its router's next path (rib_paths)")
        return ReportTable(
            columns: [column, "capacity", "p95_bps", "worst_p95_bps", "worst_failure", "worst_util", "headroom_bps",
                      "stranded_prefixes", "stranded_bytes", "runout", "runout_worst"],
            rows: rows, notes: notes, title: "Every single failure: worst p95 bit/s per exit",
            chart: .beforeAfter(ChartBeforeAfter(
                before: 2, after: 3, capacity: 1, beforeLabel: "p95", afterLabel: "worst p95", axis: "p95 bit/s per exit")),
            subtitle: Reports.subtitle(b))
    }
}
