import ArgumentParser
import Foundation
import Synchronization
import PathflowConfig
import Reports

/// Capacity-planning reports from the views' SQLite tables, read-only: they run while the
/// collector writes.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports from the stored views: top talkers, traffic matrices, time series, prefix coverage.",
        discussion: """
            Name the view with -f CONFIG [--view NAME] (the database, table, bin size and time zone \
            come from the configuration), or with --db FILE --table NAME. Times are the stamps' own \
            (local time, or UTC with timestamps_utc). Aggregation happens in SQLite; rates are \
            bytes × 8 over the range (avg), over the busiest bin (peak) or the 95th percentile of \
            the bins, empty bins counting as zero (p95).
            """,
        subcommands: [Top.self, Matrix.self, Series.self, Capacity.self, WhatIf.self, Prefixes.self]
    )

    struct Options: ParsableArguments {
        @OptionGroup var target: ViewTarget
        @Option(help: "Bin size (pmacct's sql_history syntax, e.g. 5m); by default the view's, or what the stamps show.")
        var bin: String?
        @Option(help: "First bin: YYYY-MM-DD[ HH:MM[:SS]].")
        var from: String?
        @Option(help: "End of the range (exclusive): YYYY-MM-DD[ HH:MM[:SS]].")
        var to: String?
        @Option(help: "The range ending now: e.g. 30m, 24h, 7d.")
        var last: String?
        @Option(name: .customLong("where"), help: "COLUMN=VALUE; only rows with that value (repeatable).")
        var filters: [String] = []
        @Option(help: "text, csv, json or html (one self-contained page with a chart).")
        var format: String = "text"
        @Flag(help: "Stamps are UTC (without -f; with it, timestamps_utc decides).")
        var utc = false
        @Flag(help: "Read every bin from the table, not whole days from its daily rollup.")
        var noRollup = false

        func source() throws -> ReportSource {
            var path = target.db, table = target.table, utc = self.utc
            var binSeconds = try bin.map(Self.seconds)
            if let file = target.file {
                let config = try loadConfiguration(path: file, strict: false)
                let views = try target.views(config, file: file)
                guard let v = views.first else {
                    throw RuntimeFailure("\(file): no sqlite3 view")
                }
                path = path ?? v.sqlDB
                table = table ?? v.sqlTable
                utc = v.timestampsUTC || config.timestampsUTC
                if binSeconds == nil { binSeconds = v.history?.lengthInSeconds }
            }
            guard let path, let table else { throw ViewTarget.unnamed }
            do {
                return try ReportSource(path: path, table: table, binSeconds: binSeconds, utc: utc)
            } catch {
                throw RuntimeFailure("\(error)")
            }
        }

        func query(utc: Bool, now: Int = Int(Date().timeIntervalSince1970)) throws -> ReportQuery {
            var q = ReportQuery(useRollup: !noRollup)
            if let last {
                guard from == nil && to == nil else { throw ValidationError("--last cannot be combined with --from or --to") }
                q.to = now
                q.from = now - (try Self.seconds(last))
            } else {
                q.from = try from.map { try Self.time($0, utc: utc, option: "--from") }
                q.to = try to.map { try Self.time($0, utc: utc, option: "--to") }
            }
            for f in filters {
                guard let eq = f.firstIndex(of: "="), eq != f.startIndex else {
                    throw ValidationError("--where \(f): expected COLUMN=VALUE")
                }
                q.filters.append((String(f[..<eq]), String(f[f.index(after: eq)...])))
            }
            return q
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
            } catch let error as ReportSource.Error {
                throw RuntimeFailure("\(error)")
            }
            progress.stop()
            print(try make(breakdown, source), terminator: "")
        }
    }

    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The largest keys by bytes, with rates, share and cumulative share.")
        @OptionGroup var options: Options
        @Option(help: "Primitive columns to rank, comma-separated (e.g. peer_as_dst or peer_ip_src,peer_ip_dst).")
        var by: String
        @Option(name: .shortAndLong, help: "How many keys.")
        var n = 10

        func run() throws {
            try options.run(by: Options.columns(by)) { b, _ in Reports.top(b, limit: n).render(try options.outputFormat()) }
        }
    }

    struct Matrix: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A traffic matrix: rows × columns of two primitives.")
        @OptionGroup var options: Options
        @Option(help: "The rows' primitive.")
        var rows = "peer_ip_src"
        @Option(help: "The columns' primitive (peer_as_dst, peer_ip_dst, iface_in, …).")
        var columns = "peer_as_dst"
        @Option(help: "Cells: bytes, avg, peak or p95 (bit/s).")
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
        static let configuration = CommandConfiguration(abstract: "Bit/s per time bin for the largest keys.")
        @OptionGroup var options: Options
        @Option(help: "Primitive columns that make a key, comma-separated.")
        var by: String
        @Option(name: .shortAndLong, help: "How many keys (columns).")
        var n = 5

        func run() throws {
            try options.run(by: Options.columns(by)) { b, source in Reports.series(b, limit: n, utc: source.utc).render(try options.outputFormat()) }
        }
    }

    struct Capacity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Utilisation against capacities (average, p95, peak), the trend, and when it reaches a threshold.",
            discussion: """
                The capacity file has one line per link, next-hop or peer: NAME COLUMN=VALUE[,COLUMN=VALUE…]                 CAPACITY, e.g. `transit-a peer_as_dst=65001 10G` or `edge1-xe-0/0/1 peer_ip_src=192.0.2.1,iface_in=12 10G`.                 The trend is a least-squares line through the per-bin rates of the range; runout is when                 it reaches the threshold, "over" when the range's p95 already has.
                """)
        @OptionGroup var options: Options
        @Option(name: .customLong("capacities"), help: "The capacity file.")
        var capacityFile: String
        @Option(help: "Utilisation threshold, percent.")
        var threshold = 80.0

        func run() throws {
            guard threshold.isFinite, threshold >= 0 else { throw ValidationError("--threshold: a percentage, e.g. 80") }
            let source = try options.source()
            let entries: [CapacityEntry]
            do {
                entries = try CapacityEntry.parse(try String(contentsOfFile: capacityFile, encoding: .utf8), file: capacityFile)
            } catch let error as CapacityError {
                throw RuntimeFailure(error.description)
            }
            let table: ReportTable
            do {
                table = try Reports.capacity(
                    source, entries, query: try options.query(utc: source.utc), threshold: threshold / 100,
                    now: Int(Date().timeIntervalSince1970))
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
                Needs a per-prefix view (peer_ip_src, dst_net, dst_mask and peer_dst_ip or peer_dst_as) and the                 collector's RIB snapshot in the same database (bgp_rib_snapshot_refresh_time): every path of                 every prefix per router, ranked as the router prefers them.
                """)
        @OptionGroup var options: Options
        @Option(name: .customLong("fail"), help: "The failing BGP next-hop (an address) or peer AS (AS65001 or a number).")
        var fail: String
        @Option(help: "Show load per peer_ip_dst or peer_as_dst; by default the failure's kind.")
        var by: String?
        @Option(name: .customLong("capacities"), help: "A capacity file (see `report capacity`) for utilisation after the failure.")
        var capacityFile: String?

        func run() throws {
            let failure: WhatIfAnalysis.Failure
            if fail.contains(".") || fail.contains(":") {
                failure = .nextHop(fail)
            } else if let asn = UInt32(fail.uppercased().hasPrefix("AS") ? String(fail.dropFirst(2)) : fail) {
                failure = .peerAS(String(asn))
            } else {
                throw ValidationError("--fail \(fail): expected a next-hop address or a peer AS")
            }
            let source = try options.source()
            var capacities: [CapacityEntry] = []
            if let capacityFile {
                do {
                    capacities = try CapacityEntry.parse(try String(contentsOfFile: capacityFile, encoding: .utf8), file: capacityFile)
                } catch let error as CapacityError {
                    throw RuntimeFailure(error.description)
                }
            }
            let column = by ?? (failure == .nextHop(fail) ? "peer_ip_dst" : "peer_as_dst")
            do {
                let table = try WhatIfAnalysis.report(
                    source, failure: failure, by: column, query: try options.query(utc: source.utc), capacities: capacities)
                print(table.render(try options.outputFormat()), terminator: "")
            } catch let error as WhatIfAnalysis.Error {
                throw RuntimeFailure(error.description)
            } catch let error as ReportSource.Error {
                throw RuntimeFailure("\(error)")
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
