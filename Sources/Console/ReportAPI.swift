import Foundation
import PathflowConfig
import Reports

/// The console's JSON API: a report named in the path, its options as query parameters, the
/// same `ReportTable` the command line prints (the same code computes it), rendered as JSON by
/// default, as one object with the title, range, notes and column types (`format=table`, what the
/// console's pages draw) or as `format=csv|text|html`.
///
/// Parameters every report takes: `from`, `to` (YYYY-MM-DD[ HH:MM[:SS]] in the stamps' zone),
/// `last` (30m, 24h, 7d), `where` (COLUMN=VALUE, repeatable), `bin` (coarser bins than the
/// table's, a whole multiple of them), `no_rollup`, `format`. Per report: `top` `by`, `n`;
/// `matrix` `rows`, `columns`, `cell`, `max_columns`, `max_rows`; `series` `by`, `n`, `other`;
/// `quality` `by`; `demands` `source`, `dest`, `percentile`; `shifts` `baseline_from`,
/// `baseline_to`, `by`; `prefixes`; `capacity` `threshold` (percent), `counters=1`; `what-if`
/// `fail`, `by`; `failures` `fail_each`, `by`, `threshold`; `forecast` `by`, `horizon`, `n`,
/// `threshold`. `descriptions` holds each with its type, default and meaning: the parsing reads
/// them there (a parameter a report does not take is refused), and the OpenAPI document
/// (`openAPI`, served at /api/v1/openapi.json) is made from them.
///
/// Files come from the server's configuration (`Setup`), never from a request: the capacity
/// file (`console_capacities`) for capacity, what-if, failures and forecast, the groups of
/// exits that fail together (`console_failure_groups`) for failures. They are read for every
/// report, so edits apply without a restart.
public enum ReportAPI {
    /// A request the API refuses, with the reason (HTTP 400), a report it does not have (404),
    /// or a file of the server's that cannot be used (500).
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var status: Int
        public var description: String

