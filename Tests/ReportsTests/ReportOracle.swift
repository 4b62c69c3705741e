import Aggregation
import Foundation
import GRDB
import Reports
@testable import Storage

/// Random per-prefix tables and what every report must say of them, computed here by plain loops
/// over the rows, without the reports' code: the bin size, the range's bins, per-bin sums, rates,
/// percentiles, least-squares trends, matrices, series, capacity, what-if and prefix coverage.
///
/// The definition the oracle implements (README "Reports"):
/// - bin size: given, else recorded, else the GCD of the differences between distinct stamps,
///   else 60 s;
/// - grid: bins of that size through the newest stamp; range: --from/--to the bins starting in
///   [from, to), --last D the ceil(D / bin) bins ending with the one holding now, none the bin of
///   the first stamp to the bin of the last;
/// - a row counts in the bin holding its stamp; rates are bytes × 8 over every bin of the range,
///   empty bins as 0; p95 the value of rank ceil(0.95 × bins).
enum Oracle {
    // MARK: The table

    struct Row {
        var router: String
        var net: String
        var mask: Int
        var hop: String
        var asn: Int
        var stamp: Int
        var bytes: Int64
        var packets: Int64
        var flows: Int64
    }

    enum BinSource: CustomStringConvertible {
        case given(Int)
        case recorded(Int)
        case inferred

        var description: String {
            switch self {
            case .given(let s): "given \(s)"
            case .recorded(let s): "recorded \(s)"
            case .inferred: "inferred"
            }
        }
    }

    enum RangeForm: CustomStringConvertible {
        case none
        case fromTo(Int, Int)
        case from(Int)
        case to(Int)
        case last(Int, now: Int)

        var description: String {
            switch self {
            case .none: "no range"
            case .fromTo(let a, let b): "--from \(a) --to \(b)"
            case .from(let a): "--from \(a)"
            case .to(let b): "--to \(b)"
            case .last(let d, let now): "--last \(d)s at \(now)"
            }
        }

        var query: ReportQuery {
            switch self {
            case .none: ReportQuery()
            case .fromTo(let a, let b): ReportQuery(from: a, to: b)
            case .from(let a): ReportQuery(from: a)
            case .to(let b): ReportQuery(to: b)
            case .last(let d, let now): ReportQuery(last: ReportQuery.Last(seconds: d, now: now))
            }
        }
    }

    struct Case: CustomStringConvertible {
        var seed: UInt64
        var rows: [Row]
        var binSource: BinSource
        /// The bin the stamps were made with (0 for irregular stamps).
        var stampBin: Int
        var rollup: Bool
        var partialRollup: Bool
        var hasFlows: Bool
        var stampIndex: Bool
        /// "router|net|mask" → next-hops (and their AS) in the router's order of preference.
        var paths: [String: [(hop: String, asn: Int)]]
        var ranges: [RangeForm]

        var description: String {
            "seed \(seed): \(rows.count) rows, bins \(binSource) (stamps every \(stampBin) s), rollup \(rollup)"
                + "\(partialRollup ? " partial" : ""), flows \(hasFlows), index \(stampIndex)"
        }
    }

    static let routers = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    static let prefixes: [(net: String, mask: Int)] = [
        ("198.51.100.0", 24), ("203.0.113.0", 24), ("10.1.0.0", 16), ("172.16.0.0", 12), ("0.0.0.0", 0),
    ]
    static let hops: [(hop: String, asn: Int)] = [("10.0.0.1", 65001), ("10.0.0.2", 65002), ("10.0.0.3", 65003)]
    static let day0 = 1_793_491_200  // 2026-11-01 00:00:00 UTC

