import Aggregation
import Console
import FlowWire
import Foundation
import NetCore
import Reports
import Storage
import Testing
import TestServers

#if canImport(Glibc)
import Glibc
#endif

/// Every report kind on a ClickHouse table equals the same report on a SQLite table holding the
/// same flushes: the same JSON, for every range form, with filters, gaps and quiet keys. ClickHouse
/// groups; the report model is shared.
@Suite(.serialized, .enabled(if: ClickHouseServer.available || ClickHouseServer.required))
struct ClickHouseReportTests {
    static let primitives: [Primitive] = [.peerSrcIP, .peerDstIP, .peerDstAS, .dstNet, .dstMask, .proto]
    static let bin = 300
    // 2026-11-29 00:00:00 UTC; three days of five-minute bins.
    static let start = 1_796_256_000

    /// Three days of traffic: four routers, five exits, a gap of six hours, one router quiet on
    /// the last day, a key seen once. Flushes of one hour each, over two shards.
    static func flushes(texts: TextPool) -> [[DrainedRows]] {
        let binning = TimeBinning(unit: .minutes, count: 5, roundoff: "m", now: start)
        let definition = ViewDefinition(name: "m", primitives: primitives, binning: binning)
        var out: [[DrainedRows]] = []
        var shards = [View(definition), View(definition)]
        var seed: UInt64 = 0x1234_5678
        func random(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        for b in 0..<(3 * 288) {
            if b >= 400 && b < 472 { continue }   // six hours without traffic
            let t = UInt32(start + b * bin)
            for i in 0..<24 {
                let router = i % 4
                if router == 3 && b >= 2 * 288 { continue }   // quiet on the last day
                var r = FlowRecord()
                r.exporter = IPAddress("10.0.0.\(router + 1)")!
                let exit = (i + b / 97) % 5
                r.bgpNextHop = IPAddress("192.0.2.\(exit + 1)")!
                r.peerDstAS = UInt32(64500 + exit)
                r.dstAddr = IPAddress("198.51.\(100 + i % 6).\(random(250) + 1)")!
                r.dstMask = 24
                r.proto = [6, 17][i % 2]
                r.packets = UInt64(1 + random(50))
                r.bytes = r.packets * UInt64(64 + random(1400))
                r.startSeconds = t + UInt32(random(bin))
                shards[i % 2].add(r, arrival: r.startSeconds)
            }
            if b == 500 {
                var once = FlowRecord()
                once.exporter = IPAddress("10.0.0.9")!
                once.bgpNextHop = IPAddress("2001:db8::1")!
                once.dstAddr = IPAddress("2001:db8:99::1")!
                once.dstMask = 48
                once.packets = 1
                once.bytes = 1_234
                once.startSeconds = t
                shards[0].add(once, arrival: t)
            }
            if b % 12 == 11 { out.append(shards.indices.map { shards[$0].take() }) }
        }
        out.append(shards.indices.map { shards[$0].take() })
        return out
    }

    /// `report capacity --counters` on a clickhouse view reads `interface_counters` from its
    /// database and prints what the same rows in SQLite give; each minute's counters are written
    /// in two halves by two flushes (two rows on ClickHouse, one summed row in SQLite).
    @Test func interfaceCapacityMatchesSQLite() async throws {
        setenv("TZ", "UTC", 1)
        tzset()
        let server = try await ClickHouseServer()
        let dir = NSTemporaryDirectory() + "pathflow-chifcap-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (flows, counters) = ReportFixtures.interfaceRows()
        let now = InterfaceCapacityTests.start + 12 * InterfaceCapacityTests.bin
        let storage = try ClickHouseViewStorage(
            schema: try ClickHouseSchema(
                database: "pathflow", table: "flows", primitives: ReportFixtures.interfacePrimitives, numericProtocols: false, cluster: nil),
            settings: ClickHouseSettings(url: server.url, spoolDirectory: dir + "/spool"))
        _ = try storage.write(FlushBatch(parts: [DrainedRows(rows: flows)], now: now, texts: nil))
        let onClickHouse = try ClickHouseInterfaceCounters(
            database: "pathflow", cluster: nil, settings: ClickHouseSettings(url: server.url, spoolDirectory: dir + "/counters"))
        func halves(_ first: Bool) -> [InterfaceCountersRow] {
            counters.map { r in
                var h = InterfaceCountersRow(agent: r.agent, ifIndex: r.ifIndex, minute: r.minute)
                h.ifSpeed = r.ifSpeed
                h.inBytes = first ? r.inBytes / 2 : r.inBytes - r.inBytes / 2
                h.outBytes = first ? r.outBytes / 2 : r.outBytes - r.outBytes / 2
                h.samples = first ? r.samples / 2 : r.samples - r.samples / 2
                return h
            }
        }
        try onClickHouse.write(halves(true), now: now)
        try onClickHouse.write(halves(false), now: now + 60)
        #expect(onClickHouse.sender.spool.count == 2)
        for sender in [storage.sender, onClickHouse.sender] {
            let task = Task { await sender.runSender(drainSeconds: 0) }
            while sender.spool.count > 0 { try await Task.sleep(for: .milliseconds(50)) }
            sender.finish()
            await task.value
        }
        #expect(try await server.query("SELECT count() FROM pathflow.interface_counters FORMAT TabSeparated")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "\(2 * counters.count)")
        let sqlite = try ReportSource(path: try ReportFixtures.interfaceDatabase(), table: "flows", binSeconds: nil, utc: true)
        let clickhouse = try ReportSource(
            clickhouse: ClickHouseTable(client: ClickHouseClient(url: server.url, timeoutSeconds: 30), database: "pathflow", table: "flows"),
            binSeconds: nil, utc: true)
        let want = try Reports.interfaceCapacity(sqlite, query: ReportQuery(), threshold: 0.8, now: InterfaceCapacityTests.start)
        let got = try Reports.interfaceCapacity(clickhouse, query: ReportQuery(), threshold: 0.8, now: InterfaceCapacityTests.start)
        #expect(want.rows.count == 4)
        #expect(got.render(.json) == want.render(.json))
        // A database without the table says so.
        let empty = try ReportSource(
            clickhouse: ClickHouseTable(client: ClickHouseClient(url: server.url, timeoutSeconds: 30), database: "pathflow", table: "flows"),
            binSeconds: nil, utc: true)
        _ = try await server.query("DROP TABLE pathflow.interface_counters")
        #expect(throws: ReportSource.Error.self) {
            try Reports.interfaceCapacity(empty, query: ReportQuery(), threshold: 0.8, now: InterfaceCapacityTests.start)
        }
    }

