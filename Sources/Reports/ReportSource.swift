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
            case .noTable(let table, let path, let tables):
                "\(path) has no table '\(table)' (tables: \(tables.isEmpty ? "none" : tables.joined(separator: ", ")))"
            case .noColumn(let column, let table, let columns):
                "table '\(table)' has no column '\(column)' (columns: \(columns.joined(separator: ", ")))"
            case .badTableName(let name): "'\(name)' is not a table name (letters, digits and '_')"
            }
        }
    }

    /// Columns that are not primitives: counters and time stamps.
    public static let counterColumns: Set<String> = ["packets", "bytes", "flows", "stamp_inserted", "stamp_updated"]

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
    public var primitives: [String] { columns.filter { !Self.counterColumns.contains($0) } }

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
            try String.fetchAll(db, sql: "SELECT DISTINCT stamp_inserted FROM \(table) ORDER BY stamp_inserted DESC LIMIT 64")
        }
        let times = stamps.compactMap { StampText.parse($0, utc: utc) }.sorted()
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
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard let datePart = parts.first, parts.count <= 2 else { return nil }
        let date = datePart.split(separator: "-").map { Int($0) }
        guard date.count == 3, let y = date[0], let mo = date[1], let d = date[2] else { return nil }
        var h = 0, mi = 0, s = 0
        if parts.count == 2 {
            let time = parts[1].split(separator: ":").map { Int($0) }
            guard (2...3).contains(time.count), time.allSatisfy({ $0 != nil }) else { return nil }
            h = time[0]!
            mi = time[1]!
            s = time.count == 3 ? time[2]! : 0
        }
        guard (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h), (0...59).contains(mi), (0...60).contains(s) else {
            return nil
        }
        var parts_ = tm()
        parts_.tm_year = Int32(y - 1900)
        parts_.tm_mon = Int32(mo - 1)
        parts_.tm_mday = Int32(d)
        parts_.tm_hour = Int32(h)
        parts_.tm_min = Int32(mi)
        parts_.tm_sec = Int32(s)
        parts_.tm_isdst = -1
        let t = utc ? timegm(&parts_) : mktime(&parts_)
        return t == -1 ? nil : Int(t)
    }
}
