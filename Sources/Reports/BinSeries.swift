/// Bytes per time bin of one key: bin starts (unix seconds) in increasing order, one entry per
/// bin, bins with traffic only. Sums stop at `Int64.max` (see `CounterClamps`). Kept as a sorted array: a month of 5-minute bins for thousands of
/// keys is tens of millions of entries, read in time order.
public struct BinSeries: Sendable, Equatable, Sequence {
    public struct Bin: Sendable, Equatable {
        public var start: Int
        public var bytes: Int64

        public init(start: Int, bytes: Int64) {
            self.start = start
            self.bytes = bytes
        }
    }

    public private(set) var bins: [Bin] = []
    /// False once a bin was appended out of order or twice (`normalize()` mends it).
    var ordered = true

    public init() {}

    public static func == (a: BinSeries, b: BinSeries) -> Bool { a.bins == b.bins }

    /// From bin start → bytes.
    public init(_ bytesByStart: [Int: Int64]) {
        bins = bytesByStart.map { Bin(start: $0.key, bytes: $0.value) }.sorted { $0.start < $1.start }
    }

    public var count: Int { bins.count }
    public var isEmpty: Bool { bins.isEmpty }
    public func makeIterator() -> IndexingIterator<[Bin]> { bins.makeIterator() }

    /// The bytes of the bin starting at `start`; 0 when it had no traffic.
    public subscript(start: Int) -> Int64 {
        var lo = 0, hi = bins.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bins[mid].start < start { lo = mid + 1 } else { hi = mid }
        }
        return lo < bins.count && bins[lo].start == start ? bins[lo].bytes : 0
    }

    /// The busiest bin's bytes (0 when empty).
    public var peak: Int64 { bins.lazy.map(\.bytes).max() ?? 0 }

    /// Adds bytes to a bin; in order (a later bin than the last) it is an append.
    @inline(__always)
    public mutating func add(_ start: Int, _ bytes: Int64) {
        if let last = bins.last, last.start >= start {
            if last.start == start {
                bins[bins.count - 1].bytes.addSaturated(bytes)
                return
            }
            ordered = false
        }
        bins.append(Bin(start: start, bytes: bytes))
    }

    /// Sorts and merges bins appended out of order.
    public mutating func normalize() {
        guard !ordered else { return }
        bins.sort { $0.start < $1.start }
        var n = 0
        for i in bins.indices {
            if n > 0 && bins[n - 1].start == bins[i].start {
                bins[n - 1].bytes.addSaturated(bins[i].bytes)
            } else {
                bins[n] = bins[i]
                n += 1
            }
        }
        bins.removeLast(bins.count - n)
        ordered = true
    }

    /// This series plus another, bin by bin.
    public mutating func add(_ other: BinSeries) {
        if other.isEmpty { return }
        if isEmpty {
            self = other
            return
        }
        var merged: [Bin] = []
        merged.reserveCapacity(Swift.max(bins.count, other.bins.count))
        var i = 0, j = 0
        let a = bins, b = other.bins
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i].start < b[j].start) {
                merged.append(a[i])
                i += 1
            } else if i == a.count || b[j].start < a[i].start {
                merged.append(b[j])
                j += 1
            } else {
                merged.append(Bin(start: a[i].start, bytes: a[i].bytes.addingSaturated(b[j].bytes)))
                i += 1
                j += 1
            }
        }
        bins = merged
    }

    /// The sum of several series: on the grid of `first` + k × `step` (k < `count`) in one dense
    /// array, anything off the grid merged the slower way.
    public static func sum<S: Sequence>(_ series: S, first: Int?, step: Int, count: Int) -> BinSeries where S.Element == BinSeries {
        guard let first, step > 0, count > 0, count <= 10_000_000 else {
            var total = BinSeries()
            for s in series { total.add(s) }
            return total
        }
        var dense = [Int64](repeating: 0, count: count)
        var present = [Bool](repeating: false, count: count)
        var off = BinSeries()
        for s in series {
            for bin in s.bins {
                let d = bin.start - first
                if d >= 0 && d % step == 0 && d / step < count {
                    dense[d / step].addSaturated(bin.bytes)
                    present[d / step] = true
                } else {
                    off.add(bin.start, bin.bytes)
                }
            }
        }
        var total = BinSeries()
        for k in 0..<count where present[k] { total.bins.append(Bin(start: first + k * step, bytes: dense[k])) }
        off.normalize()
        total.add(off)
        return total
    }
}
