import Logging
import NIOPosix
import PathflowConfig
import ServiceLifecycle

/// The HTTP endpoint (metrics_listen): /metrics and the looking glass, on its own event loop so
/// scrapes never wait behind datagrams. The first service to start and the last to stop, so
/// the counters of a long final flush can still be read.
struct HTTPService: Service {
    let collector: Collector
    let endpoint: ListenEndpoint

    func run() async throws {
        let c = collector
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server: MetricsServer
        do {
            server = try await MetricsServer.start(
                host: endpoint.host, port: endpoint.port, group: group, routes: c.httpRoutes(on: group.next()))
        } catch {
            try? await group.shutdownGracefully()
            throw Collector.StartupError(description: "cannot listen on TCP \(endpoint) for metrics_listen: \(error)")
        }
        c.metrics.http.withLockedValue { $0 = server.gate }
        c.logger.info("metrics endpoint", metadata: ["listen": "\(endpoint)", "path": "/metrics"])
        try? await gracefulShutdown()
        try? await server.close()
        try? await group.shutdownGracefully()
        c.logger.debug("metrics endpoint closed")
    }
}
