import Aggregation
import Foundation
import NetCore
import Reports
@testable import Storage
import TestServers
import Testing

/// Reports on a table written by the collector's own store: 5-minute bins of a matrix view.
@Suite struct ReportsTests {
    static let bin = 300
    static let start = 1_764_547_200  // 2025-12-01 00:00:00 UTC

    /// Three routers × peer ASNs over 20 bins: router A sends 1,000 bytes to AS 65001 in every
    /// bin and a burst of 100,000 to AS 65002 in one bin; B sends 10 bytes per bin to 65001;
    /// C (a mapping miss) sends once to AS 0.
    static func database() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("r.db").path
        let store = try SQLiteStore(path: path)
        let primitives: [Primitive] = [.peerSrcIP, .peerDstAS, .dstNet, .dstMask]
        try store.prepare(try TableSchema(table: "matrix", primitives: primitives, tableVersion: nil, numericProtocols: false))
        func key(_ router: String, _ asn: UInt32, _ net: String, _ mask: UInt8) -> FlowKey {
            var k = FlowKey()
            k.peerSrc = IPAddress(router)!
            k.peerDstAS = asn
            k.dstNet = IPAddress(net)!
            k.dstMask = mask
            return k
        }
        var rows: [BinnedKey: Counters] = [:]
        for i in 0..<20 {
            let b = UInt32(start + i * bin)
            rows[BinnedKey(key: key("192.0.2.1", 65001, "198.51.100.0", 24), bin: b)] = Counters(packets: 10, bytes: 1_000, flows: 1)
            rows[BinnedKey(key: key("192.0.2.2", 65001, "203.0.113.0", 24), bin: b)] = Counters(packets: 1, bytes: 10, flows: 1)
        }
        rows[BinnedKey(key: key("192.0.2.1", 65002, "10.0.0.0", 8), bin: UInt32(start + 7 * bin))] = Counters(packets: 100, bytes: 100_000, flows: 2)
        rows[BinnedKey(key: key("192.0.2.3", 0, "0.0.0.0", 0), bin: UInt32(start))] = Counters(packets: 5, bytes: 500, flows: 1)
        try store.write(table: "matrix", rows: rows, now: start + 20 * bin, utc: true)
        return path
    }

    @Test func topRanksWithRatesAndShares() throws {
        let source = try ReportSource(path: try Self.database(), table: "matrix", binSeconds: nil, utc: true)
        #expect(source.binSeconds == Self.bin)
        #expect(source.primitives == ["net_dst", "mask_dst", "peer_as_dst", "peer_ip_src"])
        let b = try Breakdown.compute(source, by: ["peer_as_dst"], query: ReportQuery())
        #expect(b.binCount == 20)
        #expect(b.entries.map(\.key) == [["65002"], ["65001"], ["0"]])
        #expect(b.entries.map(\.bytes) == [100_000, 20_200, 500])
        let as65002 = b.entries[0], as65001 = b.entries[1]
        // 100,000 bytes in one bin of 20: average over 6,000 s, peak the bin, p95 (19th of 20 sorted) 0.
        #expect(b.averageBitsPerSecond(as65002) == 800_000.0 / 6_000)
        #expect(b.peakBitsPerSecond(as65002) == 800_000.0 / 300)
        #expect(b.percentileBitsPerSecond(as65002) == 0)
        #expect(b.percentileBitsPerSecond(as65001) == 1_010.0 * 8 / 300)
        let table = Reports.top(b, limit: 2)
        #expect(table.rows.count == 2)
        #expect(table.render(.csv).split(separator: "\n")[1] == "65002,100000,100,2,133,2667,0,82.85,82.85")
        #expect(table.render(.csv).split(separator: "\n")[2].hasSuffix(",16.74,99.59"))
    }

    @Test func rangesAndFiltersSelectRows() throws {
        let source = try ReportSource(path: try Self.database(), table: "matrix", binSeconds: nil, utc: true)
        // Bins 5 to 9 only, router 192.0.2.1 only.
        let q = ReportQuery(from: Self.start + 5 * Self.bin, to: Self.start + 10 * Self.bin, filters: [("peer_ip_src", "192.0.2.1")])
        let b = try Breakdown.compute(source, by: ["peer_as_dst"], query: q)
        #expect(b.binCount == 5)
        #expect(b.entries.map(\.bytes) == [100_000, 5_000])
        // Integer columns compare by value from text.
        let c = try Breakdown.compute(source, by: ["peer_ip_src"], query: ReportQuery(filters: [("peer_as_dst", "65001")]))
        #expect(c.entries.map(\.key) == [["192.0.2.1"], ["192.0.2.2"]])
        #expect(throws: ReportSource.Error.self) { try Breakdown.compute(source, by: ["nonsense"], query: ReportQuery()) }
        #expect(throws: ReportSource.Error.self) { try ReportSource(path: source.path, table: "nope", binSeconds: nil, utc: true) }
    }

    /// A range is grouped one bin at a time when the table has the collector's stamp index, in
    /// one query without it: the same keys, sums and bins either way, whatever the range's edges.
    @Test func slicedRangesGroupAsOneQuery() throws {
        let path = try Self.database()
        let copy = path + ".noindex.db"
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + suffix)
        }
        let store = try SQLiteStore(path: copy)
        try store.pool.write { db in try db.execute(sql: "DROP INDEX matrix_stamp_inserted") }
        let sliced = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        let whole = try ReportSource(path: copy, table: "matrix", binSeconds: 300, utc: true)
        let queries = [
            ReportQuery(),
            ReportQuery(from: Self.start + 150, to: Self.start + 17 * Self.bin + 7),
            ReportQuery(from: Self.start + 7 * Self.bin),
            ReportQuery(to: Self.start + 8 * Self.bin),
            ReportQuery(from: Self.start - 86_400, to: Self.start + 86_400),
        ]
        for q in queries {
            for by in [["peer_as_dst"], ["peer_ip_src", "peer_as_dst"], []] {
                let a = try Breakdown.compute(sliced, by: by, query: q), b = try Breakdown.compute(whole, by: by, query: q)
                #expect(a.entries.map(\.key) == b.entries.map(\.key))
                #expect(a.entries.map(\.bytes) == b.entries.map(\.bytes))
                #expect(a.entries.map(\.packets) == b.entries.map(\.packets))
                #expect(a.entries.map(\.bins) == b.entries.map(\.bins))
                #expect(a.binCount == b.binCount && a.firstBin == b.firstBin)
            }
        }
        let bounded = try Breakdown.compute(sliced, by: ["peer_as_dst"], query: queries[1])
        // Bins 1 to 17 (the one at start + 150 s is not a bin start): 17 of the 20 bins.
        #expect(bounded.entries.first { $0.key == ["65001"] }?.bins.count == 17)
    }

    @Test func matrixPivotsAndKeepsTotals() throws {
        let source = try ReportSource(path: try Self.database(), table: "matrix", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(source, by: ["peer_ip_src", "peer_as_dst"], query: ReportQuery())
        let m = Reports.matrix(b, cell: .bytes, maxColumns: 1, maxRows: 10)
        #expect(m.columns == ["peer_ip_src \\ peer_as_dst", "65002", "other", "total"])
        #expect(m.rows == [
            [.text("192.0.2.1"), .bytes(100_000), .bytes(20_000), .bytes(120_000)],
            [.text("192.0.2.3"), .bytes(0), .bytes(500), .bytes(500)],
            [.text("192.0.2.2"), .bytes(0), .bytes(200), .bytes(200)],
        ])
        let peaks = Reports.matrix(b, cell: .peak, maxColumns: 5, maxRows: 1)
        // Router A's total peak is the burst bin plus its steady 1,000 bytes.
        #expect(peaks.rows[0].last == .rate(101_000.0 * 8 / 300))
    }

    @Test func coverageLeavesOutUnmappedTraffic() throws {
        let source = try ReportSource(path: try Self.database(), table: "matrix", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(source, by: ["net_dst", "mask_dst"], query: ReportQuery())
        let coverage = Reports.coverage(b)
        // 10/8 alone carries 100,000 of the 120,200 mapped bytes (83 %): one prefix covers 50 %, two cover 99 %.
        #expect(coverage.rows.map { $0[1] } == [.integer(1), .integer(2), .integer(2), .integer(2), .integer(3)])
        #expect(coverage.notes.contains { $0.contains("matched no prefix") })
        #expect(Reports.prefixList(b, limit: 2) == "10.0.0.0/8\n198.51.100.0/24\n")
    }

    @Test func seriesHasEveryBinOfTheRange() throws {
        let source = try ReportSource(path: try Self.database(), table: "matrix", binSeconds: nil, utc: true)
        let q = ReportQuery(from: Self.start + 6 * Self.bin, to: Self.start + 9 * Self.bin)
        let s = try Reports.series(try Breakdown.compute(source, by: ["peer_as_dst"], query: q), limit: 1, utc: true)
        #expect(s.columns == ["stamp_inserted", "65002"])
        #expect(s.rows == [
            [.text("2025-12-01 00:30:00"), .rate(0)],
            [.text("2025-12-01 00:35:00"), .rate(100_000.0 * 8 / 300)],
            [.text("2025-12-01 00:40:00"), .rate(0)],
        ])
        #expect(s.render(.json).hasPrefix("[{\"stamp_inserted\":\"2025-12-01 00:30:00\",\"65002\":0}"))
    }

    @Test func capacityUtilisationAndRunout() throws {
        let source = try ReportSource(path: try Self.database(), table: "matrix", binSeconds: nil, utc: true)
        let entries = try CapacityEntry.parse("""
            ! name match capacity
            a-to-65001  peer_ip_src=192.0.2.1,peer_as_dst=65001  1k
            as65002     peer_as_dst=65002                        1000
            tiny        peer_ip_src=192.0.2.2                    0.2
            """, file: "cap.txt")
        #expect(entries.map(\.name) == ["a-to-65001", "as65002", "tiny"])
        let table = try Reports.capacity(source, entries, query: ReportQuery(), threshold: 0.8, now: Self.start)
        // a-to-65001: a steady 26.7 bit/s on 1 kbit/s, no trend; as65002: one burst; tiny: steady
        // 0.27 bit/s on 0.2 bit/s, over.
        let steady: Double = 1_000.0 * 8 / 300 / 10
        let burst: Double = 100_000.0 * 8 / 300 / 10
        #expect(table.rows[0][2] == .percent(steady))
        #expect(table.rows[0][7] == .text("-"))
        #expect(table.rows[2][7] == .text("over"))
        #expect(table.rows[1][4] == .percent(burst))
        #expect(throws: CapacityError.self) { try CapacityEntry.parse("x peer_as_dst 10G", file: "f") }
        #expect(throws: CapacityError.self) { try CapacityEntry.parse("x peer_as_dst=1 fast", file: "f") }
    }

    /// Traffic that grows by the same step every bin: the runout date is where the line through
    /// the bins reaches the threshold, computed by hand.
    @Test func capacityRunoutDate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-runout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("r.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "links", primitives: [.peerDstAS], tableVersion: nil, numericProtocols: false))
        var k = FlowKey()
        k.peerDstAS = 65001
        var rows: [BinnedKey: Counters] = [:]
        // Bin i carries 1,000 × (i + 1) bytes: 26.67 × (i + 1) bit/s.
        for i in 0..<10 { rows[BinnedKey(key: k, bin: UInt32(Self.start + i * Self.bin))] = Counters(packets: 1, bytes: UInt64(1_000 * (i + 1)), flows: 1) }
        try store.write(table: "links", rows: rows, now: Self.start + 3_000, utc: true)
        let source = try ReportSource(path: path, table: "links", binSeconds: nil, utc: true)
        let entries = try CapacityEntry.parse("transit peer_as_dst=65001 1000", file: "c")
        let t = try Reports.capacity(source, entries, query: ReportQuery(), threshold: 0.8, now: Self.start)
        // 800 bit/s = 26.67 × 30: the 30th bin's rate, reached at start + 29 bins.
        #expect(t.rows[0][7] == .text(StampText.format(Self.start + 29 * Self.bin, utc: true)))
        let perDay: Double = 8_000.0 / 300 / 300 * 86_400
        #expect(t.rows[0][6] == .rate(perDay))
        // Already over a lower capacity: flagged.
        let over = try Reports.capacity(source, try CapacityEntry.parse("small peer_as_dst=65001 300", file: "c"),
                                        query: ReportQuery(), threshold: 0.8, now: Self.start)
        #expect(over.rows[0][7] == .text("over"))
    }

    @Test func trendLinesCrossWhereExpected() throws {
        // 100 bit/s at t=1000, rising 1 bit/s per second: 500 bit/s at t=1400.
        let points: [(t: Int, value: Double)] = (0..<10).map { i in (t: 1_000 + i * 100, value: 100.0 + Double(i * 100)) }
        let trend = try #require(Trend.fit(points))
        #expect(abs(trend.slope - 1) < 1e-9)
        #expect(trend.crossing(500) == 1_400)
        #expect(Trend.fit([(0, 5), (10, 5)])?.crossing(10) == nil)
        // A rise too slow to matter before the year 9999 has no runout (and no overflow).
        #expect(Trend(slope: 1e-12, intercept: 0).crossing(1e9) == nil)
    }

    /// Router 192.0.2.1 reaches 198.51.100.0/24 by 10.0.0.1 (best) or 10.0.0.2, and
    /// 203.0.113.0/24 by 10.0.0.1 only; 192.0.2.0/24 goes by 10.0.0.2. 10.0.0.1 fails.
    @Test func whatIfMovesTrafficToTheNextPath() throws {
        let path = try ReportFixtures.whatIfDatabase()

        let source = try ReportSource(path: path, table: "prefixes", binSeconds: nil, utc: true)
        let capacities = try CapacityEntry.parse("b peer_ip_dst=10.0.0.2 100", file: "c")
        let t = try WhatIfAnalysis.report(source, failure: .nextHop("10.0.0.1"), by: "peer_ip_dst", query: ReportQuery(), capacities: capacities)
        #expect(t.rows.map { $0[0] } == [.text("10.0.0.2"), .text("10.0.0.1")])
        #expect(t.rows[0][1] == .bytes(800) && t.rows[0][2] == .bytes(4_800))
        #expect(t.rows[1][1] == .bytes(6_000) && t.rows[1][2] == .bytes(0))
        let p95After: Double = 1_200.0 * 8 / 300
        #expect(t.rows[0][4] == .rate(p95After))
        #expect(t.rows[0][6] == .percent(p95After))
        #expect(t.notes.contains { $0.contains("moved: 1 prefix") && $0.contains("no other path: 1") })
        let byAS = try WhatIfAnalysis.report(source, failure: .peerAS("65001"), by: "peer_as_dst", query: ReportQuery(), capacities: [])
        #expect(byAS.rows.map { $0[0] } == [.text("65002"), .text("65001")])
        // Without a snapshot the report says how to get one.
        let bare = try ReportSource(path: try Self.database(), table: "matrix", binSeconds: nil, utc: true)
        #expect(throws: (any Error).self) {
            try WhatIfAnalysis.report(bare, failure: .nextHop("10.0.0.1"), by: "peer_as_dst", query: ReportQuery(), capacities: [])
        }
    }

    /// One self-contained page per report: an inline SVG chart and the table, nothing fetched.
    @Test func htmlPagesAreSelfContained() throws {
        let source = try ReportSource(path: try Self.database(), table: "matrix", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(source, by: ["peer_ip_src", "peer_as_dst"], query: ReportQuery())
        let matrix = Reports.matrix(b, cell: .p95, maxColumns: 5, maxRows: 5).render(.html)
        // Three routers × three peer ASNs.
        #expect(matrix.components(separatedBy: "<rect").count - 1 == 9)
        let nets = try Breakdown.compute(source, by: ["net_dst", "mask_dst"], query: ReportQuery())
        let coverage = Reports.coverage(nets).render(.html)
        #expect(coverage.contains("<polyline"))
        let capacity = try Reports.capacity(
            source, try CapacityEntry.parse("a<b> peer_as_dst=65001 1k", file: "c"), query: ReportQuery(), threshold: 0.8, now: Self.start)
        let page = capacity.render(.html)
        #expect(page.contains("stroke-dasharray") && page.contains("80 %"))
        #expect(page.contains("a&lt;b&gt;") && !page.contains("a<b>"))
        for html in [matrix, coverage, page] {
            #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && html.contains("<table>"))
            #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
        }
    }

    @Test func stampsParseInBothZones() {
        #expect(StampText.parse("2025-12-01 00:05:00", utc: true) == Self.start + 300)
        #expect(StampText.parse("2025-12-01", utc: true) == Self.start)
        #expect(StampText.parse("2025-12-01 00:05", utc: true) == Self.start + 300)
        #expect(StampText.parse("2025-13-01", utc: true) == nil)
        #expect(StampText.parse("yesterday", utc: true) == nil)
    }
}