        public init(status: Int = 400, _ description: String) {
            self.status = status
            self.description = description
        }
    }

    /// The reports the API answers (`descriptions`).
    public static var reports: [String] { descriptions.map(\.name) }

    /// What the server's configuration gives the reports.
    public struct Setup: Sendable {
        /// The capacity file (`console_capacities`, `serve --capacities`).
        public var capacities: String?
        /// The groups file of the failures report (`console_failure_groups`, `serve --groups`).
        public var failureGroups: String?
        /// Where a report (named) reads the RIB snapshot, best-path history and mismatch
        /// examples when they are not in the view's own database; throws when it cannot say.
        public var snapshot: @Sendable (_ report: String) throws -> String?

        public init(capacities: String? = nil, failureGroups: String? = nil, snapshot: @escaping @Sendable (String) throws -> String? = { _ in nil }) {
            self.capacities = capacities
            self.failureGroups = failureGroups
            self.snapshot = snapshot
        }

        /// The capacity file's lines; none without one. A file that cannot be read or parsed is
        /// the server's problem (500), named with its line.
        public func capacityEntries() throws -> [CapacityEntry] {
            guard let capacities else { return [] }
            return try Self.read(capacities, key: "console_capacities") { try CapacityEntry.parse($0, file: capacities) }
        }

        /// The groups file's failures; none without one.
        public func groups() throws -> [FailureAnalysis.Failure] {
            guard let failureGroups else { return [] }
            return try Self.read(failureGroups, key: "console_failure_groups") {
                try FailureAnalysis.Failure.parseGroups($0, file: failureGroups)
            }
        }

        static func read<T>(_ file: String, key: String, _ parse: (String) throws -> T) throws -> T {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw Failure(status: 500, "\(key) \(file): cannot be read")
            }
            do {
                return try parse(text)
            } catch let error as CustomStringConvertible {
                throw Failure(status: 500, "\(key): \(error.description)")
            }
        }
    }

    /// Query parameters: each name with its values in order.
    public typealias Parameters = [String: [String]]

    /// The report's table for `parameters` on `source`; `now` (unix seconds) anchors `last`.
    public static func table(
        _ report: String, _ parameters: Parameters, source: ReportSource, setup: Setup = Setup(), now: Int
    ) throws -> ReportTable {
        try table(try Arguments(report, parameters), source: source, setup: setup, now: now)
    }

    /// The table of `arguments`' report; every parameter read through `arguments`, so only the
    /// ones its description lists.
    static func table(_ arguments: Arguments, source: ReportSource, setup: Setup, now: Int) throws -> ReportTable {
        let a = arguments
        let source = try rebinned(source, try a.value("bin"))
        let query = try self.query(a, utc: source.utc, now: now)
        switch a.report.name {
        case "top":
            return Reports.top(try Breakdown.compute(source, by: try a.columns("by"), query: query), limit: try a.int("n"))
        case "matrix":
            let cellName = try a.text("cell")
            guard let cell = Reports.Cell(rawValue: cellName) else { throw Failure("cell=\(cellName): bytes, avg, peak or p95") }
            let b = try Breakdown.compute(
                source, by: [try a.text("rows"), try a.text("columns")], query: query, detail: cell == .peak || cell == .p95)
            return Reports.matrix(b, cell: cell, maxColumns: try a.int("max_columns"), maxRows: try a.int("max_rows"))
        case "series":
            return try Reports.series(
                try Breakdown.compute(source, by: try a.columns("by"), query: query), limit: try a.int("n"), utc: source.utc,
                other: try a.flag("other"))
        case "quality":
            let examples = try? setup.snapshot("quality")
            return try MappingQuality.report(source, by: try a.text("by"), query: query, examples: examples ?? nil)
        case "demands":
            let percentile = try a.number("percentile")
            guard percentile <= 100 else { throw Failure("percentile=\(percentile): above 0, at most 100") }
            let sources = try a.columns("source"), destination = try a.text("dest")
            let (demands, b) = try Demands.compute(source, from: sources, to: destination, percentile: percentile, query: query)
            return Demands.table(demands, b, percentile: percentile, sourceName: sources.joined(separator: ","), destinationName: destination)
        case "shifts":
            guard let from = try a.value("baseline_from") else {
                return try EgressShifts.report(source, query: query, history: try setup.snapshot("shifts"))
            }
            guard let to = try a.value("baseline_to") else { throw Failure("baseline_from needs baseline_to") }
            var baseline = query
            baseline.last = nil
            baseline.from = try time(from, utc: source.utc, name: "baseline_from")
            baseline.to = try time(to, utc: source.utc, name: "baseline_to")
            return try EgressShifts.splitReport(source, baseline: baseline, query: query, by: try a.columns("by"))
        case "prefixes":
            return Reports.coverage(try Breakdown.compute(source, by: ["net_dst", "mask_dst"], query: query, detail: false))
        case "capacity":
            let threshold = try a.number("threshold", zero: true) / 100
            if try a.flag("counters") {
                return try Reports.interfaceCapacity(source, query: query, threshold: threshold, now: now)
            }
            guard setup.capacities != nil else {
                throw Failure("capacity needs a capacity file: set console_capacities in the configuration (or serve --capacities), or ask for counters=1")
            }
            return try Reports.capacity(source, try setup.capacityEntries(), query: query, threshold: threshold, now: now)
        case "what-if":
            guard let fail = try a.value("fail") else { throw Failure("fail is missing: a next-hop address or a peer AS (AS65001)") }
            guard let failure = WhatIfAnalysis.Failure(parsing: fail) else { throw Failure("fail=\(fail): a next-hop address or a peer AS") }
            return try WhatIfAnalysis.report(
                source, failure: failure, by: try a.text("by", failure.column), query: query, capacities: try setup.capacityEntries(),
                snapshot: try setup.snapshot("what-if"))
        case "failures":
            let kinds: [FailureAnalysis.Kind]
            do {
                kinds = try FailureAnalysis.kinds(try a.columns("fail_each"))
            } catch let error as FailureAnalysis.Error {
                throw Failure("fail_each=\(error.description)")
            }
            let groups = try setup.groups()
            guard !kinds.isEmpty || !groups.isEmpty else {
                throw Failure("no failures: fail_each=none needs a groups file (console_failure_groups)")
            }
            return try FailureAnalysis.report(
                source, kinds: kinds, groups: groups, by: try a.text("by", FailureAnalysis.defaultColumn(kinds)), query: query,
                capacities: try setup.capacityEntries(), threshold: try a.number("threshold"), now: now,
                snapshot: try setup.snapshot("failures"))
        case "forecast":
            let horizon = try a.text("horizon")
            guard let bin = TimeBin(pmacct: horizon), let seconds = bin.lengthInSeconds, seconds >= 86_400 else {
                throw Failure("horizon=\(horizon): a duration of at least a day, e.g. 30d, 13w")
            }
            return try SeasonalForecast.report(
                source, by: try a.columns("by"), query: query, horizonDays: seconds / 86_400, capacities: try setup.capacityEntries(),
                threshold: try a.number("threshold"), limit: try a.int("n"))
        default:
            throw Failure(status: 500, "report '\(a.report.name)' is described but not answered")
        }
    }

    /// The range and filters every report takes.
    static func query(_ a: Arguments, utc: Bool, now: Int) throws -> ReportQuery {
        var q = ReportQuery(useRollup: !(try a.flag("no_rollup")))
        if let last = try a.value("last") {
            let (from, to) = (try a.given("from"), try a.given("to"))
            guard !from && !to else { throw Failure("last cannot be combined with from or to") }
            guard let bin = TimeBin(pmacct: last), let seconds = bin.lengthInSeconds, seconds > 0 else {
                throw Failure("last=\(last): a duration such as 30m, 24h, 7d")
            }
            q.last = ReportQuery.Last(seconds: seconds, now: now)
        } else {
            q.from = try a.value("from").map { try time($0, utc: utc, name: "from") }
            q.to = try a.value("to").map { try time($0, utc: utc, name: "to") }
            if let from = q.from, let to = q.to, from >= to { throw Failure("from is not before to: the range would be empty") }
        }
        for f in try a.values("where") {
            guard let eq = f.firstIndex(of: "="), eq != f.startIndex else { throw Failure("where=\(f): expected COLUMN=VALUE") }
            q.filters.append((String(f[..<eq]), String(f[f.index(after: eq)...])))
        }
        return q
    }

    /// `source` in bins of `bin` (e.g. 1h over a table of 5-minute bins): whole multiples of the
    /// table's own bins only, so that every row falls in exactly one of them.
    static func rebinned(_ source: ReportSource, _ bin: String?) throws -> ReportSource {
        guard let bin else { return source }
        guard let size = TimeBin(pmacct: bin), let seconds = size.lengthInSeconds, seconds > 0 else {
            throw Failure("bin=\(bin): a duration such as 5m, 1h, 1d")
        }
        guard seconds % source.binSeconds == 0 else {
            throw Failure("bin=\(bin): a whole multiple of the table's \(source.binSeconds) s bins")
        }
        return seconds == source.binSeconds ? source : source.rebinned(seconds: seconds)
    }

    /// What the console needs to know of the view: its table, bins, time zone, the columns that
    /// filters and breakdowns can name, and whether the server has a capacity file and groups.
    public static func view(_ source: ReportSource, setup: Setup = Setup()) -> String {
        func quoted(_ s: String) -> String { ConsoleServer.quoted(s) }
        return "{\"table\":\(quoted(source.table)),\"bin_seconds\":\(source.binSeconds),\"bin_origin\":\(quoted(source.bin.originText)),"
            + "\"utc\":\(source.utc),\"storage\":\(quoted(source.clickhouse == nil ? "sqlite3" : "clickhouse")),"
            + "\"capacities\":\(setup.capacities != nil),\"failure_groups\":\(setup.failureGroups != nil),"
            + "\"primitives\":[\(source.primitives.map(quoted).joined(separator: ","))],"
            + "\"reports\":[\(reports.map(quoted).joined(separator: ","))]}"
    }

    static func time(_ text: String, utc: Bool, name: String) throws -> Int {
        guard let t = StampText.parse(text, utc: utc) else { throw Failure("\(name)=\(text): expected YYYY-MM-DD[ HH:MM[:SS]]") }
        return t
    }

    /// `table` rendered in `format` (json by default), with its content type; errors of the
    /// reports become `Failure`s that say what is wrong.
    public static func answer(
        _ report: String, _ parameters: Parameters, source: ReportSource, setup: Setup = Setup(), now: Int
    ) throws -> (contentType: String, body: String) {
        try answer(try Arguments(report, parameters), source: source, setup: setup, now: now)
    }

    static func answer(_ arguments: Arguments, source: ReportSource, setup: Setup, now: Int) throws -> (contentType: String, body: String) {
        let name = try arguments.text("format")
        let document = name == "table"
        guard let format = document ? .json : ReportTable.Format(rawValue: name) else {
            throw Failure("format=\(name): json, table, csv, text or html")
        }
        let table: ReportTable
        do {
            table = try self.table(arguments, source: source, setup: setup, now: now)
        } catch let failure as Failure {
            throw failure
        } catch let error as ReportSource.Error {
            throw Failure("\(error)")
        } catch let error as CustomStringConvertible {
            throw Failure(error.description)
        }
        let type: String
        switch format {
        case .json: type = "application/json; charset=utf-8"
        case .csv: type = "text/csv; charset=utf-8"
        case .text: type = "text/plain; charset=utf-8"
        case .html: type = "text/html; charset=utf-8"
        }
        return (type, document ? table.document() : table.render(format))
    }
}
