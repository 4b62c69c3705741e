import GRDB
import GRDBSQLite

/// One change of a prefix's best path at one router as `rib_best_changes` stores it for
/// `pathflow report shifts`: pmacct's column names for the prefix and the paths, old_* for the
/// path before the change and new_* for the one after (NULL when there is none).
public struct BestPathChangeRow: Sendable, Equatable {
    /// One side of the change.
    public struct Side: Sendable, Equatable {
        public var pathID: Int64
        public var nextHop: String
        public var peerAS: Int64
        public var asPath: String
        public var localPref: Int64
        public var med: Int64

        public init(pathID: Int64, nextHop: String, peerAS: Int64, asPath: String, localPref: Int64, med: Int64) {
            self.pathID = pathID
            self.nextHop = nextHop
            self.peerAS = peerAS
            self.asPath = asPath
            self.localPref = localPref
            self.med = med
        }
    }

    /// pmacct's stamp text, in the stamps' time zone.
    public var stamp: String
    /// Unix milliseconds.
    public var timeMilliseconds: Int64
    public var router: String
    public var bgpID: String
    public var net: String
    public var mask: Int
    public var reason: String
    public var old: Side?
    public var new: Side?

    public init(stamp: String, timeMilliseconds: Int64, router: String, bgpID: String, net: String, mask: Int,
                reason: String, old: Side?, new: Side?) {
        self.stamp = stamp
        self.timeMilliseconds = timeMilliseconds
        self.router = router
        self.bgpID = bgpID
        self.net = net
        self.mask = mask
        self.reason = reason
        self.old = old
        self.new = new
    }
}

/// Appends best-path changes to `rib_best_changes` and keeps the table to a number of rows,
/// the oldest going first.
public struct BestPathChangesWriter: Sendable {
    public static let table = "rib_best_changes"
    let store: SQLiteStore

    static let create = """
        CREATE TABLE IF NOT EXISTS \(table) (
            stamp DATETIME NOT NULL, time_ms INTEGER NOT NULL, peer_ip_src CHAR(45) NOT NULL, bgp_id CHAR(45) NOT NULL,
            net_dst CHAR(45) NOT NULL, mask_dst INT NOT NULL, reason CHAR(24) NOT NULL,
            old_path_id INT, old_peer_ip_dst CHAR(45), old_peer_as_dst INT, old_as_path TEXT, old_local_pref INT, old_med INT,
            new_path_id INT, new_peer_ip_dst CHAR(45), new_peer_as_dst INT, new_as_path TEXT, new_local_pref INT, new_med INT
        )
        """

    public init(store: SQLiteStore) throws {
        self.store = store
        try store.pool.write { db in
            try db.execute(sql: Self.create)
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS \(Self.table)_time ON \(Self.table) (time_ms)")
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS \(Self.table)_prefix ON \(Self.table) (peer_ip_src, net_dst, mask_dst)")
        }
    }

    /// Appends `rows` and deletes the oldest rows past `keep`, in one transaction.
    public func append(_ rows: [BestPathChangeRow], keep: Int) throws {
        guard !rows.isEmpty else { return }
        try store.pool.write { db in
            try SQLiteStore.insert(
                rows, db, sql: "INSERT INTO \(Self.table) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", table: Self.table
            ) { r, statement in
                SQLiteStore.bindText(r.stamp, statement, 1)
                sqlite3_bind_int64(statement, 2, r.timeMilliseconds)
                SQLiteStore.bindText(r.router, statement, 3)
                SQLiteStore.bindText(r.bgpID, statement, 4)
                SQLiteStore.bindText(r.net, statement, 5)
                sqlite3_bind_int64(statement, 6, Int64(r.mask))
                SQLiteStore.bindText(r.reason, statement, 7)
                for (side, first) in [(r.old, Int32(8)), (r.new, Int32(14))] {
                    if let s = side {
                        sqlite3_bind_int64(statement, first, s.pathID)
                        SQLiteStore.bindText(s.nextHop, statement, first + 1)
                        sqlite3_bind_int64(statement, first + 2, s.peerAS)
                        SQLiteStore.bindText(s.asPath, statement, first + 3)
                        sqlite3_bind_int64(statement, first + 4, s.localPref)
                        sqlite3_bind_int64(statement, first + 5, s.med)
                    } else {
                        for i in first..<(first + 6) { sqlite3_bind_null(statement, i) }
                    }
                }
            }
            try SQLiteStore.keepNewest(keep, of: Self.table, db)
        }
    }
}
