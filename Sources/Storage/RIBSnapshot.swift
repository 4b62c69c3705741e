import GRDB
import GRDBSQLite

/// One path of the RIB as `rib_paths` stores it for reports (`pathflow report what-if`): pmacct's
/// column names where pmacct has them, plus the path's `rank` among its prefix's paths (0 is the
/// best path, 1 the one the router would fall back to, and so on).
public struct RIBSnapshotRow: Sendable {
    public var router: String
    public var bgpID: String
    public var net: String
    public var mask: Int
    public var pathID: Int64
    public var rank: Int
    public var nextHop: String
    public var peerAS: Int64
    public var originAS: Int64
    public var asPath: String
    public var localPref: Int64
    public var med: Int64
    /// The router where the path leaves the network: its ORIGINATOR_ID (a reflected path), else
    /// the BGP identifier of the router that sent it (its own path); nil: `bgpID`.
    public var exitRouter: String?

    public init(router: String, bgpID: String, net: String, mask: Int, pathID: Int64, rank: Int, nextHop: String,
                peerAS: Int64, originAS: Int64, asPath: String, localPref: Int64, med: Int64, exitRouter: String? = nil) {
        self.router = router
        self.bgpID = bgpID
        self.net = net
        self.mask = mask
        self.pathID = pathID
        self.rank = rank
        self.nextHop = nextHop
        self.peerAS = peerAS
        self.originAS = originAS
        self.asPath = asPath
        self.localPref = localPref
        self.med = med
        self.exitRouter = exitRouter
    }
}

/// Writes RIB snapshots: pages go into a staging table, each page its own transaction, and the
/// finished snapshot replaces `rib_paths` in one transaction, so readers see the old snapshot or
/// the new one, never a part.
public struct RIBSnapshotWriter: Sendable {
    public static let table = "rib_paths"
    static let staging = "rib_paths_next"
    let store: SQLiteStore
    let stamp: String

    static func create(_ name: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(name) (
            peer_ip_src CHAR(45) NOT NULL, bgp_id CHAR(45) NOT NULL, net_dst CHAR(45) NOT NULL,
            mask_dst INT NOT NULL, path_id INT NOT NULL, rank INT NOT NULL, peer_ip_dst CHAR(45) NOT NULL,
            peer_as_dst INT NOT NULL, as_dst INT NOT NULL, as_path TEXT NOT NULL, local_pref INT NOT NULL,
            med INT NOT NULL, stamp_inserted DATETIME NOT NULL, exit_router CHAR(45) NOT NULL
        )
        """
    }

    /// Starts a snapshot taken at `stamp` (pmacct's stamp text).
    public init(store: SQLiteStore, stamp: String) throws {
        self.store = store
        self.stamp = stamp
        try store.pool.write { db in
            try db.execute(sql: "DROP TABLE IF EXISTS \(Self.staging)")
            try db.execute(sql: Self.create(Self.staging))
        }
    }

    public func append(_ rows: [RIBSnapshotRow]) throws {
        guard !rows.isEmpty else { return }
        try store.pool.write { db in
            try SQLiteStore.insert(rows, db, sql: "INSERT INTO \(Self.staging) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", table: Self.staging) {
                r, statement in
                SQLiteStore.bindText(r.router, statement, 1)
                SQLiteStore.bindText(r.bgpID, statement, 2)
                SQLiteStore.bindText(r.net, statement, 3)
                sqlite3_bind_int64(statement, 4, Int64(r.mask))
                sqlite3_bind_int64(statement, 5, r.pathID)
                sqlite3_bind_int64(statement, 6, Int64(r.rank))
                SQLiteStore.bindText(r.nextHop, statement, 7)
                sqlite3_bind_int64(statement, 8, r.peerAS)
                sqlite3_bind_int64(statement, 9, r.originAS)
                SQLiteStore.bindText(r.asPath, statement, 10)
                sqlite3_bind_int64(statement, 11, r.localPref)
                sqlite3_bind_int64(statement, 12, r.med)
                SQLiteStore.bindText(stamp, statement, 13)
                SQLiteStore.bindText(r.exitRouter ?? r.bgpID, statement, 14)
            }
        }
    }

    /// Makes the staged snapshot `rib_paths`.
    public func commit() throws {
        try store.pool.write { db in
            try db.execute(sql: "DROP TABLE IF EXISTS \(Self.table)")
            try db.execute(sql: "ALTER TABLE \(Self.staging) RENAME TO \(Self.table)")
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS \(Self.table)_prefix ON \(Self.table) (peer_ip_src, net_dst, mask_dst)")
        }
    }
}
