import Foundation
import Storage

/// A view's ClickHouse table read for reports: ClickHouse groups the rows by key and bin, the
/// report model (`BinGrid`, `Breakdown`) does the rest exactly as for SQLite. Stamps are DateTime
/// (unix seconds), so no local-time text is parsed; keys come back as text, numbers in decimal,
/// as SQLite's do.
public struct ClickHouseTable: Sendable {
    public let client: ClickHouseClient
    public let database: String
    public let table: String

    public init(client: ClickHouseClient, database: String, table: String) {
        self.client = client
        self.database = database
        self.table = table
    }

    var qualified: String { "\(database).\(table)" }

    /// The table's columns, in order; empty when there is no such table.
    func columns() throws -> [String] {
        try client.queryBlocking("""
            SELECT name FROM system.columns WHERE database = \(Self.literal(database)) AND table = \(Self.literal(table)) \
            FORMAT TabSeparated
            """).split(separator: "\n").map { Self.unescape(String($0)) }
    }

    /// The tables of the database, for an error message.
    func tables() -> [String] {
        ((try? client.queryBlocking(
            "SELECT name FROM system.tables WHERE database = \(Self.literal(database)) ORDER BY name FORMAT TabSeparated")) ?? "")
            .split(separator: "\n").map { Self.unescape(String($0)) }
    }

    /// Every distinct stamp, as unix seconds (stamp 0, a view without bins, left out).
    func stamps() throws -> [Int] {
        try client.queryBlocking("""
            SELECT DISTINCT toUInt32(stamp_inserted) AS t FROM \(qualified) WHERE t > 0 ORDER BY t FORMAT TabSeparated
            """).split(separator: "\n").compactMap { Int($0) }
    }

    /// The first and last stamp (stamp 0 left out); nil for a table without one.
    func edges() throws -> (first: Int, last: Int)? {
        let fields = try client.queryBlocking("""
            SELECT min(toUInt32(stamp_inserted)), max(toUInt32(stamp_inserted)), count() FROM \(qualified) \
            WHERE stamp_inserted > toDateTime(0) FORMAT TabSeparated
            """).split(whereSeparator: { $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard fields.count == 3, fields[2] > 0 else { return nil }
        return (fields[0], fields[1])
    }

    /// Calls `body` with each group of `keys` and stamp in [from, to) whose rows match every
    /// filter: the keys as text, the stamp, and the sums (held at Int64.max, counted in clamps).
    /// Without `perBin`, the groups are of `keys` alone over the whole range, each given `from`
    /// as its stamp: one row per key where volumes are all a report needs.
    func groups(
        keys: [String], filters: [(column: String, value: String)], from: Int, to: Int, perBin: Bool = true, flows: Bool,
        _ body: ([String], Int, CounterSum.Result) -> Void
    ) throws {
        var conditions = ["stamp_inserted >= toDateTime(\(from))", "stamp_inserted < toDateTime(\(to))"]
        // As text on both sides: the same match as SQLite's for numbers and for strings.
        conditions += filters.map { "toString(\($0.column)) = \(Self.literal($0.value))" }
        let keyList = keys.map { "toString(\($0))" }
        let stamp = perBin ? "toUInt32(stamp_inserted) AS t" : "toUInt32(\(from))"
        let select = (keyList + [stamp, "sum(bytes)", "sum(packets)", flows ? "sum(flows)" : "0"]).joined(separator: ", ")
        let group = keyList + (perBin ? ["t"] : [])
        // No key and no bin: one total, and no row at all when nothing matches (as with a GROUP BY).
        let sql = "SELECT \(select) FROM \(qualified) WHERE \(conditions.joined(separator: " AND "))"
            + (group.isEmpty ? " HAVING count() > 0" : " GROUP BY \(group.joined(separator: ", "))") + " FORMAT TabSeparated"
        try client.queryBlocking(sql) { bytes in
            var rows = TabSeparatedRows(bytes)
            while rows.next() {
                guard rows.fields.count == keys.count + 4, let t = rows.unsigned(keys.count).flatMap({ Int(exactly: $0) }) else { continue }
                var result = CounterSum.Result()
                func counter(_ i: Int) -> Int64 {
                    // UInt64 sums past Int64.max stop there, as SQLite's do.
                    guard let n = rows.unsigned(i) else { return 0 }
                    if n > UInt64(Int64.max) {
                        result.clamps.saturated = true
                        return Int64.max
                    }
                    return Int64(n)
                }
                result.bytes = counter(keys.count + 1)
                result.packets = counter(keys.count + 2)
                result.flows = counter(keys.count + 3)
                body((0..<keys.count).map(rows.text), t, result)
            }
        }
    }

    /// sFlow's interface counters in [from, to), as `Reports.interfaceCounters` gives them: per
    /// agent, ifIndex and minute, oldest first (rows of a minute written by several flushes or
    /// collectors summed, the speed the highest). `interface_counters` of the view's database:
    /// the Distributed table over every shard in a cluster.
    func interfaceCounters(
        from: Int, to: Int, _ body: (String, Int64, Int, Int64, Int64, Int64) throws -> Void
    ) throws {
        let table = InterfaceCountersTable.name
        let present = try client.queryBlocking("""
            SELECT count() FROM system.tables WHERE database = \(Self.literal(database)) AND name = \(Self.literal(table)) \
            FORMAT TabSeparated
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        guard present != "0" else { throw ReportSource.Error.noInterfaceCounters(path: "\(client.url) database \(database)") }
        try client.queryBlocking("""
            SELECT peer_ip_src, iface, toUInt32(stamp_inserted) AS t, sum(in_bytes), sum(out_bytes), max(if_speed) \
            FROM \(database).\(table) WHERE stamp_inserted >= toDateTime(\(from)) AND stamp_inserted < toDateTime(\(to)) \
            GROUP BY peer_ip_src, iface, t ORDER BY t FORMAT TabSeparated
            """) { bytes in
            var rows = TabSeparatedRows(bytes)
            while rows.next() {
                guard rows.fields.count == 6, let ifIndex = rows.unsigned(1), let t = rows.unsigned(2) else { continue }
                // Sums past Int64.max stop there, as SQLite's counters do.
                func clamp(_ i: Int) -> Int64 { Int64(clamping: rows.unsigned(i) ?? 0) }
                try body(rows.text(0), Int64(clamping: ifIndex), Int(clamping: t), clamp(3), clamp(4), clamp(5))
            }
        }
    }

    /// A string literal: backslashes and quotes escaped.
    static func literal(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// TabSeparated's escapes undone (`\t`, `\n`, `\\`, …).
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                switch c {
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "0": out.append("\0")
                case "b": out.append("\u{8}")
                case "f": out.append("\u{C}")
                default: out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}
