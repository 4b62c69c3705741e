import Aggregation
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
        /// Calendar-month bins (`sql_history: 1M`) have no fixed length.
        case monthBins(table: String, months: Int)
        /// Rows, but no stamp that is a time (a view without `sql_history` writes 0000-00-00).
        case noTimeBins(table: String)
        /// A report that prints a row per bin, on more bins than it prints.
        case tooManyBins(Int, limit: Int)
        /// What only a SQLite table has (the RIB snapshot, the daily rollup).
        case needsSQLite(String)
        case clickhouse(String)
        /// No sFlow interface counters in the file.
        case noInterfaceCounters(path: String)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let reason): "cannot open \(path) read-only: \(reason)"
            // Table and column names come from the file: no control characters on the terminal.
            case .noTable(let table, let path, let tables):
                "\(path) has no table '\(table)' (tables: \(tables.isEmpty ? "none" : tables.map(ReportTable.visible).joined(separator: ", ")))"
            case .noColumn(let column, let table, let columns):
                "table '\(table)' has no column '\(ReportTable.visible(column))' (columns: \(columns.map(ReportTable.visible).joined(separator: ", ")))"
            case .badTableName(let name): "'\(name)' is not a table name (letters, digits and '_')"
            case .monthBins(let table, let months):
                "table '\(table)' has bins of \(months) calendar month\(months == 1 ? "" : "s") (sql_history \(months)M), which have no "
                    + "fixed length; reports need one: give --bin (e.g. --bin 1d: rows then count in bins of a day through the newest stamp)"
            case .noTimeBins(let table):
                "table '\(table)' has rows but no stamp_inserted that is a time (a view without sql_history writes "
                    + "0000-00-00 00:00:00): reports need time bins"
            case .needsSQLite(let what): "\(what) needs a SQLite table (a sqlite3 view)"
            case .clickhouse(let why): why
            case .noInterfaceCounters(let path):
                "\(path) has no interface_counters table: the collector writes it when sFlow agents send counter samples"
            case .tooManyBins(let n, let limit):
                "the range has \(n) bins, more than the \(limit) rows this report prints: narrow it (--from/--to, --last) or give a larger --bin"
            }
        }
    }

    public let path: String
    public let table: String
    /// Every column of the table, in order.
    public let columns: [String]
    /// The bins' length and what said so (`BinSize`).
    public private(set) var bin: BinSize
    /// Seconds per time bin.
    public var binSeconds: Int { bin.seconds }
    /// Stamps are UTC (timestamps_utc) rather than local time.
    public let utc: Bool
    /// The SQLite file, or nil for a ClickHouse table.
    let queue: DatabaseQueue?
    /// The ClickHouse table, or nil for a SQLite one.
    public let clickhouse: ClickHouseTable?

    /// Set when the table is read in bins coarser than its own (`rebinned`).
    public private(set) var coarse: BinGrid.Coarse?

    /// The same table read in bins of `seconds`, a whole multiple of its own: they start on the
    /// stamps' clock (`BinGrid.coarseAnchor`: hours on the hour, days at midnight), not at the newest stamp.
    public func rebinned(seconds: Int) -> ReportSource {
        var copy = self
        copy.coarse = BinGrid.Coarse(tableSeconds: coarse?.tableSeconds ?? binSeconds, utc: utc)
        copy.bin = BinSize(seconds: seconds, origin: .given)
        return copy
    }

    /// Opens `table` in `path`. `binSeconds` is the bins' length when known (`--bin` or the
    /// view's `sql_history`, as `binOrigin` says); nil takes what the collector recorded, else
    /// infers it from the table's stamps (`BinSize`).
    public init(path: String, table: String, binSeconds: Int?, utc: Bool, binOrigin: BinSize.Origin = .given) throws {
        clickhouse = nil
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
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw Error.cannotOpen(path: path, reason: "\(error)")
        }
        self.queue = queue
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
        if let binSeconds, binSeconds > 0 {
            bin = BinSize(seconds: binSeconds, origin: binOrigin)
        } else {
            bin = try queue.read { db in try Self.binSize(db, table, utc: utc) }
        }
    }

    /// A clickhouse view's table (`<table>` in a cluster: the Distributed table over every shard).
    /// `binSeconds` as for SQLite; without it the bin size is inferred from the distinct stamps.
    public init(clickhouse: ClickHouseTable, binSeconds: Int?, utc: Bool, binOrigin: BinSize.Origin = .given) throws {
        guard !clickhouse.table.isEmpty, clickhouse.table.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw Error.badTableName(clickhouse.table)
        }
        self.path = "\(clickhouse.client.url) database \(clickhouse.database)"
        self.table = clickhouse.table
        self.utc = utc
        self.queue = nil
        self.clickhouse = clickhouse
        let columns: [String]
        do {
            columns = try clickhouse.columns()
        } catch {
            throw Error.clickhouse("cannot read \(clickhouse.database).\(clickhouse.table) at \(clickhouse.client.url): \(error)")
        }
        guard !columns.isEmpty else { throw Error.noTable(clickhouse.table, path: path, tables: clickhouse.tables()) }
        self.columns = columns.filter { $0 != "batch_id" }
        if let binSeconds, binSeconds > 0 {
            bin = BinSize(seconds: binSeconds, origin: binOrigin)
        } else {
            let stamps: [Int]
            do {
                stamps = try clickhouse.stamps()
            } catch {
                throw Error.clickhouse("cannot read the stamps of \(clickhouse.database).\(clickhouse.table): \(error)")
            }
            if let g = BinSize.infer(stamps) {
                bin = BinSize(seconds: g, origin: .inferred(stamps: stamps.count))
            } else {
                bin = BinSize(seconds: BinSize.assumedSeconds, origin: .assumed(stamps: stamps.count))
            }
        }
    }

    /// What the collector recorded, else what the stamps show (`BinSize`).
    static func binSize(_ db: Database, _ table: String, utc: Bool) throws -> BinSize {
        switch try TableRegistry.read(db, table: table) {
        case .seconds(let s): return BinSize(seconds: s, origin: .recorded)
        case .months(let m): throw Error.monthBins(table: table, months: m)
        case nil: break
        }
        let stamps = try BinSize.stamps(db, table, utc: utc)
        if let g = BinSize.infer(stamps) { return BinSize(seconds: g, origin: .inferred(stamps: stamps.count)) }
        if stamps.isEmpty, try Row.fetchOne(db, sql: "SELECT 1 FROM \(table) LIMIT 1") != nil {
            throw Error.noTimeBins(table: table)
        }
        return BinSize(seconds: BinSize.assumedSeconds, origin: .assumed(stamps: stamps.count))
    }

    /// The primitives stored in the table.
    public var primitives: [String] { columns.filter { !TableSchema.counterColumns.contains($0) } }

    public var hasFlowsColumn: Bool { columns.contains { $0.lowercased() == "flows" } }

    /// The table's column for `name`: one of its columns, or a primitive as the configuration's
    /// `aggregate` names it (`proto` is `ip_proto`, `peer_src_ip` is `peer_ip_src`, …).
    public func column(_ name: String) throws -> String {
        if columns.contains(name) { return name }
        if let c = columns.first(where: { $0.lowercased() == name.lowercased() }) { return c }
        if let p = Primitive(rawValue: name.lowercased()), let c = columns.first(where: { $0.lowercased() == p.column }) { return c }
        throw Error.noColumn(name, table: table, columns: columns)
    }

    public func require(_ column: String) throws {
        _ = try self.column(column)
    }

    /// A read transaction on the SQLite file; `what` names the report part for the error on a
    /// ClickHouse table.
    func read<T>(_ what: String = "this report", _ body: (Database) throws -> T) throws -> T {
        guard let queue else { throw Error.needsSQLite(what) }
        return try queue.read(body)
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

    /// Bounds (exclusive) of the stamps that can be times, as text: above pmacct's
    /// `0000-00-00 00:00:00` (a view without bins), numbers and NULL; below `garbage` and years
    /// of more than four digits.
    static let belowAll = "0001-01-01"
    static let aboveAll = "9999-12-31 23:59:59~"
}
