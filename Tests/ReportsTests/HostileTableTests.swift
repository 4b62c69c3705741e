import Aggregation
import Foundation
import GRDB
import NetCore
import Reports
@testable import Storage
import Testing

/// Reports on tables that hold what no collector should write: counters near or past 2^63
/// (stored as REAL, or as negative INTEGERs), NULL and text in counter columns, stamps that are
/// not stamps, and text cells made to attack a spreadsheet or a terminal. Every report kind in
/// every format must finish, and say what it clamped.
@Suite struct HostileTableTests {
    static let bin = 300
    static let start = 1_764_547_200  // 2025-12-01 00:00:00 UTC
    static let primitives: [Primitive] = [.peerSrcIP, .peerDstIP, .peerDstAS, .asPath, .dstNet, .dstMask]

    /// One stored row; `nil` counters are NULL.
    struct Stored {
        var src = "192.0.2.1", hop = "10.0.0.1"
        var asn: any DatabaseValueConvertible = 65001
        var path = "65001", net = "198.51.100.0", mask = 24
        var packets: (any DatabaseValueConvertible)? = 1
        var bytes: (any DatabaseValueConvertible)? = 100
        var flows: (any DatabaseValueConvertible)? = 1
        var stamp: (any DatabaseValueConvertible)? = HostileTableTests.stamp(0)
    }

    static func stamp(_ bin: Int) -> String { StampText.format(start + bin * Self.bin, utc: true) }

    /// The collector's table and stamp index (TableSchema's DDL) without NOT NULL, as a broken or
    /// hostile writer may leave it, holding `rows`.
    static func database(_ rows: [Stored], table: String = "hostile") throws -> (path: String, store: SQLiteStore) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("h.db").path
        let store = try SQLiteStore(path: path)
        let schema = try TableSchema(table: table, primitives: primitives, tableVersion: nil, numericProtocols: false)
        try store.pool.write { db in
            for sql in schema.createStatements { try db.execute(sql: sql.replacingOccurrences(of: " NOT NULL", with: "")) }
            for r in rows {
                try db.execute(
                    sql: "INSERT INTO \(table) (peer_ip_src, peer_ip_dst, peer_as_dst, as_path, net_dst, mask_dst, packets, bytes, flows, "
                        + "stamp_inserted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [r.src, r.hop, r.asn, r.path, r.net, r.mask, r.packets, r.bytes, r.flows, r.stamp])
            }
        }
        return (path, store)
    }

    /// Five peer ASes over two bins:
    /// - 65001: Int64.max bytes, packets and flows in bin 0, plus 5 bytes in a second row of the
    ///   same AS and bin (its group's SQL sum passes 2^63-1), Int64.max bytes again in bin 1;
    /// - 65002: 1.8e19 bytes and 9.3e18 packets, stored as REAL (beyond INTEGER);
    /// - 65003: -5 bytes and -1 packets in bin 0, 1,000 bytes in bin 1;
    /// - 65004: NULL bytes, text packets and 2.5 flows in bin 0, 2,000 bytes in bin 1;
    /// - 65005: 1,000 bytes in each bin.
    static func hugeCounters() throws -> String {
        let max = Int64.max
        return try database([
            Stored(packets: max, bytes: max, flows: max),
            Stored(path: "65001 65001", bytes: 5),
            Stored(packets: 1, bytes: max, stamp: stamp(1)),
            Stored(asn: 65002, path: "65002", net: "203.0.113.0", packets: 9.3e18, bytes: 1.8e19),
            Stored(src: "192.0.2.2", hop: "10.0.0.2", asn: 65003, path: "65003", net: "192.0.2.0", packets: -1, bytes: -5),
            Stored(src: "192.0.2.2", hop: "10.0.0.2", asn: 65003, path: "65003", net: "192.0.2.0", bytes: 1_000, stamp: stamp(1)),
            Stored(src: "192.0.2.2", hop: "10.0.0.2", asn: 65004, path: "65004", net: "10.0.0.0", mask: 8,
                   packets: "abc", bytes: nil, flows: 2.5),
            Stored(src: "192.0.2.2", hop: "10.0.0.2", asn: 65004, path: "65004", net: "10.0.0.0", mask: 8,
                   packets: 2, bytes: 2_000, stamp: stamp(1)),
            Stored(src: "192.0.2.3", hop: "10.0.0.2", asn: 65005, path: "65005", net: "172.16.0.0", mask: 12, packets: 10, bytes: 1_000),
            Stored(src: "192.0.2.3", hop: "10.0.0.2", asn: 65005, path: "65005", net: "172.16.0.0", mask: 12, packets: 10, bytes: 1_000,
                   stamp: stamp(1)),
        ]).path
    }

