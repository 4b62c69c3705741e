import Aggregation
import FlowWire
import Foundation
import GRDB
import NetCore
import Testing
@testable import Storage
import TestServers

#if canImport(Glibc)
import Glibc
#endif

/// The clickhouse backend against Debian's clickhouse-server 18.16, started per test on loopback:
/// what it stores equals what the sqlite3 backend stores for the same flushes, and nothing is lost
/// or counted twice when the server is down, frozen past the timeout, or left a batch half-stored.
@Suite(.serialized, .enabled(if: ClickHouseServer.available || ClickHouseServer.required))
struct ClickHouseStorageTests {
    static let primitives: [Primitive] = [
        .srcHost, .dstHost, .srcPort, .dstPort, .proto, .tos, .inIface, .peerSrcIP, .peerDstAS, .asPath, .pathMatch,
    ]
    // 2026-11-30 23:50:00 UTC: five-minute bins on both sides of a UTC midnight.
    static let start: UInt32 = 1_796_169_000

    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "pathflow-ch-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `count` flows over `bins` five-minute bins, spread over two shards (a key in both).
    func flush(_ seed: Int, count: Int = 300, bins: Int = 4, texts: TextPool) -> [DrainedRows] {
        let binning = TimeBinning(unit: .minutes, count: 5, roundoff: "", now: Int(Self.start))
        let definition = ViewDefinition(name: "v", primitives: Self.primitives, binning: binning)
        var shards = [View(definition), View(definition)]
        let paths = [texts.number("65001 65002"), texts.number("65003")]
        for i in 0..<count {
            var r = FlowRecord()
            r.srcAddr = i % 3 == 0 ? IPAddress("2001:db8::\(i % 7 + 1)")! : IPAddress("10.0.\(seed).\(i % 5 + 1)")!
            r.dstAddr = i % 3 == 0 ? IPAddress("2001:db8:1::\(i % 11 + 1)")! : IPAddress("192.0.2.\(i % 13 + 1)")!
            r.srcPort = UInt16(1024 + i % 17)
            r.dstPort = UInt16([53, 80, 443][i % 3])
            r.proto = [6, 17, 1][i % 3]
            r.tos = UInt8(i % 2 * 32)
            r.inIface = UInt32(4_000_000_000 + i % 3)
            r.exporter = IPAddress("198.51.100.\(i % 2 + 1)")!
            r.peerDstAS = UInt32(65001 + i % 4)
            r.asPathText = paths[i % 2]
            r.pathMatch = PathMatchCode.exact.rawValue
            r.packets = UInt64(i % 9 + 1)
            r.bytes = UInt64((i % 9 + 1) * 100 + i)
            r.flows = 1
            r.startSeconds = Self.start + UInt32(i % bins) * 300
            shards[i % 2].add(r, arrival: r.startSeconds)
        }
        return shards.indices.map { shards[$0].take() }
    }

    func storage(_ server: ClickHouseServer?, url: String? = nil, spool: String, timeout: Int = 30) throws -> ClickHouseViewStorage {
        let schema = try ClickHouseSchema(
            database: "pathflow", table: "flows", primitives: Self.primitives, numericProtocols: false, cluster: nil)
        return try ClickHouseViewStorage(
            schema: schema,
            settings: ClickHouseSettings(url: url ?? server!.url, timeoutSeconds: timeout, spoolDirectory: spool))
    }

    /// Runs the sender until the spool is empty (at most `seconds`).
    func drain(_ storage: ClickHouseViewStorage, seconds: Double = 60) async {
        let sender = Task { await storage.runSender(drainSeconds: 0) }
        let deadline = Date().addingTimeInterval(seconds)
        while storage.spool.count > 0 && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        storage.finish()
        await sender.value
    }

