import GRDB
import GRDBSQLite
import Storage

/// What a report selects: a time range, and equality filters on primitives.
public struct ReportQuery: Sendable {
    /// The range ending with the bin that holds `now`, `seconds` long (`--last`).
    public struct Last: Sendable, Equatable {
        public var seconds: Int
        public var now: Int

        public init(seconds: Int, now: Int) {
            self.seconds = seconds
            self.now = now
        }
    }

    /// Unix seconds; the bins whose start is in [from, to) count. nil: from the table's first
    /// stamp, to its last (`BinGrid`).
    public var from: Int?
    public var to: Int?
    /// `--last`: replaces `from` and `to`.
    public var last: Last?
    /// column = value (the value as text; SQLite compares it with the column's affinity). A column
    /// is the table's or a primitive's name (`ReportSource.column`).
    public var filters: [(column: String, value: String)]
    /// Read whole days from the table's daily rollup when it has them (false: the table only).
    public var useRollup: Bool

    public init(
        from: Int? = nil, to: Int? = nil, last: Last? = nil, filters: [(column: String, value: String)] = [], useRollup: Bool = true
    ) {
        self.from = from
        self.to = to
        self.last = last
        self.filters = filters
        self.useRollup = useRollup
    }
}

/// Traffic per key (a tuple of primitive values) over a range, with per-bin detail for rates.
public struct Breakdown: Sendable {
    public struct Entry: Sendable {
        /// The key's values, as text, in `Breakdown.columns` order.
        public var key: [String]
        public var bytes: Int64
        public var packets: Int64
        public var flows: Int64
        /// Bytes per bin, bins with traffic only.
        public var bins: BinSeries

        public init(key: [String], bytes: Int64 = 0, packets: Int64 = 0, flows: Int64 = 0, bins: BinSeries = BinSeries()) {
            self.key = key
            self.bytes = bytes
            self.packets = packets
            self.flows = flows
            self.bins = bins
        }

        /// Adds another entry's counters and bins (the key stays); sums stop at `Int64.max`.
        public mutating func add(_ other: Entry) {
            bytes.addSaturated(other.bytes)
            packets.addSaturated(other.packets)
            flows.addSaturated(other.flows)
            bins.add(other.bins)
        }
    }

    public var columns: [String]
    /// Largest first.
    public var entries: [Entry]
    /// The bins of the range: every rate is over these, empty ones counting as zero.
    public var grid: BinGrid
    /// The bin size and what said so.
    public var bin: BinSize
    /// Stamps are UTC (for printing the range).
    public var utc: Bool
    /// The table has a `flows` column (pmacct's v1 table has none).
    public var hasFlows: Bool
    /// Counter values the table held that are not non-negative integers, and whether a sum
    /// saturated: when none did, no sum over these entries (totals, matrix cells) can.
    public var clamps = CounterClamps()

    public init(
        columns: [String], entries: [Entry], grid: BinGrid, bin: BinSize? = nil, utc: Bool = true, hasFlows: Bool = true,
        clamps: CounterClamps = CounterClamps()
    ) {
        self.columns = columns
        self.entries = entries
        self.grid = grid
        self.bin = bin ?? BinSize(seconds: grid.seconds, origin: .given)
        self.utc = utc
        self.hasFlows = hasFlows
        self.clamps = clamps
    }

    public var binSeconds: Int { grid.seconds }
    /// Bins in the range, empty ones included.
    public var binCount: Int { grid.count }
    /// The first bin of the range (unix seconds); nil when the range has no bin.
    public var firstBin: Int? { grid.count > 0 ? grid.first : nil }

    /// Stops at `Int64.max` (`clamps.saturated` says whether it can).
    public var totalBytes: Int64 { entries.reduce(0) { $0.addingSaturated($1.bytes) } }
    /// In floating point: shares stay right when the integer total saturates.
    public var totalBytesAsDouble: Double { entries.reduce(0) { $0 + Double($1.bytes) } }
    public var rangeSeconds: Int { grid.rangeSeconds }

