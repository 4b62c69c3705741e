import GRDB
import GRDBSQLite
import Storage

/// What a report selects: a time range, and equality filters on primitives.
public struct ReportQuery: Sendable {
    /// Unix seconds; bins whose start is in [from, to) count. nil: unbounded.
    public var from: Int?
    public var to: Int?
    /// column = value (the value as text; SQLite compares it with the column's affinity).
    public var filters: [(column: String, value: String)]
    /// Read whole days from the table's daily rollup when it has them (false: the table only).
    public var useRollup: Bool

    public init(from: Int? = nil, to: Int? = nil, filters: [(column: String, value: String)] = [], useRollup: Bool = true) {
        self.from = from
        self.to = to
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
    public var binSeconds: Int
    /// Bins in the range: the range's length in bins when bounded, else the bins the data has.
    public var binCount: Int
    /// The first bin of the range (unix seconds), when known.
    public var firstBin: Int?
    /// Counter values the table held that are not non-negative integers, and whether a sum
    /// saturated: when none did, no sum over these entries (totals, matrix cells) can.
    public var clamps = CounterClamps()

    /// Stops at `Int64.max` (`clamps.saturated` says whether it can).
    public var totalBytes: Int64 { entries.reduce(0) { $0.addingSaturated($1.bytes) } }
    /// In floating point: shares stay right when the integer total saturates.
    public var totalBytesAsDouble: Double { entries.reduce(0) { $0 + Double($1.bytes) } }
    public var rangeSeconds: Int { max(1, binCount) * binSeconds }

    /// Average bit/s over the whole range.
    public func averageBitsPerSecond(_ e: Entry) -> Double { Double(e.bytes) * 8 / Double(rangeSeconds) }

    /// The busiest bin's bit/s.
    public func peakBitsPerSecond(_ e: Entry) -> Double {
        Double(e.bins.peak) * 8 / Double(binSeconds)
    }

    /// 95th percentile of the per-bin bit/s over every bin of the range, empty bins counting
    /// as 0 (the billing convention): the value below which 95 % of the bins fall (nearest rank).
    public func percentileBitsPerSecond(_ e: Entry, _ p: Double = 95) -> Double {
        let n = max(binCount, e.bins.count)
        guard n > 0 else { return 0 }
        // The empty bins are the lowest values: only the bins with traffic are sorted.
        let values = e.bins.map(\.bytes).sorted()
        let empty = n - values.count
        let rank = min(n, max(1, Int(exactly: (min(max(p, 0), 100) / 100 * Double(n)).rounded(.up)) ?? n))
        return rank <= empty ? 0 : Double(values[rank - empty - 1]) * 8 / Double(binSeconds)
    }

    /// At most this many GROUP BY queries per breakdown (see `compute`).
    static let maxChunks = 10_000

    /// One part of a range, read from the table or from its daily rollup.
    struct Segment {
        var table: String
        var rollup: Bool
        var lower: String?
        var upper: String?
    }

    /// Sums `by` over the range in SQL (one row per key and bin), then orders by bytes.
    ///
    /// Whole days the table's daily rollup holds (see `RollupSchema`) are read from it: one row
    /// per key and day, its bins in a list SQLite adds up per group (`pathflow_bins_merge`); the
    /// rest of the range from the table. `detail` false leaves out the per-bin bytes (no peak,
    /// percentile or series then), which a bounded range does not need for volumes and averages.
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
        _ source: ReportSource, by columns: [String], query: ReportQuery, detail: Bool = true
    ) throws -> Breakdown {
        for c in columns { try source.require(c) }
        for f in query.filters { try source.require(f.column) }
        let detail = detail || query.from == nil || query.to == nil
        var filterConditions: [String] = []
        var filterArguments: [DatabaseValueConvertible] = []
        for f in query.filters {
            filterConditions.append("\(f.column) = ?")
            filterArguments.append(f.value)
        }
        let keyList = columns.joined(separator: ", ")
        let hasFlows = source.columns.contains("flows")
        // The stamp comes back as seconds read as if UTC (cheap to cache), turned into real time
        // once per distinct stamp.
        func sql(_ segment: Segment, lower: Bool, upper: Bool) -> String {
            let conditions = (lower ? ["stamp_inserted >= ?"] : []) + (upper ? ["stamp_inserted < ?"] : []) + filterConditions
            let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            let bins = segment.rollup ? (detail ? ", pathflow_bins_merge(bins)" : ", NULL") : ""
            // The counters in one aggregate: SQLite's SUM fails past 2^63-1 (see CounterSum).
            return "SELECT \(keyList)\(columns.isEmpty ? "" : ", ")CAST(strftime('%s', stamp_inserted) AS INTEGER), "
                + "\(CounterSum.name)(bytes, packets, " + (hasFlows || segment.rollup ? "flows)" : "0)") + bins
                + " FROM \(segment.table)\(whereClause) GROUP BY \(keyList)\(columns.isEmpty ? "" : ", ")stamp_inserted"
        }
        var index: [String: Int] = [:]
        var found: [Entry] = []
        var clamps = CounterClamps()
        var stamps: [Int64: Int] = [:]
        func realTime(_ asIfUTC: Int64) -> Int {
            if let t = stamps[asIfUTC] { return t }
            let t = source.utc ? Int(asIfUTC) : StampText.parse(StampText.format(Int(asIfUTC), utc: true), utc: false) ?? Int(asIfUTC)
            stamps[asIfUTC] = t
            return t
        }
        var dayOffsets: [Int64: Int?] = [:]
        /// Real minus as-if-UTC time through a day starting at `day`, when the same all day.
        func dayOffset(_ day: Int64) -> Int? {
            if source.utc { return 0 }
            if let known = dayOffsets[day] { return known }
            let start = realTime(day) - Int(day), end = realTime(day + 86_399) - Int(day + 86_399)
            let offset: Int? = start == end ? start : nil
            dayOffsets[day] = offset
            return offset
        }
        let n = Int32(columns.count)
        try source.read { db in
            let lowerText = query.from.map { StampText.format($0, utc: source.utc) }
            let upperText = query.to.map { StampText.format($0, utc: source.utc) }
            var segments = [Segment(table: source.table, rollup: false, lower: lowerText, upper: upperText)]
            if query.useRollup, source.binSeconds < 86_400, Self.rollupRegistryReadable(db, base: source.table),
               let coverage = try RollupCoverage.read(db, base: source.table),
               Set(columns + query.filters.map(\.column)).isSubset(of: coverage.columns),
               let days = coverage.wholeDays(lower: lowerText, upper: upperText, utc: source.utc) {
                segments = [
                    Segment(table: source.table, rollup: false, lower: lowerText, upper: days.start),
                    Segment(table: coverage.table, rollup: true, lower: days.start, upper: days.end),
                    Segment(table: source.table, rollup: false, lower: days.end, upper: upperText),
                ].filter { s in !(s.lower != nil && s.upper != nil && s.lower! >= s.upper!) }
            }
            var statements: [String: Statement] = [:]
            for segment in segments {
                let cuts = try Self.cuts(
                    db, source, table: segment.table, step: segment.rollup ? 86_400 : source.binSeconds,
                    lowerText: segment.lower, upperText: segment.upper, filtered: !query.filters.isEmpty)
                for slice in 0...cuts.count {
                    let lower = slice == 0 ? segment.lower : cuts[slice - 1]
                    let upper = slice == cuts.count ? segment.upper : cuts[slice]
                    let text = sql(segment, lower: lower != nil, upper: upper != nil)
                    let statement = try statements[text] ?? db.makeStatement(sql: text)
                    statements[text] = statement
                    var arguments: [DatabaseValueConvertible] = []
                    if let lower { arguments.append(lower) }
                    if let upper { arguments.append(upper) }
                    try statement.setArguments(StatementArguments(arguments + filterArguments))
                    let s = statement.sqliteStatement
                    defer { sqlite3_reset(s) }
                    var key = ""
                    while true {
                        let status = sqlite3_step(s)
                        if status == SQLITE_DONE { break }
                        guard status == SQLITE_ROW else {
                            throw DatabaseError(resultCode: ResultCode(rawValue: status), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: text)
                        }
                        // Columns joined by a unit separator: one dictionary lookup per row.
                        key.removeAll(keepingCapacity: true)
                        for i in 0..<n {
                            if i > 0 { key.append("\u{1F}") }
                            key.append(Self.text(s, i))
                        }
                        let asIfUTC = sqlite3_column_int64(s, n)
                        let counters = CounterSum.result(s, n + 1)
                        clamps.add(counters.clamps)
                        let bytes = counters.bytes
                        let e: Int
                        if let known = index[key] {
                            e = known
                        } else {
                            e = found.count
                            index[key] = e
                            found.append(Entry(key: (0..<n).map { Self.text(s, $0) }))
                        }
                        // A key's sums over bins (and segments) stop at Int64.max too.
                        let o1 = found[e].bytes.addSaturated(bytes), o2 = found[e].packets.addSaturated(counters.packets)
                        let o3 = found[e].flows.addSaturated(counters.flows)
                        if o1 || o2 || o3 { clamps.saturated = true }
                        if !segment.rollup {
                            if detail { found[e].bins.add(realTime(asIfUTC), bytes) }
                        } else if detail, let p = sqlite3_column_blob(s, n + 2) {
                            // The day's stamp plus each bin's second of the day, as its text reads;
                            // a day without a clock change is one offset from local to real time.
                            let list = UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(s, n + 2)))
                            let offset = dayOffset(asIfUTC)
                            BinList.forEach(list) { bin in
                                let t = asIfUTC + Int64(bin.second)
                                // The list's sums wrap (pathflow_bins_merge): a negative bin reads as 0.
                                found[e].bins.add(offset.map { Int(t) + $0 } ?? realTime(t), clamps.read(bin.bytes))
                            }
                        }
                    }
                }
            }
        }
        for i in found.indices { found[i].bins.normalize() }
        // Any sum of the keys' counters (a total, a matrix cell) fits when the grand totals do.
        var grand = (bytes: Int64(0), packets: Int64(0), flows: Int64(0))
        for e in found {
            let o1 = grand.bytes.addSaturated(e.bytes), o2 = grand.packets.addSaturated(e.packets)
            let o3 = grand.flows.addSaturated(e.flows)
            if o1 || o2 || o3 { clamps.saturated = true }
        }
        // The bins with traffic (only needed without a bounded range, which implies detail).
        var stampSet = Set<Int>()
        if query.from == nil || query.to == nil {
            for e in found { for bin in e.bins { stampSet.insert(bin.start) } }
        }
        let entries = found.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.key.lexicographicallyPrecedes($1.key) }
        let bin = source.binSeconds
        var binCount = stampSet.count
        var first = stampSet.min()
        if let from = query.from, let to = query.to, to > from {
            binCount = (to - from + bin - 1) / bin
            first = from
        }
        return Breakdown(columns: columns, entries: entries, binSeconds: bin, binCount: binCount, firstBin: first, clamps: clamps)
    }

    /// Stamps (as text) that cut the range into slices of whole bins, in increasing order and
    /// strictly inside it; an unbounded end takes the table's first or last stamp. Slices
    /// [from, c0), [c0, c1), … [cN, to) partition the range whatever the bins' alignment, since a
    /// group never spans two stamps. None with filters, without an index that starts with
    /// stamp_inserted, or when the table's stamps are not pmacct's format.
    static func cuts(
        _ db: Database, _ source: ReportSource, table: String, step bin: Int, lowerText: String?, upperText: String?, filtered: Bool
    ) throws -> [String] {
        guard filtered == false, try hasStampIndex(db, table) else { return [] }
        var first = lowerText.flatMap { StampText.parse($0, utc: source.utc) }
        var last = upperText.flatMap { StampText.parse($0, utc: source.utc) }
        if first == nil || last == nil {
            let row = try Row.fetchOne(db, sql: "SELECT MIN(stamp_inserted), MAX(stamp_inserted) FROM \(table)")
            // As values, not Strings: a stamp may be stored as a number.
            let minText = row.flatMap { String.fromDatabaseValue($0[0]) }, maxText = row.flatMap { String.fromDatabaseValue($0[1]) }
            if first == nil { first = minText.flatMap { StampText.parse($0, utc: source.utc) } }
            if last == nil { last = maxText.flatMap { StampText.parse($0, utc: source.utc) }.map { $0 + 1 } }
        }
        guard let first, let last, last > first, bin > 0 else { return [] }
        let bins = (last - first + bin - 1) / bin
        let step = bin * max(1, (bins + maxChunks - 1) / maxChunks)
        var cuts: [String] = []
        var t = first + step
        while t < last {
            let text = StampText.format(t, utc: source.utc)
            // Local time repeats an hour when summer time ends: keep the cuts increasing as text.
            if (lowerText.map { text > $0 } ?? true) && (upperText.map { text < $0 } ?? true)
                && (cuts.last.map { text > $0 } ?? true) {
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
