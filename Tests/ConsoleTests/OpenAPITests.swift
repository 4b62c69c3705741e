import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import Console
@testable import Reports
import TestServers
import Testing

/// The OpenAPI document and the one description it shares with the parameter parsing: every
/// report has its path, every parameter its type, default and meaning, and the code reads
/// exactly the parameters the description lists.
@Suite struct OpenAPITests {
    static func document(token: String? = nil) async throws -> [String: Any] {
        let server = ConsoleTests.server(try ConsoleTests.database(), token: token)
        let (status, body) = try await ConsoleTests.get(
            server, "/api/v1/openapi.json", headers: token.map { [.authorization: "Bearer \($0)"] } ?? [:])
        #expect(status == .ok)
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    @Test func everyReportAndParameterIsDescribed() async throws {
        let document = try await Self.document()
        #expect(document["openapi"] as? String == "3.0.3")
        #expect(document["security"] == nil)
        let paths = try #require(document["paths"] as? [String: Any])
        #expect(paths["/api/v1/reports"] != nil && paths["/api/v1/openapi.json"] != nil && paths["/api/v1/view"] != nil)
        for report in ReportAPI.reports {
            let path = try #require(paths["/api/v1/reports/\(report)"] as? [String: Any], "\(report)")
            let get = try #require(path["get"] as? [String: Any])
            #expect((get["summary"] as? String)?.isEmpty == false)
            let responses = try #require(get["responses"] as? [String: Any])
            #expect(Set(responses.keys).isSuperset(of: ["200", "400", "401", "404", "503"]), "\(report)")
            let ok = try #require(responses["200"] as? [String: Any])
            let content = try #require(ok["content"] as? [String: Any])
            #expect(Set(content.keys) == ["application/json", "text/csv", "text/plain", "text/html"])
            let parameters = try #require(get["parameters"] as? [[String: Any]])
            let described = try #require(ReportAPI.description(report)).allParameters
            #expect(parameters.map { $0["name"] as? String } == described.map(\.name), "\(report)")
            for (p, d) in zip(parameters, described) {
                #expect(p["in"] as? String == "query" && p["required"] as? Bool == d.required)
                #expect((p["description"] as? String)?.isEmpty == false, "\(report) \(d.name)")
                var schema = try #require(p["schema"] as? [String: Any])
                if d.repeatable {
                    #expect(schema["type"] as? String == "array")
                    schema = try #require(schema["items"] as? [String: Any])
                }
                #expect(schema["type"] as? String == d.kind.rawValue, "\(report) \(d.name)")
                if let value = d.defaultValue {
                    let given = schema["default"]
                    switch d.kind {
                    case .string: #expect(given as? String == value)
                    case .integer: #expect(given as? Int == Int(value), "\(report) \(d.name)")
                    case .number: #expect(given as? Double == Double(value), "\(report) \(d.name)")
                    case .boolean: #expect(given as? Bool == (value == "true"), "\(report) \(d.name)")
                    }
                } else {
                    #expect(schema["default"] == nil)
                }
            }
        }
        // The rows schema and the error schema are there; the bearer scheme too.
        let components = try #require(document["components"] as? [String: Any])
        let schemes = try #require(components["securitySchemes"] as? [String: Any])
        let bearer = try #require(schemes["bearerAuth"] as? [String: Any])
        #expect(bearer["type"] as? String == "http" && bearer["scheme"] as? String == "bearer")
        let schemas = try #require(components["schemas"] as? [String: Any])
        #expect(schemas["Rows"] != nil && schemas["Error"] != nil)
    }

    @Test func withATokenEveryOperationNeedsIt() async throws {
        let server = ConsoleTests.server(try ConsoleTests.database(), token: "s3cret")
        #expect(try await ConsoleTests.get(server, "/api/v1/openapi.json").0 == .unauthorized)
        let document = try await Self.document(token: "s3cret")
        let security = try #require(document["security"] as? [[String: [String]]])
        #expect(security == [["bearerAuth": []]])
    }

    /// Every branch of every report, run on a table where it computes: the names each reads are
    /// exactly those its description lists (none it does not, and none listed but never read).
    @Test func theCodeReadsWhatTheDescriptionLists() throws {
        let plain = try ConsoleTests.database()
        let whatIf = try ReportFixtures.whatIfDatabase()
        let counters = try ReportFixtures.interfaceDatabase()
        let capacities = try PlanningReportTests.file("capacities", "exit-1 peer_ip_dst=10.0.0.1 1G\n")
        let groups = try PlanningReportTests.file("groups", "duct peer_ip_dst=10.0.0.1,peer_ip_dst=10.0.0.2\n")
        let setup = ReportAPI.Setup(capacities: capacities, failureGroups: groups)
        let requests: [(report: String, query: ReportAPI.Parameters, db: String, table: String)] = [
            ("top", ["by": ["peer_ip_dst"], "where": ["peer_ip_src=192.0.2.1"]], plain, "m"),
            ("top", ["by": ["peer_ip_dst"], "last": ["7d"], "no_rollup": ["1"]], plain, "m"),
            ("matrix", ["columns": ["peer_ip_dst"]], plain, "m"),
            ("series", ["by": ["peer_ip_src"]], plain, "m"),
            ("quality", [:], plain, "m"),
            ("demands", [:], plain, "m"),
            ("shifts", [:], plain, "m"),
            ("shifts", ["baseline_from": ["2025-12-01 00:00"], "baseline_to": ["2025-12-01 00:10"], "from": ["2025-12-01 00:10"]], plain, "m"),
            ("prefixes", [:], plain, "m"),
            ("capacity", [:], plain, "m"),
            ("capacity", ["counters": ["1"]], counters, "flows"),
            ("what-if", ["fail": ["10.0.0.1"]], whatIf, "prefixes"),
            ("failures", [:], whatIf, "prefixes"),
            ("forecast", ["by": ["peer_ip_dst"]], plain, "m"),
        ]
        var read: [String: Set<String>] = [:]
        for r in requests {
            let arguments = try ReportAPI.Arguments(r.report, r.query)
            let source = try ReportSource(path: r.db, table: r.table, binSeconds: 300, utc: true)
            do {
                _ = try ReportAPI.answer(arguments, source: source, setup: setup, now: ReportFixtures.start + 3600)
            } catch let failure as ReportAPI.Failure {
                // Only the shifts report without a best-path history may fail here, and never for want of a description.
                #expect(r.report == "shifts" && failure.status == 400, "\(r.report) \(r.query): \(failure)")
            }
            read[r.report, default: []].formUnion(arguments.read)
        }
        for report in ReportAPI.descriptions {
            #expect(read[report.name] == Set(report.allParameters.map(\.name)), "\(report.name)")
        }
        // A name the description does not list cannot be read, and a request cannot give one.
        let top = try ReportAPI.Arguments("top", [:])
        #expect(throws: ReportAPI.Failure.self) { try top.value("threshold") }
        #expect(throws: ReportAPI.Failure("unknown parameter 'tresholds' for capacity: it takes from, to, last, where, bin, no_rollup, format, threshold, counters")) {
            try ReportAPI.Arguments("capacity", ["tresholds": ["90"]])
        }
    }

    @Test func unknownParametersAreRefused() async throws {
        let server = ConsoleTests.server(try ConsoleTests.database())
        let (status, body) = try await ConsoleTests.get(server, "/api/v1/reports/top?by=peer_ip_dst&limit=3")
        #expect(status == .badRequest && body.contains("unknown parameter 'limit' for top: it takes") && body.contains(", n\""))
    }
}
