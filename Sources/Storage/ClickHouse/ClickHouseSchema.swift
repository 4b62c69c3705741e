import Aggregation

/// A view's ClickHouse tables: pmacct's column names and the column types of `PrimitiveSpec`,
/// the counters as UInt64, the stamps as DateTime, and `batch_id`, which makes a batch sent
/// twice detectable (see `ClickHouseSender`).
///
/// The table is a plain MergeTree partitioned by UTC day (so a batch cut at UTC midnight is
/// one part per insert: written whole or not at all), ordered by the bin and the key: rows are
/// never summed by the server. A SummingMergeTree would add a retried batch to the first copy
/// and leave no trace of it; with every batch's rows kept apart, a retry whose first try may
/// have landed is checked by its `batch_id` first. Reports group and sum anyway, so rows of one
/// key and bin written by several flushes or collectors add up there.
///
/// With a cluster, each collector writes to `<table>_local` on its node and reports read
/// `<table>`, a Distributed table over the local tables of every shard.
public struct ClickHouseSchema: Sendable, Equatable {
    public var database: String
    public var table: String
    public var primitives: [Primitive]
    public var numericProtocols: Bool
    /// The cluster of the server's `remote_servers` configuration; nil for one node.
    public var cluster: String?

    public init(database: String, table: String, primitives: [Primitive], numericProtocols: Bool, cluster: String?) throws {
        for name in [database, table] + (cluster.map { [$0] } ?? []) {
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
                  !(name.first?.isNumber ?? true) else {
                throw TableSchema.Error.badTableName(name)
            }
        }
        self.database = database
        self.table = table
        let chosen = Set(primitives)
        self.primitives = Primitive.tableOrder.filter { chosen.contains($0) }
        self.numericProtocols = numericProtocols
        self.cluster = cluster
        integerBytes = self.primitives.map { p in
            switch p.spec.kind {
            case .unsigned(let bits): bits / 8
            case .protocolNumber: 1   // as a number (sql_num_protos): UInt8
            case .address, .text, .pathMatch: 0
            }
        }
    }

    /// Per primitive, the bytes of its column when the value is a number (`RowBinaryWriter`).
    let integerBytes: [Int]

    /// The table rows are inserted into: the local one in a cluster.
    public var insertTable: String { cluster == nil ? table : table + "_local" }

    /// Columns in the order `RowBinary` writes them.
    public var columns: [(name: String, type: String)] {
        primitives.map { ($0.column, $0.spec.clickhouseType(numericProtocols: numericProtocols)) }
            + [("packets", "UInt64"), ("bytes", "UInt64"), ("flows", "UInt64"),
               ("stamp_inserted", "DateTime"), ("stamp_updated", "DateTime"), ("batch_id", "UInt64")]
    }

    /// Creates the database and the tables when missing (every statement can run again).
    public var createStatements: [String] {
        let columnList = columns.map { "    \($0.name) \($0.type)" }.joined(separator: ",\n")
        let order = (["stamp_inserted"] + primitives.map(\.column)).joined(separator: ", ")
        var statements = [
            "CREATE DATABASE IF NOT EXISTS \(database)",
            """
            CREATE TABLE IF NOT EXISTS \(database).\(insertTable) (
            \(columnList)
            ) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(stamp_inserted, 'UTC') ORDER BY (\(order))
            """,
        ]
        if let cluster {
            statements.append("""
                CREATE TABLE IF NOT EXISTS \(database).\(table) AS \(database).\(insertTable) \
                ENGINE = Distributed(\(cluster), \(database), \(insertTable), rand())
                """)
        }
        return statements
    }

    /// What the sender needs of the table.
    public var target: ClickHouseTarget {
        ClickHouseTarget(database: database, insertTable: insertTable, columns: columns.map(\.name), createStatements: createStatements)
    }

    /// The INSERT a batch's body follows.
    public var insertStatement: String { target.insertStatement }
}
