import ArgumentParser
import Foundation
import PathflowConfig
import Storage

/// Which view's table: -f CONFIG [--view NAME], or --db FILE --table NAME.
struct ViewTarget: ParsableArguments {
    @Option(name: .shortAndLong, help: "The collector's configuration file.")
    var file: String?
    @Option(help: "The view (plugin name, as in sqlite3[NAME]); by default the first sqlite3 view (for reports: sqlite3 or clickhouse).")
    var view: String?
    @Option(help: "The SQLite database (instead of -f, or to override its sql_db).")
    var db: String?
    @Option(help: "The table (instead of -f, or to override its sql_table).")
    var table: String?

    static let unnamed = ValidationError("name the view: -f CONFIG [--view NAME], or --db FILE --table NAME")

    /// The views of `config` with one of `plugins` (sqlite3 by default); only the one --view
    /// names, if given.
    func views(_ config: CollectorConfig, file: String, plugins: Set<ViewConfig.Plugin> = [.sqlite3]) throws -> [ViewConfig] {
        let views = config.views.filter { plugins.contains($0.plugin) }
        guard let view else { return views }
        guard let v = views.first(where: { $0.name == view }) else {
            let kinds = plugins.map(\.rawValue).sorted().joined(separator: " or ")
            throw RuntimeFailure("\(file): no \(kinds) view named '\(view)' (views: \(views.map(\.name).joined(separator: ", ")))")
        }
        return [v]
    }
}

/// Builds the daily rollups reports read for whole days, from the tables themselves.
struct RollupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollup",
        abstract: "Build the daily rollup (<table>_daily) of views again from their tables.",
        discussion: """
            The collector keeps each view's daily rollup as it writes (sql_rollup, on by default for \
            views with bins shorter than a day); reports read it for whole days and the table for the \
            rest. Tables written before, by pmacct or with sql_rollup off are covered only from the \
            day after their newest stamp; this command rolls up all their days. It takes the \
            database's writer lock, so it runs while no collector writes that database.
            """
    )

    @OptionGroup var target: ViewTarget

    func run() throws {
        var targets: [(db: String, table: String)] = []
        if let file = target.file {
            let config = try loadConfiguration(path: file, strict: false)
            // Every sqlite3 view unless --view names one.
            let views = target.view == nil ? config.views.filter { $0.plugin == .sqlite3 } : try target.views(config, file: file)
            for v in views {
                guard v.history != nil else {
                    print("\(v.name): no sql_history, nothing to roll up")
                    continue
                }
                targets.append((target.db ?? v.sqlDB, target.table ?? v.sqlTable))
            }
        } else {
            guard let db = target.db, let table = target.table else { throw ViewTarget.unnamed }
            targets.append((db, table))
        }
        for target in targets {
            do {
                let store = try SQLiteStore(path: target.db)
                guard let done = try store.rebuildRollup(table: target.table) else {
                    throw RuntimeFailure("\(target.db) has no table '\(target.table)'")
                }
                print("\(target.db): \(target.table)\(RollupSchema.suffix): \(done.rows) rows for \(done.days) days in \(String(format: "%.1f", done.seconds)) s")
            } catch let error as RuntimeFailure {
                throw error
            } catch {
                throw RuntimeFailure("\(target.db): \(error)")
            }
        }
    }
}
