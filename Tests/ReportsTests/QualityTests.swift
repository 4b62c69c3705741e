import Aggregation
import Foundation
import NetCore
@testable import Reports
@testable import Storage
import TestServers
import Testing

/// `report quality`: shares of bytes by path_match per router, by hand.
@Suite struct QualityTests {
    @Test func sharesPerRouter() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-quality-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("q.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "m", primitives: [.peerSrcIP, .peerDstIP, .pathMatch], tableVersion: nil, numericProtocols: false))
        var rows: [BinnedKey: Counters] = [:]
        func add(_ router: String, _ match: PathMatchCode, _ bytes: UInt64, bin: Int = 0) {
            var k = FlowKey()
            k.peerSrc = IPAddress(router)!
            k.peerDst = IPAddress(match == .exact || match == .covering || match == .best ? "10.0.0.1" : "0.0.0.0")!
            k.pathMatch = match.rawValue
            rows[BinnedKey(key: k, bin: UInt32(ReportsTests.start + bin * 300)), default: Counters()]
                .add(Counters(packets: 1, bytes: bytes, flows: 1))
        }
        // Router 1: 600 exact, 200 covering, 200 mismatch (80 % mapped). Router 2: 900 best,
        // 100 no_route over two bins (90 %). Router 3: no session at all.
        add("192.0.2.1", .exact, 600)
        add("192.0.2.1", .covering, 200, bin: 1)
        add("192.0.2.1", .mismatch, 200)
        add("192.0.2.2", .best, 900)
        add("192.0.2.2", .noRoute, 60)
        add("192.0.2.2", .noRoute, 40, bin: 1)
        add("192.0.2.3", .noPeer, 500)
        try store.write(table: "m", rows: rows, now: ReportsTests.start + 600, utc: true)
        let source = try ReportSource(path: path, table: "m", binSeconds: 300, utc: true)
        let t = try MappingQuality.report(source, by: "peer_ip_src", query: ReportQuery())
        #expect(t.columns == ["peer_ip_src", "bytes", "mapped", "exact", "covering", "best", "mismatch", "no_route", "no_peer", "not_enriched"])
        #expect(t.rows.map { $0[0] } == [.text("192.0.2.3"), .text("192.0.2.1"), .text("192.0.2.2"), .text("all")])
        #expect(t.rows[1] == [.text("192.0.2.1"), .bytes(1_000), .percent(80), .percent(60), .percent(20), .percent(0),
                              .percent(20), .percent(0), .percent(0), .percent(0)])
        #expect(t.rows[2][2] == .percent(90) && t.rows[2][7] == .percent(10))
        #expect(t.rows[0][2] == .percent(0) && t.rows[0][8] == .percent(100))
        // All: 2,500 bytes, 1,700 mapped.
        #expect(t.rows[3][1] == .bytes(2_500) && t.rows[3][2] == .percent(68))
        #expect(t.notes.contains("# not mapped to a path: no_peer 20.00 %, mismatch 8.00 %, no_route 4.00 %"), "\(t.notes)")
        #expect(t.render(.json).contains("\"mapped\""))
        // No examples recorded: none printed.
        #expect(!t.notes.contains { $0.hasPrefix("# mismatch:") })
        let writer = try PathMismatchWriter(store: store)
        func example(_ stamp: String, _ hop: String, _ bytes: Int64) -> PathMismatchRow {
            PathMismatchRow(stamp: stamp, exporter: "192.0.2.1", flowNextHop: hop, net: "198.51.100.0", mask: 24,
                            pathNextHops: "10.0.0.1,10.0.0.2", flows: 2, bytes: bytes)
        }
        try writer.append([
            example("2025-12-01 00:01:00", "10.9.9.9", 150), example("2025-12-01 00:06:00", "10.9.9.9", 50),
            example("2025-12-01 00:02:00", "10.8.8.8", 120),
            example("2025-12-01 00:10:00", "10.7.7.7", 999),   // after the range
        ], keep: 100)
        let withExamples = try MappingQuality.report(source, by: "peer_ip_src", query: ReportQuery())
        let lines = withExamples.notes.filter { $0.hasPrefix("# mismatch:") }
        #expect(lines == [
            "# mismatch: 192.0.2.1 sent next-hop 10.9.9.9 for 198.51.100.0/24, whose paths have 10.0.0.1, 10.0.0.2: 4 flow(s), 200 B as exported",
            "# mismatch: 192.0.2.1 sent next-hop 10.8.8.8 for 198.51.100.0/24, whose paths have 10.0.0.1, 10.0.0.2: 2 flow(s), 120 B as exported",
        ], "\(withExamples.notes)")
        // A view without path_match says what to add.
        let bare = try ReportSource(path: try ReportFixtures.whatIfDatabase(), table: "prefixes", binSeconds: nil, utc: true)
        #expect { try MappingQuality.report(bare, by: "peer_ip_src", query: ReportQuery()) } throws: {
            ($0 as? MappingQuality.Error)?.description.contains("add path_match") == true
        }
    }
}
