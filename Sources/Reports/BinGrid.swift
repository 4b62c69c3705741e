import Foundation
import GRDB
import Storage

/// How long a report's time bins are, and what said so.
///
/// In order: `--bin`, the view's `sql_history` (`-f CONFIG`), the length the collector recorded
/// in `pathflow_tables` when it prepared the table, the greatest common divisor of the
/// differences between the table's distinct stamps. A table with fewer than two stamps and
/// nothing recorded has no length to go by: 60 s is assumed and every report says so.
public struct BinSize: Sendable, Equatable, CustomStringConvertible {
    public enum Origin: Sendable, Equatable {
        /// `--bin`.
        case given
        /// The view's `sql_history`.
        case configuration
        /// `pathflow_tables`, written by the collector.
        case recorded
        /// The GCD of the differences between this many distinct stamps.
        case inferred(stamps: Int)
        /// Nothing to go by: the table has this many distinct stamps (0 or 1) and no record.
        case assumed(stamps: Int)
    }

    public var seconds: Int
    public var origin: Origin

    /// What the bin size is assumed to be when nothing says.
    public static let assumedSeconds = 60

    public init(seconds: Int, origin: Origin) {
        self.seconds = seconds
        self.origin = origin
    }

    public var description: String { "\(seconds) s" }

    /// What said so, for a report's notes.
    public var originText: String {
        switch origin {
        case .given: "bin size given"
        case .configuration: "bin size from the configuration"
        case .recorded: "bin size recorded by the collector"
        case .inferred(let n): "bin size inferred from \(n) stamps"
        case .assumed(let n):
            "bin size ASSUMED: the table has \(n == 0 ? "no stamp" : "one stamp") and no recorded bin size; give --bin or -f CONFIG"
        }
    }

    /// The GCD of the differences between distinct times (any order); nil for fewer than two.
    public static func infer(_ times: [Int]) -> Int? {
        let sorted = Set(times).sorted()
        var g = 0
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            g = gcd(g, b - a)
            if g == 1 { break }
        }
        return g > 0 ? g : nil
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// Every distinct stamp of `table` that is a time, as unix seconds. With an index that starts
    /// with stamp_inserted, one index search per distinct stamp (a month of 5-minute bins is 8,640
    /// searches, whatever the number of rows); without, one pass over the table.
    static func stamps(_ db: Database, _ table: String, utc: Bool) throws -> [Int] {
        var texts: [String] = []
        if try Breakdown.hasStampIndex(db, table) {
            let next = try db.makeStatement(sql: """
                SELECT MIN(stamp_inserted) FROM \(table) WHERE stamp_inserted > ? AND stamp_inserted < ?
                """)
            var after = StampText.belowAll
            while let value = try DatabaseValue.fetchOne(next, arguments: [after, StampText.aboveAll]),
                  let text = String.fromDatabaseValue(value) {
                texts.append(text)
                after = text
            }
        } else {
            texts = try DatabaseValue.fetchAll(db, sql: """
                SELECT DISTINCT stamp_inserted FROM \(table) WHERE stamp_inserted > ? AND stamp_inserted < ?
                """, arguments: [StampText.belowAll, StampText.aboveAll]).compactMap(String.fromDatabaseValue)
        }
        return texts.compactMap { StampText.parse($0, utc: utc) }
    }
}

/// The time bins a report walks: `count` bins of `seconds` from `first` (unix seconds). Every
/// report and every capacity entry of a report walks the same grid, bins without traffic counting
/// as zero; a row counts in the bin that holds its stamp.
///
/// The grid is the table's: bins of the bin size through its newest stamp (pmacct anchors its
/// bins at the collector's start, so they need not fall on multiples of the bin size). The range:
/// - `--from`/`--to`: the bins whose start lies in [from, to);
/// - `--last D`: the bins that end with the bin holding `now`, enough of them to cover D;
/// - neither: the bin of the table's first stamp to the bin of its last, inclusive; one bound
///   alone takes the table's stamp for the other.
public struct BinGrid: Sendable, Equatable {
    public var first: Int
    public var seconds: Int
    public var count: Int

    public init(first: Int, seconds: Int, count: Int) {
        self.first = first
        self.seconds = max(1, seconds)
        self.count = max(0, count)
    }

    /// The end of the last bin (excluded).
    public var end: Int { first + count * seconds }
    /// The range's length: every bin, empty or not.
    public var rangeSeconds: Int { count * seconds }
    public func start(_ i: Int) -> Int { first + i * seconds }
    public var starts: [Int] { (0..<count).map(start) }

