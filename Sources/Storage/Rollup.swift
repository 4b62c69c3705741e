import GRDB

/// A view's daily rollup: `<table>_daily`, one row per key and day with the day's counters and
/// its bytes per bin (a `BinList` blob), kept by the collector in the same transaction as the
/// table itself. Reports over whole days read it instead of every bin's rows (a month of a
/// sparse matrix is about 28 times fewer rows) and still see each bin, so peaks and percentiles
/// are the same as from the table.
///
/// `pathflow_rollups` records, per table, which days the rollup holds completely: every day from
/// `complete_from` on, up to the day of `written_until` (the newest stamp written through the
/// rollup) excluded, since that day may still grow. Days before `complete_from` were written
/// before the rollup existed, or while a writer that does not keep it wrote the table; reports
/// read those from the table.
public struct RollupSchema: Sendable {
    public static let suffix = "_daily"
    public static let registry = "pathflow_rollups"

    public let base: String
    public let table: String
    /// The primitives' columns and their SQL types, as in the base table.
    public let columns: [(name: String, type: String)]

    public init(base: String, columns: [(name: String, type: String)]) {
        self.base = base
        self.table = base + Self.suffix
        self.columns = columns
    }

    var keyList: String { (columns.map(\.name) + ["stamp_inserted"]).joined(separator: ", ") }

    public var createStatements: [String] {
        let lines = columns.map { "    \($0.name) \($0.type)" } + [
            "    packets INT NOT NULL",
            "    bytes BIGINT NOT NULL",
            "    flows INT NOT NULL DEFAULT 0",
            "    stamp_inserted DATETIME NOT NULL",
            "    bins BLOB",
            "    PRIMARY KEY (\(keyList))",
        ]
        return [
            "CREATE TABLE IF NOT EXISTS \(table) (\n" + lines.joined(separator: ",\n") + "\n)",
            "CREATE INDEX IF NOT EXISTS \(table)_stamp_inserted ON \(table) (stamp_inserted)",
            Self.createRegistry,
        ]
    }

    static let createRegistry = """
        CREATE TABLE IF NOT EXISTS \(registry) (
            base TEXT PRIMARY KEY,
            rollup TEXT NOT NULL,
            complete_from DATETIME NOT NULL,
            written_until DATETIME NOT NULL
        )
        """

    /// Adds one bin's counters of one key to its day: parameters are the key's columns, packets,
    /// bytes, flows, the day's stamp and a one-entry bin list.
    public var upsertStatement: String {
        let names = columns.map(\.name) + ["packets", "bytes", "flows", "stamp_inserted", "bins"]
        let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
        return "INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES (\(placeholders)) "
            + "ON CONFLICT (\(keyList)) DO UPDATE SET "
            + "packets = \(TableSchema.saturatingSum("packets", "excluded.packets")), "
            + "bytes = \(TableSchema.saturatingSum("bytes", "excluded.bytes")), "
            + "flows = \(TableSchema.saturatingSum("flows", "excluded.flows")), "
            + "bins = pathflow_bins_add(bins, excluded.bins)"
    }

    /// Records that this flush wrote stamps up to `newest` through the rollup.
    public var advanceStatement: String {
        "UPDATE \(Self.registry) SET written_until = max(written_until, ?) WHERE base = '\(base)'"
    }

    /// Creates the rollup if needed and settles from which day it is complete: from the start
    /// when the table is new or empty, else from the day after the table's newest stamp if the
    /// table has stamps the rollup never saw (it did not exist, or a writer that does not keep it
    /// wrote the table since). Needs `BinList.register` on the connection.
    public func prepare(_ db: Database, utc: Bool) throws {
        // A rollup from another set of columns (the view's aggregate changed) is rebuilt from now.
        if try db.tableExists(table) {
            let existing = Set(try db.columns(in: table).map { $0.name.lowercased() })
            if existing != Set(columns.map { $0.name.lowercased() } + ["packets", "bytes", "flows", "stamp_inserted", "bins"]) {
                try db.execute(sql: "DROP TABLE \(table)")
                if try db.tableExists(Self.registry) {
                    try db.execute(sql: "DELETE FROM \(Self.registry) WHERE base = ?", arguments: [base])
                }
            }
        }
        for statement in createStatements { try db.execute(sql: statement) }
        let newest = try String.fetchOne(
            db, sql: "SELECT MAX(stamp_inserted) FROM \(base) WHERE stamp_inserted > ?", arguments: [SQLTime.zero])
        let row = try Row.fetchOne(
            db, sql: "SELECT complete_from, written_until FROM \(Self.registry) WHERE base = ?", arguments: [base])
        if let row {
            let writtenUntil: String = row["written_until"]
            guard let newest, newest > writtenUntil else { return }
            try db.execute(
                sql: "UPDATE \(Self.registry) SET complete_from = ?, written_until = ? WHERE base = ?",
                arguments: [Self.nextDay(newest, utc: utc), newest, base])
        } else {
            try db.execute(
                sql: "INSERT INTO \(Self.registry) (base, rollup, complete_from, written_until) VALUES (?, ?, ?, ?)",
                arguments: [base, table, newest.map { Self.nextDay($0, utc: utc) } ?? SQLTime.zero, newest ?? SQLTime.zero])
        }
    }