    static let selectAll = """
        SELECT ip_src, ip_dst, src_port, dst_port, ip_proto, tos, iface_in, peer_ip_src, peer_as_dst, as_path, path_match, \
        stamp_inserted, sum(packets), sum(bytes), sum(flows) FROM %@ GROUP BY ip_src, ip_dst, src_port, dst_port, ip_proto, \
        tos, iface_in, peer_ip_src, peer_as_dst, as_path, path_match, stamp_inserted
        """

    func clickhouseRows(_ server: ClickHouseServer) async throws -> [String] {
        try await server.query(Self.selectAll.replacingOccurrences(of: "%@", with: "pathflow.flows") + " FORMAT TabSeparated")
            .split(separator: "\n").map(String.init).sorted()
    }

    func sqliteRows(_ flushes: [[DrainedRows]], texts: TextPool) throws -> [String] {
        let store = try SQLiteStore(path: temporaryDirectory() + "/flows.db")
        try store.prepare(try TableSchema(table: "flows", primitives: Self.primitives, tableVersion: nil, numericProtocols: false))
        for (i, parts) in flushes.enumerated() {
            try store.write(table: "flows", parts: parts, now: Int(Self.start) + 600 + i, utc: true, texts: texts)
        }
        return try store.read { db in
            try Row.fetchAll(db, sql: Self.selectAll.replacingOccurrences(of: "%@", with: "flows")).map { row in
                (0..<row.count).map { i -> String in
                    let value = row[i] as DatabaseValue
                    if case .string(let s) = value.storage { return s }
                    if case .int64(let n) = value.storage { return String(n) }
                    return "\(value)"
                }.joined(separator: "\t")
            }
        }.sorted()
    }

    @Test func storesWhatSQLiteStoresForTheSameFlushes() async throws {
        setenv("TZ", "UTC", 1)
        tzset()
        let server = try await ClickHouseServer()
        let texts = TextPool()
        let flushes = [flush(1, texts: texts), flush(2, texts: texts), flush(1, count: 150, texts: texts)]
        let storage = try storage(server, spool: temporaryDirectory())
        for (i, parts) in flushes.enumerated() {
            _ = try storage.write(FlushBatch(parts: parts, now: Int(Self.start) + 600 + i, texts: texts))
        }
        // Bins on both sides of midnight UTC: each flush is two inserts, one per day.
        #expect(storage.spool.count == 6)
        await drain(storage)
        #expect(storage.spool.count == 0)
        #expect(storage.stats.insertedBatches == 6 && storage.stats.failedInserts == 0)
        let expected = try sqliteRows(flushes, texts: texts)
        let stored = try await clickhouseRows(server)
        #expect(expected.count > 100)
        #expect(stored == expected)
        // The table: pmacct's column names, the types of the primitive table.
        let columns = try await server.query("SELECT name, type FROM system.columns WHERE database = 'pathflow' AND table = 'flows' FORMAT TabSeparated")
        #expect(columns.contains("ip_src\tString") && columns.contains("iface_in\tUInt32") && columns.contains("dst_port\tUInt16"))
        #expect(columns.contains("stamp_inserted\tDateTime") && columns.contains("batch_id\tUInt64"))
    }

    @Test func serverDownThenBackLosesNothing() async throws {
        let server = try await ClickHouseServer()
        let texts = TextPool()
        let spool = temporaryDirectory()
        server.kill()
        let flushes = [flush(1, texts: texts), flush(2, texts: texts)]
        do {
            let first = try storage(server, spool: spool, timeout: 2)
            for parts in flushes { _ = try first.write(FlushBatch(parts: parts, now: Int(Self.start) + 900, texts: texts)) }
            // Tries while the server is down: every one fails, nothing leaves the spool.
            let sender = Task { await first.runSender(drainSeconds: 0) }
            try await Task.sleep(for: .seconds(3))
            #expect(first.spool.count == 4)
            #expect(first.stats.healthy == false)
            // The spool is this collector's: a second one is refused.
            #expect(throws: (any Error).self) { try self.storage(server, spool: spool) }
            first.finish()
            await sender.value
        }
        // A collector restarted meanwhile takes the spool its last run left.
        let storage = try self.storage(server, spool: spool, timeout: 5)
        #expect(storage.spool.count == 4)
        try await server.start()
        await drain(storage)
        #expect(storage.spool.count == 0)
        #expect(try await clickhouseRows(server) == sqliteRows(flushes, texts: texts))
    }