    /// Average bit/s over the whole range: bytes × 8 / (bins × bin size); 0 for a range of no bin.
    public func averageBitsPerSecond(_ e: Entry) -> Double {
        rangeSeconds > 0 ? Double(e.bytes) * 8 / Double(rangeSeconds) : 0
    }

    /// The busiest bin's bit/s.
    public func peakBitsPerSecond(_ e: Entry) -> Double {
        Double(e.bins.peak) * 8 / Double(binSeconds)
    }

    /// `p`th percentile of the per-bin bit/s over every bin of the range, empty bins counting
    /// as 0 (the billing convention): the value of the bin of rank ⌈p/100 × bins⌉ in increasing
    /// order (nearest rank; the 95th of 288 bins is the 274th lowest).
    public func percentileBitsPerSecond(_ e: Entry, _ p: Double = 95) -> Double {
        let n = max(binCount, e.bins.count)
        guard n > 0 else { return 0 }
        // The empty bins are the lowest values: only the bins with traffic are sorted.
        let values = e.bins.map(\.bytes).sorted()
        let empty = n - values.count
        // p × n first: exact for whole percentages, so 95 % of 20 bins is rank 19, not 20.
        let rank = min(n, max(1, Int(exactly: (min(max(p, 0), 100) * Double(n) / 100).rounded(.up)) ?? n))
        return rank <= empty ? 0 : Double(values[rank - empty - 1]) * 8 / Double(binSeconds)
    }

    /// At most this many GROUP BY queries per breakdown (see `compute`).
    static let maxChunks = 10_000

    /// One part of a range, read from the table or from its daily rollup.
    struct Segment {
        var table: String
        var rollup: Bool
        var lower: String
        var upper: String
    }

