import NetCore

/// One router's Adj-RIB-In: every path of every prefix it sent, IPv4 and IPv6, keyed by
/// (prefix, path id), with the longest-prefix-match structures over the prefixes.
///
/// Plain data behind a pointer owned by `RIBCore`: readers use it without reference counting,
/// copies or exclusivity checks; the RIB's lock orders them against the writer.
struct RouterTable: BitwiseCopyable {
    let id: RouterID
    /// Stands in for a missing ORIGINATOR_ID in best-path selection (RFC 4456 §9).
    let bgpID: UInt32
    /// Path lists of prefixes with more than four paths.
    let overflow: UnsafeMutablePointer<PathOverflow>
    private(set) var v4 = PrefixTable<IPv4Key>()
    private(set) var v6 = PrefixTable<IPv6Key>()
    private(set) var trie = IPv4Trie()
    /// Bit L is set while some IPv4 prefix of length L is held: the walk to covering prefixes
    /// probes only those lengths.
    private var v4Lengths: UInt64 = 0
    private var v4LengthCounts = RawBuffer<Int32>(repeating: 0, count: 33)
    /// IPv6 lengths held, longest first; an IPv6 lookup probes the prefix table at each.
    private var v6LengthList = RawBuffer<UInt8>(repeating: 0, count: 129)
    private var v6LengthCount = 0
    private var v6LengthCounts = RawBuffer<Int32>(repeating: 0, count: 129)
    private(set) var pathCount = 0

    init(id: RouterID, bgpID: UInt32) {
        self.id = id
        self.bgpID = bgpID
        overflow = .allocate(capacity: 1)
        overflow.initialize(to: PathOverflow())
    }

    var prefixCount: Int { v4.count + v6.count }

    // MARK: Writer

    enum Announced {
        case added, replaced, rejected
    }

    /// Adds or replaces one path; the table takes a use of `attributes` if it keeps the path.
    mutating func announce(_ prefix: IPPrefix, pathID: UInt32, attributes: AttributesRef, store: inout AttributeStore) -> Announced {
        let path = Path(pathID: pathID, attributes: attributes)
        switch prefix.address.family {
        case .v4:
            let key = IPv4Key(address: prefix.address.v4Value, length: prefix.length)
            if let e = v4.find(key) { return add(path, to: &v4.entry(e).pointee.paths, store: &store) }
            guard v4.count < IPv4Trie.maximumEntries else { return .rejected }
            let e = v4.insert(key, paths: PathSet(single: path, summaries: store.summaries))
            trie.insert(key.address, length: key.length, value: IPv4Trie.value(entry: e, length: key.length))
            countV4Length(key.length, by: 1)
        case .v6:
            let key = IPv6Key(high: prefix.address.high, low: prefix.address.low, length: prefix.length)
            if let e = v6.find(key) { return add(path, to: &v6.entry(e).pointee.paths, store: &store) }
            _ = v6.insert(key, paths: PathSet(single: path, summaries: store.summaries))
            countV6Length(key.length, by: 1)
        case .none:
            return .rejected
        }
        store.retain(attributes)
        pathCount += 1
        return .added
    }

    private mutating func add(_ path: Path, to paths: inout PathSet, store: inout AttributeStore) -> Announced {
        let previousBest = paths.path(Int(paths.best), overflow)
        switch paths.upsert(path, overflow: overflow, summaries: store.summaries) {
        case .added:
            store.retain(path.attributes)
            pathCount += 1
            if BestPath.losesEarly(path, to: previousBest, summaries: store.summaries) {
                // The best path stays; only its index may have moved up by one.
                let best = Int(paths.best)
                let shifted = best + 1 < Int(paths.count) && paths.path(best + 1, overflow).pathID == previousBest.pathID
                paths.best = UInt16(shifted ? best + 1 : best)
                return .added
            }
            paths.best = selectBest(paths, store)
            return .added
        case .replaced(let old):
            // Retain first: a replace with the same attributes must not free them in between.
            store.retain(path.attributes)
            store.release(old)
            paths.best = selectBest(paths, store)
            return .replaced
        case .full:
            return .rejected
        }
    }

