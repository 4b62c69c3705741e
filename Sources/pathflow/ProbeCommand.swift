import ArgumentParser
import Dispatch
import Daemon
import Logging
import PathflowConfig
import Probe

#if canImport(Glibc)
import Glibc
#endif

struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Capture packets (a live interface or a pcap file) and export flows as NetFlow v5, v9 or IPFIX.",
        discussion: """
            The configuration uses pmacctd's syntax with the nfprobe plugin; the pmacct tutorial's \
            pmacctd.conf runs as it is. Reading a pcap file ends with a final export of every flow \
            still cached, then exit 0; live capture does the same on SIGTERM or SIGINT.
            """
    )

    @Option(name: .shortAndLong, help: "Configuration file (pmacctd syntax, plugins: nfprobe).")
    var file: String

    @Option(name: .customLong("pcap-file"), help: "Read this pcap file instead of pcap_savefile / pcap_interface.")
    var pcapFile: String?

    @Option(name: .customLong("interface"), help: "Capture on this interface instead of pcap_interface.")
    var interface: String?

    @Option(name: .customLong("receiver"), help: "Export to HOST:PORT or [IPv6]:PORT instead of nfprobe_receiver (repeatable).")
    var receivers: [String] = []

    @Option(name: .customLong("nfprobe-version"), help: "Export format instead of nfprobe_version: 5, 9 or 10.")
    var exportVersion: Int?

    @OptionGroup var daemon: DaemonOptions

    func run() async throws {
        var config = try loadProbeConfiguration()
        if config.daemonize && !daemon.foreground {
            try Background.detach(logfile: config.logfile)
            return
        }
        let logger = Logging.bootstrap(logfile: config.logfile, debug: config.debug)
        let pid = try config.pidfile.flatMap { try PidFile.create(path: $0, logger: logger) }
        defer { pid?.remove() }
        if config.savefile != nil { config.interface = nil }

        signal(SIGTERM) { _ in ProbeEngine.requestStopAll() }
        signal(SIGINT) { _ in ProbeEngine.requestStopAll() }
        // pmacctd's other signals never stop the probe: HUP reopens the log file; the probe has no
        // maps to reload (USR2) and keeps its statistics on metrics_listen (USR1). Dispatch's own
        // threads take them: the capture may keep the task threads busy.
        let sources = [SIGHUP, SIGUSR1, SIGUSR2].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if number == SIGHUP {
                    Logging.reopen()
                    logger.info("log file reopened (SIGHUP)")
                } else {
                    logger.info("signal ignored: the probe's counters are on metrics_listen, and it has no maps",
                                metadata: ["signal": "\(number)"])
                }
            }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        let summary: ProbeCounters.Snapshot
        do {
            summary = try await ProbeRunner.run(config: config, logger: logger)
        } catch {
            throw RuntimeFailure("\(error)")
        }
        logger.info("probe finished", metadata: [
            "packets": "\(summary.packets)", "skipped": "\(summary.skipped.reduce(0, +))",
            "flows_exported": "\(summary.flowsExported)", "datagrams_sent": "\(summary.messagesSent)",
            "send_errors": "\(summary.sendErrors)", "kernel_drops": "\(summary.kernelDrops)",
            "ipv6_flows_not_in_v5": "\(summary.v6NotExportable)",
        ])
    }

    private func loadProbeConfiguration() throws -> ProbeConfig {
        var (config, diagnostics): (ProbeConfig, [ConfigDiagnostic])
        do {
            (config, diagnostics) = try ProbeConfig.load(path: file)
        } catch let error as ConfigError {
            throw RuntimeFailure("\(error)")
        }
        if let pcapFile {
            config.savefile = pcapFile
            config.interface = nil
            diagnostics.removeAll { $0.line == 0 && $0.key == "pcap_interface" }
        } else if let interface {
            config.interface = interface
            config.savefile = nil
            diagnostics.removeAll { $0.line == 0 && $0.key == "pcap_interface" }
        }
        for diagnostic in diagnostics { printError("pathflow: \(diagnostic)") }
        if daemon.strict && !diagnostics.isEmpty {
            throw RuntimeFailure("\(diagnostics.count) configuration line(s) skipped; --strict makes that fatal")
        }
        if !receivers.isEmpty {
            config.receivers = try receivers.map { text in
                guard let endpoint = ListenEndpoint(parsing: text) else {
                    throw ValidationError("--receiver '\(text)': expected ADDRESS:PORT or [IPv6]:PORT")
                }
                return endpoint
            }
        }
        if let exportVersion {
            guard [5, 9, 10].contains(exportVersion) else { throw ValidationError("--nfprobe-version must be 5, 9 or 10") }
            config.version = exportVersion
        }
        if let metrics = daemon.metricsListen { config.metricsListen = metrics }
        if let pidfile = daemon.pidfile { config.pidfile = pidfile }
        if let logfile = daemon.logfile { config.logfile = logfile }
        if config.savefile == nil && config.interface == nil {
            throw RuntimeFailure("nothing to capture from: set pcap_interface or pcap_savefile, or give --interface or --pcap-file")
        }
        return config
    }
}