    /// Sums `by` over the range in SQL (one row per key and bin), then orders by bytes.
    ///
    /// The range is `grid` when given (a report that reads several breakdowns walks one grid),
    /// else `query`'s on the table as it is now (`BinGrid`); only rows whose stamp falls in one of
    /// its bins count, each in the bin that holds its stamp. `by` and the filters name the table's
    /// columns or the configuration's primitives (`ReportSource.column`).
    ///
    /// Whole days the table's daily rollup holds (see `RollupSchema`) are read from it: one row
    /// per key and day, its bins in a list SQLite adds up per group (`pathflow_bins_merge`); the
    /// rest of the range from the table. `detail` false leaves out the per-bin bytes (no peak,
    /// percentile or series then), which volumes and averages do not need.
    ///
    /// SQLite groups by sorting every row of the range. A month of a large matrix is tens of
    /// millions of rows, and one sort of all of them costs several times the reading; as every
    /// group is one key in one bin, the range is instead cut into slices of one bin (several when
    /// the range has more than `maxChunks` bins; a day in the rollup) and each is grouped on its
    /// own: the same groups, from many small sorts, all in one read transaction. Only without
    /// filters and with an index that starts with stamp_inserted (the collector's): a filter on
    /// the key's first column makes SQLite search the key's index instead, which reads the whole
    /// range once, not once per slice.
    public static func compute(
        _ source: ReportSource, by names: [String], query: ReportQuery, detail: Bool = true, grid: BinGrid? = nil
    ) throws -> Breakdown {
        let columns = try names.map(source.column)
        let filters = try query.filters.map { (column: try source.column($0.column), value: $0.value) }
        if let clickhouse = source.clickhouse {
            let range = try grid ?? BinGrid.resolve(source, query)
            var reader = BreakdownReader(source: source, grid: range, columns: Int32(columns.count), detail: detail)
            do {
                for slice in Self.clickhouseSlices(range, perBin: detail) {
                    try clickhouse.groups(
                        keys: columns, filters: filters, from: slice.lowerBound, to: slice.upperBound, perBin: detail,
                        flows: source.hasFlowsColumn
                    ) { reader.add(key: $0, time: $1, counters: $2) }
                }
            } catch {
                throw ReportSource.Error.clickhouse("cannot read \(source.table): \(error)")
            }
            let entries = reader.entries().sorted {
                $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.key.lexicographicallyPrecedes($1.key)
            }
            return Breakdown(
                columns: columns, entries: entries, grid: range, bin: source.bin, utc: source.utc,
                hasFlows: source.hasFlowsColumn, clamps: reader.clamps)
        }
        var filterConditions: [String] = []
        var filterArguments: [DatabaseValueConvertible] = []
        for f in filters {
            filterConditions.append("\(f.column) = ?")
            filterArguments.append(f.value)
        }
        let keyList = columns.joined(separator: ", ")
        let hasFlows = source.hasFlowsColumn
        var found: [Entry] = []
        var clamps = CounterClamps()
        // The stamp comes back as seconds read as if UTC (cheap to cache), turned into real time
        // once per distinct stamp.
        func sql(_ segment: Segment) -> String {
            let conditions = ["stamp_inserted >= ?", "stamp_inserted < ?"] + filterConditions
            let whereClause = " WHERE " + conditions.joined(separator: " AND ")
            let bins = segment.rollup ? (detail ? ", pathflow_bins_merge(bins)" : ", NULL") : ""
            // The counters in one aggregate: SQLite's SUM fails past 2^63-1 (see CounterSum).
            return "SELECT \(keyList)\(columns.isEmpty ? "" : ", ")CAST(strftime('%s', stamp_inserted) AS INTEGER), "
                + "\(CounterSum.name)(bytes, packets, " + (hasFlows || segment.rollup ? "flows)" : "0)") + bins
                + " FROM \(segment.table)\(whereClause) GROUP BY \(keyList)\(columns.isEmpty ? "" : ", ")stamp_inserted"
        }
        let range: BinGrid = try source.read { db in
            let range = try grid ?? BinGrid.resolve(db, source, query)
            guard range.count > 0 else { return range }
            var reader = BreakdownReader(source: source, grid: range, columns: Int32(columns.count), detail: detail)
            var statements: [String: Statement] = [:]
            for segment in try Self.segments(db, source, range, keys: columns + filters.map(\.column), useRollup: query.useRollup) {
                let cuts = try Self.cuts(
                    db, source, table: segment.table, step: segment.rollup ? 86_400 : source.binSeconds,
                    lowerText: segment.lower, upperText: segment.upper, filtered: !filters.isEmpty)
                let text = sql(segment)
                let statement = try statements[text] ?? db.makeStatement(sql: text)
                statements[text] = statement
                for slice in 0...cuts.count {
                    let lower = slice == 0 ? segment.lower : cuts[slice - 1]
                    let upper = slice == cuts.count ? segment.upper : cuts[slice]
                    try statement.setArguments(StatementArguments([lower, upper] + filterArguments))
                    let s = statement.sqliteStatement
                    defer { sqlite3_reset(s) }
                    while true {
                        let status = sqlite3_step(s)
                        if status == SQLITE_DONE { break }
                        guard status == SQLITE_ROW else {
                            throw DatabaseError(resultCode: ResultCode(rawValue: status), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: text)
                        }
                        reader.add(s, rollup: segment.rollup)
                    }
                }
            }
            found = reader.entries()
            clamps = reader.clamps
            return range
        }
        let entries = found.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.key.lexicographicallyPrecedes($1.key) }
        return Breakdown(
            columns: columns, entries: entries, grid: range, bin: source.bin, utc: source.utc, hasFlows: hasFlows, clamps: clamps)
    }

    /// The queries a breakdown sends to ClickHouse: with per-bin detail, a day of bins each
    /// (whole bins of the grid, so every group of a key and bin is in one slice), which bounds
    /// the answer each holds in memory on both sides (a month of a matrix is tens of millions of
    /// groups); without, the whole range at once (a row per key).
    static func clickhouseSlices(_ range: BinGrid, perBin: Bool) -> [Range<Int>] {
        guard range.count > 0 else { return [] }
        guard perBin else { return [range.first..<range.end] }
        let step = max(1, 86_400 / range.seconds) * range.seconds
        return stride(from: range.first, to: range.end, by: step).map { $0..<min($0 + step, range.end) }
    }

    /// The parts of `range` to read: all of it from the table, or its whole days the rollup holds
    /// completely from the rollup and the rest from the table (when the rollup has the `keys`).
    static func segments(_ db: Database, _ source: ReportSource, _ range: BinGrid, keys: [String], useRollup: Bool) throws -> [Segment] {
        let lowerText = StampText.format(range.first, utc: source.utc)
        let upperText = StampText.format(range.end, utc: source.utc)
        let whole = [Segment(table: source.table, rollup: false, lower: lowerText, upper: upperText)]
        guard useRollup, source.binSeconds < 86_400, Self.rollupRegistryReadable(db, base: source.table),
              let coverage = try RollupCoverage.read(db, base: source.table), Set(keys).isSubset(of: coverage.columns),
              let days = coverage.wholeDays(lower: lowerText, upper: upperText, utc: source.utc) else { return whole }
        return [
            Segment(table: source.table, rollup: false, lower: lowerText, upper: days.start),
            Segment(table: coverage.table, rollup: true, lower: days.start, upper: days.end),
            Segment(table: source.table, rollup: false, lower: days.end, upper: upperText),
        ].filter { $0.lower < $0.upper }
    }

    /// Stamps (as text) that cut [lowerText, upperText) into slices of whole bins, in increasing
    /// order and strictly inside it. Slices [lower, c0), [c0, c1), … [cN, upper) partition the
    /// range whatever the bins' alignment, since a group never spans two stamps. None with
    /// filters, without an index that starts with stamp_inserted, or when the bounds are not
    /// pmacct's format.
    static func cuts(
        _ db: Database, _ source: ReportSource, table: String, step bin: Int, lowerText: String, upperText: String, filtered: Bool
    ) throws -> [String] {
        guard filtered == false, try hasStampIndex(db, table) else { return [] }
        guard let first = StampText.parse(lowerText, utc: source.utc), let last = StampText.parse(upperText, utc: source.utc),
              last > first, bin > 0 else { return [] }
        let bins = (last - first + bin - 1) / bin
        let step = bin * max(1, (bins + maxChunks - 1) / maxChunks)
        var cuts: [String] = []
        var t = first + step
        while t < last {
            let text = StampText.format(t, utc: source.utc)
            // Local time repeats an hour when summer time ends: keep the cuts increasing as text.
            if text > lowerText && text < upperText && (cuts.last.map { text > $0 } ?? true) {
                cuts.append(text)
            }
            t += step
        }
        return cuts
    }

    /// Whether an index of `table` starts with stamp_inserted (each slice is then a range search).
    static func hasStampIndex(_ db: Database, _ table: String) throws -> Bool {
        for name in try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?)", arguments: [table]) {
            let first = try String.fetchOne(db, sql: "SELECT name FROM pragma_index_info(?) WHERE seqno = 0", arguments: [name])
            if first?.lowercased() == "stamp_inserted" { return true }
        }
        return false
    }

    /// Whether `pathflow_rollups` holds text where `RollupCoverage.read` expects it (GRDB's row
    /// subscript traps on a NULL read as a String); when not, the table answers alone.
    static func rollupRegistryReadable(_ db: Database, base: String) -> Bool {
        // Without a registry RollupCoverage.read says there is no rollup.
        guard (try? db.tableExists(RollupSchema.registry)) == true else { return true }
        let odd = try? Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM \(RollupSchema.registry) WHERE base = ?
            AND NOT (typeof(rollup) = 'text' AND typeof(complete_from) = 'text' AND typeof(written_until) = 'text')
            """, arguments: [base])
        return odd == 0
    }

    /// Column `i` of the current row as text (integers in decimal, NULL empty).
    static func text(_ s: OpaquePointer, _ i: Int32) -> String {
        switch sqlite3_column_type(s, i) {
        case SQLITE_INTEGER: return String(sqlite3_column_int64(s, i))
        case SQLITE_NULL: return ""
        default:
            guard let p = sqlite3_column_text(s, i) else { return "" }
            return String(cString: p)
        }
    }

    static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: ""
        case .int64(let v): String(v)
        case .double(let v): String(v)
        case .string(let s): s
        case .blob(let b): b.map { String(format: "%02x", $0) }.joined()
        }
    }
}