    @Test func everyReportMatchesSQLite() async throws {
        setenv("TZ", "UTC", 1)
        tzset()
        let server = try await ClickHouseServer()
        let texts = TextPool()
        let flushes = Self.flushes(texts: texts)
        let dir = NSTemporaryDirectory() + "pathflow-chreports-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: dir + "/flows.db")
        let schema = try TableSchema(table: "matrix", primitives: Self.primitives, tableVersion: nil, numericProtocols: false)
        try store.prepare(schema, rollup: true, utc: true)
        let storage = try ClickHouseViewStorage(
            schema: try ClickHouseSchema(database: "pathflow", table: "matrix", primitives: Self.primitives, numericProtocols: false, cluster: nil),
            settings: ClickHouseSettings(url: server.url, spoolDirectory: dir + "/spool"))
        for (i, parts) in flushes.enumerated() {
            try store.write(table: "matrix", parts: parts, now: Self.start + i * 3600, utc: true, texts: texts)
            _ = try storage.write(FlushBatch(parts: parts, now: Self.start + i * 3600, texts: texts))
        }
        let sender = Task { await storage.runSender(drainSeconds: 0) }
        while storage.spool.count > 0 { try await Task.sleep(for: .milliseconds(50)) }
        storage.finish()
        await sender.value

        let sqlite = try ReportSource(path: dir + "/flows.db", table: "matrix", binSeconds: nil, utc: true)
        let clickhouse = try ReportSource(
            clickhouse: ClickHouseTable(client: ClickHouseClient(url: server.url, timeoutSeconds: 30), database: "pathflow", table: "matrix"),
            binSeconds: nil, utc: true)
        #expect(clickhouse.bin.seconds == 300 && sqlite.bin.seconds == 300)
        #expect(Set(clickhouse.columns) == Set(sqlite.columns))

        var queries: [(String, ReportQuery)] = [("whole table", ReportQuery()), ("whole table, no rollup", ReportQuery(useRollup: false))]
        var q = ReportQuery()
        q.from = Self.start + 3600 + 120      // off a bin boundary
        q.to = Self.start + 2 * 86_400 + 7200
        queries.append(("from/to", q))
        q = ReportQuery()
        q.last = ReportQuery.Last(seconds: 86_400, now: Self.start + 3 * 86_400 - 1)
        queries.append(("last 24h", q))
        q = ReportQuery()
        q.filters = [("peer_as_dst", "64502"), ("proto", "tcp")]
        queries.append(("filtered", q))
        q = ReportQuery()
        q.from = Self.start + 10 * 86_400
        queries.append(("empty range", q))

        let capacities = try CapacityEntry.parse("""
            a peer_as_dst=64500 2M
            b peer_ip_src=10.0.0.4 1M
            c peer_ip_src=10.0.0.1,peer_ip_dst=192.0.2.3 500k
            """, file: "links")
        var compared = 0
        for (name, query) in queries {
            func both(_ make: (ReportSource) throws -> ReportTable) throws {
                let a = try make(sqlite).render(.json), b = try make(clickhouse).render(.json)
                #expect(a == b, "\(name)")
                compared += 1
            }
            try both { Reports.top(try Breakdown.compute($0, by: ["peer_ip_src", "peer_as_dst"], query: query), limit: 15) }
            for cell in [Reports.Cell.bytes, .avg, .peak, .p95] {
                try both {
                    Reports.matrix(try Breakdown.compute($0, by: ["peer_ip_src", "peer_dst_as"], query: query), cell: cell, maxColumns: 4, maxRows: 10)
                }
            }
            // Volumes only, as `report matrix` asks for them: ClickHouse then groups by key alone.
            for cell in [Reports.Cell.bytes, .avg] {
                try both {
                    Reports.matrix(
                        try Breakdown.compute($0, by: ["peer_ip_src", "peer_dst_as"], query: query, detail: false), cell: cell,
                        maxColumns: 4, maxRows: 10)
                }
            }
            try both { try Reports.series(try Breakdown.compute($0, by: ["peer_ip_dst"], query: query), limit: 3, utc: true) }
            try both { try Reports.capacity($0, capacities, query: query, threshold: 0.8, now: Self.start) }
            try both { Reports.coverage(try Breakdown.compute($0, by: ["net_dst", "mask_dst"], query: query)) }
        }
        #expect(compared == queries.count * 10)
        // The console's API, as its server answers: the same bodies on both, with coarser bins on
        // the clock, the series' other column, filters and the document form.
        let now = Self.start + 3 * 86_400 - 1
        for (name, parameters) in [
            ("series", ["by": ["peer_ip_dst"], "n": ["2"], "other": ["1"], "bin": ["1h"]]),
            ("series", ["by": ["peer_ip_src"], "bin": ["1d"], "format": ["table"]]),
            ("top", ["by": ["peer_as_dst"], "bin": ["15m"], "last": ["24h"], "where": ["proto=tcp"]]),
            ("matrix", ["rows": ["peer_ip_src"], "columns": ["peer_ip_dst"], "cell": ["p95"], "bin": ["1h"], "format": ["table"]]),
        ] as [(String, ReportAPI.Parameters)] {
            let a = try ReportAPI.answer(name, parameters, source: sqlite, now: now)
            let b = try ReportAPI.answer(name, parameters, source: clickhouse, now: now)
            #expect(a.body == b.body && a.body.count > 100, "\(name) \(parameters)")
        }
        // A table that is not there names the database's tables.
        #expect(throws: ReportSource.Error.self) {
            try ReportSource(
                clickhouse: ClickHouseTable(client: ClickHouseClient(url: server.url, timeoutSeconds: 5), database: "pathflow", table: "nothing"),
                binSeconds: nil, utc: true)
        }
    }

    /// what-if on a clickhouse view: the flows from ClickHouse, the RIB snapshot from SQLite
    /// (bgp_rib_snapshot_db): the same table as on the sqlite3 view.
    @Test func whatIfReadsTheSnapshotFromSQLite() async throws {
        setenv("TZ", "UTC", 1)
        tzset()
        let server = try await ClickHouseServer()
        let path = try ReportFixtures.whatIfDatabase()
        let storage = try ClickHouseViewStorage(
            schema: try ClickHouseSchema(
                database: "pathflow", table: "prefixes", primitives: ReportFixtures.whatIfPrimitives, numericProtocols: false, cluster: nil),
            settings: ClickHouseSettings(url: server.url, spoolDirectory: NSTemporaryDirectory() + "pathflow-whatif-\(UUID().uuidString)"))
        _ = try storage.write(FlushBatch(parts: [DrainedRows(rows: ReportFixtures.whatIfRows())], now: ReportsTests.start + 1200, texts: nil))
        let sender = Task { await storage.runSender(drainSeconds: 0) }
        while storage.spool.count > 0 { try await Task.sleep(for: .milliseconds(50)) }
        storage.finish()
        await sender.value
        let sqlite = try ReportSource(path: path, table: "prefixes", binSeconds: nil, utc: true)
        let clickhouse = try ReportSource(
            clickhouse: ClickHouseTable(client: ClickHouseClient(url: server.url, timeoutSeconds: 30), database: "pathflow", table: "prefixes"),
            binSeconds: nil, utc: true)
        let capacities = try CapacityEntry.parse("b peer_ip_dst=10.0.0.2 100", file: "c")
        for (failure, by) in [(WhatIfAnalysis.Failure.nextHop("10.0.0.1"), "peer_ip_dst"), (.peerAS("65001"), "peer_as_dst")] {
            let a = try WhatIfAnalysis.report(sqlite, failure: failure, by: by, query: ReportQuery(), capacities: capacities)
            let b = try WhatIfAnalysis.report(clickhouse, failure: failure, by: by, query: ReportQuery(), capacities: capacities, snapshot: path)
            #expect(a.render(.json) == b.render(.json))
            #expect(a.rows.count == 2)
        }
        // Without a snapshot file the clickhouse view cannot answer.
        #expect(throws: (any Error).self) {
            try WhatIfAnalysis.report(clickhouse, failure: .nextHop("10.0.0.1"), by: "peer_ip_dst", query: ReportQuery(), capacities: [])
        }
    }
}
