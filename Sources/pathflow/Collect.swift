import ArgumentParser
import Console
import Daemon
import Logging
import NetCore
import PathflowConfig
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

struct Collect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive NetFlow/IPFIX, aggregate it into views and store them in SQLite.",
        discussion: """
            The configuration uses pmacct's nfacctd syntax and keys; an nfacctd.conf with the \
            sqlite3 plugin runs as it is. Lines pmacct itself would skip are reported and skipped; \
            keys whose meaning pathflow does not implement yet stop startup. SIGTERM or SIGINT \
            flush every view before exit. With console_listen it also serves the console's API \
            over console_view (or the first sqlite3 or clickhouse view), as `pathflow serve -f` would.
            """
    )

    @Option(name: .shortAndLong, help: "Configuration file (pmacct syntax).")
    var file: String

    @Option(name: .customLong("sql-db"), help: "Use this SQLite file for every sqlite3 view instead of sql_db.")
    var sqlDB: String?

    @Option(name: .customLong("port"), help: "UDP port to listen on instead of nfacctd_port.")
    var port: Int?

    @Option(name: .customLong("sflow-port"), help: "UDP port for sFlow instead of sfacctd_port (turns sFlow on).")
    var sflowPort: Int?

    @Option(name: .customLong("listen"), help: "Address to listen on instead of nfacctd_ip and sfacctd_ip.")
    var listen: String?

    @Option(name: .customLong("sockets"), help: "Receive sockets, each with its decoding thread (default: one per core).")
    var sockets: Int?

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        if let listen, IPAddress(listen) == nil {
            throw ValidationError("--listen \(listen): not an IP address")
        }
        try daemon.validateMetricsListen()
    }

    func run() async throws {
        let config = try loadConfiguration(path: file, strict: daemon.strict).applying(ConfigOverrides(
            sqlDB: sqlDB, listenPort: port, listenAddress: listen, metricsListen: daemon.metricsListen,
            pidfile: daemon.pidfile, logfile: daemon.logfile, sflowListenPort: sflowPort))

        if config.daemonize && !daemon.foreground {
            try Background.detach(logfile: config.logfile)
            return
        }

        let logger = Logging.bootstrap(logfile: config.logfile, debug: config.debug)
        let pid = try config.pidfile.flatMap { try PidFile.create(path: $0, logger: logger) }
        defer { pid?.remove() }

        let console = try config.consoleEndpoint.map { try makeConsole(config, endpoint: $0, logger: logger) }
        let collector: Collector
        do {
            if let sockets, sockets < 1 { throw RuntimeFailure("--sockets \(sockets): at least 1") }
            collector = try Collector(config: config, logger: logger, threads: sockets ?? Collector.defaultThreads, console: console)
        } catch {
            throw RuntimeFailure("\(error)")
        }
        let path = file
        let signals = SignalService(
            logger: logger, reopenLog: { Logging.reopen() },
            statistics: { await collector.logStatistics() },
            reloadMaps: {
                // pmacct keeps the old maps when the new ones cannot be read.
                do {
                    let (reloaded, diagnostics) = try CollectorConfig.load(path: path)
                    for d in diagnostics { logger.warning("\(d)") }
                    if diagnostics.contains(where: { $0.severity == .fatal }) {
                        logger.error("maps not reloaded: the configuration has errors (see above)")
                    } else {
                        collector.reloadMaps(from: reloaded)
                    }
                } catch {
                    logger.error("maps not reloaded", metadata: ["error": "\(error)"])
                }
            })
        let group = ServiceGroup(
            configuration: .init(
                // Started in order, stopped in reverse: the signal handlers are there from first
                // to last; the collector's own services stop intake first, then flush, BGP,
                // storage, the console and the HTTP endpoint (Collector.services). A service that fails
                // (a port in use) stops the others the same way, so what was read is written.
                services: ([signals] + collector.services).map {
                    .init(service: $0, failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

extension Collect {
    /// The console console_listen asks for, over console_view (or the first sqlite3 or clickhouse
    /// view), as `pathflow serve -f` would serve it.
    func makeConsole(_ config: CollectorConfig, endpoint: ListenEndpoint, logger: Logger) throws -> ConsoleServer {
        let target = try ViewTarget.parse(["--file", file] + (config.consoleView.map { ["--view", $0] } ?? []))
        let view = try ReportView.resolve(target: target, bin: nil, utc: false, loaded: config)
        return try view.console(
            host: endpoint.host, port: endpoint.port, listenKey: "console_listen", tokenFile: config.consoleTokenFile,
            tokenKey: "console_token_file", capacities: nil, groups: nil, servesMetrics: false, logger: logger)
    }
}

/// Loads a configuration, printing each skipped line to standard error.
func loadConfiguration(path: String, strict: Bool) throws -> CollectorConfig {
    do {
        let (config, diagnostics) = try CollectorConfig.load(path: path)
        for diagnostic in diagnostics { printError("pathflow: \(diagnostic)") }
        if strict && !diagnostics.isEmpty {
            throw RuntimeFailure("\(diagnostics.count) configuration line(s) skipped; --strict makes that fatal")
        }
        return config
    } catch let error as ConfigError {
        throw RuntimeFailure("\(error)")
    }
}

func printError(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}
