import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import Console
@testable import Reports
import Storage
import TestServers
import Testing

/// The planning reports through the API: capacity, what-if, failures and forecast give the
/// command line's tables, their files come from the server's setup, and their errors say what
/// is wrong.
@Suite struct PlanningReportTests {
    static func server(_ path: String, table: String, _ setup: ReportAPI.Setup = ReportAPI.Setup()) -> ConsoleServer {
        var settings = ConsoleServer.Settings()
        settings.reports = setup
        return ConsoleServer(settings: settings, logger: Logger(label: "test")) {
            try ReportSource(path: path, table: table, binSeconds: 300, utc: true)
        }
    }

    /// A file with `text`, in a directory of its own.
    static func file(_ name: String, _ text: String) throws -> String {
        let path = try ReportFixtures.directory("pathflow-console-files").appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }

    @Test func capacity() async throws {
        let path = try ConsoleTests.database()
        let source = try ReportSource(path: path, table: "m", binSeconds: 300, utc: true)
        // 10.0.0.1 rises by 1,000 bytes a bin: at 1 Gbit/s it reaches 80 % (or 50 %) centuries on.
        let capacities = try Self.file("capacities", "exit-1 peer_ip_dst=10.0.0.1 1G\nexit-3 peer_ip_dst=10.0.0.3 10k\n")
        let entries = try CapacityEntry.parse(try String(contentsOfFile: capacities, encoding: .utf8), file: capacities)
        let server = Self.server(path, table: "m", ReportAPI.Setup(capacities: capacities))
        let (status, body) = try await ConsoleTests.get(server, "/api/v1/reports/capacity")
        #expect(status == .ok)
        #expect(body == (try Reports.capacity(source, entries, query: ReportQuery(), threshold: 0.8, now: Self.now).render(.json)))
        let (_, half) = try await ConsoleTests.get(server, "/api/v1/reports/capacity?threshold=50")
        #expect(half == (try Reports.capacity(source, entries, query: ReportQuery(), threshold: 0.5, now: Self.now).render(.json)))
        let runouts = try [body, half].map { json in
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
            return try #require(rows.first { $0["name"] as? String == "exit-1" }?["runout"] as? String)
        }
        #expect(runouts[0] != runouts[1] && runouts[1] < runouts[0], "\(runouts)")
        // Edits apply to the next report, without a restart.
        try "exit-3 peer_ip_dst=10.0.0.3 20k\n".write(toFile: capacities, atomically: true, encoding: .utf8)
        let (_, edited) = try await ConsoleTests.get(server, "/api/v1/reports/capacity")
        #expect(!edited.contains("exit-1") && edited.contains("exit-3"))
    }

    @Test func capacityFromCounters() async throws {
        let path = try ReportFixtures.interfaceDatabase()
        let source = try ReportSource(path: path, table: "flows", binSeconds: 300, utc: true)
        let server = Self.server(path, table: "flows")
        let (status, body) = try await ConsoleTests.get(server, "/api/v1/reports/capacity?counters=1")
        #expect(status == .ok)
        #expect(body == (try Reports.interfaceCapacity(source, query: ReportQuery(), threshold: 0.8, now: Self.now).render(.json)))
        #expect(body.contains("\"flow_coverage\""))
        // No capacity file is needed, and one given is not used.
        let (_, csv) = try await ConsoleTests.get(server, "/api/v1/reports/capacity?counters=true&format=csv&threshold=10")
        #expect(csv == (try Reports.interfaceCapacity(source, query: ReportQuery(), threshold: 0.1, now: Self.now).render(.csv)))
    }