    /// What every format must hold: JSON that parses, CSV with one record per row, text with no
    /// control character but line ends and one line per row, HTML with none at all.
    func checkFormats(_ t: ReportTable, _ what: String) throws {
        let json = t.render(.json)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        #expect(parsed?.count == t.rows.count, "\(what): json")
        #expect(try Self.csvRecords(t.render(.csv)).count == t.rows.count + 1, "\(what): csv")
        let text = t.render(.text)
        #expect(!text.unicodeScalars.contains { $0 != "\n" && Self.isControl($0) }, "\(what): text")
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count == t.notes.count + 2 + t.rows.count + 1, "\(what): lines")
        let html = t.render(.html)
        #expect(!html.unicodeScalars.contains { $0 != "\n" && Self.isControl($0) }, "\(what): html")
    }

    static func isControl(_ c: Unicode.Scalar) -> Bool { c.value < 0x20 || (0x7F...0x9F).contains(c.value) }

    /// RFC 4180 records (fields unquoted, quotes undoubled); throws on a malformed quote.
    static func csvRecords(_ csv: String) throws -> [[String]] {
        struct Malformed: Error {}
        var records: [[String]] = [], record: [String] = [], field = ""
        var quoted = false, wasQuoted = false
        var chars = Array(csv)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                guard field.isEmpty, !wasQuoted else { throw Malformed() }
                quoted = true
                wasQuoted = true
            } else if c == "," || c == "\n" {
                record.append(field)
                field = ""
                wasQuoted = false
                if c == "\n" {
                    records.append(record)
                    record = []
                }
            } else {
                guard !wasQuoted else { throw Malformed() }
                field.append(c)
            }
        }
        guard !quoted, field.isEmpty, record.isEmpty else { throw Malformed() }
        return records
    }

    // MARK: Counters

    /// The issue's crash: one key's sums pass 2^63-1. Each value is read by the documented rule
    /// and the report says what it clamped.
    @Test func countersAreClampedAndSumsSaturate() throws {
        let source = try ReportSource(path: try Self.hugeCounters(), table: "hostile", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(source, by: ["peer_as_dst"], query: ReportQuery())
        #expect(b.entries.map(\.key) == [["65001"], ["65002"], ["65004"], ["65005"], ["65003"]])
        #expect(b.entries.map(\.bytes) == [.max, .max, 2_000, 2_000, 1_000])
        #expect(b.entries.map(\.packets) == [.max, .max, 2, 20, 1])
        // 2.5 flows truncated to 2, plus 1.
        #expect(b.entries.map(\.flows) == [.max, 1, 3, 2, 2])
        #expect(b.entries[0].bins.map(\.bytes) == [.max, .max])
        let notes = Reports.top(b, limit: 10).notes
        #expect(notes.contains(
            "# counters out of range: 2 negative read as 0, 2 above 2^63-1 read as 2^63-1, 1 fractional truncated, "
                + "2 NULL or not a number read as 0 (stored values); sums above 2^63-1 stop at 2^63-1"), "\(notes)")
        // A bounded range without per-bin detail reads the same sums.
        let volumes = try Breakdown.compute(
            source, by: ["peer_as_dst"], query: ReportQuery(from: Self.start, to: Self.start + 2 * Self.bin), detail: false)
        #expect(volumes.entries.map(\.bytes) == b.entries.map(\.bytes))
    }

    /// Every report kind, every format, on the same table; 1-second bins so that rates pass 2^63
    /// bit/s. Shares come from floating-point totals, so two saturated keys are 50 % each.
    @Test func everyReportAndFormatFinishes() throws {
        let path = try Self.hugeCounters()
        let source = try ReportSource(path: path, table: "hostile", binSeconds: 1, utc: true)
        let byAS = try Breakdown.compute(source, by: ["peer_as_dst"], query: ReportQuery())
        let top = Reports.top(byAS, limit: 10)
        try checkFormats(top, "top")
        let csv = try Self.csvRecords(top.render(.csv))
        #expect(csv[0] == ["peer_as_dst", "bytes", "packets", "flows", "avg_bps", "peak_bps", "p95_bps", "share", "cumulative"])
        // Int64.max bytes in a 1-second bin: 2^66 bit/s, printed whole. The range is the 301
        // one-second bins from the first stamp to the last: the average is over all of them, and
        // the p95 of 301 bins of which 2 carry traffic is 0.
        #expect(csv[1] == ["65001", "9223372036854775807", "9223372036854775807", "9223372036854775807",
                           "245139456129030592", "73786976294838206464", "0", "50.00", "50.00"])
        #expect(csv[2].suffix(2) == ["50.00", "100.00"])
        #expect(top.render(.json).contains("\"peak_bps\":73786976294838206464"))
        #expect(top.render(.text).contains("counters out of range"))

        let matrixSource = try Breakdown.compute(source, by: ["peer_ip_src", "peer_as_dst"], query: ReportQuery())
        for cell in Reports.Cell.allCases {
            let m = Reports.matrix(matrixSource, cell: cell, maxColumns: 2, maxRows: 10)
            try checkFormats(m, "matrix \(cell)")
            #expect(m.notes.contains { $0.contains("sums above 2^63-1") })
        }
        let routerA = Reports.matrix(matrixSource, cell: .bytes, maxColumns: 1, maxRows: 10).rows[0]
        #expect(routerA == [.text("192.0.2.1"), .bytes(.max), .bytes(.max), .bytes(.max)])

        try checkFormats(try Reports.series(byAS, limit: 5, utc: true), "series")

        let capacities = try CapacityEntry.parse("""
            a peer_as_dst=65001 10G
            router-a peer_ip_src=192.0.2.1 1k
            d peer_as_dst=65004 1k
            """, file: "c")
        // The first bin alone: its p95 is its 2^66 bit/s, far over.
        let capacity = try Reports.capacity(
            source, capacities, query: ReportQuery(from: Self.start, to: Self.start + 1), threshold: 0.8, now: Self.start)
        try checkFormats(capacity, "capacity")
        #expect(capacity.rows[0][7] == .text("over"))
        try checkFormats(try Reports.capacity(source, capacities, query: ReportQuery(), threshold: 0.8, now: Self.start), "capacity")
        #expect(capacity.notes.contains { $0.contains("counters out of range") })

        try SnapshotFixture.write(path)
        let whatIf = try WhatIfAnalysis.report(source, failure: .nextHop("10.0.0.1"), by: "peer_ip_dst", query: ReportQuery(), capacities: [])
        try checkFormats(whatIf, "what-if")
        // Both saturated prefixes move to 10.0.0.2: its load stops at Int64.max.
        #expect(whatIf.rows[0][0] == .text("10.0.0.2") && whatIf.rows[0][2] == .bytes(.max))
        #expect(whatIf.notes.contains { $0.contains("sums above 2^63-1") })

        let nets = try Breakdown.compute(source, by: ["net_dst", "mask_dst"], query: ReportQuery())
        let coverage = Reports.coverage(nets)
        try checkFormats(coverage, "prefixes")
        #expect(coverage.rows.last?[1] == .integer(5))
        #expect(coverage.rows.allSatisfy { if case .percent(let p) = $0[3] { p >= 0 && p <= 100 } else { false } })
        #expect(Reports.prefixList(nets, limit: 2) == "198.51.100.0/24\n203.0.113.0/24\n")
    }

    /// The rollup's counters go through the same rules: a day's bytes stored as REAL past 2^63,
    /// and bin lists with a negative entry (a list whose sums wrapped).
    @Test func rollupCountersAreClampedToo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-hostile-rollup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("r.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "links", primitives: [.peerDstAS], tableVersion: nil, numericProtocols: false),
                          rollup: true, utc: true)
        var k = FlowKey()
        k.peerDstAS = 65001
        var rows: [BinnedKey: Counters] = [:]
        for day in 0..<3 { rows[BinnedKey(key: k, bin: UInt32(Self.start + day * 86_400))] = Counters(packets: 1, bytes: 1_000, flows: 1) }
        try store.write(table: "links", rows: rows, now: Self.start + 3 * 86_400, utc: true)
        let bins = BinList.encode([BinList.Entry(second: 0, bytes: -7), BinList.Entry(second: 300, bytes: .max)])
        try store.pool.write { db in
            try db.execute(sql: "UPDATE links_daily SET bytes = 1.8e19, packets = -3, bins = ?", arguments: [Data(bins)])
        }
        let source = try ReportSource(path: path, table: "links", binSeconds: 300, utc: true)
        let q = ReportQuery(from: Self.start, to: Self.start + 2 * 86_400)
        let b = try Breakdown.compute(source, by: ["peer_as_dst"], query: q)
        #expect(b.entries.map(\.bytes) == [.max])
        #expect(b.entries.map(\.packets) == [0])
        #expect(b.entries[0].bins.allSatisfy { $0.bytes >= 0 })
        #expect(b.entries[0].bins[Self.start + 300] == .max)
        let top = Reports.top(b, limit: 1)
        try checkFormats(top, "top from the rollup")
        // Per day: packets -3 and a bin of -7 bytes (negative), bytes 1.8e19 (too large).
        #expect(top.notes.contains { $0.contains("4 negative read as 0, 2 above 2^63-1 read as 2^63-1") }, "\(top.notes)")
        try checkFormats(try Reports.series(b, limit: 1, utc: true), "series from the rollup")
    }

    /// A trend that rises slowly from far above the threshold crosses it long before the year 0;
    /// an infinite capacity is refused (utilisation would divide by it).
    @Test func trendCrossingFarInThePast() {
        let t = Trend(slope: 1e-12, intercept: 1e20).crossing(800)
        #expect(t != nil && t! < 0)
        #expect(throws: CapacityError.self) { try CapacityEntry.parse("x peer_as_dst=1 1e400", file: "f") }
    }

    /// Stamps that are numbers, NULL, a year past Int32 or no date at all: no trap, and the rows
    /// with real stamps still counted. So does a rollup registry that holds numbers.
    @Test func stampsAndRegistriesThatAreNotText() throws {
        let (path, store) = try Self.database([
            Stored(bytes: 1_000),
            Stored(bytes: 1_000, stamp: Self.stamp(1)),
            Stored(bytes: 7, stamp: Self.start),
            Stored(bytes: 7, stamp: nil),
            Stored(bytes: 7, stamp: "99999999999-01-01 00:00:00"),
            Stored(bytes: 7, stamp: "garbage"),
        ])
        let source = try ReportSource(path: path, table: "hostile", binSeconds: nil, utc: true)
        #expect(source.binSeconds == Self.bin)
        for q in [ReportQuery(), ReportQuery(from: Self.start), ReportQuery(from: Self.start, to: Self.start + 2 * Self.bin)] {
            let b = try Breakdown.compute(source, by: ["peer_as_dst"], query: q)
            #expect(b.entries.first.map { $0.bytes >= 2_000 } == true)
            try checkFormats(try Reports.series(b, limit: 1, utc: true), "series")
        }
        // The rollup and a registry made by hand, without NOT NULL.
        try store.pool.write { db in
            try RollupSchema(base: "hostile", columns: [("peer_as_dst", "INT")]).prepare(db, utc: true)
            try db.execute(sql: """
                DROP TABLE pathflow_rollups;
                CREATE TABLE pathflow_rollups (base TEXT PRIMARY KEY, rollup TEXT, complete_from DATETIME, written_until DATETIME);
                INSERT INTO pathflow_rollups VALUES ('hostile', 'hostile_daily', NULL, 20251202);
                """)
        }
        // A new source: GRDB caches the schema it saw.
        let again = try ReportSource(path: path, table: "hostile", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(again, by: ["peer_as_dst"], query: ReportQuery(from: Self.start - 86_400, to: Self.start + 86_400))
        #expect(b.entries.map(\.bytes) == [2_000])
    }

    // MARK: Text from the table

    /// as_path values made to attack a spreadsheet or a terminal, one key each.
    static let hostileText = [
        "=HYPERLINK(\"http://example.com/\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\tx", "\rx", "\u{FF1D}1+1",
        "a,b", "q\"uote", "line1\nline2", "-", "-5", "+1.5", "12",
        "\u{1B}[2J\u{1B}[31mred", "a\rb", "bell\u{07}", "\u{9B}31m", "del\u{7F}", "<script>alert(1)</script>",
    ]

    static func hostileTextTable() throws -> String {
        try database(hostileText.enumerated().map { i, s in
            Stored(asn: Int64(-7 - i), path: s, net: s, bytes: Int64(1_000 + i), stamp: stamp(i % 3))
        }).path
    }

    /// CSV: text from the table that a spreadsheet would run as a formula gets a leading quote;
    /// plain numbers, a lone "-" and the report's own numbers (negative ones included) do not.
    @Test func csvNeutralisesFormulasFromTheTable() throws {
        let source = try ReportSource(path: try Self.hostileTextTable(), table: "hostile", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(source, by: ["as_path", "peer_as_dst"], query: ReportQuery())
        let records = try Self.csvRecords(Reports.top(b, limit: 100).render(.csv))
        var cell: [String: [String]] = [:]
        for r in records.dropFirst() { cell[r[1]] = r }
        let expected: [(String, String)] = [
            ("-7", "'=HYPERLINK(\"http://example.com/\",\"x\")"), ("-8", "'+1+1"), ("-9", "'-2+3"), ("-10", "'@SUM(A1:A2)"),
            ("-11", "'\tx"), ("-12", "'\rx"), ("-13", "'\u{FF1D}1+1"), ("-14", "a,b"), ("-15", "q\"uote"),
            ("-16", "line1\nline2"), ("-17", "-"), ("-18", "-5"), ("-19", "+1.5"), ("-20", "12"),
        ]
        for (asn, path) in expected { #expect(cell[asn]?.first == path, "\(asn)") }
        // The negative AS numbers are text from the table, and plain numbers: left alone.
        #expect(records.dropFirst().allSatisfy { !$0[1].hasPrefix("'") })

        // Column names from the table are cells too.
        let m = Reports.matrix(try Breakdown.compute(source, by: ["peer_as_dst", "as_path"], query: ReportQuery()),
                               cell: .bytes, maxColumns: 100, maxRows: 100)
        let header = try Self.csvRecords(m.render(.csv))[0]
        #expect(header.contains("'=HYPERLINK(\"http://example.com/\",\"x\")") && header.contains("'@SUM(A1:A2)"))
        #expect(!header.contains { $0.hasPrefix("=") || $0.hasPrefix("@") || $0 == "+1+1" || $0 == "-2+3" })

        // A falling trend is a negative number of the report's own: unquoted, unprefixed.
        var rows: [Stored] = []
        for i in 0..<10 { rows.append(Stored(bytes: Int64(10_000 - 1_000 * i), stamp: Self.stamp(i))) }
        let falling = try ReportSource(path: try Self.database(rows).path, table: "hostile", binSeconds: nil, utc: true)
        let capacity = try Reports.capacity(
            falling, try CapacityEntry.parse("-down peer_as_dst=65001 1G", file: "c"), query: ReportQuery(), threshold: 0.8, now: Self.start)
        let line = try Self.csvRecords(capacity.render(.csv))[1]
        #expect(line[0] == "'-down")
        #expect(line[6].hasPrefix("-") && Int64(line[6]).map { $0 < 0 } == true, "\(line)")
    }

    /// Text: control characters from the table (ESC sequences, CR, LF, BEL, C1, DEL) print as
    /// escapes, one line per row; prefix lists too. JSON keeps every value exactly; HTML escapes.
    @Test func textJSONAndHTMLCarryHostileText() throws {
        let source = try ReportSource(path: try Self.hostileTextTable(), table: "hostile", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(source, by: ["as_path"], query: ReportQuery())
        let top = Reports.top(b, limit: 100)
        try checkFormats(top, "top")
        let text = top.render(.text)
        for escaped in ["\\x1b[2J\\x1b[31mred", "a\\x0db", "line1\\x0aline2", "bell\\x07", "\\x9b31m", "del\\x7f", "\\x09x"] {
            #expect(text.contains(escaped), "\(escaped)")
        }
        // JSON: the same strings back, byte for byte.
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(top.render(.json).utf8)) as? [[String: Any]])
        #expect(Set(parsed.compactMap { $0["as_path"] as? String }) == Set(Self.hostileText))
        #expect(!top.render(.json).unicodeScalars.contains { Self.isControl($0) && $0 != "\n" })
        // HTML: markup escaped, controls visible.
        let html = top.render(.html)
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script"))
        #expect(html.contains("\\x1b[2J"))

        for (name, t) in [
            ("matrix", Reports.matrix(try Breakdown.compute(source, by: ["peer_as_dst", "as_path"], query: ReportQuery()),
                                      cell: .bytes, maxColumns: 100, maxRows: 100)),
            ("series", try Reports.series(b, limit: 100, utc: true)),
            ("prefixes", Reports.coverage(try Breakdown.compute(source, by: ["net_dst", "mask_dst"], query: ReportQuery()))),
        ] {
            try checkFormats(t, name)
        }
        let list = Reports.prefixList(try Breakdown.compute(source, by: ["net_dst", "mask_dst"], query: ReportQuery()), limit: 100)
        #expect(list.split(separator: "\n").count == Self.hostileText.count)
        #expect(!list.unicodeScalars.contains { Self.isControl($0) && $0 != "\n" })

        // Names from the file in an error message, too.
        let (path, store) = try Self.database([Stored()])
        try store.pool.write { db in try db.execute(sql: "ALTER TABLE hostile ADD COLUMN \"x\u{1B}[2J\" INT") }
        let odd = try ReportSource(path: path, table: "hostile", binSeconds: nil, utc: true)
        do {
            _ = try Breakdown.compute(odd, by: ["nonsense"], query: ReportQuery())
            Issue.record("no error")
        } catch let error as ReportSource.Error {
            #expect(!"\(error)".unicodeScalars.contains { Self.isControl($0) } && "\(error)".contains("x\\x1b[2J"))
        }
    }
}

/// The RIB snapshot `report what-if` reads: router 192.0.2.1 reaches 198.51.100.0/24 and
/// 203.0.113.0/24 by 10.0.0.1, then 10.0.0.2.
enum SnapshotFixture {
    static func write(_ path: String) throws {
        let writer = try RIBSnapshotWriter(store: try SQLiteStore(path: path), stamp: "2025-12-01 00:20:00")
        for net in ["198.51.100.0", "203.0.113.0"] {
            try writer.append([
                RIBSnapshotRow(router: "192.0.2.1", bgpID: "192.0.2.1", net: net, mask: 24, pathID: 1, rank: 0, nextHop: "10.0.0.1",
                               peerAS: 65001, originAS: 65001, asPath: "65001", localPref: 100, med: 0),
                RIBSnapshotRow(router: "192.0.2.1", bgpID: "192.0.2.1", net: net, mask: 24, pathID: 2, rank: 1, nextHop: "10.0.0.2",
                               peerAS: 65003, originAS: 65003, asPath: "65003", localPref: 100, med: 0),
            ])
        }
        try writer.commit()
    }
}
