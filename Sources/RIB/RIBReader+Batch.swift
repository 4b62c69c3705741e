import NetCore

extension RIBReader {
    /// Lookups are interleaved in groups of this many.
    static let group = 32

    /// `match(destination:nextHop:router:)` for many flows, `results[i]` for `lookups[i]`.
    ///
    /// A lookup in a full table waits on memory two or three times (a level-2 chunk of the trie,
    /// then the prefix entry); one lookup at a time runs at memory latency. Here a group of
    /// lookups goes through the trie and the entries stage by stage, and each stage that can
    /// miss the cache is a bare loop of loads, so the processor keeps many misses in flight.
    public func match(_ lookups: UnsafeBufferPointer<FlowLookup>, into results: UnsafeMutableBufferPointer<PathMatch>) {
        precondition(results.count >= lookups.count, "RIBReader.match: results shorter than lookups")
        withUnsafeTemporaryAllocation(of: Lane.self, capacity: Self.group) { lanes in
            withUnsafeTemporaryAllocation(of: PrefixSlot<IPv4Key>.self, capacity: Self.group) { entries in
                var start = 0
                while start < lookups.count {
                    let n = Swift.min(Self.group, lookups.count - start)
                    matchGroup(
                        UnsafeBufferPointer(rebasing: lookups[start..<(start + n)]), results.baseAddress! + start,
                        lanes.baseAddress!, entries.baseAddress!)
                    start += n
                }
            }
        }
    }

    /// `match(_:into:)` into a new array.
    public func match(_ lookups: [FlowLookup]) -> [PathMatch] {
        lookups.withUnsafeBufferPointer { lookups in
            [PathMatch](unsafeUninitializedCapacity: lookups.count) { results, count in
                match(lookups, into: results)
                count = lookups.count
            }
        }
    }

    /// One lookup's state between stages.
    struct Lane {
        var table: UnsafeMutablePointer<RouterTable>?
        var level2: UnsafeMutablePointer<UInt32>?
        var address: UInt32
        /// Trie slot value: a link while descending, then the prefix's value (0: no route).
        var slot: UInt32
        var word: UInt64
        var bases: UInt32
        var run: Int
    }

    @inline(__always)
    private func matchGroup(
        _ lookups: UnsafeBufferPointer<FlowLookup>, _ results: UnsafeMutablePointer<PathMatch>,
        _ lanes: UnsafeMutablePointer<Lane>, _ entries: UnsafeMutablePointer<PrefixSlot<IPv4Key>>
    ) {
        let n = lookups.count
        let link = IPv4Trie.link
        // Root slots (the 256 KiB root mostly stays cached). IPv6 and unknown routers: no table
        // here, they take the one-at-a-time path at the end.
        for i in 0..<n {
            let destination = lookups[i].destination
            var lane = Lane(table: nil, level2: nil, address: destination.v4Value, slot: 0, word: 0, bases: 0, run: 0)
            if destination.family == .v4, let t = RIBCore.table(core, lookups[i].router), let root = t.pointee.trie.root.base {
                lane.table = t
                lane.level2 = t.pointee.trie.level2.base
                lane.slot = root[Int(lane.address >> 16)]
            }
            lanes[i] = lane
        }
        // Level 2, first the run maps (a load or two from one chunk each), then the arithmetic,
        // then the runs.
        for i in 0..<n where lanes[i].slot & link != 0 {
            let chunk = UnsafeRawPointer(lanes[i].level2.unsafelyUnwrapped + Int(lanes[i].slot & ~link))
            lanes[i].word = chunk.loadUnaligned(fromByteOffset: Int((lanes[i].address >> 14) & 3) &* 8, as: UInt64.self)
            lanes[i].bases = chunk.load(fromByteOffset: 32, as: UInt32.self)
        }
        for i in 0..<n where lanes[i].slot & link != 0 {
            lanes[i].run = IPv4Trie.runIndex(
                chunk: Int(lanes[i].slot & ~link), position: Int((lanes[i].address >> 8) & 0xff), word: lanes[i].word, bases: lanes[i].bases)
        }
        for i in 0..<n where lanes[i].slot & link != 0 {
            lanes[i].slot = lanes[i].level2.unsafelyUnwrapped[lanes[i].run]
        }
        // Level 3 (prefixes longer than /24; rare).
        for i in 0..<n where lanes[i].slot & link != 0 {
            lanes[i].slot = lanes[i].table.unsafelyUnwrapped.pointee.trie.level3[Int(lanes[i].slot & ~link) << 8 | Int(lanes[i].address & 0xff)]
        }
        // Prefix entries: one cache line each, all loaded before any is used.
        for i in 0..<n where lanes[i].slot != 0 {
            entries[i] = lanes[i].table.unsafelyUnwrapped.pointee.v4.entries[IPv4Trie.entry(lanes[i].slot)]
        }
        let summaries = core.pointee.store.summaries
        for i in 0..<n {
            let lookup = lookups[i]
            let result: PathMatch
            if let table = lanes[i].table {
                result = lanes[i].slot == 0
                    ? .noRoute
                    : RouterTable.finish4(table, entries[i], lanes[i].address, lookup.nextHop, summaries)
            } else {
                result = match(destination: lookup.destination, nextHop: lookup.nextHop, router: lookup.router)
            }
            (results + i).initialize(to: result)
        }
    }
}
