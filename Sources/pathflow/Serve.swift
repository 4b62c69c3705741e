import ArgumentParser
import Console
import Foundation
import Logging
import PathflowConfig
import ServiceLifecycle

/// `pathflow serve`: the console's JSON API over a view's stored tables.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The console's API: every report as JSON (or CSV, text, HTML) over HTTP, from a view's stored tables.",
        discussion: """
            GET /api/v1/reports lists the reports; GET /api/v1/reports/NAME?PARAMETERS answers one: top, matrix, \
            series, quality, demands, shifts, prefixes, capacity, what-if, failures, forecast, with the command \
            line's options as parameters (by, n, rows, columns, cell, from, to, last, where=COLUMN=VALUE repeated, \
            baseline_from, fail, fail_each, threshold, horizon, …) and format=json (the default), csv, text or \
            html; GET /api/v1/openapi.json describes every report and parameter (OpenAPI 3.0), and a parameter \
            a report does not take is refused. The numbers are the command line's: the same code computes them. \
            Files come from the server, never from a request: the capacity file (--capacities, or \
            console_capacities with -f) and the groups of exits that fail together (--groups, or \
            console_failure_groups), read again for every report. Listens on 127.0.0.1:9481 by default (with -f, \
            on console_listen when it is set); with --token-file (or console_token_file) every request needs \
            Authorization: Bearer TOKEN. With -f and no --view, the view is console_view when it is set. At most \
            four reports run at once (503 past it), at most 64 connections are open (past it the oldest idle one \
            is closed) and a connection idle for 30 s is closed; GET /metrics counts what was refused (behind the \
            token too). It reads while the collector writes; `pathflow collect` serves the same console itself \
            with console_listen, its counters on the collector's metrics endpoint.
            """)
    @OptionGroup var target: ViewTarget
    @Option(help: "Bin size (pmacct's sql_history syntax); by default as for `pathflow report`.")
    var bin: String?
    @Flag(help: "Stamps are UTC (without -f; with it, timestamps_utc decides).")
    var utc = false
    @Option(help: "HOST:PORT to listen on ([ADDRESS]:PORT for IPv6); by default console_listen with -f, else 127.0.0.1:9481.")
    var listen: String?
    @Option(help: "A file whose first line is the token every request must carry (Authorization: Bearer TOKEN); instead of console_token_file.")
    var tokenFile: String?
    @Option(help: "The capacity file of capacity, what-if, failures and forecast (see `report capacity`); instead of console_capacities.")
    var capacities: String?
    @Option(help: "The groups of exits that fail together, for failures (see `report failures --groups`); instead of console_failure_groups.")
    var groups: String?

    func run() async throws {
        let config = try target.file.map { try loadConfiguration(path: $0, strict: false) }
        var target = self.target
        if target.view == nil, let view = config?.consoleView { target.view = view }
        // Resolved once; refuse a view that cannot be read now rather than on the first request.
        let view = try ReportView.resolve(target: target, bin: bin, utc: utc, loaded: config)
        _ = try view.open()
        let listen = self.listen ?? config?.consoleEndpoint?.description ?? "127.0.0.1:9481"
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen \(listen): expected HOST:PORT")
        }
        var logger = Logger(label: "pathflow.serve")
        logger.logLevel = .info
        let server = try view.console(
            host: String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: port,
            listenKey: self.listen == nil && config?.consoleEndpoint != nil ? "console_listen" : "--listen",
            tokenFile: tokenFile ?? config?.consoleTokenFile, tokenKey: tokenFile == nil ? "console_token_file" : "--token-file",
            capacities: capacities, groups: groups, servesMetrics: true, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
