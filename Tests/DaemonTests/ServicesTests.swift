import FlowWire
import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import PathflowConfig
import ServiceLifecycle
import Testing
@testable import Daemon

/// The collector as separate services: nothing runs before `run()`, and a graceful shutdown
/// stops them in reverse order with the final flush in its place.
@Suite(.serialized) struct ServicesTests {
    /// Keeps every message logged, in order.
    struct Recorder: LogHandler {
        let lines: NIOLockedValueBox<[String]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.withLockedValue { $0.append(event.message.description) }
        }
    }

    /// Binds `fd` to 127.0.0.1:`port` (0: any free port); returns the port bound, or nil.
    static func bindLoopback(_ fd: Int32, port: Int) -> Int? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }

    /// A port nobody listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return try #require(bindLoopback(fd, port: 0))
    }

    /// Whether this process can bind `port` on 127.0.0.1 itself, i.e. nothing holds it.
    static func canBind(_ port: Int, type: Int32) -> Bool {
        let fd = socket(AF_INET, type, 0)
        defer { close(fd) }
        return bindLoopback(fd, port: port) != nil
    }

    func config(directory: URL, flowPort: Int, bgpPort: Int, metricsPort: Int) throws -> CollectorConfig {
        let path = directory.appendingPathComponent("pathflow.conf").path
        try """
            nfacctd_ip: 127.0.0.1
            nfacctd_port: \(flowPort)
            metrics_listen: 127.0.0.1:\(metricsPort)
            bgp_daemon: true
            bgp_daemon_ip: 127.0.0.1
            bgp_daemon_port: \(bgpPort)
            plugins: sqlite3
            aggregate: src_host, dst_host
            sql_db: \(directory.appendingPathComponent("flows.db").path)
            sql_refresh_time: 3600
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let (config, diagnostics) = try CollectorConfig.load(path: path)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        return config
    }

    static func directory() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-services-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func nothingRunsBeforeRun() throws {
        let (flowPort, bgpPort, metricsPort) = (try Self.freePort(), try Self.freePort(), try Self.freePort())
        let config = try config(directory: Self.directory(), flowPort: flowPort, bgpPort: bgpPort, metricsPort: metricsPort)
        let collector = try Collector(config: config, logger: Logger(label: "test"))
        // No socket bound, no event loop made (a loop is a thread).
        #expect(Self.canBind(flowPort, type: Int32(SOCK_DGRAM.rawValue)))
        #expect(Self.canBind(bgpPort, type: Int32(SOCK_STREAM.rawValue)))
        #expect(Self.canBind(metricsPort, type: Int32(SOCK_STREAM.rawValue)))
        #expect(collector.bgp?.running.withLockedValue { $0 } == nil)
        #expect(collector.boundPort.withLockedValue { $0 } == nil)
        #expect(collector.services.map { "\(type(of: $0))" }
            == ["HTTPService", "StorageService", "BGPService", "FlushService", "IntakeService"])
    }

    @Test func gracefulShutdownStopsIntakeFirstFlushesThenTheRest() async throws {
        let directory = Self.directory()
        let (flowPort, bgpPort, metricsPort) = (try Self.freePort(), try Self.freePort(), try Self.freePort())
        let config = try config(directory: directory, flowPort: flowPort, bgpPort: bgpPort, metricsPort: metricsPort)
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "test") { _ in Recorder(lines: lines) }
        let collector = try Collector(config: config, logger: logger, threads: 2)
        let group = ServiceGroup(services: collector.services, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for _ in 0..<300 where collector.boundPort.withLockedValue({ $0 }) == nil || collector.bgp?.listeningPort == nil {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(collector.boundPort.withLockedValue { $0 } == flowPort)
            #expect(collector.bgp?.listeningPort == bgpPort)
            #expect(!Self.canBind(metricsPort, type: Int32(SOCK_STREAM.rawValue)))
            var writer = IPFIXWriter()
            let datagrams = [writer.templateMessage(exportTime: 1)]
                + (0..<5).map { i in writer.dataMessage([CollectorTests.record(i)], exportTime: 1) }
            try CollectorTests.sendDatagrams(datagrams, to: flowPort)
            try await Task.sleep(for: .milliseconds(300))
            // sql_refresh_time is an hour: only the final flush writes these rows.
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let queue = try CollectorTests.reader(directory.appendingPathComponent("flows.db").path)
        let packets = try CollectorTests.fetch(queue) { try Int.fetchOne($0, sql: "SELECT SUM(packets) FROM acct") }
        #expect(packets == 10)
        // Everything is released: the ports are free again.
        #expect(Self.canBind(flowPort, type: Int32(SOCK_DGRAM.rawValue)))
        #expect(Self.canBind(bgpPort, type: Int32(SOCK_STREAM.rawValue)))
        #expect(Self.canBind(metricsPort, type: Int32(SOCK_STREAM.rawValue)))
        let logged = lines.withLockedValue { $0 }
        let order = ["intake stopped", "collector stopped", "BGP daemon stopped", "storage stopped", "metrics endpoint closed"]
        let positions = order.map { message in logged.firstIndex(of: message) }
        #expect(!positions.contains(nil), "\(logged)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted(), "\(logged)")
    }

    /// A service that fails (the flow port is taken) stops the others gracefully, at once: no
    /// failed flushes retried under cancellation, and the error comes out of the group.
    @Test func aFailingServiceStopsTheRestGracefully() async throws {
        let directory = Self.directory()
        let (flowPort, bgpPort, metricsPort) = (try Self.freePort(), try Self.freePort(), try Self.freePort())
        let config = try config(directory: directory, flowPort: flowPort, bgpPort: bgpPort, metricsPort: metricsPort)
        // Someone else holds the flow port.
        let holder = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(holder) }
        #expect(Self.bindLoopback(holder, port: flowPort) == flowPort)
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "test") { _ in Recorder(lines: lines) }
        let collector = try Collector(config: config, logger: logger, threads: 1)
        let group = ServiceGroup(configuration: .init(
            services: collector.services.map { .init(service: $0, failureTerminationBehavior: .gracefullyShutdownGroup) },
            logger: logger))
        let started = ContinuousClock.now
        await #expect(throws: (any Error).self) { try await group.run() }
        #expect(ContinuousClock.now - started < .seconds(10))
        let logged = lines.withLockedValue { $0 }
        #expect(logged.contains("collector stopped"), "\(logged)")
        #expect(!logged.contains { $0.contains("flush failed") }, "\(logged)")
        #expect(Self.canBind(metricsPort, type: Int32(SOCK_STREAM.rawValue)))
        #expect(Self.canBind(bgpPort, type: Int32(SOCK_STREAM.rawValue)))
    }
}