    @Test func frozenServerPastTheTimeoutCountsOnce() async throws {
        let server = try await ClickHouseServer()
        let texts = TextPool()
        let storage = try storage(server, spool: temporaryDirectory(), timeout: 2)
        try await storage.prepareTables()
        let flushes = [flush(3, count: 2000, bins: 2, texts: texts)]
        _ = try storage.write(FlushBatch(parts: flushes[0], now: Int(Self.start) + 900, texts: texts))
        server.signal(SIGSTOP)
        let sender = Task { await storage.runSender(drainSeconds: 0) }
        // The insert was sent and is held by the frozen server: the try times out.
        while storage.stats.failedInserts == 0 { try await Task.sleep(for: .milliseconds(100)) }
        try await Task.sleep(for: .seconds(1))
        server.signal(SIGCONT)
        let deadline = Date().addingTimeInterval(60)
        while storage.spool.count > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        storage.finish()
        await sender.value
        #expect(storage.spool.count == 0)
        #expect(try await clickhouseRows(server) == sqliteRows(flushes, texts: texts))
        let stats = storage.stats
        // Either the held try landed (found by the check, not sent again) or it did not (sent again).
        #expect(stats.batchesFoundStored + stats.insertedBatches == 1)
    }

    @Test func halfStoredBatchIsRemovedBeforeItIsSentAgain() async throws {
        let server = try await ClickHouseServer()
        let texts = TextPool()
        let storage = try storage(server, spool: temporaryDirectory())
        try await storage.prepareTables()
        let flushes = [flush(4, bins: 1, texts: texts)]
        _ = try storage.write(FlushBatch(parts: flushes[0], now: Int(Self.start) + 900, texts: texts))
        let batch = try #require(storage.spool.oldest)
        // Half of its rows stored (an insert cut short), and the try counted as unknown.
        let body = try storage.spool.body(of: batch)
        let half = ClickHouseClient(url: server.url)
        try await half.insert(storage.schema.insertStatement, body: Self.firstRows(body, of: batch.rows, schema: storage.schema), queryID: "partial")
        storage.sender.state.withLock { _ = $0.uncertain.insert(batch.id) }
        await drain(storage)
        #expect(storage.stats.partialBatchesRemoved == 1)
        #expect(try await clickhouseRows(server) == sqliteRows(flushes, texts: texts))
    }

    /// The first half of a RowBinary body's rows, found by walking the columns' types.
    static func firstRows(_ body: [UInt8], of rows: Int, schema: ClickHouseSchema) -> [UInt8] {
        var offset = 0
        for _ in 0..<(rows / 2) {
            for column in schema.columns {
                switch column.type {
                case "String":
                    var length = 0, shift = 0
                    while true {
                        let b = body[offset]
                        offset += 1
                        length |= Int(b & 0x7F) << shift
                        shift += 7
                        if b & 0x80 == 0 { break }
                    }
                    offset += length
                case "DateTime": offset += 4
                default: offset += Int(column.type.dropFirst(4))! / 8   // UIntN
                }
            }
        }
        return Array(body[..<offset])
    }

