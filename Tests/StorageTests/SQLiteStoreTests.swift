import Aggregation
import FlowWire
import Foundation
import GRDB
import NetCore
import Testing
@testable import Storage

@Suite struct SQLiteStoreTests {
    init() {
        setenv("TZ", "UTC", 1)
        tzset()
    }

    static let fiveTuple: [Primitive] = [.srcHost, .dstHost, .srcPort, .dstPort, .proto]

    func temporaryPath() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("flows.db").path
    }

    func key(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, _ proto: UInt8) -> FlowKey {
        var k = FlowKey()
        k.srcAddr = IPAddress(src)!
        k.dstAddr = IPAddress(dst)!
        k.srcPort = sport
        k.dstPort = dport
        k.proto = proto
        return k
    }

    @Test func v1TableIsPmacctsAndCountersAddUp() throws {
        let path = temporaryPath()
        let store = try SQLiteStore(path: path)
        let schema = try TableSchema(table: "acct", primitives: Self.fiveTuple, tableVersion: 1, numericProtocols: false)
        try store.prepare(schema)
        let icmp = key("192.168.1.11", "192.168.2.11", 0, 2048, 1)
        let v6 = key("2001:db8::1", "ff02::2", 0, 0, 58)
        let bin: UInt32 = 1_761_266_220  // 2025-10-24 00:37:00 UTC
        try store.write(table: "acct", rows: [
            BinnedKey(key: icmp, bin: bin): Counters(packets: 150, bytes: 12_600, flows: 1),
            BinnedKey(key: v6, bin: bin): Counters(packets: 1, bytes: 56, flows: 1),
        ], now: 1_761_266_250, utc: false)
        try store.write(table: "acct", rows: [
            BinnedKey(key: icmp, bin: bin): Counters(packets: 50, bytes: 4_200, flows: 1),
        ], now: 1_761_266_300, utc: false)
        let rows = try store.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM acct ORDER BY ip_proto")
        }
        #expect(rows.count == 2)
        #expect(rows[0]["mac_src"] as String? == "0:0:0:0:0:0")
        #expect(rows[0]["ip_src"] as String? == "192.168.1.11")
        #expect(rows[0]["dst_port"] as Int? == 2048)
        #expect(rows[0]["ip_proto"] as String? == "icmp")
        #expect(rows[0]["packets"] as Int? == 200)
        #expect(rows[0]["bytes"] as Int? == 16_800)
        #expect(rows[0]["stamp_inserted"] as String? == "2025-10-24 00:37:00")
        #expect(rows[0]["stamp_updated"] as String? == "2025-10-24 00:38:20")
        #expect(rows[1]["ip_proto"] as String? == "ipv6-icmp")
        #expect(rows[1]["ip_dst"] as String? == "ff02::2")
        let columns = try store.read { db in try db.columns(in: "acct").map(\.name) }
        #expect(columns == ["mac_src", "mac_dst", "ip_src", "ip_dst", "src_port", "dst_port", "ip_proto",
                            "packets", "bytes", "stamp_inserted", "stamp_updated"])
    }

    /// pmacct's own v1 script, when pmacct is installed: our table has the same columns,
    /// types, defaults and primary key.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/pmacct/sql/pmacct-create-table_v1.sqlite3")))
    func v1MatchesPmacctsScript() throws {
        let script = try String(contentsOfFile: "/usr/share/pmacct/sql/pmacct-create-table_v1.sqlite3", encoding: .utf8)
        let theirs = try DatabaseQueue(path: temporaryPath())
        try theirs.write { try $0.execute(sql: script) }
        let path = temporaryPath()
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "acct", primitives: Self.fiveTuple, tableVersion: 1, numericProtocols: false))
        func describe(_ db: Database) throws -> [String] {
            try Row.fetchAll(db, sql: "PRAGMA table_info(acct)").map {
                "\($0["name"] as String) \($0["type"] as String) \($0["notnull"] as Int) \(($0["dflt_value"] as String?) ?? "nil") \($0["pk"] as Int)"
            }
        }
        let expected = try theirs.read(describe)
        let got = try store.read(describe)
        #expect(got == expected)
    }

    @Test func createdTablesFollowTheView() throws {
        let store = try SQLiteStore(path: temporaryPath())
        let schema = try TableSchema(table: "matrix", primitives: [.outIface, .peerSrcIP, .inIface, .peerDstIP],
                                     tableVersion: nil, numericProtocols: false)
        try store.prepare(schema)
        var k = FlowKey()
        k.peerSrc = IPAddress("192.0.2.1")!
        k.inIface = 7
        k.peerDst = IPAddress("2001:db8::ff")!
        k.outIface = 9
        try store.write(table: "matrix", rows: [BinnedKey(key: k, bin: 0): Counters(packets: 1, bytes: 2, flows: 3)],
                        now: 1_700_000_000, utc: true)
        let row = try #require(try store.read { try Row.fetchOne($0, sql: "SELECT * FROM matrix") })
        #expect(row["peer_ip_src"] as String? == "192.0.2.1")
        #expect(row["peer_ip_dst"] as String? == "2001:db8::ff")
        #expect(row["iface_in"] as Int? == 7)
        #expect(row["iface_out"] as Int? == 9)
        #expect(row["flows"] as Int? == 3)
        #expect(row["stamp_inserted"] as String? == "0000-00-00 00:00:00")
        let columns = try store.read { db in try db.columns(in: "matrix").map(\.name) }
        #expect(columns == ["peer_ip_src", "peer_ip_dst", "iface_in", "iface_out", "packets", "bytes", "flows",
                            "stamp_inserted", "stamp_updated"])
        let indexes = try store.read { db in try db.indexes(on: "matrix").map(\.name) }
        #expect(indexes.contains("matrix_stamp_inserted"))
    }

    /// The BGP primitives: pmacct's column names and order (its acct_bgp table), AS paths and
    /// communities as text resolved from the pool, path_match by name.
    @Test func bgpColumnsHoldTexts() throws {
        let store = try SQLiteStore(path: temporaryPath())
        let primitives: [Primitive] = [.pathMatch, .med, .localPref, .lrgComm, .extComm, .stdComm, .asPath, .peerDstAS, .peerSrcAS]
        let schema = try TableSchema(table: "bgp", primitives: primitives, tableVersion: nil, numericProtocols: false)
        #expect(schema.primitives.map(\.column) == [
            "peer_as_src", "peer_as_dst", "comms", "ecomms", "lcomms", "as_path", "local_pref", "med", "path_match",
        ])
        try store.prepare(schema)
        let texts = TextPool()
        var k = FlowKey()
        k.peerSrcAS = 65010
        k.peerDstAS = 4_200_000_000
        k.asPath = texts.number("4200000000 64500 {64501,64502}")
        k.stdComm = texts.number("65000:1 no-export")
        k.lrgComm = texts.number("65000:7:8")
        k.localPref = 200
        k.med = 50
        k.pathMatch = PathMatchCode.covering.rawValue
        var empty = FlowKey()
        empty.pathMatch = PathMatchCode.noRoute.rawValue
        try store.write(table: "bgp", rows: [
            BinnedKey(key: k, bin: 0): Counters(packets: 3, bytes: 300, flows: 1),
            BinnedKey(key: empty, bin: 0): Counters(packets: 1, bytes: 40, flows: 1),
        ], now: 1_761_266_250, utc: true, texts: texts)
        let rows = try store.read { db in try Row.fetchAll(db, sql: "SELECT * FROM bgp ORDER BY packets DESC") }
        #expect(rows.count == 2)
        #expect(rows[0]["as_path"] as String? == "4200000000 64500 {64501,64502}")
        #expect(rows[0]["comms"] as String? == "65000:1 no-export")
        #expect(rows[0]["ecomms"] as String? == "")
        #expect(rows[0]["lcomms"] as String? == "65000:7:8")
        #expect(rows[0]["peer_as_dst"] as Int64? == 4_200_000_000)
        #expect(rows[0]["peer_as_src"] as Int? == 65010)
        #expect(rows[0]["local_pref"] as Int? == 200 && rows[0]["med"] as Int? == 50)
        #expect(rows[0]["path_match"] as String? == "covering")
        #expect(rows[1]["as_path"] as String? == "" && rows[1]["path_match"] as String? == "no_route")
    }

    @Test func numericProtocolsWhenAsked() throws {
        let store = try SQLiteStore(path: temporaryPath())
        try store.prepare(try TableSchema(table: "p", primitives: [.proto], tableVersion: nil, numericProtocols: true))
        var k = FlowKey()
        k.proto = 6
        try store.write(table: "p", rows: [BinnedKey(key: k, bin: 0): Counters(packets: 1, bytes: 1, flows: 1)], now: 0, utc: true)
        #expect(try store.read { try Int.fetchOne($0, sql: "SELECT ip_proto FROM p") } == 6)
        #expect(ProtocolName.name(6) == "tcp" && ProtocolName.name(5) == "5" && ProtocolName.name(255) == "others")
    }

    @Test func handMadeTablesWithoutKeyStillAccumulate() throws {
        let path = temporaryPath()
        let queue = try DatabaseQueue(path: path)
        try queue.write {
            try $0.execute(sql: """
                CREATE TABLE acct (ip_src CHAR(45), ip_dst CHAR(45), src_port INT, dst_port INT, ip_proto CHAR(6),
                packets INT, bytes BIGINT, stamp_inserted DATETIME, stamp_updated DATETIME)
                """)
        }
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "acct", primitives: Self.fiveTuple, tableVersion: 1, numericProtocols: false))
        let k = key("10.0.0.1", "10.0.0.2", 1, 2, 17)
        for _ in 0..<3 {
            try store.write(table: "acct", rows: [BinnedKey(key: k, bin: 60): Counters(packets: 1, bytes: 10, flows: 1)],
                            now: 120, utc: true)
        }
        let sums = try store.read { try Row.fetchOne($0, sql: "SELECT COUNT(*) AS n, SUM(packets) AS p, SUM(bytes) AS b FROM acct") }
        #expect(sums?["n"] as Int? == 1 && sums?["p"] as Int? == 3 && sums?["b"] as Int? == 30)
    }

    /// Counters near 2^63: sums held at Int64.max, stored as INTEGER (never REAL, never negative),
    /// in the view's table, its daily rollup and a hand-made table, across flushes.
    @Test func countersSaturateAtInt64Max() throws {
        let path = temporaryPath()
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "acct", primitives: Self.fiveTuple, tableVersion: nil, numericProtocols: true),
                          rollup: true, utc: true)
        let k = key("10.0.0.1", "10.0.0.2", 1, 2, 17)
        let huge = Counters(packets: UInt64(Int64.max) - 5, bytes: UInt64.max, flows: UInt64(Int64.max))
        for _ in 0..<3 {
            try store.write(table: "acct", rows: [BinnedKey(key: k, bin: 1_700_000_040): huge], now: 1_700_000_100, utc: true)
        }
        for table in ["acct", "acct_daily"] {
            let row = try store.read {
                try Row.fetchOne($0, sql: "SELECT packets, bytes, flows, typeof(packets) AS tp, typeof(bytes) AS tb, typeof(flows) AS tf FROM \(table)")
            }
            #expect(row?["tp"] as String? == "integer" && row?["tb"] as String? == "integer" && row?["tf"] as String? == "integer", "\(table)")
            #expect(row?["packets"] as Int64? == .max && row?["bytes"] as Int64? == .max && row?["flows"] as Int64? == .max, "\(table)")
        }

        let handMade = temporaryPath()
        try DatabaseQueue(path: handMade).write {
            try $0.execute(sql: """
                CREATE TABLE acct (ip_src CHAR(45), ip_dst CHAR(45), src_port INT, dst_port INT, ip_proto CHAR(6),
                packets INT, bytes BIGINT, stamp_inserted DATETIME, stamp_updated DATETIME)
                """)
        }
        let hand = try SQLiteStore(path: handMade)
        try hand.prepare(try TableSchema(table: "acct", primitives: Self.fiveTuple, tableVersion: 1, numericProtocols: false))
        for _ in 0..<2 {
            try hand.write(table: "acct", rows: [BinnedKey(key: k, bin: 60): huge], now: 120, utc: true)
        }
        let row = try hand.read { try Row.fetchOne($0, sql: "SELECT bytes, typeof(bytes) AS tb FROM acct") }
        #expect(row?["tb"] as String? == "integer" && row?["bytes"] as Int64? == .max)
    }

    @Test func missingColumnIsAClearError() throws {
        let path = temporaryPath()
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "CREATE TABLE acct (ip_src CHAR(45), packets INT, bytes BIGINT)") }
        let store = try SQLiteStore(path: path)
        #expect(throws: SQLiteStore.Error.self) {
            try store.prepare(try TableSchema(table: "acct", primitives: Self.fiveTuple, tableVersion: 1, numericProtocols: false))
        }
    }

    @Test func aSecondWriterIsRefused() throws {
        let path = temporaryPath()
        let first = try SQLiteStore(path: path)
        #expect {
            _ = try SQLiteStore(path: path)
        } throws: { error in
            "\(error)".contains("already being written by another pathflow collector")
        }
        _ = first
    }

    @Test func v1RefusesPrimitivesItHasNoColumnFor() {
        #expect(throws: TableSchema.Error.primitiveNotInVersion(primitive: "peer_src_ip", version: 1)) {
            try TableSchema(table: "acct", primitives: [.srcHost, .peerSrcIP], tableVersion: 1, numericProtocols: false)
        }
        #expect(throws: TableSchema.Error.badTableName("acct; DROP")) {
            try TableSchema(table: "acct; DROP", primitives: [.srcHost], tableVersion: nil, numericProtocols: false)
        }
    }

    @Test func readersDoNotWaitForTheWriter() async throws {
        let path = temporaryPath()
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "acct", primitives: Self.fiveTuple, tableVersion: 1, numericProtocols: false))
        var rows: [BinnedKey: Counters] = [:]
        for i in 0..<50_000 {
            rows[BinnedKey(key: key("10.0.\(i / 256 % 256).\(i % 256)", "10.9.0.1", UInt16(i % 60_000), 80, 6), bin: 60)] =
                Counters(packets: 1, bytes: 100, flows: 1)
        }
        let reader = try DatabaseQueue(path: path, configuration: {
            var c = Configuration()
            c.readonly = true
            c.busyMode = .timeout(5)
            return c
        }())
        let input = rows
        async let write: Void = { try store.write(table: "acct", rows: input, now: 120, utc: true) }()
        // Count while the big transaction may be open: WAL gives a consistent snapshot, never "locked".
        for _ in 0..<20 {
            let n = try await reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM acct") }
            #expect(n == 0 || n == 50_000)
        }
        try await write
        #expect(try await reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM acct") } == 50_000)
    }
}

