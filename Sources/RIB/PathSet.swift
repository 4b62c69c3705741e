/// The paths of one prefix, sorted by path id: up to four inline in the prefix entry, each with
/// its IPv4 next-hop beside it so the flow path's exact match reads nothing but the entry; more
/// in a list of the router's `PathOverflow`.
struct PathSet: BitwiseCopyable {
    static let inlineCapacity = 4
    /// ADD-PATH peers rarely send more than a handful of paths per prefix; beyond this many
    /// further announcements are refused (and counted) rather than grow without bound.
    static let maximumCount = Int(UInt16.max)

    var inline: (Path, Path, Path, Path)
    /// Inline path i's next-hop when it is an IPv4 address (bit i of `link` set).
    var nextHops: (UInt32, UInt32, UInt32, UInt32)
    /// Up to four paths: bit i set when `nextHops.i` holds path i's IPv4 next-hop. More: the
    /// index of their `PathOverflow` list. In a free prefix entry: the next free entry + 1.
    var link: UInt32
    var count: UInt16
    /// Index of the best path (see `BestPath`).
    var best: UInt16

    static let empty = PathSet(
        inline: (.unused, .unused, .unused, .unused), nextHops: (0, 0, 0, 0), link: 0, count: 0, best: 0)

    init(inline: (Path, Path, Path, Path), nextHops: (UInt32, UInt32, UInt32, UInt32), link: UInt32, count: UInt16, best: UInt16) {
        self.inline = inline
        self.nextHops = nextHops
        self.link = link
        self.count = count
        self.best = best
    }

    init(single path: Path, summaries: RawBuffer<AttributeSummary>) {
        self = .empty
        count = 1
        setInline(0, path, summaries)
    }

    @inline(__always)
    var isInline: Bool { count <= Self.inlineCapacity }

    @inline(__always)
    func inlinePath(_ i: Int) -> Path {
        withUnsafeBytes(of: inline) { $0.load(fromByteOffset: i &* MemoryLayout<Path>.stride, as: Path.self) }
    }

    @inline(__always)
    func inlineNextHop(_ i: Int) -> UInt32 {
        withUnsafeBytes(of: nextHops) { $0.load(fromByteOffset: i &* 4, as: UInt32.self) }
    }

    /// Inline path i, if its next-hop is the IPv4 address `nextHop`.
    @inline(__always)
    func inlineHasNextHop(_ i: Int, _ nextHop: UInt32) -> Bool {
        link & (1 << UInt32(i)) != 0 && inlineNextHop(i) == nextHop
    }

    @inline(__always)
    private mutating func setInline(_ i: Int, _ path: Path, nextHop: UInt32, isIPv4: Bool) {
        withUnsafeMutableBytes(of: &inline) { $0.storeBytes(of: path, toByteOffset: i * MemoryLayout<Path>.stride, as: Path.self) }
        withUnsafeMutableBytes(of: &nextHops) { $0.storeBytes(of: nextHop, toByteOffset: i * 4, as: UInt32.self) }
        let bit = UInt32(1) << UInt32(i)
        link = isIPv4 ? link | bit : link & ~bit
    }

    private mutating func setInline(_ i: Int, _ path: Path, _ summaries: RawBuffer<AttributeSummary>) {
        let s = summaries[Int(path.attributes.rawValue)]
        let isIPv4 = s.nextHopFamily == 4
        setInline(i, path, nextHop: isIPv4 ? UInt32(truncatingIfNeeded: s.nextHopLow) : 0, isIPv4: isIPv4)
    }

    private mutating func moveInline(from: Int, to: Int) {
        setInline(to, inlinePath(from), nextHop: inlineNextHop(from), isIPv4: link & (1 << UInt32(from)) != 0)
    }

    @inline(__always)
    func path(_ i: Int, _ overflow: UnsafePointer<PathOverflow>) -> Path {
        isInline ? inlinePath(i) : overflow.pointee.lists[Int(link)][i]
    }