    /// The bin that holds `t`; nil outside the range.
    @inline(__always)
    public func index(_ t: Int) -> Int? {
        guard t >= first, t < end else { return nil }
        return (t - first) / seconds
    }

    /// The start of the grid bin (anchored at `anchor`) that holds `t`.
    static func floor(_ t: Int, anchor: Int, _ bin: Int) -> Int {
        let r = (t - anchor) % bin
        return t - (r < 0 ? r + bin : r)
    }

    /// The first grid bin start at or after `t`.
    static func ceil(_ t: Int, anchor: Int, _ bin: Int) -> Int {
        let f = floor(t, anchor: anchor, bin)
        return f == t ? t : f + bin
    }

    /// The grid for `query` on `first`...`last`, the table's first and last stamps (nil when it
    /// has none).
    /// Bins coarser than the table's (`ReportSource.rebinned`): `tableSeconds` is the table's
    /// own bin size, `utc` its stamps' zone.
    public struct Coarse: Sendable, Equatable {
        public var tableSeconds: Int
        public var utc: Bool
    }

    /// The anchor of coarse bins over a table whose newest stamp is `last`: they start on whole
    /// multiples of their size on the stamps' clock (hours on the hour, days at midnight), moved
    /// by the table's own phase (pmacct's bins may start a few minutes past), so that each of
    /// the table's bins falls in exactly one of them. Local stamps take the zone's offset at `last`.
    static func coarseAnchor(last: Int, coarse: Coarse) -> Int {
        let zone = coarse.utc ? 0 : TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: Double(last)))
        let table = max(1, coarse.tableSeconds)
        let phase = ((last + zone) % table + table) % table
        return phase - zone
    }

    public static func make(_ query: ReportQuery, bin: Int, first tableFirst: Int?, last tableLast: Int?, coarse: Coarse? = nil) -> BinGrid {
        let bin = max(1, bin)
        let anchor = tableLast.map { last in coarse.map { coarseAnchor(last: last, coarse: $0) } ?? last } ?? 0
        let start: Int?, end: Int?
        if let last = query.last {
            end = floor(last.now, anchor: anchor, bin) + bin
            let bins = max(1, (last.seconds + bin - 1) / bin)
            start = end! - bins * bin
        } else {
            start = query.from.map { ceil($0, anchor: anchor, bin) } ?? tableFirst.map { floor($0, anchor: anchor, bin) }
            end = query.to.map { ceil($0, anchor: anchor, bin) } ?? tableLast.map { floor($0, anchor: anchor, bin) + bin }
        }
        guard let start, let end, end > start else { return BinGrid(first: start ?? end ?? 0, seconds: bin, count: 0) }
        return BinGrid(first: start, seconds: bin, count: (end - start) / bin)
    }

    /// The grid of `query` on `source` as its table is now.
    public static func resolve(_ source: ReportSource, _ query: ReportQuery) throws -> BinGrid {
        if let clickhouse = source.clickhouse {
            let edges: (first: Int, last: Int)?
            do {
                edges = try clickhouse.edges()
            } catch {
                throw ReportSource.Error.clickhouse("cannot read \(source.table): \(error)")
            }
            return make(query, bin: source.binSeconds, first: edges?.first, last: edges?.last, coarse: source.coarse)
        }
        return try source.read { db in try resolve(db, source, query) }
    }

    static func resolve(_ db: Database, _ source: ReportSource, _ query: ReportQuery) throws -> BinGrid {
        let first = try edge(db, source, newest: false), last = try edge(db, source, newest: true)
        return make(query, bin: source.binSeconds, first: first, last: last, coarse: source.coarse)
    }

    /// The table's first (or last) stamp that is a time: MIN or MAX over the stamps that sort as
    /// pmacct's text, stepping past any that does not parse (`2025-13-45`).
    static func edge(_ db: Database, _ source: ReportSource, newest: Bool) throws -> Int? {
        let t = source.table
        let statement = try db.makeStatement(sql: newest
            ? "SELECT MAX(stamp_inserted) FROM \(t) WHERE stamp_inserted > ? AND stamp_inserted < ?"
            : "SELECT MIN(stamp_inserted) FROM \(t) WHERE stamp_inserted > ? AND stamp_inserted < ?")
        var lower = StampText.belowAll, upper = StampText.aboveAll
        for _ in 0..<1_000 {
            guard let value = try DatabaseValue.fetchOne(statement, arguments: [lower, upper]),
                  let text = String.fromDatabaseValue(value) else { return nil }
            if let time = StampText.parse(text, utc: source.utc) { return time }
            if newest { upper = text } else { lower = text }
        }
        return nil
    }
}