    @Test func whatIf() async throws {
        let path = try ReportFixtures.whatIfDatabase()
        let source = try ReportSource(path: path, table: "prefixes", binSeconds: 300, utc: true)
        let server = Self.server(path, table: "prefixes")
        let q = ReportQuery()
        for (uri, want) in [
            ("/api/v1/reports/what-if?fail=10.0.0.1",
             try WhatIfAnalysis.report(source, failure: .nextHop("10.0.0.1"), by: "peer_ip_dst", query: q, capacities: [])),
            ("/api/v1/reports/what-if?fail=AS65001",
             try WhatIfAnalysis.report(source, failure: .peerAS("65001"), by: "peer_as_dst", query: q, capacities: [])),
            ("/api/v1/reports/what-if?fail=65001&by=peer_ip_dst",
             try WhatIfAnalysis.report(source, failure: .peerAS("65001"), by: "peer_ip_dst", query: q, capacities: [])),
        ] {
            let (status, body) = try await ConsoleTests.get(server, uri)
            #expect(status == .ok && body == want.render(.json), "\(uri)")
        }
        // With the server's capacity file: utilisation after the failure.
        let capacities = try Self.file("c", "b peer_ip_dst=10.0.0.2 100\n")
        let entries = try CapacityEntry.parse("b peer_ip_dst=10.0.0.2 100\n", file: capacities)
        let (_, withCapacity) = try await ConsoleTests.get(
            Self.server(path, table: "prefixes", ReportAPI.Setup(capacities: capacities)), "/api/v1/reports/what-if?fail=10.0.0.1")
        #expect(withCapacity == (try WhatIfAnalysis.report(
            source, failure: .nextHop("10.0.0.1"), by: "peer_ip_dst", query: q, capacities: entries).render(.json)))
        #expect(withCapacity.contains("\"p95_util_after\":32.00"))
        // The snapshot where the setup says it is.
        let elsewhere = Self.server(path, table: "prefixes", ReportAPI.Setup(snapshot: { _ in path }))
        #expect(try await ConsoleTests.get(elsewhere, "/api/v1/reports/what-if?fail=10.0.0.1").1 == (try WhatIfAnalysis.report(
            source, failure: .nextHop("10.0.0.1"), by: "peer_ip_dst", query: q, capacities: [], snapshot: path).render(.json)))
    }

    @Test func failures() async throws {
        let path = try ReportFixtures.whatIfDatabase()
        let source = try ReportSource(path: path, table: "prefixes", binSeconds: 300, utc: true)
        let capacities = try Self.file("c", "a peer_ip_dst=10.0.0.1 100\nb peer_ip_dst=10.0.0.2 50\n")
        let entries = try CapacityEntry.parse(try String(contentsOfFile: capacities, encoding: .utf8), file: capacities)
        let groups = try Self.file("g", "duct-7 peer_ip_dst=10.0.0.1,peer_ip_dst=10.0.0.2\n")
        let duct = FailureAnalysis.Failure(name: "duct-7", nextHops: ["10.0.0.1", "10.0.0.2"])
        let q = ReportQuery()
        func want(_ kinds: [FailureAnalysis.Kind], _ groups: [FailureAnalysis.Failure], by: String, _ capacities: [CapacityEntry],
                  threshold: Double = 0.8) throws -> String {
            try FailureAnalysis.report(
                source, kinds: kinds, groups: groups, by: by, query: q, capacities: capacities, threshold: threshold, now: Self.now
            ).render(.json)
        }
        let bare = Self.server(path, table: "prefixes")
        #expect(try await ConsoleTests.get(bare, "/api/v1/reports/failures").1 == (try want([.nextHop], [], by: "peer_ip_dst", [])))
        #expect(try await ConsoleTests.get(bare, "/api/v1/reports/failures?fail_each=peer_dst_as,exit_router").1
            == (try want([.peerAS, .exitRouter], [], by: "peer_as_dst", [])))
        let configured = Self.server(path, table: "prefixes", ReportAPI.Setup(capacities: capacities, failureGroups: groups))
        let (status, body) = try await ConsoleTests.get(configured, "/api/v1/reports/failures")
        let expected = try want([.nextHop], [duct], by: "peer_ip_dst", entries)
        #expect(status == .ok && body == expected)
        #expect(try await ConsoleTests.get(configured, "/api/v1/reports/failures?fail_each=none&by=peer_as_dst").1
            == (try want([], [duct], by: "peer_as_dst", entries)))
        // A lower threshold: 10.0.0.2's p95 (5.3 bit/s) is already past 10 % of its 50.
        let (_, low) = try await ConsoleTests.get(configured, "/api/v1/reports/failures?threshold=0.1")
        #expect(low == (try want([.nextHop], [duct], by: "peer_ip_dst", entries, threshold: 0.1)))
        #expect(low.contains("\"runout\":\"over\"") && !body.contains("\"runout\":\"over\""))
    }

    @Test func forecast() async throws {
        let path = try ConsoleTests.database()
        let source = try ReportSource(path: path, table: "m", binSeconds: 300, utc: true)
        let server = Self.server(path, table: "m")
        func want(horizon: Int = 90, n: Int = 20) throws -> String {
            try SeasonalForecast.report(
                source, by: ["peer_ip_dst"], query: ReportQuery(), horizonDays: horizon, capacities: [], threshold: 0.8, limit: n
            ).render(.json)
        }
        let (status, body) = try await ConsoleTests.get(server, "/api/v1/reports/forecast?by=peer_ip_dst")
        let expected = try want()
        #expect(status == .ok && body == expected)
        let (_, one) = try await ConsoleTests.get(server, "/api/v1/reports/forecast?by=peer_ip_dst&n=1&horizon=2w")
        #expect(one == (try want(horizon: 14, n: 1)))
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(one.utf8)) as? [[String: Any]])
        #expect(rows.count == 1)
    }

    @Test func errorsSayWhatIsWrong() async throws {
        let plain = try ConsoleTests.database()
        let whatIf = try ReportFixtures.whatIfDatabase()
        let badCapacities = try Self.file("bad-capacities", "exit-1 peer_ip_dst=10.0.0.1 1G\nexit-2 peer_ip_dst=10.0.0.2 lots\n")
        let badGroups = try Self.file("bad-groups", "duct peer_ip_dst=10.0.0.1\nduct peer_ip_dst=10.0.0.2\n")
        let missing = "/nonexistent/pathflow-capacities"
        let m = Self.server(plain, table: "m"), p = Self.server(whatIf, table: "prefixes")
        let cases: [(ConsoleServer, String, HTTPResponse.Status, String)] = [
            (m, "capacity", .badRequest, "set console_capacities"),
            (m, "capacity?counters=1", .badRequest, "interface_counters"),
            (m, "capacity?counters=yes", .badRequest, "counters=yes"),
            (Self.server(plain, table: "m", ReportAPI.Setup(capacities: badCapacities)), "capacity", .internalServerError,
             "console_capacities: \(badCapacities):2: 'lots'"),
            (Self.server(plain, table: "m", ReportAPI.Setup(capacities: missing)), "capacity", .internalServerError,
             "console_capacities \(missing): cannot be read"),
            (Self.server(plain, table: "m", ReportAPI.Setup(capacities: try Self.file("c", "x peer_ip_dst=10.0.0.1 1G"))),
             "capacity?threshold=-5", .badRequest, "threshold=-5"),
            (p, "what-if", .badRequest, "fail is missing"),
            (p, "what-if?fail=somewhere", .badRequest, "fail=somewhere"),
            (m, "what-if?fail=AS65001", .badRequest, "no column 'peer_as_dst'"),
            (Self.server(plain, table: "m", ReportAPI.Setup(snapshot: { report in throw ReportAPI.Failure("\(report): no snapshot here") })),
             "what-if?fail=10.0.0.1", .badRequest, "what-if: no snapshot here"),
            (p, "failures?fail_each=routers", .badRequest, "fail_each=routers: peer_ip_dst, peer_as_dst, exit_router or none"),
            (p, "failures?fail_each=none", .badRequest, "console_failure_groups"),
            (p, "failures?threshold=0", .badRequest, "threshold=0"),
            (Self.server(whatIf, table: "prefixes", ReportAPI.Setup(failureGroups: badGroups)), "failures", .internalServerError,
             "console_failure_groups: \(badGroups):2: group 'duct' named twice"),
            (m, "forecast", .badRequest, "by is missing"),
            (m, "forecast?by=peer_ip_dst&horizon=6h", .badRequest, "horizon=6h"),
            (m, "forecast?by=peer_ip_dst&n=0", .badRequest, "n=0"),
        ]
        for (server, uri, status, text) in cases {
            let (got, body) = try await ConsoleTests.get(server, "/api/v1/reports/" + uri)
            #expect(got == status && body.hasPrefix("{\"error\":") && body.contains(text), "\(uri): \(got) \(body)")
        }
        // The analyses' own errors: a view without a RIB snapshot beside it, or none where the setup says.
        let bare = try ReportFixtures.directory("pathflow-console-nosnap").appendingPathComponent("n.db").path
        let store = try SQLiteStore(path: bare)
        try store.prepare(try TableSchema(table: "prefixes", primitives: ReportFixtures.whatIfPrimitives, tableVersion: nil, numericProtocols: false))
        try store.write(table: "prefixes", rows: ReportFixtures.whatIfRows(), now: ReportFixtures.start + 1200, utc: true)
        let (got, body) = try await ConsoleTests.get(Self.server(bare, table: "prefixes"), "/api/v1/reports/what-if?fail=10.0.0.1")
        #expect(got == .badRequest && body.contains("has no RIB snapshot (table rib_paths)"), "\(got) \(body)")
        let nowhere = Self.server(whatIf, table: "prefixes", ReportAPI.Setup(snapshot: { _ in "/nonexistent/rib.db" }))
        let (got2, body2) = try await ConsoleTests.get(nowhere, "/api/v1/reports/failures")
        #expect(got2 == .badRequest && body2.contains("no RIB snapshot database at /nonexistent/rib.db"), "\(got2) \(body2)")
    }
}