    func withPaths<R>(_ overflow: UnsafePointer<PathOverflow>, _ body: (UnsafeBufferPointer<Path>) throws -> R) rethrows -> R {
        if isInline {
            return try withUnsafeBytes(of: inline) { raw in
                try raw.withMemoryRebound(to: Path.self) { try body(UnsafeBufferPointer(rebasing: $0[0..<Int(count)])) }
            }
        }
        return try overflow.pointee.lists[Int(link)].withUnsafeBufferPointer(body)
    }

    func array(_ overflow: UnsafePointer<PathOverflow>) -> [Path] {
        withPaths(overflow) { Array($0) }
    }

    enum Upsert {
        case added
        case replaced(AttributesRef)
        case full
    }

    /// Adds `path`, or replaces the path with its id (an implicit replace, RFC 7911 §2).
    mutating func upsert(_ path: Path, overflow: UnsafeMutablePointer<PathOverflow>, summaries: RawBuffer<AttributeSummary>) -> Upsert {
        let n = Int(count)
        if isInline {
            var position = n
            for i in 0..<n {
                let p = inlinePath(i)
                if p.pathID == path.pathID {
                    setInline(i, path, summaries)
                    return .replaced(p.attributes)
                }
                if p.pathID > path.pathID {
                    position = i
                    break
                }
            }
            if n < Self.inlineCapacity {
                var i = n
                while i > position {
                    moveInline(from: i - 1, to: i)
                    i -= 1
                }
                setInline(position, path, summaries)
            } else {
                var list = array(overflow)
                list.insert(path, at: position)
                link = overflow.pointee.add(list)
            }
            count += 1
            return .added
        }
        let slot = Int(link)
        let (position, found) = overflow.pointee.lists[slot].withUnsafeBufferPointer { Self.search($0, path.pathID) }
        if found {
            let old = overflow.pointee.lists[slot][position].attributes
            overflow.pointee.lists[slot][position] = path
            return .replaced(old)
        }
        guard n < Self.maximumCount else { return .full }
        overflow.pointee.lists[slot].insert(path, at: position)
        count += 1
        return .added
    }

    /// Removes the path with `pathID`, returning its attributes; nil if there is none.
    mutating func remove(pathID: UInt32, overflow: UnsafeMutablePointer<PathOverflow>, summaries: RawBuffer<AttributeSummary>) -> AttributesRef? {
        let n = Int(count)
        if isInline {
            for i in 0..<n where inlinePath(i).pathID == pathID {
                let old = inlinePath(i).attributes
                for j in i..<(n - 1) { moveInline(from: j + 1, to: j) }
                link &= ~(UInt32(1) << UInt32(n - 1))
                count -= 1
                return old
            }
            return nil
        }
        let slot = Int(link)
        let (position, found) = overflow.pointee.lists[slot].withUnsafeBufferPointer { Self.search($0, pathID) }
        guard found else { return nil }
        let old = overflow.pointee.lists[slot].remove(at: position).attributes
        count -= 1
        if isInline {
            let list = overflow.pointee.lists[slot]
            overflow.pointee.remove(slot)
            link = 0
            for i in 0..<list.count { setInline(i, list[i], summaries) }
        }
        return old
    }

    /// Where `pathID` is or would go in a sorted list.
    private static func search(_ paths: UnsafeBufferPointer<Path>, _ pathID: UInt32) -> (Int, Bool) {
        var low = 0, high = paths.count
        while low < high {
            let mid = (low + high) / 2
            if paths[mid].pathID < pathID { low = mid + 1 } else { high = mid }
        }
        return (low, low < paths.count && paths[low].pathID == pathID)
    }
}

extension Path {
    static let unused = Path(pathID: 0, attributes: AttributesRef(rawValue: 0))
}

/// Path lists of prefixes with more than four paths, for one router.
struct PathOverflow {
    var lists: [[Path]] = []
    private var free: [UInt32] = []

    mutating func add(_ list: [Path]) -> UInt32 {
        if let slot = free.popLast() {
            lists[Int(slot)] = list
            return slot
        }
        lists.append(list)
        return UInt32(lists.count - 1)
    }

    mutating func remove(_ slot: Int) {
        lists[slot] = []
        free.append(UInt32(slot))
    }

    var bytes: Int {
        lists.capacity * MemoryLayout<[Path]>.stride + lists.reduce(0) { $0 + $1.capacity * MemoryLayout<Path>.stride }
    }
}