    /// Removes one path; false if the table did not hold it.
    mutating func withdraw(_ prefix: IPPrefix, pathID: UInt32, store: inout AttributeStore) -> Bool {
        switch prefix.address.family {
        case .v4:
            let key = IPv4Key(address: prefix.address.v4Value, length: prefix.length)
            guard let e = v4.find(key),
                  let old = v4.entry(e).pointee.paths.remove(pathID: pathID, overflow: overflow, summaries: store.summaries)
            else { return false }
            store.release(old)
            pathCount -= 1
            let paths = v4.entry(e).pointee.paths
            if paths.count > 0 {
                v4.entry(e).pointee.paths.best = selectBest(paths, store)
                return true
            }
            let cover = covering4(key.address, below: key.length)
            trie.remove(
                key.address, length: key.length, value: IPv4Trie.value(entry: e, length: key.length),
                replacement: cover.map { IPv4Trie.value(entry: $0.entry, length: $0.length) } ?? 0)
            v4.remove(e)
            countV4Length(key.length, by: -1)
        case .v6:
            let key = IPv6Key(high: prefix.address.high, low: prefix.address.low, length: prefix.length)
            guard let e = v6.find(key),
                  let old = v6.entry(e).pointee.paths.remove(pathID: pathID, overflow: overflow, summaries: store.summaries)
            else { return false }
            store.release(old)
            pathCount -= 1
            let paths = v6.entry(e).pointee.paths
            if paths.count > 0 {
                v6.entry(e).pointee.paths.best = selectBest(paths, store)
                return true
            }
            v6.remove(e)
            countV6Length(key.length, by: -1)
        case .none:
            return false
        }
        return true
    }

    private func selectBest(_ paths: PathSet, _ store: AttributeStore) -> UInt16 {
        UInt16(paths.withPaths(overflow) { BestPath.select($0, summaries: store.summaries, peerBGPID: bgpID) })
    }

    private mutating func countV4Length(_ length: UInt8, by delta: Int32) {
        let l = Int(length)
        v4LengthCounts[l] += delta
        if v4LengthCounts[l] > 0 { v4Lengths |= 1 << UInt64(l) } else { v4Lengths &= ~(1 << UInt64(l)) }
    }

    private mutating func countV6Length(_ length: UInt8, by delta: Int32) {
        let l = Int(length)
        let wasHeld = v6LengthCounts[l] > 0
        v6LengthCounts[l] += delta
        guard wasHeld != (v6LengthCounts[l] > 0) else { return }
        var n = 0
        for candidate in stride(from: 128, through: 0, by: -1) where v6LengthCounts[candidate] > 0 {
            v6LengthList[n] = UInt8(candidate)
            n += 1
        }
        v6LengthCount = n
    }

    /// Gives back every path's use of its attributes (a router going away).
    func releaseAll(store: inout AttributeStore) {
        for e in 0..<v4.entryCount where v4.entry(e).pointee.paths.count > 0 {
            v4.entry(e).pointee.paths.withPaths(overflow) { for path in $0 { store.release(path.attributes) } }
        }
        for e in 0..<v6.entryCount where v6.entry(e).pointee.paths.count > 0 {
            v6.entry(e).pointee.paths.withPaths(overflow) { for path in $0 { store.release(path.attributes) } }
        }
    }

    mutating func deallocate() {
        v4.deallocate()
        v6.deallocate()
        trie.deallocate()
        v4LengthCounts.free()
        v6LengthList.free()
        v6LengthCounts.free()
        overflow.deinitialize(count: 1)
        overflow.deallocate()
    }

    var tableBytes: Int {
        MemoryLayout<RouterTable>.stride + v4.bytes + v6.bytes + trie.bytes + overflow.pointee.bytes
            + v4LengthCounts.bytes + v6LengthList.bytes + v6LengthCounts.bytes
    }

    // MARK: Readers

    /// The entry of the longest IPv4 prefix shorter than `length` covering `address`.
    @inline(__always)
    func covering4(_ address: UInt32, below length: UInt8) -> (entry: Int, length: UInt8)? {
        var lengths = v4Lengths & ((1 << UInt64(length)) &- 1)
        while lengths != 0 {
            let l = 63 - lengths.leadingZeroBitCount
            let masked = l == 0 ? 0 : address & (UInt32.max << UInt32(32 - l))
            if let e = v4.find(IPv4Key(address: masked, length: UInt8(l))) { return (e, UInt8(l)) }
            lengths &= ~(1 << UInt64(l))
        }
        return nil
    }

    /// The entry of the longest IPv6 prefix shorter than `length` covering the address.
    @inline(__always)
    func covering6(_ high: UInt64, _ low: UInt64, below length: Int) -> Int? {
        for i in 0..<v6LengthCount {
            let l = Int(v6LengthList[i])
            if l >= length { continue }
            let (h, lo) = Self.mask6(high, low, l)
            if let e = v6.find(IPv6Key(high: h, low: lo, length: UInt8(l))) { return e }
        }
        return nil
    }

    @inline(__always)
    static func mask6(_ high: UInt64, _ low: UInt64, _ length: Int) -> (UInt64, UInt64) {
        if length <= 64 { return (length == 0 ? 0 : high & (UInt64.max << UInt64(64 - length)), 0) }
        return (high, length == 128 ? low : low & (UInt64.max << UInt64(128 - length)))
    }

