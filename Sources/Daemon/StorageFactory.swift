import Aggregation
import PathflowConfig
import Storage

/// Makes each view's storage from its plugin (`sqlite3`, `print`): the one place that knows which
/// backends exist.
/// Views writing to the same SQLite file share one `SQLiteStore` (one writer per file).
struct StorageFactory {
    /// Open SQLite files by path.
    var sqlite: [String: SQLiteStore] = [:]

    mutating func storage(
        for view: ViewConfig, primitives: [Primitive], binning: TimeBinning?, in config: CollectorConfig
    ) throws -> any ViewStorage {
        switch view.plugin {
        case .sqlite3:
            return try sqliteStorage(for: view, primitives: primitives, binning: binning, in: config)
        case .print:
            return try printStorage(for: view, primitives: primitives, binning: binning, in: config)
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
