import Aggregation

/// A view's SQL table: pmacct's column names, created from the view's primitives.
public struct TableSchema: Sendable, Equatable {
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case primitiveNotInVersion(primitive: String, version: Int)
        case missingColumn(table: String, column: String)
        case badTableName(String)

        public var description: String {
            switch self {
            case .primitiveNotInVersion(let primitive, let version):
                return "primitive '\(primitive)' has no column in pmacct's sql_table_version \(version) schema; "
                    + "remove sql_table_version to let pathflow create a table for this aggregate"
            case .missingColumn(let table, let column):
                return "table '\(table)' exists but has no column '\(column)' that this view writes"
            case .badTableName(let name):
                return "'\(name)' is not a usable table name (letters, digits and '_' only)"
            }
        }
    }

    public var table: String
    public var primitives: [Primitive]
    /// pmacct's v1 `acct` layout, column for column.
    public var isPmacctV1: Bool
    /// sql_num_protos: ip_proto as a number instead of pmacct's protocol name.
    public var numericProtocols: Bool

    /// The primitives pmacct's v1 table has columns for.
    public static let v1Primitives: Set<Primitive> = [.srcHost, .dstHost, .srcPort, .dstPort, .proto]

    public init(table: String, primitives: [Primitive], tableVersion: Int?, numericProtocols: Bool) throws {
        guard !table.isEmpty, table.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
              !(table.first?.isNumber ?? true) else {
            throw Error.badTableName(table)
        }
        self.table = table
        self.numericProtocols = numericProtocols
        // Columns follow pmacct's schema order whatever order `aggregate` lists them in.
        let chosen = Set(primitives)
        self.primitives = Primitive.tableOrder.filter { chosen.contains($0) }
        if tableVersion == 1 {
            if let extra = self.primitives.first(where: { !Self.v1Primitives.contains($0) }) {
                throw Error.primitiveNotInVersion(primitive: extra.rawValue, version: 1)
            }
            isPmacctV1 = true
        } else {
            isPmacctV1 = false
        }
    }

    public var hasFlowsColumn: Bool { !isPmacctV1 }

    /// Columns that are not primitives: the counters and the time stamps.
    public static let counterColumns: Set<String> = ["packets", "bytes", "flows", "stamp_inserted", "stamp_updated"]

    /// Columns of the unique key: what one row stands for.
    public var keyColumns: [String] {
        if isPmacctV1 {
            return ["mac_src", "mac_dst", "ip_src", "ip_dst", "src_port", "dst_port", "ip_proto", "stamp_inserted"]
        }
        return primitives.map(\.column) + ["stamp_inserted"]
    }

    /// Columns this view writes, in the order rows bind them.
    public var writtenColumns: [String] {
        primitives.map(\.column) + ["packets", "bytes"] + (hasFlowsColumn ? ["flows"] : [])
            + ["stamp_inserted", "stamp_updated"]
    }

    public var createStatements: [String] {
        if isPmacctV1 {
            return ["""
                CREATE TABLE IF NOT EXISTS \(table) (
                    mac_src CHAR(17) NOT NULL DEFAULT '0:0:0:0:0:0',
                    mac_dst CHAR(17) NOT NULL DEFAULT '0:0:0:0:0:0',
                    ip_src CHAR(45) NOT NULL DEFAULT '0.0.0.0',
                    ip_dst CHAR(45) NOT NULL DEFAULT '0.0.0.0',
                    src_port INT(4) NOT NULL DEFAULT 0,
                    dst_port INT(4) NOT NULL DEFAULT 0,
                    ip_proto CHAR(6) NOT NULL DEFAULT 0,
                    packets INT NOT NULL,
                    bytes BIGINT NOT NULL,
                    stamp_inserted DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
                    stamp_updated DATETIME,
                    PRIMARY KEY (mac_src, mac_dst, ip_src, ip_dst, src_port, dst_port, ip_proto, stamp_inserted)
                )
                """]
        }
        var lines: [String] = primitives.map { "    \($0.column) \(Self.columnType($0, numericProtocols: numericProtocols))" }
        lines.append("    packets INT NOT NULL")
        lines.append("    bytes BIGINT NOT NULL")
        lines.append("    flows INT NOT NULL DEFAULT 0")
        lines.append("    stamp_inserted DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00'")
        lines.append("    stamp_updated DATETIME")
        lines.append("    PRIMARY KEY (\(keyColumns.joined(separator: ", ")))")
        return [
            "CREATE TABLE IF NOT EXISTS \(table) (\n" + lines.joined(separator: ",\n") + "\n)",
            // Reports select time ranges first.
            "CREATE INDEX IF NOT EXISTS \(table)_stamp_inserted ON \(table) (stamp_inserted)",
        ]
    }

    /// The daily rollup of this table (`RollupSchema`); none for pmacct's v1 layout, whose key
    /// is not the view's primitives.
    public var rollup: RollupSchema? {
        guard !isPmacctV1 else { return nil }
        return RollupSchema(base: table, columns: primitives.map { ($0.column, Self.columnType($0, numericProtocols: numericProtocols)) })
    }

    static func columnType(_ p: Primitive, numericProtocols: Bool) -> String {
        p.spec.sqliteType(numericProtocols: numericProtocols)
    }

    /// `column + added`, held at Int64.max: SQLite turns an INTEGER sum that overflows into a
    /// REAL, which pmacct's SQL and the reports would read as something else. `added` is never
    /// negative (the collector binds counters of at most Int64.max), so the test cannot overflow.
    public static func saturatingSum(_ column: String, _ added: String) -> String {
        "CASE WHEN \(column) > 9223372036854775807 - \(added) THEN 9223372036854775807 ELSE \(column) + \(added) END"
    }

    /// One UPSERT: counters add up when the row for that key and bin exists.
    public var upsertStatement: String {
        let columns = writtenColumns
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        var updates = ["packets = \(Self.saturatingSum("packets", "excluded.packets"))",
                       "bytes = \(Self.saturatingSum("bytes", "excluded.bytes"))"]
        if hasFlowsColumn { updates.append("flows = \(Self.saturatingSum("flows", "excluded.flows"))") }
        updates.append("stamp_updated = excluded.stamp_updated")
        return "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders)) "
            + "ON CONFLICT (\(keyColumns.joined(separator: ", "))) DO UPDATE SET \(updates.joined(separator: ", "))"
    }

    /// For tables made by hand without a matching unique key: pmacct's UPDATE, then INSERT.
    public var updateStatement: String {
        var sets = ["packets = \(Self.saturatingSum("packets", "?1"))", "bytes = \(Self.saturatingSum("bytes", "?2"))"]
        if hasFlowsColumn { sets.append("flows = \(Self.saturatingSum("flows", "?3"))") }
        sets.append("stamp_updated = ?")
        let conditions = (primitives.map(\.column) + ["stamp_inserted"]).map { "\($0) = ?" }
        return "UPDATE \(table) SET \(sets.joined(separator: ", ")) WHERE \(conditions.joined(separator: " AND "))"
    }

    public var insertStatement: String {
        let columns = writtenColumns
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        return "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
    }
}