    // Flow lookups go through a pointer to the table and read only the fields they need:
    // calling a method on the whole table would copy all of it first.

    /// DESIGN §3 steps 3–5 (see `PathMatch.Kind`).
    @inline(__always)
    static func match(
        _ table: UnsafePointer<RouterTable>, _ destination: IPAddress, nextHop: IPAddress, summaries: RawBuffer<AttributeSummary>
    ) -> PathMatch {
        switch destination.family {
        case .v4:
            let v = IPv4Trie.lookup(table.pointee.trie.root, table.pointee.trie.level2, table.pointee.trie.level3, destination.v4Value)
            if v == 0 { return .noRoute }
            return finish4(table, table.pointee.v4.entries[IPv4Trie.entry(v)], destination.v4Value, nextHop, summaries)
        case .v6:
            return table.pointee.match6(destination, nextHop: nextHop, summaries: summaries)
        case .none:
            return .noRoute
        }
    }

    /// The rest of an IPv4 match once the longest prefix's entry is loaded.
    @inline(__always)
    static func finish4(
        _ table: UnsafePointer<RouterTable>, _ slot: PrefixSlot<IPv4Key>, _ destination: UInt32, _ nextHop: IPAddress,
        _ summaries: RawBuffer<AttributeSummary>
    ) -> PathMatch {
        let paths = slot.paths
        let address = IPAddress(v4: slot.key.address)
        let length = slot.key.length
        if nextHop.isNone { return best(paths, .best, address, length, table.pointee.overflow) }
        if paths.isInline && nextHop.family == .v4, let path = inlinePath(in: paths, nextHop: nextHop.v4Value) {
            return PathMatch(kind: .exact, path: path, prefixAddress: address, prefixLength: length)
        }
        return table.pointee.finishSlowly4(slot, destination, nextHop, summaries)
    }

    /// The inline path whose IPv4 next-hop is `nextHop`: the best one if it has it, else the
    /// lowest path id that does. Reads only the entry.
    @inline(__always)
    static func inlinePath(in paths: PathSet, nextHop: UInt32) -> Path? {
        let best = Int(paths.best)
        if paths.inlineHasNextHop(best, nextHop) { return paths.inlinePath(best) }
        for i in 0..<Int(paths.count) where i != best && paths.inlineHasNextHop(i, nextHop) {
            return paths.inlinePath(i)
        }
        return nil
    }

    /// An IPv4 match that is not an exact one on an inline path: overflowing path lists,
    /// next-hops of another family, the walk to covering prefixes.
    @inline(never)
    private func finishSlowly4(_ slot: PrefixSlot<IPv4Key>, _ destination: UInt32, _ nextHop: IPAddress, _ summaries: RawBuffer<AttributeSummary>) -> PathMatch {
        let address = IPAddress(v4: slot.key.address)
        if let path = path(in: slot.paths, nextHop: nextHop, summaries) {
            return PathMatch(kind: .exact, path: path, prefixAddress: address, prefixLength: slot.key.length)
        }
        var below = slot.key.length
        while let up = covering4(destination, below: below) {
            let upSlot = v4.entry(up.entry).pointee
            if let path = path(in: upSlot.paths, nextHop: nextHop, summaries) {
                return PathMatch(kind: .covering, path: path, prefixAddress: IPAddress(v4: upSlot.key.address), prefixLength: up.length)
            }
            below = up.length
        }
        return Self.best(slot.paths, .mismatch, address, slot.key.length, overflow)
    }

    private func match6(_ destination: IPAddress, nextHop: IPAddress, summaries: RawBuffer<AttributeSummary>) -> PathMatch {
        guard let e = covering6(destination.high, destination.low, below: 129) else { return .noRoute }
        let slot = v6.entry(e).pointee
        let address = IPAddress(v6High: slot.key.high, low: slot.key.low)
        if nextHop.isNone { return Self.best(slot.paths, .best, address, slot.key.length, overflow) }
        if let path = path(in: slot.paths, nextHop: nextHop, summaries) {
            return PathMatch(kind: .exact, path: path, prefixAddress: address, prefixLength: slot.key.length)
        }
        var below = Int(slot.key.length)
        while let up = covering6(destination.high, destination.low, below: below) {
            let upSlot = v6.entry(up).pointee
            if let path = path(in: upSlot.paths, nextHop: nextHop, summaries) {
                return PathMatch(
                    kind: .covering, path: path, prefixAddress: IPAddress(v6High: upSlot.key.high, low: upSlot.key.low),
                    prefixLength: upSlot.key.length)
            }
            below = Int(upSlot.key.length)
        }
        return Self.best(slot.paths, .mismatch, address, slot.key.length, overflow)
    }

