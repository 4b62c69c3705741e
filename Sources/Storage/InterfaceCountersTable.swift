import GRDB
import GRDBSQLite

/// One interface's counters over one minute, from sFlow counter samples: what its octet,
/// packet, error and discard counters advanced by between consecutive samples, credited to the
/// minute the later sample arrived in, and the speed it reported.
public struct InterfaceCountersRow: Sendable, Equatable {
    /// The agent's address (pmacct's peer_ip_src) and the interface's ifIndex.
    public var agent: String
    public var ifIndex: UInt32
    /// Unix seconds of the minute's start.
    public var minute: Int
    /// Bits per second, as last reported in the minute.
    public var ifSpeed: UInt64 = 0
    public var inBytes: UInt64 = 0
    public var outBytes: UInt64 = 0
    public var inPackets: UInt64 = 0
    public var outPackets: UInt64 = 0
    public var inErrors: UInt64 = 0
    public var outErrors: UInt64 = 0
    public var inDiscards: UInt64 = 0
    public var outDiscards: UInt64 = 0
    /// Counter samples that ended in the minute.
    public var samples: UInt64 = 0

    public init(agent: String, ifIndex: UInt32, minute: Int) {
        self.agent = agent
        self.ifIndex = ifIndex
        self.minute = minute
    }

    /// Adds another part of the same minute (from a second flush).
    public mutating func add(_ o: InterfaceCountersRow) {
        if o.ifSpeed != 0 { ifSpeed = o.ifSpeed }
        inBytes &+= o.inBytes
        outBytes &+= o.outBytes
        inPackets &+= o.inPackets
        outPackets &+= o.outPackets
        inErrors &+= o.inErrors
        outErrors &+= o.outErrors
        inDiscards &+= o.inDiscards
        outDiscards &+= o.outDiscards
        samples &+= o.samples
    }
}

/// Where sFlow's interface counters are kept, behind the same seam as the views' rows: the
/// collector hands each minute's rows to one of these (SQLite's `interface_counters` beside the
/// flows, or ClickHouse's), so capacity reports can take speeds and utilisation from the ports
/// themselves.
public protocol InterfaceCountersStorage: StorageBackend {
    /// Stores `rows` all or nothing (when it throws, nothing of them is kept); `now` is
    /// stamp_updated.
    func write(_ rows: [InterfaceCountersRow], now: Int) throws
}

/// `interface_counters` in a sqlite3 view's file.
public struct SQLiteInterfaceCounters: InterfaceCountersStorage {
    public let store: SQLiteStore
    /// timestamps_utc.
    public let utc: Bool

    public init(store: SQLiteStore, utc: Bool) {
        self.store = store
        self.utc = utc
    }

    public func write(_ rows: [InterfaceCountersRow], now: Int) throws {
        try InterfaceCountersTable.write(rows, into: store, now: now, utc: utc)
    }

    public var location: String { "sqlite3 \(store.path) table \(InterfaceCountersTable.name)" }
}

/// `interface_counters`: sFlow's interface counters per agent, ifIndex and minute, in the same
/// SQLite file as the flows. Rows of a minute written by two flushes add up.
public enum InterfaceCountersTable {
    public static let name = "interface_counters"

    static let create = """
        CREATE TABLE IF NOT EXISTS \(name) (
            peer_ip_src CHAR(45) NOT NULL, iface INT NOT NULL, if_speed INT NOT NULL DEFAULT 0,
            in_bytes INT NOT NULL DEFAULT 0, out_bytes INT NOT NULL DEFAULT 0,
            in_packets INT NOT NULL DEFAULT 0, out_packets INT NOT NULL DEFAULT 0,
            in_errors INT NOT NULL DEFAULT 0, out_errors INT NOT NULL DEFAULT 0,
            in_discards INT NOT NULL DEFAULT 0, out_discards INT NOT NULL DEFAULT 0,
            samples INT NOT NULL DEFAULT 0, stamp_inserted DATETIME NOT NULL, stamp_updated DATETIME,
            PRIMARY KEY (peer_ip_src, iface, stamp_inserted)
        )
        """

    static let upsert = """
        INSERT INTO \(name) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
        ON CONFLICT (peer_ip_src, iface, stamp_inserted) DO UPDATE SET
            if_speed = CASE WHEN excluded.if_speed <> 0 THEN excluded.if_speed ELSE if_speed END,
            in_bytes = in_bytes + excluded.in_bytes, out_bytes = out_bytes + excluded.out_bytes,
            in_packets = in_packets + excluded.in_packets, out_packets = out_packets + excluded.out_packets,
            in_errors = in_errors + excluded.in_errors, out_errors = out_errors + excluded.out_errors,
            in_discards = in_discards + excluded.in_discards, out_discards = out_discards + excluded.out_discards,
            samples = samples + excluded.samples, stamp_updated = excluded.stamp_updated
        """

    /// Writes `rows` in one transaction (nothing on failure); `now` is stamp_updated.
    public static func write(_ rows: [InterfaceCountersRow], into store: SQLiteStore, now: Int, utc: Bool) throws {
        guard !rows.isEmpty else { return }
        let updated = SQLTime.format(now, utc: utc)
        try store.pool.write { db in
            try db.execute(sql: create)
            let statement = try db.cachedStatement(sql: upsert).sqliteStatement
            // Counters above Int64.max are held at it, as flow counters are.
            func bind(_ v: UInt64, _ i: Int32) { sqlite3_bind_int64(statement, i, Int64(clamping: v)) }
            for r in rows {
                SQLiteStore.bindText(r.agent, statement, 1)
                sqlite3_bind_int64(statement, 2, Int64(r.ifIndex))
                bind(r.ifSpeed, 3)
                bind(r.inBytes, 4)
                bind(r.outBytes, 5)
                bind(r.inPackets, 6)
                bind(r.outPackets, 7)
                bind(r.inErrors, 8)
                bind(r.outErrors, 9)
                bind(r.inDiscards, 10)
                bind(r.outDiscards, 11)
                bind(r.samples, 12)
                SQLiteStore.bindText(SQLTime.format(r.minute, utc: utc), statement, 13)
                SQLiteStore.bindText(updated, statement, 14)
                let status = sqlite3_step(statement)
                sqlite3_reset(statement)
                guard status == SQLITE_DONE else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: status), message: "writing \(name)")
                }
            }
        }
    }
}
