import ArgumentParser
import Foundation
import Synchronization
import PathflowConfig
import Reports
import Storage

/// Capacity-planning reports from the views' SQLite tables, read-only: they run while the
/// collector writes.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports from the stored views: top, matrix, series, capacity, what-if, failures, shifts, demands, quality, forecast, prefixes.",
        discussion: """
            Name the view with -f CONFIG [--view NAME] (the database, table, bin size and time zone \
            come from the configuration; a sqlite3 view, or a clickhouse view read on its server, \
            every shard with clickhouse_cluster), or with --db FILE --table NAME. Times are the stamps' own \
            (local time, or UTC with timestamps_utc or --utc). Columns (--by, --rows, --columns, \
            --where, capacity files) are the table's (ip_proto) or the configuration's primitives (proto).

            Bins. The bin size is --bin, else the view's sql_history, else what the collector \
            recorded when it prepared the table (pathflow_tables), else the greatest common divisor \
            of the differences between the table's distinct stamps; a table with one stamp and \
            nothing recorded gets 60 s and every report says it ASSUMED so. Month bins (sql_history \
            1M) have no fixed length: give --bin. The range is a list of bins of that size on the \
            table's grid (through its newest stamp): with --from/--to the bins whose start lies in \
            [from, to); with --last D the bins ending with the one that holds now, enough to cover \
            D; otherwise the bin of the table's first stamp to the bin of its last. A row counts in \
            the bin that holds its stamp; rows outside the range do not count. Every report, and \
            every line of a capacity report, walks that same list, empty bins counting as zero.

            Numbers. bytes, packets, flows: sums over the range (flows only where the table has \
            the column). avg: bytes × 8 / (bins × bin size), in bit/s. peak: the busiest bin's \
            bytes × 8 / bin size. p95: the bin of rank ceil(0.95 × bins) in increasing order, \
            × 8 / bin size (nearest rank, empty bins as 0). share: the key's bytes over all keys' \
            bytes; cumulative: the same down to that row. Capacity: avg, p95 and peak over the \
            line's capacity; trend_bps_per_day: the slope of the least-squares line through every \
            bin's (start, bit/s), × 86400; runout: when that line reaches threshold × capacity \
            ("over" when the p95 already does, "now" when the line already has, "-" when it falls \
            or is flat). The first note of a text report says which bins it walked and why.
            """,
        subcommands: [Top.self, Matrix.self, Series.self, Capacity.self, WhatIf.self, Failures.self, Shifts.self, DemandMatrix.self, Quality.self, Forecast.self, Prefixes.self]
    )

    struct Options: ParsableArguments {
        @OptionGroup var target: ViewTarget
        @Option(help: "Bin size (pmacct's sql_history syntax, e.g. 5m); by default the view's, what the collector recorded, or what the stamps show.")
        var bin: String?
        @Option(help: "Start of the range: the first bin starting at or after YYYY-MM-DD[ HH:MM[:SS]].")
        var from: String?
        @Option(help: "End of the range (exclusive): the bins starting before YYYY-MM-DD[ HH:MM[:SS]].")
        var to: String?
        @Option(help: "The range of whole bins ending with the one that holds now, at least this long: e.g. 30m, 24h, 7d.")
        var last: String?
        @Option(name: .customLong("where"), help: "COLUMN=VALUE; only rows with that value (repeatable; a column or a primitive).")
        var filters: [String] = []
        @Option(help: "text, csv, json or html (one self-contained page with a chart).")
        var format: String = "text"
        @Flag(help: "Stamps are UTC (without -f; with it, timestamps_utc decides).")
        var utc = false
        @Flag(help: "Read every bin from the table, not whole days from its daily rollup.")
        var noRollup = false

        func source() throws -> ReportSource {
            try view().open()
        }

        func view() throws -> ReportView {
            try ReportView.resolve(target: target, bin: bin, utc: utc)
        }

        func query(utc: Bool, now: Int = Int(Date().timeIntervalSince1970)) throws -> ReportQuery {
            var q = ReportQuery(useRollup: !noRollup)
            if let last {
                guard from == nil && to == nil else { throw ValidationError("--last cannot be combined with --from or --to") }
                q.last = ReportQuery.Last(seconds: try Self.seconds(last), now: now)
            } else {
                q.from = try from.map { try Self.time($0, utc: utc, option: "--from") }
                q.to = try to.map { try Self.time($0, utc: utc, option: "--to") }
                if let from = q.from, let to = q.to, from >= to {
                    throw ValidationError("--from \(self.from ?? "") is not before --to \(self.to ?? ""): the range would be empty")
                }
            }
            for f in filters {
                guard let eq = f.firstIndex(of: "="), eq != f.startIndex else {
                    throw ValidationError("--where \(f): expected COLUMN=VALUE")
                }
                q.filters.append((String(f[..<eq]), String(f[f.index(after: eq)...])))
            }
            return q
        }

        /// Prints a report's table in the chosen format; the reports' own errors end the command
        /// with their message.
        func printTable(_ make: () throws -> ReportTable) throws {
            do {
                print(try make().render(try outputFormat()), terminator: "")
            } catch let error as WhatIfAnalysis.Error {
                throw RuntimeFailure(error.description)
            } catch let error as FailureAnalysis.Error {
                throw RuntimeFailure(error.description)
            } catch let error as MappingQuality.Error {
                throw RuntimeFailure(error.description)
            } catch let error as EgressShifts.Error {
                throw RuntimeFailure(error.description)
            } catch let error as ReportSource.Error {
                throw RuntimeFailure("\(error)")
            }
        }

        /// A capacity file's lines (see `report capacity`), none without a file.
        static func capacities(_ file: String?) throws -> [CapacityEntry] {
            guard let file else { return [] }
            do {
                return try CapacityEntry.parse(try String(contentsOfFile: file, encoding: .utf8), file: file)
            } catch let error as CapacityError {
                throw RuntimeFailure(error.description)
            } catch {
                throw RuntimeFailure("\(file): \(error)")
            }
        }

        func outputFormat() throws -> ReportTable.Format {
            guard let f = ReportTable.Format(rawValue: format) else { throw ValidationError("--format: text, csv, json or html") }
            return f
        }

        /// A comma-separated list of columns.
        static func columns(_ list: String) -> [String] {
            list.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        }

        static func seconds(_ text: String) throws -> Int {
            guard let bin = TimeBin(pmacct: text), let s = bin.lengthInSeconds, s > 0 else {
                throw ValidationError("'\(text)': expected a duration such as 30s, 5m, 24h, 7d")
            }
            return s
        }

        static func time(_ text: String, utc: Bool, option: String) throws -> Int {
            guard let t = StampText.parse(text, utc: utc) else {
                throw ValidationError("\(option) \(text): expected YYYY-MM-DD[ HH:MM[:SS]]")
            }
            return t
        }

        /// `detail` false: volumes and averages only (no per-bin bytes to gather).
        func run(by columns: [String], detail: Bool = true, _ make: (Breakdown, ReportSource) throws -> String) throws {
            let source = try source()
            _ = try outputFormat()
            let breakdown: Breakdown
            let progress = Progress.start("reading \(source.table) in \(source.path)")
            defer { progress.stop() }
            do {
                breakdown = try Breakdown.compute(source, by: columns, query: try query(utc: source.utc), detail: detail)
                progress.stop()
                print(try make(breakdown, source), terminator: "")
            } catch let error as ReportSource.Error {
                throw RuntimeFailure("\(error)")
            }
        }
    }

    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The largest keys by bytes: bytes, packets, flows, avg, peak and p95 bit/s, share and cumulative share.")
        @OptionGroup var options: Options
        @Option(help: "Columns or primitives to rank, comma-separated (e.g. peer_as_dst, proto or peer_ip_src,peer_ip_dst).")
        var by: String
        @Option(name: .shortAndLong, help: "How many keys.")
        var n = 10

        func run() throws {
            try options.run(by: Options.columns(by)) { b, _ in Reports.top(b, limit: n).render(try options.outputFormat()) }
        }
    }

    struct Matrix: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A traffic matrix: rows × columns of two primitives, cells in bytes or avg, peak or p95 bit/s, a total per row.")
        @OptionGroup var options: Options
        @Option(help: "The rows' primitive.")
        var rows = "peer_ip_src"
        @Option(help: "The columns' primitive (peer_as_dst, peer_ip_dst, iface_in, …).")
        var columns = "peer_as_dst"
        @Option(help: "Cells: bytes, avg, peak or p95 (bit/s, of the cell's traffic per bin).")
        var cell = "bytes"
        @Option(help: "At most this many columns; the rest add up in 'other'.")
        var maxColumns = 12
        @Option(help: "At most this many rows.")
        var maxRows = 50

        func run() throws {
            guard let cell = Reports.Cell(rawValue: cell) else { throw ValidationError("--cell: bytes, avg, peak or p95") }
            try options.run(by: [rows, columns], detail: cell == .peak || cell == .p95) { b, _ in
                Reports.matrix(b, cell: cell, maxColumns: maxColumns, maxRows: maxRows).render(try options.outputFormat())
            }
        }
    }

    struct Series: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bit/s per bin for the largest keys: one row per bin of the range, empty bins 0.")
        @OptionGroup var options: Options
        @Option(help: "Columns or primitives that make a key, comma-separated.")
        var by: String
        @Option(name: .shortAndLong, help: "How many keys (columns).")
        var n = 5
        @Flag(help: "A last column 'other' with every other key, so that each bin's columns add up to all its traffic.")
        var other = false

        func run() throws {
            try options.run(by: Options.columns(by)) { b, source in
                try Reports.series(b, limit: n, utc: source.utc, other: other).render(try options.outputFormat())
            }
        }
    }

    struct Capacity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Utilisation against capacities (average, p95, peak), the trend, and when it reaches a threshold.",
            discussion: """
                The capacity file has one line per link, next-hop or peer: NAME COLUMN=VALUE[,COLUMN=VALUE…] \
                CAPACITY, e.g. `transit-a peer_as_dst=65001 10G` or `edge1-xe-0/0/1 peer_ip_src=192.0.2.1,iface_in=12 10G` \
                (capacity in bit/s, k M G T allowed; `!` or `#` starts a comment). Each line's rows are those that \
                match all its conditions; every line walks the same bins of the range, empty ones as 0. avg_util, \
                p95_util and peak_util: the avg, p95 and peak bit/s over the capacity, in percent; trend_bps_per_day: \
                the slope of the least-squares line through every bin's (start, bit/s), per day; runout: when that line \
                reaches the threshold ("over" when the range's p95 already has, "now" when the line has, "-" when \
                it never will). With --counters instead of a file: one line per port and direction that sent sFlow \
                counter samples (interface_counters in the view's database), its speed as the capacity and its own \
                octet counters as the utilisation; flow_p95_bps and flow_coverage say what the view's flows give for \
                the same port (peer_ip_src and iface_in or iface_out) and their share of the counters' bytes.
                """)
        @OptionGroup var options: Options
        @Option(name: .customLong("capacities"), help: "The capacity file.")
        var capacityFile: String?
        @Flag(name: .customLong("counters"),
              help: "Capacity and utilisation of every port that sends sFlow counter samples, from its own counters, beside the flows' rates.")
        var counters = false
        @Option(help: "Utilisation threshold, percent.")
        var threshold = 80.0

        func validate() throws {
            guard (capacityFile == nil) != !counters else {
                throw ValidationError("give --capacities FILE, or --counters for ports that send sFlow counter samples")
            }
        }

        func run() throws {
            guard threshold.isFinite, threshold >= 0 else { throw ValidationError("--threshold: a percentage, e.g. 80") }
            let source = try options.source()
            let now = Int(Date().timeIntervalSince1970)
            let table: ReportTable
            do {
                if let capacityFile {
                    let entries: [CapacityEntry]
                    do {
                        entries = try CapacityEntry.parse(try String(contentsOfFile: capacityFile, encoding: .utf8), file: capacityFile)
                    } catch let error as CapacityError {
                        throw RuntimeFailure(error.description)
                    }
                    table = try Reports.capacity(
                        source, entries, query: try options.query(utc: source.utc), threshold: threshold / 100, now: now)
                } else {
                    table = try Reports.interfaceCapacity(
                        source, query: try options.query(utc: source.utc), threshold: threshold / 100, now: now)
                }
            } catch let error as ReportSource.Error {
                throw RuntimeFailure("\(error)")
            }
            print(table.render(try options.outputFormat()), terminator: "")
        }
    }

    struct WhatIf: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "what-if",
            abstract: "Load per exit if a next-hop or a peer AS failed: each prefix's traffic moves to its router's next path.",
            discussion: """
                Needs a per-prefix view (peer_ip_src, dst_net, dst_mask and peer_dst_ip or peer_dst_as) and the \
                collector's RIB snapshot in the same database (bgp_rib_snapshot_refresh_time): every path of \
                every prefix per router, ranked as the router prefers them. bytes_before/after: the exit's bytes \
                over the range; p95_bps_before/after: the p95 of its per-bin bit/s over every bin of the range.
                """)
        @OptionGroup var options: Options
        @Option(name: .customLong("fail"), help: "The failing BGP next-hop (an address) or peer AS (AS65001 or a number).")
        var fail: String
        @Option(help: "Show load per peer_ip_dst or peer_as_dst; by default the failure's kind.")
        var by: String?
        @Option(name: .customLong("capacities"), help: "A capacity file (see `report capacity`) for utilisation after the failure.")
        var capacityFile: String?

        func run() throws {
            guard let failure = WhatIfAnalysis.Failure(parsing: fail) else {
                throw ValidationError("--fail \(fail): expected a next-hop address or a peer AS")
            }
            let view = try options.view()
            let source = try view.open()
            let capacities = try Options.capacities(capacityFile)
            let column = by ?? failure.column
            let snapshot = try view.snapshot(report: "what-if")
            try options.printTable {
                try WhatIfAnalysis.report(
                    source, failure: failure, by: column, query: try options.query(utc: source.utc), capacities: capacities,
                    snapshot: snapshot)
            }
        }
    }

    struct Failures: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every single failure at once: per exit, its p95, its worst p95 under any one failure and which, headroom, runout.",
            discussion: """
                Needs what what-if needs (a per-prefix view: peer_ip_src, dst_net, dst_mask and peer_dst_ip \
                and/or peer_dst_as; the RIB snapshot, bgp_rib_snapshot_refresh_time). The failures: every \
                next-hop (--fail-each peer_ip_dst, the default), every peer AS (peer_as_dst) and/or every exit \
                router (exit_router: the router where a path leaves the network, its ORIGINATOR_ID or else the \
                BGP identifier of the router that sent it; all its paths fail together) that carries traffic \
                in the range, one at a time, and each group of a --groups file (lines NAME MEMBER[,MEMBER…], \
                members peer_ip_dst=ADDRESS, peer_as_dst=ASN or exit_router=ADDRESS: exits that fail together, \
                e.g. links sharing a fibre). Under each failure every prefix's traffic through a failed exit \
                moves to the first path in its router's ranking that the failure leaves standing, exactly as \
                what-if moves it. Per exit (--by): p95_bps as it is; worst_p95_bps, the highest p95 under any \
                single failure, and worst_failure, the one causing it ("-": none raises it); with --capacities, \
                worst_util and headroom_bps (capacity less the worst p95); stranded_prefixes/_bytes: what the \
                exit's own failure leaves without another path; runout and runout_worst: when the trend of the \
                exit's per-bin load, as it is and under its worst failure, reaches --threshold of its capacity.
                """)
        @OptionGroup var options: Options
        @Option(name: .customLong("fail-each"), help: "Which exits fail one at a time: peer_ip_dst, peer_as_dst, exit_router (comma-separated); 'none' for groups only.")
        var failEach = "peer_ip_dst"
        @Option(help: "A file of exits that fail together: NAME MEMBER[,MEMBER…], members peer_ip_dst=ADDRESS, peer_as_dst=ASN or exit_router=ADDRESS.")
        var groups: String?
        @Option(help: "Load per peer_ip_dst or peer_as_dst; by default the first kind of --fail-each (peer_ip_dst for groups only).")
        var by: String?
        @Option(name: .customLong("capacities"), help: "A capacity file (see `report capacity`): utilisation, headroom and runout per exit.")
        var capacityFile: String?
        @Option(help: "Runout: the share of capacity that counts as full.")
        var threshold = 0.8

        func run() throws {
            let kinds: [FailureAnalysis.Kind]
            do {
                kinds = try FailureAnalysis.kinds(Options.columns(failEach))
            } catch let error as FailureAnalysis.Error {
                throw ValidationError("--fail-each \(error.description)")
            }
            guard threshold > 0 else { throw ValidationError("--threshold must be above 0") }
            var groupList: [FailureAnalysis.Failure] = []
            if let groups {
                do {
                    groupList = try FailureAnalysis.Failure.parseGroups(try String(contentsOfFile: groups, encoding: .utf8), file: groups)
                } catch let error as FailureAnalysis.Error {
                    throw RuntimeFailure(error.description)
                } catch {
                    throw RuntimeFailure("\(groups): \(error)")
                }
            }
            guard !kinds.isEmpty || !groupList.isEmpty else { throw ValidationError("no failures: give --fail-each or --groups") }
            let view = try options.view()
            let source = try view.open()
            let capacities = try Options.capacities(capacityFile)
            let column = by ?? FailureAnalysis.defaultColumn(kinds)
            let snapshot = try view.snapshot(report: "failures")
            try options.printTable {
                try FailureAnalysis.report(
                    source, kinds: kinds, groups: groupList, by: column, query: try options.query(utc: source.utc),
                    capacities: capacities, threshold: threshold, now: Int(Date().timeIntervalSince1970), snapshot: snapshot)
            }
        }
    }

    struct Shifts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Egress shifts: each change of a prefix's best path at a router, why, and the traffic that moved; or what changed per exit between two periods, demand or routing.",
            discussion: """
                Needs a per-prefix view (peer_ip_src, dst_net, dst_mask, peer_dst_ip; nfacctd_net: bgp) and the \
                collector's best-path history (rib_best_changes, in bgp_rib_snapshot_db or the first sqlite3 \
                view's database; bgp_best_path_history changes kept, recorded from each router's End-of-RIB on). \
                One row per change in the range: reason is the event (new_prefix, withdraw: the best path was \
                withdrawn; update: it came again with another next-hop) or the step of best-path selection at \
                which the new best path beats the old one (local_pref, as_path_length, origin, med, router_id, \
                cluster_list_length, path_id); from/to: the old and new next-hop and peer AS ('-': none); \
                before_bps: the prefix's bit/s at that router on the old next-hop in the last whole bin ending \
                at or before the change; after_bps: on the new next-hop in the first whole bin starting at or \
                after it. The notes sum what moved per pair of exits.

                With --baseline-from and --baseline-to: the change of each exit's average bit/s from the \
                baseline to the range, split exactly into demand and routing. Per router and prefix, d1 and \
                d2 are its average bit/s in the two periods and s1(x), s2(x) the shares exit x carried (s2 = \
                s1 when the prefix has no traffic in the range); routing_bps = sum of d1 x (s2(x) - s1(x)), \
                demand_bps = sum of (d2 - d1) x s2(x), and change_bps = routing_bps + demand_bps.
                """)
        @OptionGroup var options: Options
        @Option(help: "The split's baseline: its first bin starts at or after YYYY-MM-DD[ HH:MM[:SS]].")
        var baselineFrom: String?
        @Option(help: "The split's baseline: its bins start before YYYY-MM-DD[ HH:MM[:SS]].")
        var baselineTo: String?
        @Option(help: "The split per peer_ip_dst or peer_as_dst, optionally with peer_ip_src (comma-separated).")
        var by = "peer_ip_dst"

        func run() throws {
            let view = try options.view()
            let source = try view.open()
            let query = try options.query(utc: source.utc)
            if baselineFrom == nil && baselineTo == nil {
                let history = try view.snapshot(report: "shifts")
                try options.printTable { try EgressShifts.report(source, query: query, history: history) }
                return
            }
            guard let baselineFrom, let baselineTo else { throw ValidationError("give both --baseline-from and --baseline-to") }
            var baseline = query
            baseline.last = nil
            baseline.from = try Options.time(baselineFrom, utc: source.utc, option: "--baseline-from")
            baseline.to = try Options.time(baselineTo, utc: source.utc, option: "--baseline-to")
            guard baseline.from! < baseline.to! else {
                throw ValidationError("--baseline-from \(baselineFrom) is not before --baseline-to \(baselineTo)")
            }
            try options.printTable {
                try EgressShifts.splitReport(source, baseline: baseline, query: query, by: Options.columns(by))
            }
        }
    }

    struct DemandMatrix: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demands",
            abstract: "Demand matrices for planning tools: per source and destination, the pair's p95 (or --percentile) bit/s.",
            discussion: """
                Sources (--source): the ingress router (peer_ip_src, the default) or router and interface \
                (peer_ip_src,iface_in, joined with '/'); destinations (--dest): the exit next-hop (peer_ip_dst, \
                the default), the peer AS (peer_as_dst) or any column. Each pair's value is the percentile of \
                its own per-bin bit/s over the range. --format csv is the planner CSV (source, dest, \
                p95_bps, avg_bps, peak_bps, bytes: bit/s and bytes); --format pyntm prints a pyNTM model \
                file's DEMANDS_TABLE (source, dest, traffic, name; traffic in --unit bit/s rounded up: pyNTM reads integers), to follow the \
                model's INTERFACES_TABLE and NODES_TABLE after a blank line, with node names as the keys.
                """)
        @OptionGroup var options: Options
        @Option(help: "Source columns, comma-separated (peer_ip_src, or peer_ip_src,iface_in).")
        var source = "peer_ip_src"
        @Option(help: "Destination column: peer_ip_dst, peer_as_dst, or another.")
        var dest = "peer_ip_dst"
        @Option(help: "The percentile of each pair's per-bin bit/s (1-100).")
        var percentile = 95.0
        @Option(help: "With --format pyntm: traffic in units of this many bit/s, e.g. 1M (pyNTM has no unit of its own).")
        var unit = "1"

        func run() throws {
            guard percentile > 0 && percentile <= 100 else { throw ValidationError("--percentile: above 0, at most 100") }
            let pyntm = options.format == "pyntm"
            var options = self.options
            if pyntm { options.format = "text" }
            _ = try options.outputFormat()
            guard let scale = CapacityEntry.bits(unit), scale > 0, scale.isFinite else { throw ValidationError("--unit \(unit): a number with an optional k, M, G or T") }
            let sources = Options.columns(source)
            guard !sources.isEmpty else { throw ValidationError("--source: at least one column") }
            let source = try options.source()
            do {
                let (demands, b) = try Demands.compute(
                    source, from: sources, to: dest, percentile: percentile, query: try options.query(utc: source.utc))
                if pyntm {
                    print(Demands.pyNTM(demands, unit: scale), terminator: "")
                } else {
                    print(Demands.table(demands, b, percentile: percentile, sourceName: sources.joined(separator: ","), destinationName: dest)
                        .render(try options.outputFormat()), terminator: "")
                }
            } catch let error as ReportSource.Error {
                throw RuntimeFailure("\(error)")
            }
        }
    }

    struct Quality: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How far the matrix can be trusted: the share of bytes mapped to a BGP path, and how, per router or exit.",
            discussion: """
                Needs a view with path_match (bgp_daemon, nfacctd_net: bgp). Per value of --by (the routers, \
                peer_ip_src, by default; or e.g. peer_ip_dst), least mapped first, then all: bytes; mapped, the \
                share of bytes mapped to a path (exact: the flow's next-hop on a path of the longest prefix; \
                covering: on a path of a less specific one; best: the flow had no next-hop, the best path was \
                taken); then each kind's share, with those mapped to no path: mismatch (the next-hop on no \
                path of any covering prefix), no_route, no_peer (no BGP session for the exporter) and \
                not_enriched. A note lists what was not mapped, largest first, and with mismatched traffic the \
                collector's examples of it in the range (path_mismatches, beside the RIB snapshot: exporter, \
                the flow's next-hop, the prefix and its paths' next-hops), most bytes first.
                """)
        @OptionGroup var options: Options
        @Option(help: "Rows per value of this column (peer_ip_src: the routers).")
        var by = "peer_ip_src"

        func run() throws {
            let view = try options.view()
            let source = try view.open()
            let examples = try? view.snapshot(report: "quality")
            try options.printTable {
                try MappingQuality.report(source, by: by, query: try options.query(utc: source.utc), examples: examples ?? nil)
            }
        }
    }

    struct Forecast: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forecast each key's daily p95 with its weekly pattern, a band, and the error of a backtest on the last week.",
            discussion: """
                Per key of --by: the p95 of each whole day's bins (in the stamps' zone), fitted by least squares \
                as a trend plus one level per weekday. forecast_p95_bps: the fit --horizon past the last whole \
                day; band_low/high_bps: ± 1.96 × the residuals' standard deviation; trend_bps_per_day and \
                weekly_swing_bps (the busiest weekday's level less the quietest's); backtest_mape: fitted \
                without the last 7 days, the mean absolute percentage error on them, and linear_mape the same \
                for a straight line through the same days (capacity's trend); runout and runout_band: the first \
                day the forecast, and its upper band, reaches --threshold of the key's capacity (--capacities). \
                Needs 14 whole days; keys with fewer get '-'.
                """)
        @OptionGroup var options: Options
        @Option(help: "Columns or primitives, comma-separated (e.g. peer_ip_dst).")
        var by: String
        @Option(help: "How far past the last whole day: e.g. 30d, 13w (weeks as 7d).")
        var horizon = "90d"
        @Option(name: .customLong("capacities"), help: "A capacity file (see `report capacity`) for the runout dates.")
        var capacityFile: String?
        @Option(help: "Runout: the share of capacity that counts as full.")
        var threshold = 0.8
        @Option(name: .shortAndLong, help: "How many keys.")
        var n = 20

        func run() throws {
            let seconds = try Options.seconds(horizon)
            guard seconds >= 86_400 else { throw ValidationError("--horizon: at least a day") }
            guard threshold > 0 else { throw ValidationError("--threshold must be above 0") }
            let capacities = try Options.capacities(capacityFile)
            let source = try options.source()
            try options.printTable {
                try SeasonalForecast.report(
                    source, by: Options.columns(by), query: try options.query(utc: source.utc), horizonDays: seconds / 86_400,
                    capacities: capacities, threshold: threshold, limit: n)
            }
        }
    }

    struct Prefixes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How many destination prefixes carry 50/90/95/99 % of the traffic; --top N --list prints them.")
        @OptionGroup var options: Options
        @Option(help: "With --list: how many prefixes.")
        var top = 1000
        @Flag(help: "Print the top prefixes as NET/MASK, one per line (for a controller to install).")
        var list = false

        func run() throws {
            try options.run(by: ["net_dst", "mask_dst"]) { b, _ in
                list ? Reports.prefixList(b, limit: top) : Reports.coverage(b).render(try options.outputFormat())
            }
        }
    }
}

/// On a terminal, a line on stderr every second while a report takes longer than one.
final class Progress: Sendable {
    private let done = Mutex(false)

    static func start(_ what: String) -> Progress {
        let p = Progress()
        guard isatty(STDERR_FILENO) != 0 else { return p }
        let started = Date()
        Thread.detachNewThread {
            var seconds = 1
            while true {
                Thread.sleep(until: started.addingTimeInterval(Double(seconds)))
                if p.done.withLock({ $0 }) { return }
                FileHandle.standardError.write(Data("pathflow report: \(what): \(seconds) s\r".utf8))
                seconds += 1
            }
        }
        return p
    }

    func stop() {
        let wasDone = done.withLock { d in
            defer { d = true }
            return d
        }
        if !wasDone && isatty(STDERR_FILENO) != 0 { FileHandle.standardError.write(Data("\u{1B}[K".utf8)) }
    }
}
