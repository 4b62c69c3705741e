import GRDBSQLite
import Storage

/// Gathers a breakdown's result rows (one per key and stamp, or key and day from the rollup)
/// into entries: the key's counters, and its bytes in the bin of `grid` that holds each stamp.
/// Not thread-safe: one per breakdown, filled from one read transaction.
struct BreakdownReader {
    let source: ReportSource
    let grid: BinGrid
    /// Key columns at the start of a row; then the stamp (seconds read as if UTC), the counters
    /// (`CounterSum`) and, from the rollup, the day's bin list.
    let columns: Int32
    let detail: Bool
    private(set) var clamps = CounterClamps()
    private var index: [String: Int] = [:]
    private var found: [Breakdown.Entry] = []
    private var key = ""
    /// Real time per stamp read as if UTC: one conversion per distinct stamp.
    private var stamps: [Int64: Int] = [:]
    private var dayOffsets: [Int64: Int?] = [:]

    init(source: ReportSource, grid: BinGrid, columns: Int32, detail: Bool) {
        self.source = source
        self.grid = grid
        self.columns = columns
        self.detail = detail
    }

    mutating func realTime(_ asIfUTC: Int64) -> Int {
        if let t = stamps[asIfUTC] { return t }
        let t = source.utc ? Int(asIfUTC) : StampText.parse(StampText.format(Int(asIfUTC), utc: true), utc: false) ?? Int(asIfUTC)
        stamps[asIfUTC] = t
        return t
    }

    /// Real minus as-if-UTC time through a day starting at `day`, when the same all day.
    mutating func dayOffset(_ day: Int64) -> Int? {
        if source.utc { return 0 }
        if let known = dayOffsets[day] { return known }
        let start = realTime(day) - Int(day), end = realTime(day + 86_399) - Int(day + 86_399)
        let offset: Int? = start == end ? start : nil
        dayOffsets[day] = offset
        return offset
    }

    /// The start of the grid's bin holding real time `t`; nil outside the range.
    func binStart(_ t: Int) -> Int? { grid.index(t).map(grid.start) }

    /// The current row of `s`.
    mutating func add(_ s: OpaquePointer, rollup: Bool) {
        let n = columns
        // A stamp inside the range's text that is no time (`2025-12-01 99:00:00`) belongs to no
        // bin: left out, as rows outside the range are.
        if sqlite3_column_type(s, n) == SQLITE_NULL { return }
        let asIfUTC = sqlite3_column_int64(s, n)
        let bin = rollup ? nil : binStart(realTime(asIfUTC))
        if !rollup && bin == nil { return }
        // Columns joined by a unit separator: one dictionary lookup per row.
        key.removeAll(keepingCapacity: true)
        for i in 0..<n {
            if i > 0 { key.append("\u{1F}") }
            key.append(Breakdown.text(s, i))
        }
        let counters = CounterSum.result(s, n + 1)
        let e = entry(counters) { (0..<n).map { Breakdown.text(s, $0) } }
        guard detail else { return }
        if let bin {
            found[e].bins.add(bin, counters.bytes)
        } else if let p = sqlite3_column_blob(s, n + 2) {
            // The day's stamp plus each bin's second of the day, as its text reads; a day without
            // a clock change is one offset from local to real time.
            let list = UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(s, n + 2)))
            let offset = dayOffset(asIfUTC)
            BinList.forEach(list) { entry in
                let t = asIfUTC + Int64(entry.second)
                // The list's sums wrap (pathflow_bins_merge): a negative bin reads as 0.
                let bytes = clamps.read(entry.bytes)
                if let bin = binStart(offset.map { Int(t) + $0 } ?? realTime(t)) { found[e].bins.add(bin, bytes) }
            }
        }
    }

    /// The entry of `key` (made from `parts` the first time), with `counters` added to its sums:
    /// a key's sums over bins (and segments) stop at Int64.max too.
    private mutating func entry(_ counters: CounterSum.Result, parts: () -> [String]) -> Int {
        clamps.add(counters.clamps)
        let e: Int
        if let known = index[key] {
            e = known
        } else {
            e = found.count
            index[key] = e
            found.append(Breakdown.Entry(key: parts()))
        }
        let o1 = found[e].bytes.addSaturated(counters.bytes), o2 = found[e].packets.addSaturated(counters.packets)
        let o3 = found[e].flows.addSaturated(counters.flows)
        if o1 || o2 || o3 { clamps.saturated = true }
        return e
    }

    /// One group read from ClickHouse: key texts, the stamp (real unix seconds) and the sums.
    mutating func add(key parts: [String], time: Int, counters: CounterSum.Result) {
        guard let bin = binStart(time) else { return }
        key = parts.joined(separator: "\u{1F}")
        let e = entry(counters) { parts }
        if detail { found[e].bins.add(bin, counters.bytes) }
    }

    /// The entries, bins in order; a sum of them that could pass Int64.max is noted in `clamps`.
    mutating func entries() -> [Breakdown.Entry] {
        for i in found.indices { found[i].bins.normalize() }
        // Any sum of the keys' counters (a total, a matrix cell) fits when the grand totals do.
        var grand = (bytes: Int64(0), packets: Int64(0), flows: Int64(0))
        for e in found {
            let o1 = grand.bytes.addSaturated(e.bytes), o2 = grand.packets.addSaturated(e.packets)
            let o3 = grand.flows.addSaturated(e.flows)
            if o1 || o2 || o3 { clamps.saturated = true }
        }
        return found
    }
}
