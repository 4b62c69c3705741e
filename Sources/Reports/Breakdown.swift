import GRDB

/// What a report selects: a time range, and equality filters on primitives.
public struct ReportQuery: Sendable {
    /// Unix seconds; bins whose start is in [from, to) count. nil: unbounded.
    public var from: Int?
    public var to: Int?
    /// column = value (the value as text; SQLite compares it with the column's affinity).
    public var filters: [(column: String, value: String)]

    public init(from: Int? = nil, to: Int? = nil, filters: [(column: String, value: String)] = []) {
        self.from = from
        self.to = to
        self.filters = filters
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
        /// Bytes per bin start (unix seconds), bins with traffic only.
        public var bins: [Int: Int64]
    }

    public var columns: [String]
    /// Largest first.
    public var entries: [Entry]
    public var binSeconds: Int
    /// Bins in the range: the range's length in bins when bounded, else the bins the data has.
    public var binCount: Int
    /// The first bin of the range (unix seconds), when known.
    public var firstBin: Int?

    public var totalBytes: Int64 { entries.reduce(0) { $0 + $1.bytes } }
    public var rangeSeconds: Int { max(1, binCount) * binSeconds }

    /// Average bit/s over the whole range.
    public func averageBitsPerSecond(_ e: Entry) -> Double { Double(e.bytes) * 8 / Double(rangeSeconds) }

    /// The busiest bin's bit/s.
    public func peakBitsPerSecond(_ e: Entry) -> Double {
        Double(e.bins.values.max() ?? 0) * 8 / Double(binSeconds)
    }

    /// 95th percentile of the per-bin bit/s over every bin of the range, empty bins counting
    /// as 0 (the billing convention): the value below which 95 % of the bins fall (nearest rank).
    public func percentileBitsPerSecond(_ e: Entry, _ p: Double = 95) -> Double {
        let n = max(binCount, e.bins.count)
        guard n > 0 else { return 0 }
        var values = Array(e.bins.values)
        values.append(contentsOf: repeatElement(0, count: n - values.count))
        values.sort()
        let rank = max(1, Int((p / 100 * Double(n)).rounded(.up)))
        return Double(values[rank - 1]) * 8 / Double(binSeconds)
    }

    /// Sums `by` over the range in SQL (one row per key and bin), then orders by bytes.
    public static func compute(_ source: ReportSource, by columns: [String], query: ReportQuery) throws -> Breakdown {
        for c in columns { try source.require(c) }
        for f in query.filters { try source.require(f.column) }
        var conditions: [String] = []
        var arguments: [DatabaseValueConvertible] = []
        if let from = query.from {
            conditions.append("stamp_inserted >= ?")
            arguments.append(StampText.format(from, utc: source.utc))
        }
        if let to = query.to {
            conditions.append("stamp_inserted < ?")
            arguments.append(StampText.format(to, utc: source.utc))
        }
        for f in query.filters {
            conditions.append("\(f.column) = ?")
            arguments.append(f.value)
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let keyList = columns.joined(separator: ", ")
        let sql = "SELECT \(keyList)\(columns.isEmpty ? "" : ", ")stamp_inserted, SUM(bytes), SUM(packets), "
            + (source.columns.contains("flows") ? "SUM(flows)" : "0")
            + " FROM \(source.table)\(whereClause) GROUP BY \(keyList)\(columns.isEmpty ? "" : ", ")stamp_inserted"
        var byKey: [[String]: Entry] = [:]
        var stamps = Set<Int>()
        try source.read { db in
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try cursor.next() {
                let key = (0..<columns.count).map { Self.text(row[$0] as DatabaseValue) }
                let stamp = StampText.parse(row[columns.count] as String? ?? "", utc: source.utc) ?? 0
                stamps.insert(stamp)
                let bytes = row[columns.count + 1] as Int64? ?? 0
                var e = byKey[key] ?? Entry(key: key, bytes: 0, packets: 0, flows: 0, bins: [:])
                e.bytes += bytes
                e.packets += row[columns.count + 2] as Int64? ?? 0
                e.flows += row[columns.count + 3] as Int64? ?? 0
                e.bins[stamp, default: 0] += bytes
                byKey[key] = e
            }
        }
        let entries = byKey.values.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.key.lexicographicallyPrecedes($1.key) }
        let bin = source.binSeconds
        var binCount = stamps.count
        var first = stamps.min()
        if let from = query.from, let to = query.to, to > from {
            binCount = (to - from + bin - 1) / bin
            first = from
        }
        return Breakdown(columns: columns, entries: entries, binSeconds: bin, binCount: binCount, firstBin: first)
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
