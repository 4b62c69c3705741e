import Aggregation
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NetCore
@testable import Console
@testable import Reports
@testable import Storage
import Testing

/// The console's API through its router: every report the same table the command line prints,
/// filters and ranges as parameters, errors that say what is wrong, the bearer token.
@Suite struct ConsoleTests {
    static let start = 1_764_547_200  // 2025-12-01 00:00:00 UTC

    /// Two routers, three exits, four 300 s bins.
    static func database() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("c.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(
            table: "m", primitives: [.peerSrcIP, .peerDstIP, .dstNet, .dstMask, .pathMatch], tableVersion: nil, numericProtocols: false))
        var rows: [BinnedKey: Counters] = [:]
        for bin in 0..<4 {
            for (router, exit, net, bytes) in [("192.0.2.1", "10.0.0.1", "198.51.100.0", 1_000 * (bin + 1)),
                                               ("192.0.2.1", "10.0.0.2", "203.0.113.0", 300),
                                               ("192.0.2.2", "10.0.0.3", "198.51.100.0", 50 * (4 - bin))] {
                var k = FlowKey()
                k.peerSrc = IPAddress(router)!
                k.peerDst = IPAddress(exit)!
                k.dstNet = IPAddress(net)!
                k.dstMask = 24
                k.pathMatch = PathMatchCode.exact.rawValue
                rows[BinnedKey(key: k, bin: UInt32(start + bin * 300)), default: Counters()]
                    .add(Counters(packets: 1, bytes: UInt64(bytes), flows: 1))
            }
        }
        try store.write(table: "m", rows: rows, now: start + 1200, utc: true)
        return path
    }

    static func server(_ path: String, token: String? = nil) -> ConsoleServer {
        var settings = ConsoleServer.Settings()
        settings.token = token
        return ConsoleServer(settings: settings, logger: Logger(label: "test")) {
            try ReportSource(path: path, table: "m", binSeconds: 300, utc: true)
        }
    }

    static func get(_ server: ConsoleServer, _ uri: String, headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, String) {
        let app = Application(router: server.router())
        return try await app.test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: headers) { response in
                (response.status, String(buffer: response.body))
            }
        }
    }

    @Test func reportsAreTheCommandLinesTables() async throws {
        let path = try Self.database()
        let server = Self.server(path)
        let source = try ReportSource(path: path, table: "m", binSeconds: 300, utc: true)
        // top, as `pathflow report top --by peer_ip_dst --format json` computes it.
        let (status, top) = try await Self.get(server, "/api/v1/reports/top?by=peer_ip_dst")
        #expect(status == .ok)
        let want = Reports.top(try Breakdown.compute(source, by: ["peer_ip_dst"], query: ReportQuery()), limit: 10).render(.json)
        #expect(top == want)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(top.utf8)) as? [[String: Any]])
        #expect(rows.first?["peer_ip_dst"] as? String == "10.0.0.1" && rows.first?["bytes"] as? Int == 10_000)
        // A filter and a range change the numbers as the query says.
        let (_, filtered) = try await Self.get(
            server, "/api/v1/reports/top?by=peer_ip_dst&where=peer_ip_src%3D192.0.2.2&from=2025-12-01%2000:05&to=2025-12-01+00:15")
        let f = try #require(try JSONSerialization.jsonObject(with: Data(filtered.utf8)) as? [[String: Any]])
        #expect(f.count == 1 && f[0]["peer_ip_dst"] as? String == "10.0.0.3" && f[0]["bytes"] as? Int == 150 + 100)
        // matrix with p95 cells, series, quality, demands, prefixes: each the library's table.
        let q = ReportQuery()
        let (d, db) = try Demands.compute(source, from: ["peer_ip_src"], to: "peer_ip_dst", percentile: 50, query: q)
        let checks: [(String, String)] = [
            ("/api/v1/reports/matrix?rows=peer_ip_src&columns=peer_ip_dst&cell=p95",
             Reports.matrix(try Breakdown.compute(source, by: ["peer_ip_src", "peer_ip_dst"], query: q), cell: .p95, maxColumns: 12, maxRows: 50)
                .render(.json)),
            ("/api/v1/reports/series?by=peer_ip_src&n=2",
             try Reports.series(try Breakdown.compute(source, by: ["peer_ip_src"], query: q), limit: 2, utc: true).render(.json)),
            ("/api/v1/reports/quality", try MappingQuality.report(source, by: "peer_ip_src", query: q).render(.json)),
            ("/api/v1/reports/demands?percentile=50",
             Demands.table(d, db, percentile: 50, sourceName: "peer_ip_src", destinationName: "peer_ip_dst").render(.json)),
            ("/api/v1/reports/prefixes", Reports.coverage(try Breakdown.compute(source, by: ["net_dst", "mask_dst"], query: q, detail: false)).render(.json)),
        ]
        for (uri, expected) in checks {
            let (status, body) = try await Self.get(server, uri)
            #expect(status == .ok && body == expected, "\(uri)")
        }
        // Other renderings.
        let (_, csv) = try await Self.get(server, "/api/v1/reports/top?by=peer_ip_dst&format=csv")
        #expect(csv.hasPrefix("peer_ip_dst,bytes,"))
        let (_, html) = try await Self.get(server, "/api/v1/reports/top?by=peer_ip_dst&format=html")
        #expect(html.contains("<svg"))
        let (_, list) = try await Self.get(server, "/api/v1/reports")
        #expect(list.contains("\"shifts\""))
    }

    @Test func errorsSayWhatIsWrong() async throws {
        let server = Self.server(try Self.database())
        for (uri, status, text) in [
            ("/api/v1/reports/nothing", HTTPResponse.Status.notFound, "no report 'nothing'"),
            ("/api/v1/reports/top", .badRequest, "by is missing"),
            ("/api/v1/reports/top?by=peer_ip_dst&last=soon", .badRequest, "last=soon"),
            ("/api/v1/reports/top?by=peer_ip_dst&last=1h&from=2025-12-01", .badRequest, "cannot be combined"),
            ("/api/v1/reports/top?by=no_such_column", .badRequest, "no_such_column"),
            ("/api/v1/reports/top?by=peer_ip_dst&format=pdf", .badRequest, "format"),
            ("/api/v1/reports/shifts", .badRequest, "rib_best_changes"),
            ("/api/v1/reports/matrix?cell=median", .badRequest, "cell"),
        ] {
            let (got, body) = try await Self.get(server, uri)
            #expect(got == status && body.hasPrefix("{\"error\":") && body.contains(text), "\(uri): \(got) \(body)")
        }
    }

    @Test func bearerToken() async throws {
        let server = Self.server(try Self.database(), token: "s3cret")
        let uri = "/api/v1/reports/top?by=peer_ip_dst"
        #expect(try await Self.get(server, uri).0 == .unauthorized)
        #expect(try await Self.get(server, uri, headers: [.authorization: "Bearer s3cre"]).0 == .unauthorized)
        #expect(try await Self.get(server, uri, headers: [.authorization: "Bearer s3cret!"]).0 == .unauthorized)
        #expect(try await Self.get(server, uri, headers: [.authorization: "Bearer s3cret"]).0 == .ok)
    }

    @Test func tableDocumentBinsAndOther() async throws {
        let path = try Self.database()
        let server = Self.server(path)
        let source = try ReportSource(path: path, table: "m", binSeconds: 300, utc: true)
        // format=table: the same table with its title, range, notes and column types.
        let (status, body) = try await Self.get(server, "/api/v1/reports/top?by=peer_ip_dst&format=table")
        #expect(status == .ok)
        let table = Reports.top(try Breakdown.compute(source, by: ["peer_ip_dst"], query: ReportQuery()), limit: 10)
        #expect(body == table.document())
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(doc["columns"] as? [String] == table.columns)
        #expect((doc["types"] as? [String])?.prefix(5) == ["text", "bytes", "integer", "integer", "rate"])
        let rows = try #require(doc["rows"] as? [[Any]])
        #expect(rows.count == 3 && rows[0][0] as? String == "10.0.0.1" && rows[0][1] as? Int == 10_000)
        #expect((doc["subtitle"] as? String)?.contains("2025-12-01 00:00:00") == true && (doc["notes"] as? [String])?.isEmpty == false)
        // bin=10m: two bins of 600 s on the clock (not anchored at the newest stamp, 00:15), each
        // the sum of two of the table's.
        let (_, coarse) = try await Self.get(server, "/api/v1/reports/series?by=peer_ip_dst&n=1&bin=10m")
        let series = try #require(try JSONSerialization.jsonObject(with: Data(coarse.utf8)) as? [[String: Any]])
        #expect(series.map { $0["stamp_inserted"] as? String } == ["2025-12-01 00:00:00", "2025-12-01 00:10:00"])
        #expect(series.map { $0["10.0.0.1"] as? Int } == [(1_000 + 2_000) * 8 / 600, (3_000 + 4_000) * 8 / 600])
        // A 20-minute bin holds the table's first four bins whole: the same bytes as without bins.
        let (_, twenty) = try await Self.get(server, "/api/v1/reports/top?by=peer_ip_dst&bin=20m")
        let t = try #require(try JSONSerialization.jsonObject(with: Data(twenty.utf8)) as? [[String: Any]])
        #expect(t.map { $0["bytes"] as? Int } == [10_000, 1_200, 500] && t.first?["peak_bps"] as? Int == 67)  // 10,000 B × 8 / 1,200 s
        for bad in ["7m", "soon"] {
            let (s, e) = try await Self.get(server, "/api/v1/reports/top?by=peer_ip_dst&bin=\(bad)")
            #expect(s == .badRequest && e.contains("bin=\(bad)"))
        }
        // other=1: the rest of the keys in one column, so each bin's columns add up to all traffic.
        let (_, withOther) = try await Self.get(server, "/api/v1/reports/series?by=peer_ip_dst&n=1&other=1")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(withOther.utf8)) as? [[String: Any]])
        let others: [Int] = (0..<4).map { bin in
            let bytes = Double(300 + 50 * (4 - bin))
            return Int((bytes * 8 / 300).rounded())
        }
        #expect(o.map { $0["other"] as? Int } == others)
        #expect(withOther == (try Reports.series(
            try Breakdown.compute(source, by: ["peer_ip_dst"], query: ReportQuery()), limit: 1, utc: true, other: true).render(.json)))
    }

    @Test func viewPagesAndAssets() async throws {
        let server = Self.server(try Self.database(), token: "s3cret")
        let auth: HTTPFields = [.authorization: "Bearer s3cret"]
        let (status, view) = try await Self.get(server, "/api/v1/view", headers: auth)
        #expect(status == .ok)
        let v = try #require(try JSONSerialization.jsonObject(with: Data(view.utf8)) as? [String: Any])
        #expect(v["table"] as? String == "m" && v["bin_seconds"] as? Int == 300 && v["utc"] as? Bool == true)
        #expect(v["capacities"] as? Bool == false && v["failure_groups"] as? Bool == false && v["storage"] as? String == "sqlite3")
        #expect((v["primitives"] as? [String])?.contains("peer_ip_dst") == true && (v["primitives"] as? [String])?.contains("bytes") == false)
        #expect(try await Self.get(server, "/api/v1/view").0 == .unauthorized)
        // Pages and assets hold no data: no token needed; every page is the shell with its name.
        for page in ConsolePages.names {
            let (s, html) = try await Self.get(server, "/console/\(page)")
            #expect(s == .ok && html.contains("data-page=\"\(page)\"") && html.contains("/assets/console.js"), "\(page)")
        }
        let (missing, text) = try await Self.get(server, "/console/nothing")
        #expect(missing == .notFound && text.contains("overview"))
        let (js, script) = try await Self.get(server, "/assets/console.js")
        #expect(js == .ok && script.contains("/api/v1/") && script.utf8.count == ConsolePages.script.count)
        #expect(try await Self.get(server, "/assets/console.css").0 == .ok)
        #expect(try await Self.get(server, "/").0 == .seeOther)
    }

    @Test func reportsAtOnceAreBounded() {
        let gate = ReportGate(limit: 2)
        #expect(gate.enter() && gate.enter() && !gate.enter())
        gate.leave()
        #expect(gate.enter())
    }
}
