import GRDB
import GRDBSQLite

/// Examples of flows whose BGP next-hop no path of their prefix carried (`path_match` mismatch),
/// as `path_mismatches` keeps them for `pathflow report quality`: per minute, exporter
/// (`peer_ip_src`), the flow's next-hop (`peer_ip_dst`) and the prefix, the next-hops its paths
/// have, and the flows and bytes (as exported, before renormalisation) of that minute.
public struct PathMismatchRow: Sendable, Equatable {
    public var stamp: String
    public var exporter: String
    public var flowNextHop: String
    public var net: String
    public var mask: Int
    /// The prefix's paths' next-hops, comma-separated.
    public var pathNextHops: String
    public var flows: Int64
    public var bytes: Int64

    public init(stamp: String, exporter: String, flowNextHop: String, net: String, mask: Int, pathNextHops: String, flows: Int64, bytes: Int64) {
        self.stamp = stamp
        self.exporter = exporter
        self.flowNextHop = flowNextHop
        self.net = net
        self.mask = mask
        self.pathNextHops = pathNextHops
        self.flows = flows
        self.bytes = bytes
    }
}

/// Appends mismatch examples to `path_mismatches`, keeping the newest rows only.
public struct PathMismatchWriter: Sendable {
    public static let table = "path_mismatches"
    let store: SQLiteStore

    public init(store: SQLiteStore) throws {
        self.store = store
        try store.pool.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS \(Self.table) (
                    stamp_inserted DATETIME NOT NULL, peer_ip_src CHAR(45) NOT NULL, peer_ip_dst CHAR(45) NOT NULL,
                    net_dst CHAR(45) NOT NULL, mask_dst INT NOT NULL, path_next_hops TEXT NOT NULL,
                    flows INTEGER NOT NULL, bytes INTEGER NOT NULL
                )
                """)
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS \(Self.table)_stamp ON \(Self.table) (stamp_inserted)")
        }
    }

    public func append(_ rows: [PathMismatchRow], keep: Int) throws {
        guard !rows.isEmpty else { return }
        try store.pool.write { db in
            try SQLiteStore.insert(rows, db, sql: "INSERT INTO \(Self.table) VALUES (?,?,?,?,?,?,?,?)", table: Self.table) { r, statement in
                SQLiteStore.bindText(r.stamp, statement, 1)
                SQLiteStore.bindText(r.exporter, statement, 2)
                SQLiteStore.bindText(r.flowNextHop, statement, 3)
                SQLiteStore.bindText(r.net, statement, 4)
                sqlite3_bind_int64(statement, 5, Int64(r.mask))
                SQLiteStore.bindText(r.pathNextHops, statement, 6)
                sqlite3_bind_int64(statement, 7, r.flows)
                sqlite3_bind_int64(statement, 8, r.bytes)
            }
            try SQLiteStore.keepNewest(keep, of: Self.table, db)
        }
    }
}
