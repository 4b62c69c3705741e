import Aggregation
import Foundation
import NetCore
@testable import Reports
@testable import Storage
import Testing

/// `report shifts`: recorded best-path changes joined with the traffic around them, and the
/// split of a change between two periods into demand and routing, by hand and on random tables.
@Suite struct ShiftsTests {
    static let start = ReportsTests.start

    static func database() throws -> (String, SQLiteStore) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-shifts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("s.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(
            table: "p", primitives: [.peerSrcIP, .dstNet, .dstMask, .peerDstIP], tableVersion: nil, numericProtocols: false))
        return (path, store)
    }

    /// Rows of the per-prefix view: (router, prefix, next-hop, bin index, bytes), 60 s bins.
    static func write(_ store: SQLiteStore, _ rows: [(String, String, String, Int, UInt64)]) throws {
        var table: [BinnedKey: Counters] = [:]
        for (router, prefix, nextHop, bin, bytes) in rows {
            let p = IPPrefix(prefix)!
            var k = FlowKey()
            k.peerSrc = IPAddress(router)!
            k.dstNet = p.address
            k.dstMask = p.length
            k.peerDst = IPAddress(nextHop)!
            table[BinnedKey(key: k, bin: UInt32(start + bin * 60)), default: Counters()].add(Counters(packets: 1, bytes: bytes, flows: 1))
        }
        try store.write(table: "p", rows: table, now: start + 3600, utc: true)
    }

    static func side(_ nextHop: String, _ asn: Int64, lp: Int64 = 100) -> BestPathChangeRow.Side {
        BestPathChangeRow.Side(pathID: 1, nextHop: nextHop, peerAS: asn, asPath: "\(asn) 64999", localPref: lp, med: 0)
    }

    static func change(_ ms: Int64, router: String, bgpID: String, _ prefix: String, _ reason: String,
                       _ old: BestPathChangeRow.Side?, _ new: BestPathChangeRow.Side?) -> BestPathChangeRow {
        let p = IPPrefix(prefix)!
        return BestPathChangeRow(
            stamp: StampText.format(Int(ms / 1000), utc: true), timeMilliseconds: ms, router: router, bgpID: bgpID,
            net: p.address.description, mask: Int(p.length), reason: reason, old: old, new: new)
    }

    @Test func changesJoinedWithTheBinsAroundThem() throws {
        let (path, store) = try Self.database()
        let (a, b) = ("10.0.0.1", "10.0.0.2")
        var rows: [(String, String, String, Int, UInt64)] = []
        // 198.51.100.0/24 at 192.0.2.1: 1,500 B per bin on A (200 bit/s) in bins 0-2; the change
        // at 190.5 s falls in bin 3 (both exits); then 3,000 B per bin on B (400 bit/s).
        for bin in 0...2 { rows.append(("192.0.2.1", "198.51.100.0/24", a, bin, 1_500)) }
        rows.append(("192.0.2.1", "198.51.100.0/24", a, 3, 500))
        rows.append(("192.0.2.1", "198.51.100.0/24", b, 3, 700))
        for bin in 4...5 { rows.append(("192.0.2.1", "198.51.100.0/24", b, bin, 3_000)) }
        // 203.0.113.0/24: 750 B per bin on A (100 bit/s); withdrawn exactly at the start of bin
        // 5, from a router whose session address is not the exporter's (its BGP identifier is).
        for bin in 0...4 { rows.append(("192.0.2.1", "203.0.113.0/24", a, bin, 750)) }
        try Self.write(store, rows)
        let writer = try BestPathChangesWriter(store: store)
        let t0 = Int64(Self.start) * 1000
        try writer.append([
            Self.change(t0 - 5_000, router: "192.0.2.1", bgpID: "192.0.2.1", "198.51.100.0/24", "new_prefix", nil, Self.side(a, 65001)),
            Self.change(t0 + 190_500, router: "192.0.2.1", bgpID: "192.0.2.1", "198.51.100.0/24", "local_pref",
                        Self.side(a, 65001, lp: 200), Self.side(b, 65002, lp: 150)),
            Self.change(t0 + 300_000, router: "10.9.9.9", bgpID: "192.0.2.1", "203.0.113.0/24", "withdraw", Self.side(a, 65001), nil),
        ], keep: 10)
        let source = try ReportSource(path: path, table: "p", binSeconds: 60, utc: true)
        let t = try EgressShifts.report(source, query: ReportQuery())
        #expect(t.columns == ["time", "peer_ip_src", "prefix", "reason", "from", "from_as", "to", "to_as", "before_bps", "after_bps"])
        // The change before the range is not in it.
        #expect(t.rows.count == 2)
        #expect(t.rows[0] == [.text("2025-12-01 00:03:10"), .text("192.0.2.1"), .text("198.51.100.0/24"), .text("local_pref"),
                              .text(a), .integer(65001), .text(b), .integer(65002), .rate(200), .rate(400)])
        #expect(t.rows[1] == [.text("2025-12-01 00:05:00"), .text("10.9.9.9"), .text("203.0.113.0/24"), .text("withdraw"),
                              .text(a), .integer(65001), .text("-"), .text("-"), .rate(100), .text("-")])
        #expect(t.notes.contains { $0.hasPrefix("# 10.0.0.1 -> 10.0.0.2: 1 change(s), 400 bit/s moved") }, "\(t.notes)")
        #expect(t.notes.contains { $0.hasPrefix("# 10.0.0.1 -> -: 1 change(s), 100 bit/s moved") }, "\(t.notes)")
        #expect(t.notes.contains(
            "# 2025-12-01 00:03:10: 400 bit/s moved from 10.0.0.1 (AS65001) to 10.0.0.2 (AS65002) at 192.0.2.1 "
                + "because 198.51.100.0/24's best path changed (local_pref)"), "\(t.notes)")
        #expect(t.notes.contains(
            "# 2025-12-01 00:05:00: 100 bit/s moved from 10.0.0.1 (AS65001) to no path at 10.9.9.9 "
                + "because 203.0.113.0/24's best path changed (withdraw)"), "\(t.notes)")
        #expect(t.render(.json).contains("\"after_bps\":400"))
        #expect(t.render(.html).contains("<svg"))
        // A range that ends before the change has no bin after it.
        let early = try EgressShifts.report(source, query: ReportQuery(from: Self.start, to: Self.start + 240))
        #expect(early.rows.count == 1 && early.rows[0][8] == .rate(200) && early.rows[0][9] == .text("-"))
    }

    @Test func binsAroundAChange() {
        let grid = BinGrid(first: 1_000, seconds: 60, count: 10)
        #expect(EgressShifts.bins(around: 1_000_000, grid) == (-1, 0))
        #expect(EgressShifts.bins(around: 1_000_001, grid) == (-1, 1))
        #expect(EgressShifts.bins(around: 1_060_000, grid) == (0, 1))
        #expect(EgressShifts.bins(around: 1_119_999, grid) == (0, 2))
        #expect(EgressShifts.bins(around: 999_999, grid) == (-2, 0))
    }

    @Test func historyIsBoundedAndItsAbsenceExplained() throws {
        let (path, store) = try Self.database()
        try Self.write(store, [("192.0.2.1", "198.51.100.0/24", "10.0.0.1", 0, 100)])
        let source = try ReportSource(path: path, table: "p", binSeconds: 60, utc: true)
        #expect { try EgressShifts.report(source, query: ReportQuery()) } throws: {
            ($0 as? EgressShifts.Error)?.description.contains("rib_best_changes") == true
        }
        let writer = try BestPathChangesWriter(store: store)
        let t0 = Int64(Self.start) * 1000
        for i in 0..<5 {
            try writer.append([Self.change(t0 + Int64(i) * 1000, router: "192.0.2.1", bgpID: "192.0.2.1", "198.51.100.0/24",
                                           "withdraw", Self.side("10.0.0.1", 65001), nil)], keep: 3)
        }
        let kept = try store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT time_ms FROM rib_best_changes ORDER BY time_ms") }
        #expect(kept == [t0 + 2000, t0 + 3000, t0 + 4000])
    }

    /// Four prefixes at one router, ten 60 s bins each period: P1 moves from A to B with the same
    /// demand (routing), P2 doubles on A (demand), P3 stops on B, P4 starts on C.
    @Test func splitByHand() throws {
        let (path, store) = try Self.database()
        var rows: [(String, String, String, Int, UInt64)] = []
        let r = "192.0.2.1"
        for bin in 0..<10 {
            rows.append((r, "198.51.100.0/24", "10.0.0.1", bin, 7_500))      // 1,000 bit/s
            rows.append((r, "198.51.101.0/24", "10.0.0.1", bin, 3_750))      // 500 bit/s
            rows.append((r, "198.51.102.0/24", "10.0.0.2", bin, 750))        // 100 bit/s
        }
        for bin in 10..<20 {
            rows.append((r, "198.51.100.0/24", "10.0.0.2", bin, 7_500))
            rows.append((r, "198.51.101.0/24", "10.0.0.1", bin, 7_500))
            rows.append((r, "198.51.103.0/24", "10.0.0.3", bin, 1_500))      // 200 bit/s
        }
        try Self.write(store, rows)
        let source = try ReportSource(path: path, table: "p", binSeconds: 60, utc: true)
        let baseline = ReportQuery(from: Self.start, to: Self.start + 600), range = ReportQuery(from: Self.start + 600, to: Self.start + 1200)
        let (entries, moved, _, _) = try EgressShifts.split(source, baseline: baseline, query: range, by: ["peer_ip_dst"])
        let byExit = Dictionary(uniqueKeysWithValues: entries.map { ($0.key[0], $0) })
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-6 }
        let a = try #require(byExit["10.0.0.1"]), b = try #require(byExit["10.0.0.2"]), c = try #require(byExit["10.0.0.3"])
        #expect(close(a.baseline, 1_500) && close(a.current, 1_000) && close(a.routing, -1_000) && close(a.demand, 500))
        #expect(close(b.baseline, 100) && close(b.current, 1_000) && close(b.routing, 1_000) && close(b.demand, -100))
        #expect(close(c.baseline, 0) && close(c.current, 200) && close(c.routing, 0) && close(c.demand, 200))
        #expect(moved == 1)
        #expect(entries.map { $0.key[0] } == ["10.0.0.2", "10.0.0.1", "10.0.0.3"], "largest change first")
        let t = try EgressShifts.splitReport(source, baseline: baseline, query: range, by: ["peer_ip_dst"])
        #expect(t.columns == ["peer_ip_dst", "avg_bps_baseline", "avg_bps", "change_bps", "demand_bps", "routing_bps"])
        #expect(t.rows[0] == [.text("10.0.0.2"), .rate(100), .rate(1_000), .rate(900), .rate(-100), .rate(1_000)])
        #expect(t.notes.contains { $0.contains("demand 600 bit/s, routing 0 bit/s") && $0.contains("1 router prefix(es) changed exits") }, "\(t.notes)")
        #expect(t.notes.prefix(2) == [
            "# baseline: 10 bins of 60 s from 2025-12-01 00:00:00 to 2025-12-01 00:10:00 (bin size given)",
            "# range: 10 bins of 60 s from 2025-12-01 00:10:00 to 2025-12-01 00:20:00 (bin size given)",
        ], "\(t.notes)")
        #expect { try EgressShifts.split(source, baseline: baseline, query: range, by: ["peer_ip_src"]) } throws: { $0 is EgressShifts.Error }
    }

    /// Random routers, prefixes and exits (each prefix split over one or two exits in each
    /// period with its own demand): per exit the parts add up to the change, routing sums to zero
    /// over all exits, a split per router and exit adds up to the split per exit, and against a
    /// computation straight from the generated rows.
    @Test(arguments: [1, 2, 3, 4])
    func randomSplitsAgainstTheGeneratedRows(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let (path, store) = try Self.database()
        let routers = ["192.0.2.1", "192.0.2.2", "192.0.2.3"], exits = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
        var rows: [(String, String, String, Int, UInt64)] = []
        // Expected bit/s per (router, prefix, exit) in each period, straight from the rows.
        var truth: [[String]: (Double, Double)] = [:]
        for r in routers {
            for p in 0..<12 {
                let prefix = "198.51.\(p).0/24"
                for period in 0..<2 {
                    if random(5) == 0 { continue }  // no traffic in this period
                    let used = [exits[random(exits.count)], exits[random(exits.count)]]
                    for bin in (period * 8)..<(period * 8 + 8) {
                        for e in used {
                            let bytes = UInt64(random(1_000) + 1)
                            rows.append((r, prefix, e, bin, bytes))
                            let bps = Double(bytes) * 8 / 480
                            if period == 0 { truth[[r, prefix, e], default: (0, 0)].0 += bps } else { truth[[r, prefix, e], default: (0, 0)].1 += bps }
                        }
                    }
                }
            }
        }
        try Self.write(store, rows)
        let source = try ReportSource(path: path, table: "p", binSeconds: 60, utc: true)
        let baseline = ReportQuery(from: Self.start, to: Self.start + 480), range = ReportQuery(from: Self.start + 480, to: Self.start + 960)
        let perExit = try EgressShifts.split(source, baseline: baseline, query: range, by: ["peer_ip_dst"]).entries
        let perCell = try EgressShifts.split(source, baseline: baseline, query: range, by: ["peer_ip_src", "peer_ip_dst"]).entries
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-6 * max(1, abs(a), abs(b)) }
        // The generated rows' own decomposition.
        var expected: [String: (base: Double, now: Double, routing: Double, demand: Double)] = [:]
        for r in routers {
            for p in 0..<12 {
                let prefix = "198.51.\(p).0/24"
                let d1 = exits.reduce(0.0) { $0 + (truth[[r, prefix, $1]]?.0 ?? 0) }
                let d2 = exits.reduce(0.0) { $0 + (truth[[r, prefix, $1]]?.1 ?? 0) }
                for e in exits {
                    let t1 = truth[[r, prefix, e]]?.0 ?? 0, t2 = truth[[r, prefix, e]]?.1 ?? 0
                    let s1 = d1 > 0 ? t1 / d1 : 0
                    let s2 = d2 > 0 ? t2 / d2 : s1
                    expected[e, default: (0, 0, 0, 0)].base += t1
                    expected[e, default: (0, 0, 0, 0)].now += t2
                    expected[e, default: (0, 0, 0, 0)].routing += d1 * (s2 - s1)
                    expected[e, default: (0, 0, 0, 0)].demand += (d2 - d1) * s2
                }
            }
        }
        var routingSum = 0.0
        for e in perExit {
            let x = try #require(expected[e.key[0]])
            #expect(close(e.baseline, x.base) && close(e.current, x.now), "\(e.key)")
            #expect(close(e.routing, x.routing) && close(e.demand, x.demand), "\(e.key): \(e.routing) vs \(x.routing), \(e.demand) vs \(x.demand)")
            #expect(close(e.demand + e.routing, e.change))
            routingSum += e.routing
        }
        #expect(abs(routingSum) < 1e-6)
        for e in perExit {
            let cells = perCell.filter { $0.key[1] == e.key[0] }
            #expect(close(cells.reduce(0) { $0 + $1.routing }, e.routing) && close(cells.reduce(0) { $0 + $1.demand }, e.demand))
        }
    }
}
