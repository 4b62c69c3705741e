import Aggregation
import Foundation
import Logging
import PathflowConfig
import Storage

/// Makes each view's storage from its plugin (`sqlite3`, `print`): the one place that knows which
/// backends exist.
/// Views writing to the same SQLite file share one `SQLiteStore` (one writer per file).
struct StorageFactory {
    /// Open SQLite files by path.
    var sqlite: [String: SQLiteStore] = [:]
    let logger: Logger

    mutating func storage(
        for view: ViewConfig, primitives: [Primitive], binning: TimeBinning?, in config: CollectorConfig
    ) throws -> any ViewStorage {
        switch view.plugin {
        case .sqlite3:
            return try sqliteStorage(for: view, primitives: primitives, binning: binning, in: config)
        case .print:
            return try printStorage(for: view, primitives: primitives, binning: binning, in: config)
        case .clickhouse:
            return try clickhouseStorage(for: view, primitives: primitives)
        }
    }

    /// A clickhouse view: its tables are made (or checked) by the sender before its first
    /// insert, so a collector starts and spools while the server is down.
    func clickhouseStorage(for view: ViewConfig, primitives: [Primitive]) throws -> ClickHouseViewStorage {
        let options = view.clickhouse
        do {
            let schema = try ClickHouseSchema(
                database: options.database, table: view.sqlTable, primitives: primitives,
                numericProtocols: view.numProtos, cluster: options.cluster)
            return try ClickHouseViewStorage(schema: schema, settings: clickhouseSettings(for: view, spool: view.name), logger: logger)
        } catch let error as Collector.StartupError {
            throw error
        } catch {
            throw Collector.StartupError(description: "plugin clickhouse[\(view.name)]: \(error)")
        }
    }

    /// A clickhouse view's server, credentials, timeout, retention and spool (`spool`: the
    /// directory under clickhouse_spool_dir).
    func clickhouseSettings(for view: ViewConfig, spool: String) throws -> ClickHouseSettings {
        let options = view.clickhouse
        var user: String?, password: String?
        if let file = options.credentialsFile {
            guard let credentials = try? ClickHouseClient.credentials(file: file) else {
                throw Collector.StartupError(
                    description: "plugin clickhouse[\(view.name)]: clickhouse_credentials_file \(file): cannot read a first line 'user:password'")
            }
            (user, password) = (credentials.user, credentials.password)
        }
        return ClickHouseSettings(
            url: options.url, user: user, password: password, timeoutSeconds: options.timeoutSeconds,
            spoolDirectory: options.spoolDirectory + "/" + spool, spoolBytes: options.spoolBytes,
            retentionDays: options.retentionDays)
    }

    /// Where sFlow's interface counters go: beside the first view (in the configuration's order)
    /// that stores in a database: `interface_counters` in its SQLite file, or in its ClickHouse
    /// database (on its cluster, with its retention; spooled under its clickhouse_spool_dir in
    /// `_interface_counters`). nil when no view does (print views only).
    func interfaceCountersStorage(for views: [ViewConfig], in config: CollectorConfig) throws -> (any InterfaceCountersStorage)? {
        guard let view = views.first(where: { $0.plugin == .sqlite3 || $0.plugin == .clickhouse }) else { return nil }
        switch view.plugin {
        case .sqlite3:
            return sqlite[view.sqlDB].map { SQLiteInterfaceCounters(store: $0, utc: config.timestampsUTC) }
        case .clickhouse:
            do {
                return try ClickHouseInterfaceCounters(
                    database: view.clickhouse.database, cluster: view.clickhouse.cluster,
                    settings: clickhouseSettings(for: view, spool: "_interface_counters"), logger: logger)
            } catch let error as Collector.StartupError {
                throw error
            } catch {
                throw Collector.StartupError(description: "plugin clickhouse[\(view.name)]: interface counters: \(error)")
            }
        case .print:
            return nil
        }
    }

    func printStorage(
        for view: ViewConfig, primitives: [Primitive], binning: TimeBinning?, in config: CollectorConfig
    ) throws -> PrintViewStorage {
        let output: PrintOutput = switch view.printOutputFormat {
        case .formatted: .formatted
        case .csv: .csv
        case .json: .json
        }
        var settings = PrintSettings(name: view.name, output: output, primitives: primitives)
        settings.outputFile = view.printOutputFile
        settings.append = view.printOutputFileAppend
        settings.latestFile = view.printLatestFile
        settings.separator = view.printOutputSeparator
        settings.markers = view.printMarkers
        settings.numericProtocols = view.numProtos
        settings.utc = view.timestampsUTC
        settings.refreshTime = view.refreshTime
        settings.binning = binning
        // $hst: pmacct counts a month as 30 days.
        settings.historySeconds = switch view.history {
        case nil: 0
        case .months(let n): n * 30 * 86_400
        case .some(let bin): bin.lengthInSeconds ?? 0
        }
        do {
            return try PrintViewStorage(settings: settings)
        } catch {
            throw Collector.StartupError(description: "plugin print[\(view.name)]: \(error)")
        }
    }

    mutating func sqliteStorage(
        for view: ViewConfig, primitives: [Primitive], binning: TimeBinning?, in config: CollectorConfig
    ) throws -> SQLiteViewStorage {
        let schema: TableSchema
        do {
            schema = try TableSchema(
                table: view.sqlTable, primitives: primitives, tableVersion: view.sqlTableVersion,
                numericProtocols: view.numProtos)
        } catch {
            throw Collector.StartupError(description: "view \(view.name): \(error)")
        }
        let store: SQLiteStore
        if let existing = sqlite[view.sqlDB] {
            store = existing
        } else {
            do {
                // Every view writing to this file, checked before the file is touched.
                try SQLiteStore.check(path: view.sqlDB, schemas: Collector.schemas(of: config, in: view.sqlDB))
                store = try SQLiteStore(path: view.sqlDB)
            } catch SQLiteStore.Error.schema(let table, let reason) {
                throw Collector.StartupError(
                    description: "view \(view.name): database \(view.sqlDB), table \(table): \(reason) (the database was left as it was)")
            } catch {
                throw Collector.StartupError(description: "view \(view.name): \(error)")
            }
            sqlite[view.sqlDB] = store
        }
        do {
            try store.prepare(schema, rollup: view.keepsRollup, utc: view.timestampsUTC, binning: binning)
        } catch {
            throw Collector.StartupError(description: "view \(view.name): \(view.sqlDB): \(error)")
        }
        return SQLiteViewStorage(store: store, schema: schema, utc: view.timestampsUTC)
    }
}
