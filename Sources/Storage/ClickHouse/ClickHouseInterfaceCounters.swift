import Foundation
import Logging

/// `interface_counters` on ClickHouse: sFlow's interface counters per agent, ifIndex and minute,
/// beside a clickhouse view's table (in its database, on its cluster, with its retention), sent
/// through their own spool and `ClickHouseSender`. As for the views, rows are never summed by the
/// server (a plain MergeTree by UTC day with `batch_id`): rows of one minute written by two
/// flushes are two rows, and reports add them up (the speed: the highest reported).
public final class ClickHouseInterfaceCounters: InterfaceCountersStorage {
    public static let table = InterfaceCountersTable.name

    /// Counter columns after peer_ip_src and iface, in RowBinary order.
    static let counterColumns = [
        "if_speed", "in_bytes", "out_bytes", "in_packets", "out_packets",
        "in_errors", "out_errors", "in_discards", "out_discards", "samples",
    ]

    public let database: String
    public let cluster: String?
    public let sender: ClickHouseSender

    public init(
        database: String, cluster: String?, settings: ClickHouseSettings, logger: Logger = Logger(label: "pathflow.clickhouse")
    ) throws {
        self.database = database
        self.cluster = cluster
        sender = try ClickHouseSender(
            target: Self.target(database: database, cluster: cluster), settings: settings, logger: logger)
    }

    /// The table in `database`: `interface_counters_local` on every shard and a Distributed
    /// `interface_counters` over them with a cluster.
    public static func target(database: String, cluster: String?) -> ClickHouseTarget {
        let insertTable = cluster == nil ? table : table + "_local"
        let columns: [(String, String)] = [("peer_ip_src", "String"), ("iface", "UInt32")]
            + counterColumns.map { ($0, "UInt64") }
            + [("stamp_inserted", "DateTime"), ("stamp_updated", "DateTime"), ("batch_id", "UInt64")]
        var statements = [
            "CREATE DATABASE IF NOT EXISTS \(database)",
            """
            CREATE TABLE IF NOT EXISTS \(database).\(insertTable) (
            \(columns.map { "    \($0.0) \($0.1)" }.joined(separator: ",\n"))
            ) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(stamp_inserted, 'UTC') ORDER BY (stamp_inserted, peer_ip_src, iface)
            """,
        ]
        if let cluster {
            statements.append("""
                CREATE TABLE IF NOT EXISTS \(database).\(table) AS \(database).\(insertTable) \
                ENGINE = Distributed(\(cluster), \(database), \(insertTable), rand())
                """)
        }
        return ClickHouseTarget(
            database: database, insertTable: insertTable, columns: columns.map(\.0), createStatements: statements)
    }

    public func write(_ rows: [InterfaceCountersRow], now: Int) throws {
        guard !rows.isEmpty else { return }
        let updated = UInt64(UInt32(clamping: now))
        var blocks = ClickHouseDayBlocks(maximumRows: ClickHouseViewStorage.maximumRows)
        for r in rows {
            let minute = UInt32(clamping: r.minute)
            blocks.row(stamp: minute) { w, id in
                w.string(r.agent)
                w.uint(UInt64(r.ifIndex), width: 4)
                for v in [r.ifSpeed, r.inBytes, r.outBytes, r.inPackets, r.outPackets,
                          r.inErrors, r.outErrors, r.inDiscards, r.outDiscards, r.samples] {
                    w.uint(v, width: 8)
                }
                w.uint(UInt64(minute), width: 4)
                w.uint(updated, width: 4)
                w.uint(id, width: 8)
            }
        }
        try sender.spool.addAll(blocks.spooled)
    }

    public var location: String { sender.location }
    public func run() async { await sender.runSender(drainSeconds: sender.settings.drainSeconds) }
    public func finish() { sender.finish() }
    public var counters: [StorageCounter] { sender.counters }
}
