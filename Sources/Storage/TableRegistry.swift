import Aggregation
import GRDB

/// `pathflow_tables`: the bin length each view's table is written with, recorded by the
/// collector when it prepares the table, so that reports on the file alone (`--db/--table`) know
/// it even when the table holds a single bin. A table of its own: the view's table keeps
/// pmacct's layout, and pmacct's SQL keeps working on it.
///
/// One row per table: `bin_seconds` for fixed-length bins, or `bin_months` for calendar months
/// (`sql_history: 1M`), the other NULL; `recorded` is when the collector last prepared it.
public enum TableRegistry {
    public static let name = "pathflow_tables"

    /// What the registry says of one table's bins.
    public enum Bin: Sendable, Equatable {
        case seconds(Int)
        case months(Int)
    }

    static let create = """
        CREATE TABLE IF NOT EXISTS \(name) (
            table_name TEXT PRIMARY KEY,
            bin_seconds INTEGER,
            bin_months INTEGER,
            recorded DATETIME NOT NULL
        )
        """

    /// Records the bins `table` is written with; the collector's newest word replaces an older
    /// one (a view whose `sql_history` changed writes its new bins from then on).
    public static func record(_ db: Database, table: String, binning: TimeBinning, now: Int, utc: Bool) throws {
        try db.execute(sql: create)
        let months = binning.unit == .months ? binning.count : nil
        let seconds = binning.unit == .months ? nil : binning.slot
        try db.execute(
            sql: "INSERT OR REPLACE INTO \(name) (table_name, bin_seconds, bin_months, recorded) VALUES (?, ?, ?, ?)",
            arguments: [table, seconds, months, SQLTime.format(now, utc: utc)])
    }

    /// The recorded bins of `table`; nil when nothing (usable) is recorded. A row written by
    /// something else may hold anything: only positive integers count.
    public static func read(_ db: Database, table: String) throws -> Bin? {
        guard try db.tableExists(name) else { return nil }
        let columns = Set(try db.columns(in: name).map { $0.name.lowercased() })
        guard columns.isSuperset(of: ["table_name", "bin_seconds", "bin_months"]) else { return nil }
        guard let row = try Row.fetchOne(
            db, sql: "SELECT bin_seconds, bin_months FROM \(name) WHERE table_name = ?", arguments: [table]) else { return nil }
        func positive(_ value: DatabaseValue) -> Int? {
            guard case .int64(let n) = value.storage, n > 0, n <= Int64(Int32.max) else { return nil }
            return Int(n)
        }
        if let seconds = positive(row[0]) { return .seconds(seconds) }
        if let months = positive(row[1]) { return .months(months) }
        return nil
    }
}
