import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOEmbedded
import ServiceLifecycle
@testable import Console
@testable import Reports
import TestServers
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The console's listener bounded as the metrics endpoint is: at most so many connections, the
/// oldest idle one closed past it; idle connections closed; what it refuses counted.
@Suite(.serialized) struct ConnectionLimitTests {
    /// Runs a console with `settings` on 127.0.0.1 (a free port) around `body`, then stops it.
    static func running(_ settings: ConsoleServer.Settings, _ body: (ConsoleServer, Int) async throws -> Void) async throws {
        var settings = settings
        settings.host = "127.0.0.1"
        settings.port = 0
        let path = try ConsoleTests.database()
        let server = ConsoleServer(settings: settings, logger: Logger(label: "test")) {
            try ReportSource(path: path, table: "m", binSeconds: 300, utc: true)
        }
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var port: Int?
            for _ in 0..<500 where port == nil {
                try await Task.sleep(for: .milliseconds(10))
                port = server.boundPort.withLockedValue { $0 }
            }
            try await body(server, try #require(port))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Waits (at most two seconds) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func pastTheLimitTheOldestIdleConnectionIsClosed() async throws {
        var settings = ConsoleServer.Settings()
        settings.limits.connections = 3
        settings.servesMetrics = true
        try await Self.running(settings) { server, port in
            var fds: [Int32] = []
            defer { fds.forEach { close($0) } }
            for n in 1...3 {
                fds.append(try #require(RawHTTP.connect(port)))
                #expect(try await Self.eventually { server.gate.connections == n })
            }
            fds.append(try #require(RawHTTP.connect(port)))
            #expect(try await Self.eventually { server.gate.evicted == 1 })
            let (first, others) = (fds[0], Array(fds[1...2]))
            #expect(await RawHTTP.blocking { RawHTTP.isClosed(first, within: 2) })
            #expect(await RawHTTP.blocking { others.allSatisfy { !RawHTTP.isClosed($0, within: 0.05) } })
            // The newest answers on its connection, and its counters say so.
            let newest = fds[3]
            let answer = try #require(await RawHTTP.blocking {
                RawHTTP.send(newest, "/metrics")
                return RawHTTP.answer(newest)
            })
            #expect(answer.status == 200)
            #expect(answer.body.contains("# TYPE pathflow_console_connections_evicted_total counter\npathflow_console_connections_evicted_total 1\n"))
            #expect(answer.body.contains("pathflow_console_connections 3\n"))
        }
    }

    @Test func aConnectionWithARequestInProgressIsNotTheOneClosed() throws {
        let gate = ConnectionGate(limit: 2)
        func channel() throws -> EmbeddedChannel {
            let c = EmbeddedChannel()
            try c.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9481)).wait()
            return c
        }
        let (a, b, c) = (try channel(), try channel(), try channel())
        gate.open(a)
        gate.open(b)
        gate.busy(a, true)
        gate.open(c)
        // a is the oldest but busy: b goes.
        #expect(gate.evicted == 1 && gate.connections == 2)
        #expect(a.isActive && !b.isActive && c.isActive)
        gate.busy(a, false)
        let d = try channel()
        gate.open(d)
        #expect(gate.evicted == 2 && !a.isActive && c.isActive && d.isActive)
    }

    @Test func idleConnectionsAreClosed() async throws {
        var settings = ConsoleServer.Settings()
        settings.limits.idle = .seconds(1)
        try await Self.running(settings) { _, port in
            let silent = try #require(RawHTTP.connect(port))
            defer { close(silent) }
            let asked = try #require(RawHTTP.connect(port))
            defer { close(asked) }
            let started = ContinuousClock.now
            let status = await RawHTTP.blocking {
                RawHTTP.send(asked, "/api/v1/reports")
                return RawHTTP.answer(asked)?.status
            }
            #expect(status == 200)
            // Both idle now: closed after about a second, not before.
            #expect(await RawHTTP.blocking { !RawHTTP.isClosed(silent, within: 0.5) })
            #expect(await RawHTTP.blocking { RawHTTP.isClosed(silent, within: 2) && RawHTTP.isClosed(asked, within: 1) })
            #expect(ContinuousClock.now - started >= .milliseconds(900))
        }
    }

    @Test func refusalsAreCounted() async throws {
        var settings = ConsoleServer.Settings()
        settings.token = "s3cret"
        settings.maximumConcurrentReports = 1
        let path = try ConsoleTests.database()
        // Each report takes half a second to open its table: the second of two at once is refused.
        let server = ConsoleServer(settings: settings, logger: Logger(label: "test")) {
            Thread.sleep(forTimeInterval: 0.5)
            return try ReportSource(path: path, table: "m", binSeconds: 300, utc: true)
        }
        let auth: HTTPFields = [.authorization: "Bearer s3cret"]
        #expect(try await ConsoleTests.get(server, "/api/v1/reports").0 == .unauthorized)
        let app = Application(router: server.router())
        let statuses = try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await client.execute(uri: "/api/v1/reports/top?by=peer_ip_dst", method: .get, headers: auth) { $0.status }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(statuses.sorted { $0.code < $1.code } == [.ok, .serviceUnavailable])
        let metrics = Dictionary(uniqueKeysWithValues: server.counters.metrics.map { ($0.name + ($0.label.map { "{\($0.value)}" } ?? ""), $0.value) })
        #expect(metrics["pathflow_console_unauthorized_total"] == 1)
        #expect(metrics["pathflow_console_reports_refused_total"] == 1)
        #expect(metrics["pathflow_console_requests_total{401}"] == 1)
        #expect(metrics["pathflow_console_requests_total{200}"] == 1)
        #expect(metrics["pathflow_console_requests_total{503}"] == 1)
        let text = server.counters.prometheus()
        #expect(text.contains("pathflow_console_requests_total{status=\"503\"} 1\n"))
        #expect(text.components(separatedBy: "# TYPE pathflow_console_requests_total counter").count == 2)
        // /metrics is served only when asked for, and behind the token.
        settings.servesMetrics = true
        let own = ConsoleServer(settings: settings, logger: Logger(label: "test")) { try ReportSource(path: path, table: "m", binSeconds: 300, utc: true) }
        #expect(try await ConsoleTests.get(own, "/metrics").0 == .unauthorized)
        let (status, body) = try await ConsoleTests.get(own, "/metrics", headers: auth)
        #expect(status == .ok && body.contains("pathflow_console_unauthorized_total 1\n"))
        #expect(try await ConsoleTests.get(server, "/metrics", headers: auth).0 == .notFound)
    }
}
