import Aggregation
import GRDB
import GRDBSQLite
import NetCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One SQLite database file written by one collector: WAL, a busy timeout, one transaction
/// of UPSERTs per flush. An exclusive lock file keeps a second collector out.
public final class SQLiteStore: Sendable {
    public enum Error: Swift.Error, CustomStringConvertible {
        case inUse(path: String)
        case cannotOpen(path: String, reason: String)
        case schema(table: String, reason: String)

        public var description: String {
            switch self {
            case .inUse(let path):
                return "database \(path) is already being written by another pathflow collector; "
                    + "give each collector its own sql_db"
            case .cannotOpen(let path, let reason):
                return "cannot open database \(path): \(reason)"
            case .schema(let table, let reason):
                return "table \(table): \(reason)"
            }
        }
    }

    public let path: String
    let pool: DatabasePool
    let lockDescriptor: Int32
    let tables = Mutex<[String: PreparedTable]>([:])

    struct PreparedTable {
        var schema: TableSchema
        /// False for hand-made tables without a unique key over the view's primitives.
        var canUpsert: Bool
        /// The daily rollup written with the table, if kept.
        var rollup: RollupSchema?
    }

    public init(path: String, busyTimeoutSeconds: Double = 10) throws {
        self.path = path
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Error.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw Error.inUse(path: path)
        }
        lockDescriptor = fd
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeoutSeconds)
        configuration.label = "pathflow"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // A flush of a million rows touches pages all over the table and its key index: a
            // page cache of 128 MiB keeps them in memory instead of spilling mid-transaction.
            try db.execute(sql: "PRAGMA cache_size = -131072")
            try BinList.register(db)
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            flock(fd, LOCK_UN)
            close(fd)
            throw Error.cannotOpen(path: path, reason: "\(error)")
        }
    }

    deinit {
        flock(lockDescriptor, LOCK_UN)
        close(lockDescriptor)
    }

    /// Checks, without changing anything in the file (no WAL switch, no table created), that a
    /// database can take these views: it is SQLite, and each existing table has every column its
    /// view writes. Run before opening a store, so a database that will be refused is left as
    /// it was found.
    public static func check(path: String, schemas: [TableSchema]) throws {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0 else { return }   // new or empty: created later
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.read { db in
                _ = try Int.fetchOne(db, sql: "PRAGMA schema_version")
                for schema in schemas where try db.tableExists(schema.table) {
                    try checkColumns(db, schema)
                }
            }
            try queue.close()
        } catch let error as Error {
            throw error
        } catch {
            throw Error.cannotOpen(path: path, reason: "\(error)")
        }
    }

    static func checkColumns(_ db: Database, _ schema: TableSchema) throws {
        let columns = Set(try db.columns(in: schema.table).map { $0.name.lowercased() })
        for column in schema.writtenColumns where !columns.contains(column) {
            throw Error.schema(table: schema.table, reason: "exists but has no column '\(column)' that this view writes")
        }
    }

    /// Creates the table if needed, or checks that an existing one has every column written.
    /// With `rollup` (a view with time bins shorter than a day), the table's daily rollup is
    /// created too and written with every flush; `utc` is the view's timestamps_utc. `binning`,
    /// the view's bins, is recorded in `pathflow_tables` for reports (`TableRegistry`).
    public func prepare(_ schema: TableSchema, rollup: Bool = false, utc: Bool = false, binning: TimeBinning? = nil) throws {
        let canUpsert: Bool = try pool.write { db in
            let exists = try db.tableExists(schema.table)
            if !exists {
                for statement in schema.createStatements { try db.execute(sql: statement) }
            } else {
                try Self.checkColumns(db, schema)
            }
            do {
                _ = try db.makeStatement(sql: schema.upsertStatement)
                return true
            } catch {
                return false
            }
        }
        // The bin size for reports, in its own transaction: it only spares reports an inference,
        // so a database that cannot take it (damaged pages, a read-only registry) still collects,
        // and its flushes then report what is wrong.
        if let binning {
            try? pool.write { db in
                try TableRegistry.record(db, table: schema.table, binning: binning, now: Int(time(nil)), utc: utc)
            }
        }
        let kept = rollup ? schema.rollup : nil
        if let kept {
            try pool.write { db in try kept.prepare(db, utc: utc) }
        }
        tables.withLock { $0[schema.table] = PreparedTable(schema: schema, canUpsert: canUpsert, rollup: kept) }
    }

    /// Writes one view's rows in one transaction. `now` is the flush time (stamp_updated).
    @discardableResult
    public func write(
        table: String, rows: [BinnedKey: Counters], now: Int, utc: Bool, texts: TextPool? = nil
    ) throws -> WriteResult {
        try write(table: table, count: rows.count, now: now, utc: utc, texts: texts) { body in
            for (row, counters) in rows { try body(row, counters) }
        }
    }

    /// Writes the rows several shards drained, straight from their tables: a key drained by two
    /// shards is upserted twice and its counters add up, so no merged copy is ever built.
    @discardableResult
    /// `texts` resolves the AS path and community numbers of the keys.
    public func write(table: String, parts: [DrainedRows], now: Int, utc: Bool, texts: TextPool? = nil) throws -> WriteResult {
        try write(table: table, count: parts.reduce(0) { $0 + $1.count }, now: now, utc: utc, texts: texts) { body in
            for part in parts { try part.forEach(body) }
        }
    }

    func write(
        table: String, count: Int, now: Int, utc: Bool, texts textPool: TextPool?,
        rows: ((BinnedKey, Counters) throws -> Void) throws -> Void
    ) throws -> WriteResult {
        guard let prepared = tables.withLock({ $0[table] }) else {
            throw Error.schema(table: table, reason: "not prepared")
        }
        let started = monotonicSeconds()
        if count == 0 { return WriteResult(rows: 0, seconds: 0) }
        let schema = prepared.schema
        let updated = SQLTime.format(now, utc: utc)
        var stampCache: [UInt32: String] = [:]
        // One lock for the whole flush; numbers handed out later are not in these rows.
        let texts = schema.primitives.contains(where: \.isText) ? (textPool?.snapshot() ?? [""]) : [""]
        var days: [UInt32: (day: String, second: UInt32)] = [:]
        var newest: UInt32 = 0
        try pool.write { db in
            let connection = db.sqliteConnection
            func step(_ statement: SQLiteStatement, _ sql: String) throws {
                let status = sqlite3_step(statement)
                sqlite3_reset(statement)
                guard status == SQLITE_DONE else {
                    throw DatabaseError(
                        resultCode: ResultCode(rawValue: status),
                        message: connection.map { String(cString: sqlite3_errmsg($0)) }, sql: sql)
                }
            }
            // The row's bin added to its key's day in the rollup.
            let rollupSQL = prepared.rollup?.upsertStatement
            let rollupUpsert = try rollupSQL.map { try db.cachedStatement(sql: $0).sqliteStatement }
            var packed = [UInt8](repeating: 0, count: BinList.entrySize)
            func addToRollup(_ row: BinnedKey, _ counters: Counters) throws {
                guard let rollupUpsert, let rollupSQL, row.bin != 0 else { return }
                let day = days[row.bin] ?? {
                    let text = stamp(row.bin, &stampCache, utc: utc)
                    let value = (RollupSchema.dayOf(text) + " 00:00:00", RollupSchema.secondOfDay(text))
                    days[row.bin] = value
                    return value
                }()
                newest = max(newest, row.bin)
                var index: Int32 = 1
                Self.bindKey(row.key, schema: schema, texts, rollupUpsert, &index)
                sqlite3_bind_int64(rollupUpsert, index, Int64(clamping: counters.packets))
                sqlite3_bind_int64(rollupUpsert, index + 1, Int64(clamping: counters.bytes))
                sqlite3_bind_int64(rollupUpsert, index + 2, Int64(clamping: counters.flows))
                Self.bindText(day.day, rollupUpsert, index + 3)
                packed.withUnsafeMutableBytes { out in
                    BinList.store(BinList.Entry(second: day.second, bytes: Int64(clamping: counters.bytes)), out.baseAddress!)
                    _ = sqlite3_bind_blob(rollupUpsert, index + 4, out.baseAddress, Int32(out.count), Self.transient)
                }
                try step(rollupUpsert, rollupSQL)
            }
            // Rows are bound through SQLite's C API: building argument arrays per row cost more
            // than SQLite's own work.
            if prepared.canUpsert {
                let sql = schema.upsertStatement
                let upsert = try db.cachedStatement(sql: sql).sqliteStatement
                try rows { row, counters in
                    var index: Int32 = 1
                    Self.bindKey(row.key, schema: schema, texts, upsert, &index)
                    Self.bindCounters(counters, schema: schema, upsert, &index)
                    Self.bindText(stamp(row.bin, &stampCache, utc: utc), upsert, index)
                    Self.bindText(updated, upsert, index + 1)
                    try step(upsert, sql)
                    try addToRollup(row, counters)
                }
            } else {
                // A hand-made table without a unique key over the view: pmacct's UPDATE, then
                // INSERT when no row changed.
                let updateSQL = schema.updateStatement, insertSQL = schema.insertStatement
                let update = try db.cachedStatement(sql: updateSQL).sqliteStatement
                let insert = try db.cachedStatement(sql: insertSQL).sqliteStatement
                try rows { row, counters in
                    let inserted = stamp(row.bin, &stampCache, utc: utc)
                    var index: Int32 = 1
                    Self.bindCounters(counters, schema: schema, update, &index)
                    Self.bindText(updated, update, index)
                    index += 1
                    Self.bindKey(row.key, schema: schema, texts, update, &index)
                    Self.bindText(inserted, update, index)
                    try step(update, updateSQL)
                    if db.changesCount == 0 {
                        index = 1
                        Self.bindKey(row.key, schema: schema, texts, insert, &index)
                        Self.bindCounters(counters, schema: schema, insert, &index)
                        Self.bindText(inserted, insert, index)
                        Self.bindText(updated, insert, index + 1)
                        try step(insert, insertSQL)
                    }
                    try addToRollup(row, counters)
                }
            }
            if let rollup = prepared.rollup, newest != 0 {
                try db.execute(sql: rollup.advanceStatement, arguments: [stamp(newest, &stampCache, utc: utc)])
            }
        }
        return WriteResult(rows: count, seconds: monotonicSeconds() - started)
    }

    /// Builds `table`'s daily rollup again from the table (for tables written before the rollup
    /// was kept, by pmacct, or by a collector with sql_rollup off). One transaction; nil when
    /// the table does not exist.
    public func rebuildRollup(table: String) throws -> (days: Int, rows: Int, seconds: Double)? {
        let started = monotonicSeconds()
        let built: (days: Int, rows: Int)? = try pool.write { db in
            guard let rollup = try RollupSchema.of(db, table: table) else { return nil }
            let hasFlows = try db.columns(in: table).contains { $0.name.lowercased() == "flows" }
            return try rollup.rebuild(db, hasFlows: hasFlows)
        }
        return built.map { ($0.days, $0.rows, monotonicSeconds() - started) }
    }

    /// A read-only connection for reports and tests.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    func stamp(_ bin: UInt32, _ cache: inout [UInt32: String], utc: Bool) -> String {
        if bin == 0 { return SQLTime.zero }
        if let text = cache[bin] { return text }
        let text = SQLTime.format(Int(bin), utc: utc)
        cache[bin] = text
        return text
    }

    /// SQLite copies the text before the call returns (SQLITE_TRANSIENT).
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Inserts `rows` with the cached statement `sql`, `bind` setting each row's parameters;
    /// an error names `table`.
    static func insert<Row>(_ rows: [Row], _ db: Database, sql: String, table: String, bind: (Row, SQLiteStatement) -> Void) throws {
        let statement = try db.cachedStatement(sql: sql).sqliteStatement
        for row in rows {
            bind(row, statement)
            let status = sqlite3_step(statement)
            sqlite3_reset(statement)
            guard status == SQLITE_DONE else {
                throw DatabaseError(resultCode: ResultCode(rawValue: status), message: "inserting into \(table)")
            }
        }
    }

    /// Deletes all but the newest `keep` rows of an append-only table (rowids grow with each
    /// insert, so the newest have the highest).
    static func keepNewest(_ keep: Int, of table: String, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM \(table) WHERE rowid <= (SELECT MAX(rowid) FROM \(table)) - ?", arguments: [keep])
    }

    @inline(__always)
    static func bindText(_ text: String, _ statement: SQLiteStatement, _ index: Int32) {
        var text = text
        text.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), transient)
            }
        }
    }

    @inline(__always)
    static func bindAddress(_ a: IPAddress, _ statement: SQLiteStatement, _ index: Int32) {
        bindText(a.isNone ? "0.0.0.0" : a.description, statement, index)
    }

    /// Binds packets, bytes and (in tables pathflow creates) flows from parameter `index` on.
    @inline(__always)
    static func bindCounters(_ c: Counters, schema: TableSchema, _ statement: SQLiteStatement, _ index: inout Int32) {
        // Counters never exceed Int64.max (they saturate there); clamping keeps it so for any input.
        sqlite3_bind_int64(statement, index, Int64(clamping: c.packets))
        sqlite3_bind_int64(statement, index + 1, Int64(clamping: c.bytes))
        index += 2
        if schema.hasFlowsColumn {
            sqlite3_bind_int64(statement, index, Int64(clamping: c.flows))
            index += 1
        }
    }

    /// Binds the view's primitives from parameter `index` on, in `schema.primitives` order.
    static func bindKey(_ k: FlowKey, schema: TableSchema, _ texts: [String], _ statement: SQLiteStatement, _ index: inout Int32) {
        for p in schema.primitives {
            switch k.value(of: p, texts: texts, numericProtocols: schema.numericProtocols) {
            case .address(let a): bindAddress(a, statement, index)
            case .integer(let n): sqlite3_bind_int64(statement, index, Int64(n))
            case .text(let t): bindText(t, statement, index)
            }
            index += 1
        }
    }
}

/// pmacct's DATETIME text: local time unless timestamps_utc.
public enum SQLTime {
    public static let zero = "0000-00-00 00:00:00"

    public static func format(_ t: Int, utc: Bool) -> String {
        var value = time_t(t)
        var parts = tm()
        if utc { gmtime_r(&value, &parts) } else { localtime_r(&value, &parts) }
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
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
        // Years past four digits are not stamps (and would not fit tm's Int32).
        guard (0...9999).contains(y), (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h),
              (0...59).contains(mi), (0...60).contains(s) else {
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

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
