import ArgumentParser
import Console
import Foundation
import Logging
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
            Files come from the server, \
            never from a request: the capacity file (--capacities, or console_capacities with -f) and the groups \
            of exits that fail together (--groups, or console_failure_groups), read again for every report. \
            Listens on 127.0.0.1:9480 by default; with --token-file every request needs Authorization: Bearer \
            TOKEN. At most four reports run at once (503 past it). It reads while the collector writes.
            """)
    @OptionGroup var target: ViewTarget
    @Option(help: "Bin size (pmacct's sql_history syntax); by default as for `pathflow report`.")
    var bin: String?
    @Flag(help: "Stamps are UTC (without -f; with it, timestamps_utc decides).")
    var utc = false
    @Option(help: "HOST:PORT to listen on ([ADDRESS]:PORT for IPv6).")
    var listen = "127.0.0.1:9480"
    @Option(help: "A file whose first line is the token every request must carry (Authorization: Bearer TOKEN).")
    var tokenFile: String?
    @Option(help: "The capacity file of capacity, what-if, failures and forecast (see `report capacity`); instead of console_capacities.")
    var capacities: String?
    @Option(help: "The groups of exits that fail together, for failures (see `report failures --groups`); instead of console_failure_groups.")
    var groups: String?

    func run() async throws {
        // Resolved once; refuse a view that cannot be read now rather than on the first request.
        let view = try ReportView.resolve(target: target, bin: bin, utc: utc)
        _ = try view.open()
        var settings = ConsoleServer.Settings()
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen \(listen): expected HOST:PORT")
        }
        settings.host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        settings.port = port
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8),
                  let token = text.split(separator: "\n").first.map({ $0.trimmingCharacters(in: .whitespaces) }), !token.isEmpty
            else { throw RuntimeFailure("--token-file \(tokenFile): cannot read a token from its first line") }
            settings.token = token
        }
        settings.reports = try view.consoleSetup(capacities: capacities, groups: groups)
        var logger = Logger(label: "pathflow.serve")
        logger.logLevel = .info
        let server = ConsoleServer(settings: settings, logger: logger) { try view.open() }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: server.application())], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
