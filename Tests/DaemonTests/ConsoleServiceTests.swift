import Console
import Foundation
import Logging
import PathflowConfig
import Reports
import ServiceLifecycle
import TestServers
import Testing
@testable import Daemon

#if canImport(Glibc)
import Glibc
#endif

/// The console inside the collector: a service of its group, listening before any flow is read,
/// stopping with the rest; a port it cannot have stops startup naming console_listen.
@Suite(.serialized) struct ConsoleServiceTests {
    static func collector(consolePort: Int, metricsPort: Int? = nil, token: String? = nil) throws -> (Collector, String) {
        let directory = ServicesTests.directory()
        let db = directory.appendingPathComponent("flows.db").path
        let path = directory.appendingPathComponent("pathflow.conf").path
        try """
            nfacctd_ip: 127.0.0.1
            nfacctd_port: \(try ServicesTests.freePort())
            metrics_listen: \(metricsPort.map { "127.0.0.1:\($0)" } ?? "false")
            console_listen: 127.0.0.1:\(consolePort)
            plugins: sqlite3
            aggregate: src_host, dst_host
            sql_db: \(db)
            sql_refresh_time: 3600
            sql_history: 5m
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let (config, diagnostics) = try CollectorConfig.load(path: path)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let endpoint = try #require(config.consoleEndpoint)
        var settings = ConsoleServer.Settings()
        settings.host = endpoint.host
        settings.port = endpoint.port
        settings.token = token
        let console = ConsoleServer(settings: settings, logger: Logger(label: "test")) {
            try ReportSource(path: db, table: "acct", binSeconds: 300, utc: false)
        }
        return (try Collector(config: config, logger: Logger(label: "test"), threads: 1, console: console), db)
    }

    @Test func collectServesTheConsole() async throws {
        let port = try ServicesTests.freePort()
        let (collector, _) = try Self.collector(consolePort: port)
        #expect(collector.services.map { "\(type(of: $0))" }
            == ["ConsoleServer", "StorageService", "FlushService", "IntakeService"])
        #expect(ServicesTests.canBind(port, type: Int32(SOCK_STREAM.rawValue)))
        let group = ServiceGroup(services: collector.services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var answer: (status: Int, body: String)?
            for _ in 0..<300 {
                answer = await RawHTTP.blocking { RawHTTP.get(port, "/api/v1/reports") }
                if answer != nil { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(answer?.status == 200 && answer?.body.contains("\"what-if\"") == true, "\(String(describing: answer))")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // Nobody listens any more (binding may still fail while the closed connection waits).
        #expect(await RawHTTP.blocking { RawHTTP.connect(port) == nil })
    }

    @Test func theCollectorsMetricsCountWhatTheConsoleRefused() async throws {
        let (port, metricsPort) = (try ServicesTests.freePort(), try ServicesTests.freePort())
        let (collector, _) = try Self.collector(consolePort: port, metricsPort: metricsPort, token: "s3cret")
        let group = ServiceGroup(services: collector.services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var refused: (status: Int, body: String)?
            for _ in 0..<300 where refused == nil {
                try await Task.sleep(for: .milliseconds(10))
                refused = await RawHTTP.blocking { RawHTTP.get(port, "/api/v1/reports") }
            }
            #expect(refused?.status == 401)
            let auth = ["Authorization": "Bearer s3cret"]
            #expect(await RawHTTP.blocking { RawHTTP.get(port, "/api/v1/reports", headers: auth)?.status } == 200)
            let metrics = try #require(await RawHTTP.blocking { RawHTTP.get(metricsPort, "/metrics") })
            #expect(metrics.body.contains("pathflow_console_unauthorized_total 1\n"), "\(metrics.body)")
            #expect(metrics.body.contains("pathflow_console_requests_total{status=\"401\"} 1\n"))
            #expect(metrics.body.contains("pathflow_console_requests_total{status=\"200\"} 1\n"))
            #expect(metrics.body.contains("pathflow_console_connections_evicted_total 0\n"))
            #expect(metrics.body.contains("# TYPE pathflow_console_connections gauge"))
            // The console itself has no /metrics inside the collector.
            #expect(await RawHTTP.blocking { RawHTTP.get(port, "/metrics", headers: auth)?.status } == 404)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func aPortInUseStopsStartupNamingTheKey() async throws {
        let port = try ServicesTests.freePort()
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        #expect(ServicesTests.bindLoopback(holder, port: port) == port)
        #expect(listen(holder, 1) == 0)
        let (collector, _) = try Self.collector(consolePort: port)
        let group = ServiceGroup(configuration: .init(
            services: collector.services.map { .init(service: $0, failureTerminationBehavior: .gracefullyShutdownGroup) },
            logger: Logger(label: "test")))
        let started = ContinuousClock.now
        do {
            try await group.run()
            Issue.record("the collector ran with its console's port taken")
        } catch {
            #expect("\(error)".contains("cannot listen on TCP 127.0.0.1:\(port) for console_listen"), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