    /// Builds the rollup again from the table, a day at a time; then it is complete for every
    /// day. Returns the days and rows written. Needs `BinList.register` on the connection.
    @discardableResult
    public func rebuild(_ db: Database, hasFlows: Bool) throws -> (days: Int, rows: Int) {
        for statement in createStatements { try db.execute(sql: statement) }
        try db.execute(sql: "DELETE FROM \(table)")
        let keys = columns.map(\.name).joined(separator: ", ")
        let s = "stamp_inserted"
        let second = "(CAST(substr(\(s), 12, 2) AS INTEGER) * 3600 + CAST(substr(\(s), 15, 2) AS INTEGER) * 60 "
            + "+ CAST(substr(\(s), 18, 2) AS INTEGER))"
        let insert = try db.makeStatement(sql: """
            INSERT INTO \(table) (\(keys), packets, bytes, flows, stamp_inserted, bins)
            SELECT \(keys), SUM(packets), SUM(bytes), \(hasFlows ? "SUM(flows)" : "0"), ?, pathflow_bins(\(second), bytes)
            FROM \(base) WHERE \(s) >= ? AND \(s) < ? GROUP BY \(keys)
            """)
        var days = 0, rows = 0
        var day = try String.fetchOne(db, sql: "SELECT MIN(\(s)) FROM \(base) WHERE \(s) > ?", arguments: [SQLTime.zero])
            .map(Self.dayOf)
        let newest = try String.fetchOne(db, sql: "SELECT MAX(\(s)) FROM \(base)")
        while let current = day {
            // '~' sorts after every character of a stamp: [D, D~) is every stamp of day D.
            try insert.execute(arguments: [current + " 00:00:00", current, current + "~"])
            rows += db.changesCount
            days += 1
            day = try String.fetchOne(db, sql: "SELECT MIN(\(s)) FROM \(base) WHERE \(s) >= ?", arguments: [current + "~"])
                .map(Self.dayOf)
        }
        try db.execute(
            sql: "INSERT OR REPLACE INTO \(Self.registry) (base, rollup, complete_from, written_until) VALUES (?, ?, ?, ?)",
            arguments: [base, table, SQLTime.zero, newest ?? SQLTime.zero])
        return (days, rows)
    }

    /// The rollup of an existing table, its columns and types read from the table: every column
    /// but the counters and stamps. Nil when the table does not exist.
    public static func of(_ db: Database, table: String) throws -> RollupSchema? {
        guard try db.tableExists(table) else { return nil }
        let columns = try db.columns(in: table).filter { !TableSchema.counterColumns.contains($0.name.lowercased()) }.map { column in
            (name: column.name, type: column.type + (column.isNotNull ? " NOT NULL" : "")
                + (column.defaultValueSQL.map { " DEFAULT \($0)" } ?? ""))
        }
        return RollupSchema(base: table, columns: columns)
    }

    // MARK: Days as pmacct's stamp text

    /// `YYYY-MM-DD` of a stamp.
    public static func dayOf(_ stamp: String) -> String { String(stamp.prefix(10)) }

    /// Seconds since the day's `00:00:00` as the stamp's text reads (local time unless UTC).
    public static func secondOfDay(_ stamp: String) -> UInt32 {
        let u = Array(stamp.utf8)
        guard u.count >= 19 else { return 0 }
        func two(_ i: Int) -> UInt32 { UInt32(u[i] &- 48) &* 10 &+ UInt32(u[i + 1] &- 48) }
        return two(11) * 3600 + two(14) * 60 + two(17)
    }

    /// The first stamp of the day after the stamp's day.
    public static func nextDay(_ stamp: String, utc: Bool) -> String {
        guard let t = SQLTime.parse(dayOf(stamp) + " 12:00:00", utc: utc) else { return stamp }
        return dayOf(SQLTime.format(t + 86_400, utc: utc)) + " 00:00:00"
    }
}

/// What `pathflow_rollups` says of one table's rollup.
public struct RollupCoverage: Sendable, Equatable {
    public var table: String
    public var completeFrom: String
    public var writtenUntil: String
    /// The rollup's columns.
    public var columns: [String]

    /// The rollup of `base`, if one is recorded and exists.
    public static func read(_ db: Database, base: String) throws -> RollupCoverage? {
        guard try db.tableExists(RollupSchema.registry) else { return nil }
        guard let row = try Row.fetchOne(
            db, sql: "SELECT rollup, complete_from, written_until FROM \(RollupSchema.registry) WHERE base = ?",
            arguments: [base]) else { return nil }
        // A registry row written by something else may hold anything: no rollup then, never a trap.
        guard let table = row["rollup"] as String?, let completeFrom = row["complete_from"] as String?,
              let writtenUntil = row["written_until"] as String?,
              table.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), try db.tableExists(table) else { return nil }
        let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").compactMap { $0["name"] as String? }
        return RollupCoverage(table: table, completeFrom: completeFrom, writtenUntil: writtenUntil, columns: columns)
    }

    /// The days (first stamps, `[start, end)`) the rollup holds completely and that lie wholly
    /// inside `[lower, upper)` (stamp texts; nil unbounded); nil when there are none.
    public func wholeDays(lower: String?, upper: String?, utc: Bool) -> (start: String, end: String)? {
        // The first whole day: the day of `lower` if lower is its first stamp, else the next.
        var start = completeFrom
        if let lower, lower > start {
            start = lower.hasSuffix(" 00:00:00") ? lower : RollupSchema.nextDay(lower, utc: utc)
        }
        if !start.hasSuffix(" 00:00:00") { start = RollupSchema.nextDay(start, utc: utc) }
        // Days before the day of written_until, and ending by `upper`.
        var end = RollupSchema.dayOf(writtenUntil) + " 00:00:00"
        if let upper {
            let upperDay = RollupSchema.dayOf(upper) + " 00:00:00"
            if upperDay < end { end = upperDay }
        }
        return start < end ? (start, end) : nil
    }
}
