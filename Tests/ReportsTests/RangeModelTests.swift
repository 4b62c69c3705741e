import Aggregation
import Foundation
import GRDB
import NetCore
import Reports
@testable import Storage
import Testing

/// The cases of the issue where reports disagreed with their own definition ("rates are bytes × 8
/// over the range, empty bins counting as zero"), each on a table made for it.
@Suite struct RangeModelTests {
    static let day0 = 1_793_491_200  // 2026-11-01 00:00:00 UTC

    static func temporaryPath() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-range-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("r.db").path
    }

    /// A table of peer_ip_src × peer_as_dst written by the store; `bytes(router, bin)` nil for no row.
    static func matrix(
        bins: Int, bin: Int = 300, recorded: Bool = false, _ bytes: (Int, Int) -> UInt64?
    ) throws -> String {
        let path = try temporaryPath()
        let store = try SQLiteStore(path: path)
        let schema = try TableSchema(table: "matrix", primitives: [.peerSrcIP, .peerDstAS], tableVersion: nil, numericProtocols: false)
        try store.prepare(
            schema, rollup: true, utc: true,
            binning: recorded ? TimeBinning(unit: .seconds, count: bin, roundoff: "", now: day0) : nil)
        var rows: [BinnedKey: Counters] = [:]
        for i in 0..<bins {
            for router in 0..<2 {
                guard let b = bytes(router, i) else { continue }
                var k = FlowKey()
                k.peerSrc = IPAddress("192.0.2.\(router + 1)")!
                k.peerDstAS = UInt32(65001 + router)
                rows[BinnedKey(key: k, bin: UInt32(day0 + i * bin))] = Counters(packets: 1, bytes: b, flows: 1)
            }
        }
        try store.write(table: "matrix", rows: rows, now: day0 + bins * bin, utc: true)
        return path
    }

    /// Least squares through (t, y) by the textbook formula.
    static func slope(_ points: [(t: Double, y: Double)]) -> Double {
        let n = Double(points.count)
        let mt = points.reduce(0) { $0 + $1.t } / n, my = points.reduce(0) { $0 + $1.y } / n
        let num = points.reduce(0) { $0 + ($1.t - mt) * ($1.y - my) }, den = points.reduce(0) { $0 + ($1.t - mt) * ($1.t - mt) }
        return num / den
    }

    /// Issue 1: four days; router 2 rises but went quiet for the last six hours. Without a range
    /// every capacity line walks the table's 1,152 bins: router 2's trend falls, averages count
    /// the quiet bins, and the header's total is the whole table's.
    @Test func capacityLinesWalkTheTablesBins() throws {
        let bins = 4 * 288
        let path = try Self.matrix(bins: bins) { router, i in
            router == 0 ? 100_000 + UInt64(i) * 10 : (i < bins - 72 ? 100_000 + UInt64(i) * 10 : nil)
        }
        let source = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        let entries = try CapacityEntry.parse("""
            steady peer_ip_src=192.0.2.1 1G
            quiet peer_src_ip=192.0.2.2 1G
            """, file: "c")
        let t = try Reports.capacity(source, entries, query: ReportQuery(), threshold: 0.8, now: Self.day0)
        for (row, router) in zip(t.rows, [0, 1]) {
            var points: [(t: Double, y: Double)] = []
            var total = 0.0
            for i in 0..<bins {
                let b = router == 0 || i < bins - 72 ? Double(100_000 + i * 10) : 0
                total += b
                points.append((Double(Self.day0 + i * 300), b * 8 / 300))
            }
            guard case .rate(let perDay) = row[6], case .percent(let avg) = row[2] else { Issue.record("\(row)"); continue }
            #expect(abs(perDay - Self.slope(points) * 86_400) < 1e-6 * abs(perDay), "\(row)")
            #expect(abs(avg - total * 8 / Double(bins * 300) / 1e9 * 100) < 1e-12)
        }
        if case .rate(let quiet) = t.rows[1][6] { #expect(quiet < 0, "a router that went quiet has a falling trend") }
        if case .rate(let steady) = t.rows[0][6] { #expect(abs(steady - 10.0 * 8 / 300 / 300 * 86_400) < 1e-6) }
        // 1,152 bins of both routers, 1,080 of router 2's.
        let all = (0..<bins).reduce(0) { $0 + 100_000 + $1 * 10 } + (0..<(bins - 72)).reduce(0) { $0 + 100_000 + $1 * 10 }
        #expect(t.notes[0].hasPrefix("# 1152 bins of 300 s from 2026-11-01 00:00:00 to 2026-11-05 00:00:00 (bin size inferred"), "\(t.notes)")
        #expect(t.notes[0].contains(String(format: " %.2f MB in all", Double(all) / 1e6)), "\(t.notes), \(all)")
    }

    /// Issue 2: `--last 6h` at a time inside a bin is the 72 five-minute bins ending with the one
    /// holding now, one row each: no row between two bins.
    @Test func seriesOverTheLastHoursHasOneRowPerBin() throws {
        let path = try Self.matrix(bins: 288, recorded: true) { _, i in UInt64(1_000 + i) }
        let source = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        #expect(source.bin == BinSize(seconds: 300, origin: .recorded))
        let now = Self.day0 + 287 * 300 + 137
        let b = try Breakdown.compute(source, by: ["peer_ip_src"], query: ReportQuery(last: .init(seconds: 6 * 3600, now: now)))
        let s = try Reports.series(b, limit: 2, utc: true)
        #expect(s.rows.count == 72)
        #expect(s.rows.first?[0] == .text("2026-11-01 18:00:00") && s.rows.last?[0] == .text("2026-11-01 23:55:00"))
        #expect(s.rows.allSatisfy { $0[1] != .rate(0) })
        // 7 minutes: the two bins that cover them.
        let short = try Breakdown.compute(source, by: [], query: ReportQuery(last: .init(seconds: 420, now: now)))
        #expect(short.binCount == 2 && short.firstBin == Self.day0 + 286 * 300)
    }

    /// Issue 3: the bin size of a table alone. One bin and nothing recorded: 60 s, said so; the
    /// collector's record: its bin; two bins three minutes apart: 180 s.
    @Test func binSizeOfATableAlone() throws {
        for recorded in [false, true] {
            let path = try Self.temporaryPath()
            let store = try SQLiteStore(path: path)
            let schema = try TableSchema(
                table: "acct", primitives: [.srcHost, .dstHost, .srcPort, .dstPort, .proto], tableVersion: 1, numericProtocols: false)
            try store.prepare(schema, binning: recorded ? TimeBinning(unit: .minutes, count: 1, roundoff: "m", now: Self.day0) : nil)
            var k = FlowKey()
            k.proto = 6
            try store.write(table: "acct", rows: [BinnedKey(key: k, bin: UInt32(Self.day0)): Counters(packets: 859, bytes: 228_239, flows: 1)],
                            now: Self.day0 + 60, utc: true)
            let source = try ReportSource(path: path, table: "acct", binSeconds: nil, utc: true)
            #expect(source.bin == BinSize(seconds: 60, origin: recorded ? .recorded : .assumed(stamps: 1)))
            let top = Reports.top(try Breakdown.compute(source, by: ["proto"], query: ReportQuery()), limit: 5)
            // pmacct's v1 table has no flows column: the report has none either.
            #expect(top.columns == ["ip_proto", "bytes", "packets", "avg_bps", "peak_bps", "p95_bps", "share", "cumulative"])
            #expect(top.rows[0][3] == .rate(228_239.0 * 8 / 60))
            #expect(top.render(.text).contains("30.43 kbit/s"))
            #expect(top.notes[0].contains("ASSUMED") == !recorded, "\(top.notes)")
            // Primitive names work wherever columns do.
            let filtered = try Breakdown.compute(source, by: ["dst_port"], query: ReportQuery(filters: [("proto", "tcp")]))
            #expect(filtered.totalBytes == 228_239)
        }
        let path = try Self.matrix(bins: 2, bin: 180) { _, _ in 9_000 }
        let source = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        #expect(source.bin == BinSize(seconds: 180, origin: .inferred(stamps: 2)))
        let b = try Breakdown.compute(source, by: ["peer_ip_src"], query: ReportQuery())
        #expect(b.averageBitsPerSecond(b.entries[0]) == 9_000.0 * 8 / 180)
    }

    /// Issue 4: without a range, a 12-hour gap counts: 60 hours of traffic over 72 hours of bins.
    @Test func gapsCountInAveragesAndPercentiles() throws {
        let path = try Self.matrix(bins: 864) { router, i in router == 0 && (i < 288 || i >= 432) ? 3_000 : nil }
        let source = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(source, by: ["peer_ip_src"], query: ReportQuery())
        #expect(b.binCount == 864)
        #expect(b.averageBitsPerSecond(b.entries[0]) == Double(720 * 3_000) * 8 / Double(864 * 300))
        // 144 empty bins of 864 (16.7 %): the 95th percentile is still a full bin.
        #expect(b.percentileBitsPerSecond(b.entries[0]) == 3_000.0 * 8 / 300)
        #expect(b.percentileBitsPerSecond(b.entries[0], 10) == 0)
    }

    /// Issue 5: a reversed range has no bin; month bins are refused; a table whose stamps are all
    /// pmacct's zero (a view without sql_history) says why it has no bins.
    @Test func rangesAndBinsThatCannotBe() throws {
        let path = try Self.matrix(bins: 10) { _, _ in 100 }
        let source = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        let reversed = try Breakdown.compute(source, by: ["peer_ip_src"], query: ReportQuery(from: Self.day0 + 3000, to: Self.day0))
        #expect(reversed.binCount == 0 && reversed.entries.isEmpty)
        try SQLiteStore(path: path).pool.write { db in
            try TableRegistry.record(
                db, table: "matrix", binning: TimeBinning(unit: .months, count: 1, roundoff: "", now: Self.day0), now: Self.day0, utc: true)
        }
        #expect(throws: ReportSource.Error.self) { try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true) }
        #expect(try ReportSource(path: path, table: "matrix", binSeconds: 86_400, utc: true).binSeconds == 86_400)

        let flat = try Self.temporaryPath()
        let store = try SQLiteStore(path: flat)
        try store.prepare(try TableSchema(table: "flat", primitives: [.srcHost], tableVersion: nil, numericProtocols: false))
        try store.write(table: "flat", rows: [BinnedKey(key: FlowKey(), bin: 0): Counters(packets: 1, bytes: 1, flows: 1)], now: Self.day0, utc: true)
        #expect(throws: ReportSource.Error.self) { try ReportSource(path: flat, table: "flat", binSeconds: nil, utc: true) }
    }

    /// pmacct's grid is anchored at the collector's start, not on the hour: bins at :03, :08, …
    /// are the table's bins, and a range on the hour starts with the first of them after it.
    @Test func theGridIsTheTables() throws {
        let path = try Self.temporaryPath()
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "t", primitives: [.peerDstAS], tableVersion: nil, numericProtocols: false))
        var rows: [BinnedKey: Counters] = [:]
        for i in 0..<24 { rows[BinnedKey(key: FlowKey(), bin: UInt32(Self.day0 + 180 + i * 300))] = Counters(packets: 1, bytes: 100, flows: 1) }
        try store.write(table: "t", rows: rows, now: Self.day0 + 7200, utc: true)
        let source = try ReportSource(path: path, table: "t", binSeconds: nil, utc: true)
        let hour = try Breakdown.compute(source, by: [], query: ReportQuery(from: Self.day0 + 3600, to: Self.day0 + 7200))
        #expect(hour.binCount == 12 && hour.firstBin == Self.day0 + 3600 + 180 && hour.totalBytes == 1_200)
        let s = try Reports.series(hour, limit: 1, utc: true)
        #expect(s.rows.map { $0[0] } == (0..<12).map { .text(StampText.format(Self.day0 + 3780 + $0 * 300, utc: true)) })
    }
}
