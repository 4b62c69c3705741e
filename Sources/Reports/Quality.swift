import GRDB

/// How far a matrix can be trusted: the share of bytes mapped to their exact BGP path, by a
/// covering prefix, by the best path (no next-hop in the flow), and not at all (the next-hop on
/// no path: mismatch; no route; no BGP session for the exporter), per router or exit, from a
/// view with the `path_match` primitive.
public enum MappingQuality {
    /// `path_match`'s values, in the report's column order ("" is a flow no BGP daemon saw).
    static let kinds = ["exact", "covering", "best", "mismatch", "no_route", "no_peer", ""]

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// One row per value of `by` (peer_ip_src by default: the routers), then `all`; columns the
    /// bytes, `mapped` (the share mapped to a path: exact, covering or best) and the share of
    /// each kind.
    /// Examples of mismatched next-hops (`path_mismatches`, kept by the collector beside the RIB
    /// snapshot) with stamps in the range, most bytes first: notes.
    static func mismatchExamples(_ db: Database, from: String, to: String, limit: Int = 10) throws -> [String] {
        // Not `tableExists`: a reader opened before the collector made the table caches the schema.
        guard try Bool.fetchOne(db, sql: "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'path_mismatches'") == true
        else { return [] }
        let rows = try Row.fetchAll(db, sql: """
            SELECT peer_ip_src, peer_ip_dst, net_dst, mask_dst, path_next_hops, SUM(flows), SUM(bytes) FROM path_mismatches
            WHERE stamp_inserted >= ? AND stamp_inserted < ?
            GROUP BY peer_ip_src, peer_ip_dst, net_dst, mask_dst, path_next_hops
            ORDER BY SUM(bytes) DESC, peer_ip_src, net_dst LIMIT ?
            """, arguments: [from, to, limit])
        return rows.map { r in
            let hops: String = r[4]
            let exporter: String = r[0], nextHop: String = r[1], net: String = r[2], mask: Int = r[3], flows: Int64 = r[5], bytes: Int64 = r[6]
            return "# mismatch: \(exporter) sent next-hop \(nextHop) for \(net)/\(mask), whose paths have "
                + (hops.isEmpty ? "none" : hops.replacingOccurrences(of: ",", with: ", "))
                + ": \(flows) flow(s), \(ReportTable.si(Double(bytes), "B")) as exported"
        }
    }

    public static func report(_ source: ReportSource, by: String, query: ReportQuery, examples: String? = nil) throws -> ReportTable {
        guard source.columns.contains(where: { $0.lowercased() == "path_match" }) else {
            throw Error(description: "table '\(source.table)' has no path_match column: add path_match to the view's aggregate "
                + "(with bgp_daemon and nfacctd_net: bgp) to see how its flows were mapped")
        }
        let column = try source.column(by)
        let b = try Breakdown.compute(source, by: [column, "path_match"], query: query, detail: false)
        var perKey: [String: [String: Int64]] = [:]
        var all: [String: Int64] = [:]
        for e in b.entries {
            let kind = kinds.contains(e.key[1]) ? e.key[1] : ""
            perKey[e.key[0], default: [:]][kind, default: 0].addSaturated(e.bytes)
            all[kind, default: 0].addSaturated(e.bytes)
        }
        func row(_ name: String, _ bytes: [String: Int64]) -> [ReportTable.Value] {
            let total = bytes.values.reduce(0.0) { $0 + Double($1) }
            func share(_ k: [String]) -> ReportTable.Value {
                .percent(total > 0 ? k.reduce(0.0) { $0 + Double(bytes[$1] ?? 0) } * 100 / total : 0)
            }
            return [.text(name), .bytes(bytes.values.reduce(0) { $0.addingSaturated($1) }), share(["exact", "covering", "best"])]
                + kinds.map { share([$0]) }
        }
        // Least mapped first: where to look.
        let keys = perKey.keys.sorted {
            let a = mapped(perKey[$0]!), c = mapped(perKey[$1]!)
            return a != c ? a < c : $0 < $1
        }
        var rows = keys.map { row($0, perKey[$0]!) }
        rows.append(row("all", all))
        let total = all.values.reduce(0.0) { $0 + Double($1) }
        var notes = Reports.notes(b, what: "\(keys.count) \(column) value(s)")
        let untrusted = kinds.filter { !["exact", "covering", "best"].contains($0) && (all[$0] ?? 0) > 0 }
            .sorted { (all[$0] ?? 0) > (all[$1] ?? 0) }
        if total > 0 && !untrusted.isEmpty {
            notes.append("# not mapped to a path: " + untrusted.map {
                "\($0.isEmpty ? "not enriched" : $0) \(String(format: "%.2f", Double(all[$0] ?? 0) * 100 / total)) %"
            }.joined(separator: ", "))
        }
        if (all["mismatch"] ?? 0) > 0 {
            let from = StampText.format(b.grid.first, utc: b.utc), to = StampText.format(b.grid.end, utc: b.utc)
            let found = (try? WhatIfAnalysis.withSnapshot(source, examples) { db in try mismatchExamples(db, from: from, to: to) }) ?? []
            if !found.isEmpty {
                notes.append("# examples of mismatched next-hops (the flow's next-hop is on no path of its prefix), most bytes first:")
                notes += found
            }
        }
        return ReportTable(
            columns: [column, "bytes", "mapped", "exact", "covering", "best", "mismatch", "no_route", "no_peer", "not_enriched"],
            rows: rows, notes: notes, title: "Mapping quality per \(column): share of bytes by how they were mapped",
            chart: .bars(ChartBars(keys: 1, value: 2, details: [1], axis: "share of bytes mapped to a path (mapped)")),
            subtitle: Reports.subtitle(b))
    }

    /// The share of bytes mapped to a path.
    static func mapped(_ bytes: [String: Int64]) -> Double {
        let total = bytes.values.reduce(0.0) { $0 + Double($1) }
        guard total > 0 else { return 0 }
        return ["exact", "covering", "best"].reduce(0.0) { $0 + Double(bytes[$1] ?? 0) } / total
    }
}
