import Foundation
import GRDB
import Storage

/// A view's table opened read-only for reports: works while a collector writes it (WAL).
public struct ReportSource: Sendable {
    public enum Error: Swift.Error, CustomStringConvertible {
        case cannotOpen(path: String, reason: String)
        case noTable(String, path: String, tables: [String])
        case noColumn(String, table: String, columns: [String])
        case badTableName(String)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let reason): "cannot open \(path) read-only: \(reason)"
            // Table and column names come from the file: no control characters on the terminal.
            case .noTable(let table, let path, let tables):
                "\(path) has no table '\(table)' (tables: \(tables.isEmpty ? "none" : tables.map(ReportTable.visible).joined(separator: ", ")))"
            case .noColumn(let column, let table, let columns):
                "table '\(table)' has no column '\(column)' (columns: \(columns.map(ReportTable.visible).joined(separator: ", ")))"
            case .badTableName(let name): "'\(name)' is not a table name (letters, digits and '_')"
            }
        }
    }

    public let path: String
    public let table: String
    /// Every column of the table, in order.
    public let columns: [String]
    /// Seconds per time bin: the view's `sql_history`, or what the stamps show.
    public let binSeconds: Int
    /// Stamps are UTC (timestamps_utc) rather than local time.
    public let utc: Bool
    let queue: DatabaseQueue

    /// Opens `table` in `path`; `binSeconds` nil infers the bin from the stamps.
    public init(path: String, table: String, binSeconds: Int?, utc: Bool) throws {
        guard !table.isEmpty, table.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw Error.badTableName(table)
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw Error.cannotOpen(path: path, reason: "no such file")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try BinList.register(db)
            try CounterSum.register(db)
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw Error.cannotOpen(path: path, reason: "\(error)")
        }
        self.path = path
        self.table = table
        self.utc = utc
        let (columns, tables) = try queue.read { db -> ([String], [String]) in
            let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] as String }
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            return (columns, tables)
        }
        guard !columns.isEmpty else { throw Error.noTable(table, path: path, tables: tables) }
        self.columns = columns
        if let binSeconds {
            self.binSeconds = binSeconds
        } else {
            self.binSeconds = try Self.inferBin(queue, table, utc: utc)
        }
    }

    /// The primitives stored in the table.
    public var primitives: [String] { columns.filter { !TableSchema.counterColumns.contains($0) } }

    public func require(_ column: String) throws {
        guard columns.contains(column) else { throw Error.noColumn(column, table: table, columns: columns) }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.read(body)
    }

    /// The smallest gap between consecutive bins among the latest ones (1 hour when the table has
    /// fewer than two bins: a guess that only matters for rates).
    static func inferBin(_ queue: DatabaseQueue, _ table: String, utc: Bool) throws -> Int {
        let stamps = try queue.read { db in
            // As values: fetching Strings fails the report on a stamp stored as NULL.
            try DatabaseValue.fetchAll(db, sql: "SELECT DISTINCT stamp_inserted FROM \(table) ORDER BY stamp_inserted DESC LIMIT 64")
        }
        let times = stamps.compactMap { String.fromDatabaseValue($0).flatMap { StampText.parse($0, utc: utc) } }.sorted()
        var gap = Int.max
        for (a, b) in zip(times, times.dropFirst()) where b > a { gap = min(gap, b - a) }
        return gap == Int.max ? 3600 : gap
    }
}

/// pmacct's stamp text, `YYYY-MM-DD HH:MM:SS`, in local time unless UTC.
public enum StampText {
    public static func format(_ t: Int, utc: Bool) -> String {
        SQLTime.format(t, utc: utc)
    }

    /// Unix seconds of a stamp (`YYYY-MM-DD[ HH:MM[:SS]]`); nil if it is not one.
    public static func parse(_ text: String, utc: Bool) -> Int? {
        // SQLTime traps on a year beyond Int32, which a table's stamp may hold; pmacct writes four digits.
        guard let year = text.split(separator: "-").first, year.utf8.count <= 4 else { return nil }
        return SQLTime.parse(text, utc: utc)
    }
}