    @inline(__always)
    private static func best(
        _ paths: PathSet, _ kind: PathMatch.Kind, _ address: IPAddress, _ length: UInt8, _ overflow: UnsafeMutablePointer<PathOverflow>
    ) -> PathMatch {
        let path = paths.isInline ? paths.inlinePath(Int(paths.best)) : paths.path(Int(paths.best), overflow)
        return PathMatch(kind: kind, path: path, prefixAddress: address, prefixLength: length)
    }

    /// The path with `nextHop`: the best one if it has it, else the lowest path id that does.
    private func path(in paths: PathSet, nextHop: IPAddress, _ summaries: RawBuffer<AttributeSummary>) -> Path? {
        if paths.isInline && nextHop.family == .v4 { return Self.inlinePath(in: paths, nextHop: nextHop.v4Value) }
        let best = Int(paths.best)
        return paths.withPaths(overflow) { list in
            if summaries[Int(list[best].attributes.rawValue)].hasNextHop(nextHop) { return list[best] }
            return list.first { summaries[Int($0.attributes.rawValue)].hasNextHop(nextHop) }
        }
    }

    /// The entry of the longest prefix covering `address`.
    func longestMatch(_ address: IPAddress) -> PrefixEntry? {
        switch address.family {
        case .v4:
            let v = trie.lookup(address.v4Value)
            return v == 0 ? nil : entry4(IPv4Trie.entry(v))
        case .v6:
            return covering6(address.high, address.low, below: 129).map(entry6)
        case .none:
            return nil
        }
    }

    /// The entry of exactly `prefix`.
    func entry(_ prefix: IPPrefix) -> PrefixEntry? {
        switch prefix.address.family {
        case .v4: v4.find(IPv4Key(address: prefix.address.v4Value, length: prefix.length)).map(entry4)
        case .v6: v6.find(IPv6Key(high: prefix.address.high, low: prefix.address.low, length: prefix.length)).map(entry6)
        case .none: nil
        }
    }

    /// The paths of exactly `prefix`, without copying them out.
    private func pathSet(_ prefix: IPPrefix) -> PathSet? {
        switch prefix.address.family {
        case .v4: v4.find(IPv4Key(address: prefix.address.v4Value, length: prefix.length)).map { v4.entry($0).pointee.paths }
        case .v6: v6.find(IPv6Key(high: prefix.address.high, low: prefix.address.low, length: prefix.length)).map { v6.entry($0).pointee.paths }
        case .none: nil
        }
    }

    /// The best path of exactly `prefix`; nil when the table has no path for it.
    func bestPath(_ prefix: IPPrefix) -> Path? {
        guard let paths = pathSet(prefix), paths.count > 0 else { return nil }
        return paths.path(Int(paths.best), overflow)
    }

    /// The path of `prefix` with `pathID`, if the table holds it.
    func path(_ prefix: IPPrefix, pathID: UInt32) -> Path? {
        guard let paths = pathSet(prefix), paths.count > 0 else { return nil }
        return paths.withPaths(overflow) { list in list.first { $0.pathID == pathID } }
    }

    private func entry4(_ e: Int) -> PrefixEntry {
        let slot = v4.entry(e).pointee
        return PrefixEntry(
            prefix: IPPrefix(address: IPAddress(v4: slot.key.address), length: slot.key.length),
            paths: slot.paths.array(overflow), bestIndex: Int(slot.paths.best))
    }

    private func entry6(_ e: Int) -> PrefixEntry {
        let slot = v6.entry(e).pointee
        return PrefixEntry(
            prefix: IPPrefix(address: IPAddress(v6High: slot.key.high, low: slot.key.low), length: slot.key.length),
            paths: slot.paths.array(overflow), bestIndex: Int(slot.paths.best))
    }

    /// Every path, IPv4 prefixes first, in no particular prefix order.
    func forEachPath(_ body: (IPPrefix, Path, Bool) throws -> Void) rethrows {
        for e in 0..<v4.entryCount {
            let slot = v4.entry(e).pointee
            guard slot.paths.count > 0 else { continue }
            let prefix = IPPrefix(address: IPAddress(v4: slot.key.address), length: slot.key.length)
            for i in 0..<Int(slot.paths.count) { try body(prefix, slot.paths.path(i, overflow), i == Int(slot.paths.best)) }
        }
        for e in 0..<v6.entryCount {
            let slot = v6.entry(e).pointee
            guard slot.paths.count > 0 else { continue }
            let prefix = IPPrefix(address: IPAddress(v6High: slot.key.high, low: slot.key.low), length: slot.key.length)
            for i in 0..<Int(slot.paths.count) { try body(prefix, slot.paths.path(i, overflow), i == Int(slot.paths.best)) }
        }
    }
}
