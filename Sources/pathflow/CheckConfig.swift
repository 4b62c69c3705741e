import ArgumentParser
import PathflowConfig

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration: list every skipped or fatal line and the views it defines."
    )

    @Option(name: .shortAndLong, help: "Configuration file (pmacct syntax).")
    var file: String

    @Flag(name: .long, help: "Exit non-zero when any line was skipped.")
    var strict = false

    func run() throws {
        let config: CollectorConfig
        let diagnostics: [ConfigDiagnostic]
        do {
            (config, diagnostics) = try CollectorConfig.load(path: file)
        } catch ConfigError.fatal(let all) {
            for diagnostic in all { print(diagnostic) }
            print("configuration not usable: \(all.filter { $0.severity == .fatal }.count) fatal line(s)")
            throw ExitCode(1)
        } catch {
            throw RuntimeFailure("\(error)")
        }
        for diagnostic in diagnostics { print(diagnostic) }
        print("listen \(config.listenAddress) port \(config.listenPort); metrics \(config.metricsListen)")
        for view in config.views {
            var line = "view \(view.name): \(view.plugin.rawValue) aggregate \(view.aggregate.joined(separator: ","))"
            if view.plugin == .sqlite3 {
                line += " → \(view.sqlDB) table \(view.sqlTable)"
                if let version = view.sqlTableVersion { line += " (pmacct v\(version))" }
                line += ", refresh \(view.refreshTime)s"
                if let history = view.history { line += ", bins \(history)" }
            }
            print(line)
        }
        print(diagnostics.isEmpty ? "ok" : "ok with \(diagnostics.count) skipped line(s)")
        if strict && !diagnostics.isEmpty { throw ExitCode(1) }
    }
}