    /// SplitMix64: the same tables for the same seed, on every machine.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
        mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
        mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
    }

    /// A table: gaps, quiet keys, phases off the hour, one bin, irregular stamps, rollup or not.
    static func generate(seed: UInt64) -> Case {
        var r = Random(state: seed &* 0x2545_F491_4F6C_DD1D &+ 17)
        let irregular = r.chance(15)
        let bin = irregular ? 0 : r.pick([60, 300, 300, 900, 3600])
        // How many bins the data spans: one bin, a few, or several days for the rollup.
        let span: Int
        switch r.int(10) {
        case 0: span = 1
        case 1, 2: span = 2 + r.int(10)
        // Up to three days for hours and a day for quarters (the rollup's whole days), hours for shorter bins.
        default: span = bin == 0 ? 0 : max(2, (bin >= 3600 ? 80 : bin == 900 ? 120 : 60) / (1 + r.int(3)))
        }
        // pmacct anchors its grid at the collector's start minute: not always on the hour.
        let phase = bin >= 300 ? 60 * r.int(bin / 60) : 0
        let base = day0 + r.int(30) * 86_400 + r.int(24) * 3600 + phase
        var stamps: [Int] = []
        if irregular {
            // Multiples of a step, or a few seconds off: the GCD decides the bins.
            // At most 150 bins whatever the GCD comes out as.
            let step = r.pick([1, 5, 20, 60])
            let count = 2 + r.int(30)
            for _ in 0..<count { stamps.append(base + step * r.int(150)) }
            if step == 1 && r.chance(30) { stamps.append(base + 7) }
            stamps = Array(Set(stamps)).sorted()
        } else {
            // Gaps: runs of bins with no row at all.
            var i = 0
            while i < span {
                if span > 4 && r.chance(4) {
                    i += 1 + r.int(max(1, span / 5))
                    continue
                }
                stamps.append(base + i * bin)
                i += 1
            }
        }
        var paths: [String: [(hop: String, asn: Int)]] = [:]
        var keys: [(router: String, net: String, mask: Int, hop: String, asn: Int, from: Int, to: Int, weight: Int64)] = []
        for router in routers {
            for p in prefixes where r.chance(75) {
                let hop: (hop: String, asn: Int)
                if p.mask == 0 {
                    hop = ("0.0.0.0", 0)
                } else {
                    var ranked = hops
                    for i in stride(from: ranked.count - 1, to: 0, by: -1) { ranked.swapAt(i, r.int(i + 1)) }
                    ranked = Array(ranked.prefix(1 + r.int(3)))
                    paths["\(router)|\(p.net)|\(p.mask)"] = ranked
                    hop = ranked[0]
                }
                // Quiet keys: traffic in part of the span only (a router that went quiet, or a new one).
                var from = 0, to = stamps.count
                if r.chance(30) { to = r.int(stamps.count + 1) }
                if r.chance(20) { from = r.int(max(1, to)) }
                keys.append((router, p.net, p.mask, hop.hop, hop.asn, from, to, Int64(1 + r.int(1000))))
            }
        }
        var rows: [Row] = []
        let trend = r.chance(50) ? Int64(r.int(20)) : 0
        for (i, stamp) in stamps.enumerated() {
            for k in keys where i >= k.from && i < k.to && r.chance(85) {
                let bytes = r.chance(2) ? 0 : k.weight * Int64(100 + r.int(900)) + trend * Int64(i) * k.weight
                rows.append(Row(router: k.router, net: k.net, mask: k.mask, hop: k.hop, asn: k.asn, stamp: stamp, bytes: bytes,
                                packets: 1 + Int64(r.int(1000)), flows: 1 + Int64(r.int(20))))
            }
        }
        let source: BinSource
        if irregular {
            source = r.chance(70) ? .inferred : .given(r.pick([60, 300]))
        } else {
            switch r.int(4) {
            case 0: source = .inferred
            case 1: source = .recorded(bin)
            case 2: source = .given(bin)
            default: source = .given(bin * r.pick([2, 3]))  // coarser than the stamps: rows add up per bin
            }
        }
        let rollup = !irregular && bin < 86_400 && r.chance(50)
        let hasFlows = r.chance(80)
        let c = Case(
            seed: seed, rows: rows, binSource: source, stampBin: bin, rollup: rollup, partialRollup: rollup && r.chance(30),
            hasFlows: hasFlows, stampIndex: r.chance(85), paths: paths, ranges: [])
        var out = c
        out.ranges = ranges(c, &r)
        return out
    }

    /// Range forms around the data: none, aligned and unaligned --from/--to, one bound, --last.
    static func ranges(_ c: Case, _ r: inout Random) -> [RangeForm] {
        let first = c.rows.map(\.stamp).min() ?? day0, last = c.rows.map(\.stamp).max() ?? day0
        let width = max(60, last - first)
        let step = max(1, c.stampBin)
        func inside() -> Int { first - width / 4 + r.int(width + width / 2) }
        func aligned() -> Int { first + step * (r.int(width / step + 3) - 1) }
        var forms: [RangeForm] = [.none]
        var a = aligned(), b = aligned()
        if a == b { b += step }
        forms.append(.fromTo(min(a, b), max(a, b)))
        a = inside()
        b = inside()
        if a == b { b += 1 }
        forms.append(.fromTo(min(a, b), max(a, b)))
        forms.append(r.chance(50) ? .from(inside()) : .to(inside()))
        let now = last + r.int(3 * step) - step / 2
        forms.append(.last(1 + r.int(width + step), now: now))
        return forms
    }

    // MARK: Writing it

    /// The case's table in a new database, as the collector (or pmacct, or a hand) would leave it.
    static func write(_ c: Case) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-oracle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("o.db").path
        let store = try SQLiteStore(path: path)
        let schema = try TableSchema(
            table: "paths", primitives: [.peerSrcIP, .dstNet, .dstMask, .peerDstIP, .peerDstAS], tableVersion: nil, numericProtocols: false)
        try store.pool.write { db in
            for var sql in schema.createStatements {
                if !c.hasFlows { sql = sql.replacingOccurrences(of: "    flows INT NOT NULL DEFAULT 0,\n", with: "") }
                if !c.stampIndex && sql.hasPrefix("CREATE INDEX") { continue }
                try db.execute(sql: sql)
            }
            let insert = try db.makeStatement(sql: "INSERT INTO paths (peer_ip_src, net_dst, mask_dst, peer_ip_dst, peer_as_dst, packets, bytes, "
                + (c.hasFlows ? "flows, " : "") + "stamp_inserted, stamp_updated) VALUES (?, ?, ?, ?, ?, ?, ?, " + (c.hasFlows ? "?, " : "") + "?, ?)")
            for row in c.rows {
                let stamp = SQLTime.format(row.stamp, utc: true)
                var arguments: [any DatabaseValueConvertible] = [row.router, row.net, row.mask, row.hop, row.asn, row.packets, row.bytes]
                if c.hasFlows { arguments.append(row.flows) }
                arguments += [stamp, stamp]
                try insert.execute(arguments: StatementArguments(arguments))
            }
            if case .recorded(let seconds) = c.binSource {
                try TableRegistry.record(
                    db, table: "paths", binning: TimeBinning(unit: .seconds, count: seconds, roundoff: "", now: 0), now: day0, utc: true)
            }
        }
        if c.rollup {
            _ = try store.rebuildRollup(table: "paths")
            if c.partialRollup, let mid = c.rows.map(\.stamp).sorted().dropFirst(c.rows.count / 2).first {
                // Written before the rollup existed up to the middle day: those days come from the table.
                try store.pool.write { db in
                    try db.execute(sql: "UPDATE pathflow_rollups SET complete_from = ?", arguments: [
                        RollupSchema.nextDay(SQLTime.format(mid, utc: true), utc: true),
                    ])
                }
            }
        }
        let writer = try RIBSnapshotWriter(store: store, stamp: SQLTime.format(day0, utc: true))
        var snapshot: [RIBSnapshotRow] = []
        for (key, ranked) in c.paths {
            let parts = key.split(separator: "|").map(String.init)
            for (rank, p) in ranked.enumerated() {
                snapshot.append(RIBSnapshotRow(
                    router: parts[0], bgpID: parts[0], net: parts[1], mask: Int(parts[2])!, pathID: Int64(rank + 1), rank: rank,
                    nextHop: p.hop, peerAS: Int64(p.asn), originAS: Int64(p.asn), asPath: "\(p.asn)", localPref: 100, med: 0))
            }
        }
        try writer.append(snapshot)
        try writer.commit()
        return path
    }

    // MARK: Bins

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    static func binSize(_ c: Case) -> Int {
        switch c.binSource {
        case .given(let s), .recorded(let s): return s
        case .inferred:
            let stamps = Array(Set(c.rows.map(\.stamp))).sorted()
            var g = 0
            for i in stamps.indices.dropFirst() { g = gcd(g, stamps[i] - stamps[i - 1]) }
            return g == 0 ? 60 : g
        }
    }

    /// The starts of the range's bins.
    static func bins(_ c: Case, _ form: RangeForm, bin: Int) -> [Int] {
        let stamps = c.rows.map(\.stamp)
        let anchor = stamps.max() ?? 0
        // Walk the grid from the newest stamp, one bin at a time.
        func atOrAfter(_ t: Int) -> Int {
            var g = anchor
            while g < t { g += bin }
            while g - bin >= t { g -= bin }
            return g
        }
        func holding(_ t: Int) -> Int {
            var g = anchor
            while g > t { g -= bin }
            while g + bin <= t { g += bin }
            return g
        }
        var start: Int, end: Int
        switch form {
        case .none:
            guard let first = stamps.min() else { return [] }
            start = holding(first)
            end = anchor + bin
        case .fromTo(let a, let b):
            start = atOrAfter(a)
            end = atOrAfter(b)
        case .from(let a):
            start = atOrAfter(a)
            end = stamps.isEmpty ? start : anchor + bin
        case .to(let b):
            end = atOrAfter(b)
            start = stamps.min().map(holding) ?? end
        case .last(let d, let now):
            end = holding(now) + bin
            var n = d / bin
            if n * bin < d { n += 1 }
            start = end - max(1, n) * bin
        }
        var out: [Int] = []
        var t = start
        while t < end {
            out.append(t)
            t += bin
        }
        return out
    }

    /// Bytes per bin of the rows, every bin of the range (0 when empty).
    static func perBin(_ rows: [Row], _ bins: [Int], bin: Int) -> [Int64] {
        var out = [Int64](repeating: 0, count: bins.count)
        guard let first = bins.first else { return out }
        for row in rows where row.stamp >= first && row.stamp < first + bins.count * bin {
            out[(row.stamp - first) / bin] += row.bytes
        }
        return out
    }

    static func inRange(_ rows: [Row], _ bins: [Int], bin: Int) -> [Row] {
        guard let first = bins.first else { return [] }
        return rows.filter { $0.stamp >= first && $0.stamp < first + bins.count * bin }
    }

    // MARK: Numbers

    static func average(_ bytes: Int64, bins: Int, bin: Int) -> Double {
        bins == 0 ? 0 : Double(bytes) * 8 / Double(bins * bin)
    }

    static func peak(_ perBin: [Int64], bin: Int) -> Double {
        Double(perBin.max() ?? 0) * 8 / Double(bin)
    }

    static func p95(_ perBin: [Int64], bin: Int) -> Double {
        guard !perBin.isEmpty else { return 0 }
        let sorted = perBin.sorted()
        let rank = (95 * sorted.count + 99) / 100
        return Double(sorted[rank - 1]) * 8 / Double(bin)
    }

    /// Least squares through (bin start, bit/s) of every bin: slope in bit/s per second and the
    /// value at time 0; nil under two bins.
    static func trend(_ perBin: [Int64], _ bins: [Int], bin: Int) -> (slope: Double, intercept: Double)? {
        guard bins.count >= 2 else { return nil }
        let n = Double(bins.count)
        var sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0
        for i in bins.indices {
            let x = Double(bins[i] - bins[0]), y = Double(perBin[i]) * 8 / Double(bin)
            sx += x
            sy += y
            sxx += x * x
            sxy += x * y
        }
        let slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
        let atFirst = (sy - slope * sx) / n
        return (slope, atFirst - slope * Double(bins[0]))
    }
}