    /// clickhouse_retention_days: whole UTC days older than the retention are dropped, newer ones kept.
    @Test func retentionDropsOldDays() async throws {
        let server = try await ClickHouseServer()
        let texts = TextPool()
        let schema = try ClickHouseSchema(
            database: "pathflow", table: "flows", primitives: Self.primitives, numericProtocols: false, cluster: nil)
        let storage = try ClickHouseViewStorage(
            schema: schema, settings: ClickHouseSettings(url: server.url, spoolDirectory: temporaryDirectory(), retentionDays: 3))
        // Flows of 2026-11-30 and 12-01 (more than three days old by now) and of this hour.
        _ = try storage.write(FlushBatch(parts: flush(1, texts: texts), now: Int(Self.start) + 900, texts: texts))
        let now = UInt32(Date().timeIntervalSince1970) / 300 * 300
        let binning = TimeBinning(unit: .minutes, count: 5, roundoff: "", now: Int(now))
        var view = View(ViewDefinition(name: "v", primitives: Self.primitives, binning: binning))
        var r = FlowRecord()
        r.srcAddr = IPAddress("10.9.9.9")!
        r.packets = 1
        r.bytes = 100
        r.startSeconds = now
        view.add(r, arrival: now)
        _ = try storage.write(FlushBatch(parts: [view.take()], now: Int(now), texts: texts))
        await drain(storage)
        // The sender checks once an hour, after an insert: the first check came after the first
        // day's insert. The next hour's check:
        #expect(storage.stats.droppedPartitions == 1)
        storage.sender.retentionChecked.withLock { $0 = .distantPast }
        try await storage.sender.dropExpiredPartitions()
        let days = try await server.query(
            "SELECT DISTINCT toYYYYMMDD(stamp_inserted, 'UTC') FROM pathflow.flows ORDER BY 1 FORMAT TabSeparated")
        let today = Int(days.split(separator: "\n").last ?? "") ?? 0
        // Only this hour's day is left.
        #expect(days.split(separator: "\n").count == 1 && today >= 20_261_207)
        #expect(storage.stats.droppedPartitions == 2)
        let rows = try await server.query("SELECT count() FROM pathflow.flows FORMAT TabSeparated")
        #expect(rows == "1\n")
    }

    @Test func spoolIsBoundedAllOrNothingAndSurvivesARestart() throws {
        let directory = temporaryDirectory()
        do {
            let spool = try ClickHouseSpool(directory: directory, limit: 1000)
            try spool.addAll([(1, 10, 100, 200, [UInt8](repeating: 1, count: 300)), (2, 5, 300, 300, [UInt8](repeating: 2, count: 200))])
            #expect(spool.count == 2)
            // Past the bound: nothing of the flush is written.
            #expect(throws: ClickHouseSpool.Error.self) {
                try spool.addAll([(3, 1, 1, 1, [UInt8](repeating: 3, count: 100)), (4, 1, 1, 1, [UInt8](repeating: 4, count: 400))])
            }
            #expect(spool.count == 2)
            // One spool, one collector: a second opening is refused while the first holds it.
            #expect(throws: ClickHouseSpool.Error.self) { try ClickHouseSpool(directory: directory, limit: 1000) }
            withExtendedLifetime(spool) {}
        }
        _ = FileManager.default.createFile(atPath: directory + "/0000000000000009.batch.tmp", contents: Data([1, 2]))
        let reopened = try ClickHouseSpool(directory: directory, limit: 1000)
        #expect(reopened.count == 2)
        let first = try #require(reopened.oldest)
        #expect(first.id == 1 && first.rows == 10 && first.firstStamp == 100 && first.lastStamp == 200)
        #expect(try reopened.body(of: first) == [UInt8](repeating: 1, count: 300))
        reopened.remove(first)
        #expect(reopened.oldest?.id == 2)
        #expect(!FileManager.default.fileExists(atPath: directory + "/0000000000000009.batch.tmp"))
        // An empty spool takes one flush even past the bound: a large flush is never refused forever.
        let empty = try ClickHouseSpool(directory: temporaryDirectory(), limit: 10)
        try empty.addAll([(5, 1, 1, 1, [UInt8](repeating: 5, count: 100))])
        #expect(empty.count == 1)
    }
}