@Suite struct ShardPartsTests {
    /// Two shards that saw the same key: both parts are upserted, the row holds the sum.
    @Test func partsOfSeveralShardsAddUp() throws {
        setenv("TZ", "UTC", 1)
        tzset()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-parts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: dir.appendingPathComponent("p.db").path)
        let primitives: [Primitive] = [.srcHost, .dstHost, .srcPort, .dstPort, .proto]
        try store.prepare(try TableSchema(table: "acct", primitives: primitives, tableVersion: 1, numericProtocols: false))
        let definition = ViewDefinition(name: "acct", primitives: primitives, binning: nil)
        var shards = [View(definition), View(definition)]
        for (i, packets) in [(0, 2), (1, 3), (1, 4)] as [(Int, UInt64)] {
            var r = FlowRecord()
            r.srcAddr = IPAddress("10.0.0.1")!
            r.dstAddr = IPAddress("2001:db8::9")!
            r.proto = 17
            r.packets = packets
            r.bytes = packets * 100
            shards[i].add(r, arrival: 0)
        }
        let parts = [shards[0].take(), shards[1].take()]
        let result = try store.write(table: "acct", parts: parts, now: 0, utc: true)
        #expect(result.rows == 2)
        let row = try store.read { try Row.fetchOne($0, sql: "SELECT COUNT(*) AS n, SUM(packets) AS p, SUM(bytes) AS b FROM acct") }
        #expect(row?["n"] as Int? == 1 && row?["p"] as Int? == 9 && row?["b"] as Int? == 900)
    }
}
