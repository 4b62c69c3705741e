import Aggregation
import PathflowConfig
import Storage

/// Makes each view's storage from its plugin: the one place that knows which backends exist.
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
            throw Collector.StartupError(description: "plugin print[\(view.name)]: only sqlite3 views are available yet")
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
