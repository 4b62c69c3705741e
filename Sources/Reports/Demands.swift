import Foundation

/// Demand matrices for planning tools: per (source, destination) pair of two columns of a view
/// (source: the ingress router `peer_ip_src` or its interface; destination: the exit next-hop
/// `peer_ip_dst`, the peer AS `peer_as_dst`, …), the pair's own percentile of its per-bin bit/s
/// over the range (a pair's p95 is not the sum of its parts'), beside its average and peak.
public enum Demands {
    public struct Demand: Sendable, Equatable {
        public var source: String
        public var destination: String
        public var percentileBitsPerSecond: Double
        public var averageBitsPerSecond: Double
        public var peakBitsPerSecond: Double
        public var bytes: Int64
    }

    /// Every pair with traffic in the range, largest percentile first. `sourceColumns` may name
    /// several columns (router and interface): their values are joined with `/`.
    public static func compute(
        _ source: ReportSource, from sourceColumns: [String], to destination: String, percentile: Double, query: ReportQuery
    ) throws -> (demands: [Demand], breakdown: Breakdown) {
        let b = try Breakdown.compute(source, by: sourceColumns + [destination], query: query)
        let n = sourceColumns.count
        var demands = b.entries.map { e in
            Demand(
                source: e.key[..<n].joined(separator: "/"), destination: e.key[n],
                percentileBitsPerSecond: b.percentileBitsPerSecond(e, percentile), averageBitsPerSecond: b.averageBitsPerSecond(e),
                peakBitsPerSecond: b.peakBitsPerSecond(e), bytes: e.bytes)
        }
        demands.sort {
            $0.percentileBitsPerSecond != $1.percentileBitsPerSecond
                ? $0.percentileBitsPerSecond > $1.percentileBitsPerSecond
                : ($0.source, $0.destination) < ($1.source, $1.destination)
        }
        return (demands, b)
    }

    /// The table (text, CSV, JSON, HTML): `source`, `dest`, `p<P>_bps`, `avg_bps`, `peak_bps`,
    /// `bytes`; the CSV is the documented planner format.
    public static func table(_ demands: [Demand], _ b: Breakdown, percentile: Double, sourceName: String, destinationName: String) -> ReportTable {
        let p = percentileName(percentile)
        return ReportTable(
            columns: ["source", "dest", "\(p)_bps", "avg_bps", "peak_bps", "bytes"],
            rows: demands.map {
                [.text($0.source), .text($0.destination), .rate($0.percentileBitsPerSecond), .rate($0.averageBitsPerSecond),
                 .rate($0.peakBitsPerSecond), .bytes($0.bytes)]
            },
            notes: Reports.notes(b, what: "\(demands.count) demands from \(sourceName) to \(destinationName), \(p) of each pair's bins"),
            title: "Demands \(sourceName) → \(destinationName): \(p) bit/s",
            chart: demands.isEmpty ? nil : .bars(ChartBars(keys: 2, value: 2, details: [3, 4], axis: "\(p) bit/s per pair")),
            subtitle: Reports.subtitle(b))
    }

    /// pyNTM's model file (tab-separated): a `DEMANDS_TABLE` section, `source dest traffic name`
    /// per line, the traffic the pair's percentile in units of `unit` bit/s rounded up to a whole
    /// number (pyNTM reads integers and has no unit: use the one of the interfaces' capacities it
    /// is loaded with), names `src___dest`. Tabs and
    /// line breaks in keys become spaces. The section alone, to follow a model's INTERFACES_TABLE
    /// and NODES_TABLE after a blank line; its sources and destinations must be the model's node
    /// names.
    public static func pyNTM(_ demands: [Demand], unit: Double) -> String {
        func clean(_ s: String) -> String {
            String(s.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
        }
        var out = "DEMANDS_TABLE\nsource\tdest\ttraffic\tname\n"
        for d in demands {
            // pyNTM reads whole numbers: rounded up, so no demand is understated.
            let traffic = Int64(clamping: Int64(exactly: (d.percentileBitsPerSecond / unit).rounded(.up)) ?? Int64.max)
            out += "\(clean(d.source))\t\(clean(d.destination))\t\(traffic)\t\(clean(d.source))___\(clean(d.destination))\n"
        }
        return out
    }

    static func percentileName(_ p: Double) -> String {
        p == p.rounded() ? "p\(Int(p))" : "p\(p)"
    }
}
