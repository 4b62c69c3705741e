import Foundation
import GRDB

/// "What if this next-hop (or peer AS) fails": each prefix's traffic that leaves through the
/// failed exit moves to the path its router would choose next, from the RIB snapshot
/// (`rib_paths`, every path of every prefix per router with its rank).
public enum WhatIfAnalysis {
    public enum Failure: Sendable, Equatable {
        case nextHop(String)
        case peerAS(String)

        /// A next-hop address (anything with '.' or ':'), or a peer AS as `AS65001` or `65001`.
        public init?(parsing text: String) {
            if text.contains(".") || text.contains(":") {
                self = .nextHop(text)
            } else if let asn = UInt32(text.uppercased().hasPrefix("AS") ? String(text.dropFirst(2)) : text) {
                self = .peerAS(String(asn))
            } else {
                return nil
            }
        }

        /// The view and snapshot column that tells whether a path uses the failed exit: the
        /// column the report shows load per unless told otherwise.
        public var column: String {
            switch self {
            case .nextHop: "peer_ip_dst"
            case .peerAS: "peer_as_dst"
            }
        }

        var value: String {
            switch self {
            case .nextHop(let v), .peerAS(let v): v
            }
        }
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads the RIB snapshot: in the view's own database, or in `snapshot` (bgp_rib_snapshot_db)
    /// when it is elsewhere, as for a clickhouse view.
    static func withSnapshot<T>(_ source: ReportSource, _ snapshot: String?, _ body: (Database) throws -> T) throws -> T {
        guard let snapshot else { return try source.read("the RIB snapshot (rib_paths)", body) }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        guard FileManager.default.fileExists(atPath: snapshot) else {
            throw Error(description: "no RIB snapshot database at \(snapshot) (bgp_rib_snapshot_db)")
        }
        return try DatabaseQueue(path: snapshot, configuration: configuration).read(body)
    }

    /// Load per `by` (peer_ip_dst or peer_as_dst) before and after the failure: bytes and p95
    /// bit/s, and p95 utilisation where `capacities` has a line for exactly that exit.
    /// `snapshot`: the SQLite file holding the RIB snapshot (bgp_rib_snapshot_db) when it is not
    /// the view's own database, as for a clickhouse view.
    public static func report(
        _ source: ReportSource, failure: Failure, by: String, query: ReportQuery, capacities: [CapacityEntry],
        snapshot: String? = nil
    ) throws -> ReportTable {
        for c in ["peer_ip_src", "net_dst", "mask_dst", failure.column] { try source.require(c) }
        let by = try source.column(by)
        let snapshotPath = snapshot ?? source.path
        func withSnapshot<T>(_ body: (Database) throws -> T) throws -> T { try Self.withSnapshot(source, snapshot, body) }
        let snapshotColumns = try withSnapshot { db in
            try Row.fetchAll(db, sql: "PRAGMA table_info(rib_paths)").map { $0["name"] as String }
        }
        guard snapshotColumns.contains(by), snapshotColumns.contains(failure.column) else {
            throw Error(description: "\(snapshotPath) has no RIB snapshot (table rib_paths): set bgp_rib_snapshot_refresh_time "
                + "in the collector's configuration and wait for the first snapshot")
        }
        var keyColumns = ["peer_ip_src", "net_dst", "mask_dst", failure.column]
        if by != failure.column { keyColumns.append(by) }
        let b = try Breakdown.compute(source, by: keyColumns, query: query)
        let failedIndex = 3
        let byIndex = keyColumns.firstIndex(of: by)!

        var before: [String: Breakdown.Entry] = [:]
        var after: [String: Breakdown.Entry] = [:]
        var moved = 0, movedBytes: Int64 = 0, stranded = 0, strandedBytes: Int64 = 0
        func add(_ e: Breakdown.Entry, to key: String, _ table: inout [String: Breakdown.Entry]) {
            table[key, default: Breakdown.Entry(key: [key])].add(e)
        }
        try withSnapshot { db in
            let alternatives = try db.makeStatement(sql: """
                SELECT \(failure.column), \(by) FROM rib_paths
                WHERE (peer_ip_src = ? OR bgp_id = ?) AND net_dst = ? AND mask_dst = ? ORDER BY rank
                """)
            for e in b.entries {
                add(e, to: e.key[byIndex], &before)
                guard e.key[failedIndex] == failure.value else {
                    add(e, to: e.key[byIndex], &after)
                    continue
                }
                let rows = try Row.fetchAll(alternatives, arguments: [e.key[0], e.key[0], e.key[1], e.key[2]])
                if let next = rows.first(where: { Breakdown.text($0[0]) != failure.value }) {
                    add(e, to: Breakdown.text(next[1]), &after)
                    moved += 1
                    movedBytes.addSaturated(e.bytes)
                } else {
                    stranded += 1
                    strandedBytes.addSaturated(e.bytes)
                }
            }
        }
        let view = Breakdown(columns: [by], entries: [], grid: b.grid, bin: b.bin, utc: b.utc, hasFlows: b.hasFlows)
        let keys = Set(before.keys).union(after.keys).sorted {
            let a = after[$0]?.bytes ?? 0, c = after[$1]?.bytes ?? 0
            return a != c ? a > c : $0 < $1
        }
        let empty = Breakdown.Entry(key: [])
        var rows: [[ReportTable.Value]] = []
        for key in keys {
            let was = before[key] ?? empty, now = after[key] ?? empty
            let p95Before = view.percentileBitsPerSecond(was), p95After = view.percentileBitsPerSecond(now)
            let capacity = capacities.first {
                $0.conditions.count == 1 && (try? source.column($0.conditions[0].column)) == by && $0.conditions[0].value == key
            }
            rows.append([
                .text(key), .bytes(was.bytes), .bytes(now.bytes), .rate(p95Before), .rate(p95After),
                capacity.map { .rate($0.bitsPerSecond) } ?? .text("-"),
                capacity.map { .percent(p95After * 100 / $0.bitsPerSecond) } ?? .text("-"),
            ])
        }
        var notes = Reports.notes(b, what: "\(failure.column) \(failure.value) fails")
        notes.append("# moved: \(moved) prefix route(s), \(ReportTable.si(Double(movedBytes), "B")); "
            + "no other path: \(stranded), \(ReportTable.si(Double(strandedBytes), "B"))")
        return ReportTable(
            columns: [by, "bytes_before", "bytes_after", "p95_bps_before", "p95_bps_after", "capacity", "p95_util_after"],
            rows: rows, notes: notes, title: "What if \(failure.column) \(failure.value) fails: p95 bit/s after",
            chart: .beforeAfter(ChartBeforeAfter(
                before: 3, after: 4, capacity: 5, beforeLabel: "p95 before", afterLabel: "p95 after", axis: "p95 bit/s per exit")),
            subtitle: Reports.subtitle(b))
    }
}
