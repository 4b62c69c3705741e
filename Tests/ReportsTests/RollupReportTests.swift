import Aggregation
import Foundation
import GRDB
import NetCore
import Reports
@testable import Storage
import Testing

/// Reports over whole days read the daily rollup: the same numbers as from the table.
@Suite struct RollupReportTests {
    static let bin = 300
    static let day0 = 1_793_491_200  // 2026-11-01 00:00:00 UTC

    /// Four days and a half of a matrix view with its rollup, written in several flushes, one
    /// of them late (bins of an earlier day written again).
    static func database() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-rollup-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("r.db").path
        let store = try SQLiteStore(path: path)
        let schema = try TableSchema(table: "matrix", primitives: [.peerSrcIP, .inIface, .peerDstAS], tableVersion: nil, numericProtocols: false)
        try store.prepare(schema, rollup: true, utc: true)
        var state: UInt64 = 20_261_101  // a fixed sequence: the same database every run
        func next(_ n: UInt64) -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (state >> 33) % n
        }
        let bins = 4 * 288 + 150
        var flushes: [[BinnedKey: Counters]] = [[:], [:]]
        for i in 0..<bins {
            let b = UInt32(day0 + i * bin)
            for r in 0..<3 {
                for asn in [UInt32(65001), 65002, 65003, 65004] where next(4) != 0 {
                    var k = FlowKey()
                    k.peerSrc = IPAddress("192.0.2.\(r + 1)")!
                    k.inIface = UInt32(10 + next(3))
                    k.peerDstAS = asn
                    let c = Counters(packets: next(50) + 1, bytes: next(1_000_000) + 64, flows: next(5) + 1)
                    flushes[i < 2 * 288 ? 0 : 1][BinnedKey(key: k, bin: b), default: Counters()].add(c)
                }
            }
        }
        for rows in flushes { try store.write(table: "matrix", rows: rows, now: day0 + bins * bin, utc: true) }
        // Late: bins of day 1 again.
        var late: [BinnedKey: Counters] = [:]
        for (k, c) in flushes[0] where Int(k.bin) >= day0 + 86_400 + 3600 && Int(k.bin) < day0 + 86_400 + 7200 { late[k] = c }
        try store.write(table: "matrix", rows: late, now: day0 + bins * bin + 60, utc: true)
        return path
    }

    func same(_ a: Breakdown, _ b: Breakdown, _ what: String) {
        #expect(a.entries.map(\.key) == b.entries.map(\.key), "\(what)")
        #expect(a.entries.map(\.bytes) == b.entries.map(\.bytes), "\(what)")
        #expect(a.entries.map(\.packets) == b.entries.map(\.packets), "\(what)")
        #expect(a.entries.map(\.flows) == b.entries.map(\.flows), "\(what)")
        #expect(a.entries.map(\.bins) == b.entries.map(\.bins), "\(what)")
        #expect(a.binCount == b.binCount && a.firstBin == b.firstBin, "\(what)")
    }

    @Test func wholeDaysFromTheRollupMatchTheTable() throws {
        let path = try Self.database()
        let source = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        let d = 86_400
        let queries = [
            ReportQuery(),
            ReportQuery(from: Self.day0, to: Self.day0 + 4 * d),
            ReportQuery(from: Self.day0 + 1234, to: Self.day0 + 3 * d + 7 * Self.bin),
            ReportQuery(from: Self.day0 + d),
            ReportQuery(to: Self.day0 + 2 * d + 5),
            ReportQuery(from: Self.day0 + d + 600, to: Self.day0 + 2 * d + 600),
            ReportQuery(from: Self.day0 - 10 * d, to: Self.day0 + 10 * d),
            ReportQuery(from: Self.day0, to: Self.day0 + 4 * d, filters: [("peer_ip_src", "192.0.2.2")]),
        ]
        for (n, q) in queries.enumerated() {
            for by in [["peer_as_dst"], ["peer_ip_src", "peer_as_dst"], ["iface_in", "peer_ip_src", "peer_as_dst"], []] {
                let fromRollup = try Breakdown.compute(source, by: by, query: q)
                var tableOnly = q
                tableOnly.useRollup = false
                let fromTable = try Breakdown.compute(source, by: by, query: tableOnly)
                #expect(!fromTable.entries.isEmpty)
                same(fromRollup, fromTable, "query \(n) by \(by)")
                if q.from != nil && q.to != nil {
                    let volumes = try Breakdown.compute(source, by: by, query: q, detail: false)
                    #expect(volumes.entries.map(\.bytes) == fromTable.entries.map(\.bytes))
                    #expect(volumes.entries.allSatisfy { $0.bins.isEmpty })
                    #expect(volumes.binCount == fromTable.binCount)
                }
            }
        }
        // A primitive the rollup lacks: the table answers.
        try SQLiteStore(path: path).pool.write { db in
            try db.execute(sql: "ALTER TABLE matrix ADD COLUMN tag INT NOT NULL DEFAULT 0")
        }
        let tagged = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        same(try Breakdown.compute(tagged, by: ["tag"], query: ReportQuery()), try Breakdown.compute(tagged, by: ["tag"], query: ReportQuery(useRollup: false)), "tag")
    }

    /// Proof that whole days come from the rollup: with day 1 gone from the table, a report over
    /// days 0 to 2 still sees it, a report over part of day 1 does not.
    @Test func wholeDaysAreReadFromTheRollup() throws {
        let path = try Self.database()
        let source = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        let q = ReportQuery(from: Self.day0, to: Self.day0 + 3 * 86_400)
        let before = try Breakdown.compute(source, by: ["peer_as_dst"], query: q)
        try SQLiteStore(path: path).pool.write { db in
            try db.execute(sql: "DELETE FROM matrix WHERE stamp_inserted >= '2026-11-02' AND stamp_inserted < '2026-11-03'")
        }
        same(try Breakdown.compute(source, by: ["peer_as_dst"], query: q), before, "rollup")
        var tableOnly = q
        tableOnly.useRollup = false
        #expect(try Breakdown.compute(source, by: ["peer_as_dst"], query: tableOnly).totalBytes < before.totalBytes)
        let partial = ReportQuery(from: Self.day0 + 86_400 + 300, to: Self.day0 + 2 * 86_400)
        #expect(try Breakdown.compute(source, by: ["peer_as_dst"], query: partial).entries.isEmpty)
    }
}
