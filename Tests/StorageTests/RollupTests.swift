import Aggregation
import Foundation
import GRDB
import NetCore
import Testing
@testable import Storage

/// The daily rollup the store keeps beside a view's table, checked against the table itself.
@Suite struct RollupTests {
    static let day0 = 1_793_491_200  // 2026-11-01 00:00:00 UTC
    static let bin = 300

    func temporaryPath() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-rollup-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("flows.db").path
    }

    static let primitives: [Primitive] = [.peerSrcIP, .inIface, .peerDstAS]

    func schema(_ table: String = "matrix", _ primitives: [Primitive] = Self.primitives) throws -> TableSchema {
        try TableSchema(table: table, primitives: primitives, tableVersion: nil, numericProtocols: false)
    }

    func key(_ router: String, _ iface: UInt32, _ asn: UInt32) -> FlowKey {
        var k = FlowKey()
        k.peerSrc = IPAddress(router)!
        k.inIface = iface
        k.peerDstAS = asn
        return k
    }

    /// Rows of a few keys over `bins` bins from `first`, bytes varying by key and bin.
    func flush(first: Int, bins: Int, scale: UInt64 = 1) -> [BinnedKey: Counters] {
        var rows: [BinnedKey: Counters] = [:]
        for i in 0..<bins {
            let b = UInt32(first + i * Self.bin)
            rows[BinnedKey(key: key("192.0.2.1", 10, 65001), bin: b)] = Counters(packets: 2, bytes: 1_000 * scale + UInt64(i), flows: 1)
            if i % 3 == 0 {
                rows[BinnedKey(key: key("192.0.2.1", 11, 65002), bin: b)] = Counters(packets: 1, bytes: 77 * scale, flows: 2)
            }
            if i % 7 == 2 {
                rows[BinnedKey(key: key("192.0.2.2", 10, 65001), bin: b)] = Counters(packets: 5, bytes: 5_000 * scale, flows: 1)
            }
        }
        return rows
    }

    /// What the rollup must hold, computed from the table without the bin-list functions:
    /// key and day → packets, bytes, flows and (second of day → bytes).
    struct DayRow: Equatable {
        var packets: Int64 = 0, bytes: Int64 = 0, flows: Int64 = 0
        var bins: [UInt32: Int64] = [:]
    }

    func expected(_ store: SQLiteStore, table: String = "matrix", from: String = "0000-00-00 00:00:00") throws -> [String: DayRow] {
        try store.read { db in
            var out: [String: DayRow] = [:]
            let rows = try Row.fetchAll(db, sql: """
                SELECT peer_ip_src, iface_in, peer_as_dst, stamp_inserted, packets, bytes, flows FROM \(table)
                WHERE stamp_inserted >= ?
                """, arguments: [from])
            for r in rows {
                let stamp: String = r["stamp_inserted"]
                let k = "\(r["peer_ip_src"] as String)|\(r["iface_in"] as Int)|\(r["peer_as_dst"] as Int)|\(stamp.prefix(10)) 00:00:00"
                var d = out[k, default: DayRow()]
                d.packets += r["packets"]
                d.bytes += r["bytes"]
                d.flows += r["flows"]
                let parts = stamp.suffix(8).split(separator: ":").map { UInt32($0)! }
                d.bins[parts[0] * 3600 + parts[1] * 60 + parts[2], default: 0] += r["bytes"] as Int64
                out[k] = d
            }
            return out
        }
    }

    func rollup(_ store: SQLiteStore, table: String = "matrix_daily") throws -> [String: DayRow] {
        try store.read { db in
            var out: [String: DayRow] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT * FROM \(table)") {
                let k = "\(r["peer_ip_src"] as String)|\(r["iface_in"] as Int)|\(r["peer_as_dst"] as Int)|\(r["stamp_inserted"] as String)"
                let blob: Data = r["bins"] ?? Data()
                let entries = blob.withUnsafeBytes { BinList.decode($0) }
                #expect(entries != nil)
                #expect(entries.map { $0.map(\.second) == $0.map(\.second).sorted() } ?? false, "bins sorted by second")
                var bins: [UInt32: Int64] = [:]
                for e in entries ?? [] {
                    #expect(bins[e.second] == nil, "one entry per second")
                    bins[e.second] = e.bytes
                }
                out[k] = DayRow(packets: r["packets"], bytes: r["bytes"], flows: r["flows"], bins: bins)
            }
            return out
        }
    }

    func coverage(_ store: SQLiteStore, _ base: String = "matrix") throws -> RollupCoverage? {
        try store.read { try RollupCoverage.read($0, base: base) }
    }

    @Test func binListFunctionsAddUp() throws {
        let store = try SQLiteStore(path: temporaryPath())
        let a = BinList.encode([.init(second: 600, bytes: 5), .init(second: 0, bytes: 1), .init(second: 600, bytes: 2)])
        #expect(a.withUnsafeBytes { BinList.decode($0) } == [.init(second: 0, bytes: 1), .init(second: 600, bytes: 7)])
        let b = BinList.encode([.init(second: 300, bytes: 10), .init(second: 600, bytes: 1)])
        try store.read { db in
            let sum = try Data.fetchOne(db, sql: "SELECT pathflow_bins_add(?, ?)", arguments: [Data(a), Data(b)])!
            #expect(sum.withUnsafeBytes { BinList.decode($0) } == [.init(second: 0, bytes: 1), .init(second: 300, bytes: 10), .init(second: 600, bytes: 8)])
            let withNull = try Data.fetchOne(db, sql: "SELECT pathflow_bins_add(NULL, ?)", arguments: [Data(b)])!
            #expect(withNull == Data(b))
            let built = try Data.fetchOne(db, sql: """
                SELECT pathflow_bins(s, b) FROM (SELECT 900 AS s, 4 AS b UNION ALL SELECT 300, 1 UNION ALL SELECT 900, 6)
                """)!
            #expect(built.withUnsafeBytes { BinList.decode($0) } == [.init(second: 300, bytes: 1), .init(second: 900, bytes: 10)])
            let merged = try Data.fetchOne(db, sql: "SELECT pathflow_bins_merge(l) FROM (SELECT ? AS l UNION ALL SELECT ? UNION ALL SELECT NULL)",
                                           arguments: [Data(a), Data(b)])!
            #expect(merged.withUnsafeBytes { BinList.decode($0) } == [.init(second: 0, bytes: 1), .init(second: 300, bytes: 10), .init(second: 600, bytes: 8)])
            // A list cut short keeps its whole entries when added to (a flush must not fail on
            // it); merged for a report, it is an SQL error rather than a wrong sum.
            let cut = try Data.fetchOne(db, sql: "SELECT pathflow_bins_add(CAST(? || x'0102' AS BLOB), NULL)", arguments: [Data(b)])!
            #expect(cut == Data(b))
            #expect(throws: DatabaseError.self) { try Data.fetchOne(db, sql: "SELECT pathflow_bins_merge(x'01')") }
            #expect(throws: DatabaseError.self) { try Data.fetchOne(db, sql: "SELECT pathflow_bins(-1, 5)") }
        }
    }

    /// Large groups are added up per minute instead of sorted; a second off the minute (bins of
    /// seconds) falls back to sorting: the same lists either way.
    @Test func largeMergesAddUpTheSame() throws {
        let store = try SQLiteStore(path: temporaryPath())
        for offMinute in [false, true] {
            var lists: [Data] = []
            var want: [UInt32: Int64] = [:]
            for k in 0..<40 {
                var entries: [BinList.Entry] = []
                for m in stride(from: k % 7, to: 1_440, by: 7) {
                    let second = UInt32(m * 60) + (offMinute && k == 39 ? 30 : 0)
                    entries.append(.init(second: second, bytes: Int64(k * 1_000 + m)))
                    want[second, default: 0] += Int64(k * 1_000 + m)
                }
                lists.append(Data(BinList.encode(entries)))
            }
            let merged = try store.read { db in
                try db.execute(sql: "CREATE TEMP TABLE l (b BLOB)")
                for l in lists { try db.execute(sql: "INSERT INTO l VALUES (?)", arguments: [l]) }
                defer { try? db.execute(sql: "DROP TABLE l") }
                return try Data.fetchOne(db, sql: "SELECT pathflow_bins_merge(b) FROM l")!
            }
            #expect(lists.reduce(0) { $0 + $1.count } / BinList.entrySize >= BinList.denseThreshold)
            let got = merged.withUnsafeBytes { BinList.decode($0) }
            #expect(got == want.sorted { $0.key < $1.key }.map { BinList.Entry(second: $0.key, bytes: $0.value) }, "off the minute: \(offMinute)")
        }
    }

    /// Several flushes over three days, the same bins written twice (sql_refresh_time shorter
    /// than the bin), and late rows into an earlier day: the rollup is the table summed per day.
    @Test func everyFlushIsRolledUp() throws {
        let store = try SQLiteStore(path: temporaryPath())
        try store.prepare(try schema(), rollup: true, utc: true)
        #expect(try coverage(store) == RollupCoverage(
            table: "matrix_daily", completeFrom: SQLTime.zero, writtenUntil: SQLTime.zero,
            columns: ["peer_as_dst", "peer_ip_src", "iface_in", "packets", "bytes", "flows", "stamp_inserted", "bins"]))
        // Day 0 from 22:00, all of day 1, the first hour of day 2; then bins of day 1 again.
        try store.write(table: "matrix", rows: flush(first: Self.day0 + 22 * 3600, bins: 24 + 288 + 12), now: Self.day0 + 2 * 86_400, utc: true)
        try store.write(table: "matrix", rows: flush(first: Self.day0 + 86_400 + 3600, bins: 30, scale: 3), now: Self.day0 + 2 * 86_400, utc: true)
        try store.write(table: "matrix", rows: flush(first: Self.day0 + 23 * 3600, bins: 2, scale: 5), now: Self.day0 + 2 * 86_400 + 60, utc: true)
        let want = try expected(store)
        #expect(want.count == 9)
        #expect(try rollup(store) == want)
        #expect(try coverage(store)?.writtenUntil == "2026-11-03 00:55:00")
        // Days 0 and 1 are whole in the rollup; day 2 may still grow.
        #expect(try coverage(store)?.wholeDays(lower: nil, upper: nil, utc: true)?.end == "2026-11-03 00:00:00")
        // Built again from the table: the same rows.
        let again = try store.rebuildRollup(table: "matrix")
        #expect(again?.days == 3 && again?.rows == want.count)
        #expect(try rollup(store) == want)
    }

    @Test func wholeDaysInsideARange() throws {
        let c = RollupCoverage(table: "t_daily", completeFrom: "2026-11-02 00:00:00", writtenUntil: "2026-11-06 10:05:00", columns: [])
        #expect(c.wholeDays(lower: nil, upper: nil, utc: true)! == ("2026-11-02 00:00:00", "2026-11-06 00:00:00"))
        #expect(c.wholeDays(lower: "2026-11-03 00:00:00", upper: "2026-11-05 00:00:00", utc: true)! == ("2026-11-03 00:00:00", "2026-11-05 00:00:00"))
        #expect(c.wholeDays(lower: "2026-11-02 00:05:00", upper: "2026-11-05 23:55:00", utc: true)! == ("2026-11-03 00:00:00", "2026-11-05 00:00:00"))
        #expect(c.wholeDays(lower: "2026-10-01 00:00:00", upper: "2026-12-01 00:00:00", utc: true)! == ("2026-11-02 00:00:00", "2026-11-06 00:00:00"))
        #expect(c.wholeDays(lower: "2026-11-03 00:05:00", upper: "2026-11-04 00:00:00", utc: true) == nil)
        #expect(c.wholeDays(lower: "2026-11-06 00:00:00", upper: nil, utc: true) == nil)
        // Month and year ends.
        #expect(RollupSchema.nextDay("2026-11-30 23:55:00", utc: true) == "2026-12-01 00:00:00")
        #expect(RollupSchema.nextDay("2028-02-28 10:00:00", utc: true) == "2028-02-29 00:00:00")
        #expect(RollupSchema.nextDay("2026-12-31 00:00:00", utc: true) == "2027-01-01 00:00:00")
        #expect(RollupSchema.secondOfDay("2026-11-30 23:55:10") == 86_110)
    }

    /// A table written without the rollup is covered from the day after its newest stamp; so
    /// is one a writer without the rollup wrote to since; `pathflow rollup` covers it all.
    @Test func tablesWrittenWithoutItAreCoveredFromTheNextDay() throws {
        let path = temporaryPath()
        do {
            let plain = try SQLiteStore(path: path)
            try plain.prepare(try schema())
            try plain.write(table: "matrix", rows: flush(first: Self.day0 + 3600, bins: 10), now: Self.day0 + 7200, utc: true)
        }
        do {
            let store = try SQLiteStore(path: path)
            try store.prepare(try schema(), rollup: true, utc: true)
            #expect(try coverage(store)?.completeFrom == "2026-11-02 00:00:00")
            #expect(try coverage(store)?.writtenUntil == "2026-11-01 01:45:00")
            try store.write(table: "matrix", rows: flush(first: Self.day0 + 86_400 + 600, bins: 3), now: Self.day0 + 90_000, utc: true)
            #expect(try coverage(store)?.writtenUntil == "2026-11-02 00:20:00")
            #expect(try rollup(store) == expected(store, from: "2026-11-02 00:00:00"))
        }
        do {
            // Rollup off for a while: newer stamps the rollup never saw.
            let plain = try SQLiteStore(path: path)
            try plain.prepare(try schema())
            try plain.write(table: "matrix", rows: flush(first: Self.day0 + 2 * 86_400, bins: 2), now: Self.day0 + 2 * 86_400 + 900, utc: true)
        }
        let store = try SQLiteStore(path: path)
        try store.prepare(try schema(), rollup: true, utc: true)
        #expect(try coverage(store)?.completeFrom == "2026-11-04 00:00:00")
        #expect(try coverage(store)?.writtenUntil == "2026-11-03 00:05:00")
        _ = try store.rebuildRollup(table: "matrix")
        #expect(try coverage(store)?.completeFrom == SQLTime.zero)
        #expect(try rollup(store) == expected(store))
    }

    /// The view's aggregate changed: the old rollup's rows cannot be kept, it starts again.
    @Test func anotherAggregateStartsTheRollupAgain() throws {
        let path = temporaryPath()
        do {
            let store = try SQLiteStore(path: path)
            try store.prepare(try schema(), rollup: true, utc: true)
            try store.write(table: "matrix", rows: flush(first: Self.day0, bins: 3), now: Self.day0 + 900, utc: true)
        }
        let store = try SQLiteStore(path: path)
        try store.pool.write { db in try db.execute(sql: "ALTER TABLE matrix ADD COLUMN peer_ip_dst CHAR(45) NOT NULL DEFAULT '0.0.0.0'") }
        try store.prepare(try schema("matrix", Self.primitives + [.peerDstIP]), rollup: true, utc: true)
        let c = try coverage(store)
        #expect(c?.columns.contains("peer_ip_dst") == true)
        #expect(c?.completeFrom == "2026-11-02 00:00:00")
        #expect(try store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM matrix_daily") } == 0)
    }
}
