import Logging
import ServiceLifecycle
import UnixSignals

/// pmacct's signals, none of which stops the collector: SIGHUP reopens the log file (logrotate),
/// SIGUSR1 writes statistics to the log, SIGUSR2 reloads the maps. SIGTERM and SIGINT are the
/// service group's graceful shutdown.
public struct SignalService: Service {
    let logger: Logger
    let reopenLog: @Sendable () -> Void
    let statistics: @Sendable () async -> Void
    let reloadMaps: @Sendable () async -> Void

    public init(
        logger: Logger, reopenLog: @escaping @Sendable () -> Void, statistics: @escaping @Sendable () async -> Void,
        reloadMaps: @escaping @Sendable () async -> Void
    ) {
        self.logger = logger
        self.reopenLog = reopenLog
        self.statistics = statistics
        self.reloadMaps = reloadMaps
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigusr1, .sigusr2)
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sighup:
                reopenLog()
                logger.info("log file reopened (SIGHUP)")
            case .sigusr1:
                await statistics()
            case .sigusr2:
                await reloadMaps()
            default:
                break
            }
        }
    }
}
