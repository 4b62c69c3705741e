import BGPWire

/// Interned attribute sets (BIRD's `rta_lookup()` idea): each distinct `PathAttributes` is held
/// once, named by a 32-bit `AttributesRef`, counted by the paths that use it and freed when the
/// last one goes.
///
/// Threading: the RIB's writer owns it. Readers only read `attributes(_:)` and `summaries` of
/// references their table holds, so the writer may release other sets while they read (which
/// `RIB.removeRouter` does without the lock). Storage only moves under the RIB's write lock.
struct AttributeStore: BitwiseCopyable {
    /// Slots below `slotCount` are always initialised; a free slot holds an empty set.
    private var values: UnsafeMutablePointer<PathAttributes>?
    private var valueCapacity = 0
    private(set) var summaries = RawBuffer<AttributeSummary>()
    private var refcounts = RawBuffer<UInt32>()
    private var slotCount = 0
    private var freeSlots = RawStack()
    /// Open addressing, linear probing: reference + 1, 0 for an empty slot.
    private var index = RawBuffer<UInt32>()
    private(set) var count = 0
    /// Numbers each set interned, so a reader's cache keyed by reference can tell a reused slot.
    private var nextSerial: UInt32 = 1
    /// The use count of a free slot.
    private static let freeMark = UInt32.max

    init() {}

    /// The reference of `attributes`, added if new. Does not count a use: a new set starts
    /// unreferenced until `retain`, and `dropIfUnused` frees it if nothing took it.
    mutating func intern(_ attributes: PathAttributes) -> AttributesRef {
        let hash = Self.hash(attributes)
        if index.capacity > 0 {
            let mask = index.capacity - 1
            var i = hash & mask
            while true {
                let slot = index[i]
                if slot == 0 { break }
                let ref = Int(slot - 1)
                if summaries[ref].hash == hash && Self.equal(values.unsafelyUnwrapped + ref, attributes) {
                    return AttributesRef(rawValue: UInt32(ref))
                }
                i = (i + 1) & mask
            }
        }
        let ref = allocateSlot()
        values.unsafelyUnwrapped[ref] = attributes
        summaries[ref] = AttributeSummary(attributes, hash: hash, serial: nextSerial)
        nextSerial &+= 1
        refcounts[ref] = 0
        count += 1
        if (count * 2) > index.capacity { rebuildIndex(capacity: Swift.max(64, index.capacity * 2)) } else { insertIntoIndex(ref) }
        return AttributesRef(rawValue: UInt32(ref))
    }

    /// Compares in place: copying the stored set would retain and release each of its arrays.
    private static func equal(_ stored: UnsafePointer<PathAttributes>, _ attributes: borrowing PathAttributes) -> Bool {
        stored.pointee == attributes
    }

    /// A multiply-xorshift hash over the fields that tell sets apart in practice, seeded per
    /// process: several times cheaper than `Hasher`, and equality still decides.
    static func hash(_ a: borrowing PathAttributes) -> Int {
        var h = prefixHashSeed
        @inline(__always) func mix(_ v: UInt64) {
            h = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        mix(UInt64(a.origin?.rawValue ?? 3) | UInt64(a.nextHop.family.rawValue) << 8 | UInt64(a.asPath.count) << 16)
        mix(a.nextHop.high)
        mix(a.nextHop.low)
        mix(UInt64(a.localPref ?? 0) << 32 | UInt64(a.localPref == nil ? 0 : 1) << 31 | UInt64(a.originatorID ?? 0))
        mix(UInt64(a.med ?? 0) << 1 | (a.med == nil ? 0 : 1))
        for segment in a.asPath {
            mix(UInt64(segment.kind.rawValue) << 32 | UInt64(segment.asns.count))
            for asn in segment.asns { mix(UInt64(asn)) }
        }
        for community in a.communities { mix(UInt64(community)) }
        for community in a.extendedCommunities { mix(community) }
        for community in a.largeCommunities { mix(UInt64(community.global) << 32 | UInt64(community.local1)); mix(UInt64(community.local2)) }
        for id in a.clusterList { mix(UInt64(id)) }
        h ^= h >> 32
        return Int(truncatingIfNeeded: h &* 0xD6E8_FEB8_6659_FD93)
    }

    @inline(__always)
    mutating func retain(_ ref: AttributesRef) {
        refcounts[Int(ref.rawValue)] &+= 1
    }

    /// One path stopped using `ref`; the set is freed with its last use.
    @inline(__always)
    mutating func release(_ ref: AttributesRef) {
        let r = Int(ref.rawValue)
        let n = refcounts[r] - 1
        refcounts[r] = n
        if n == 0 { free(r) }
    }

    /// Frees a set `intern` made that no path took (every route of its UPDATE was refused).
    mutating func dropIfUnused(_ ref: AttributesRef) {
        if refcounts[Int(ref.rawValue)] == 0 { free(Int(ref.rawValue)) }
    }

    func attributes(_ ref: AttributesRef) -> PathAttributes {
        precondition(Int(ref.rawValue) < slotCount, "RIB: \(ref) is not an attribute set of this RIB")
        return values.unsafelyUnwrapped[Int(ref.rawValue)]
    }

    func references(_ ref: AttributesRef) -> Int {
        precondition(Int(ref.rawValue) < slotCount, "RIB: \(ref) is not an attribute set of this RIB")
        let n = refcounts[Int(ref.rawValue)]
        return n == Self.freeMark ? 0 : Int(n)
    }

    /// Bytes of the arena and index (not the sets' own arrays).
    var tableBytes: Int {
        valueCapacity * MemoryLayout<PathAttributes>.stride + summaries.bytes + refcounts.bytes + index.bytes
            + freeSlots.bytes
    }

    mutating func deallocate() {
        if let values {
            values.deinitialize(count: slotCount)
            values.deallocate()
        }
        values = nil
        summaries.free()
        refcounts.free()
        index.free()
        freeSlots.free()
    }

    private mutating func allocateSlot() -> Int {
        if let slot = freeSlots.pop() { return Int(slot) }
        let slot = slotCount
        if slot == valueCapacity {
            // 1.5×, not 2×: the arena is the RIB's largest table after the prefix entries.
            let newCapacity = Swift.max(64, valueCapacity + valueCapacity / 2)
            // Refs are 32-bit; a RIB with four billion distinct attribute sets is not a real one.
            precondition(newCapacity <= Int(UInt32.max), "RIB: attribute arena full")
            let grown = UnsafeMutablePointer<PathAttributes>.allocate(capacity: newCapacity)
            if let values {
                grown.moveInitialize(from: values, count: slotCount)
                values.deallocate()
            }
            values = grown
            valueCapacity = newCapacity
            summaries.grow(to: newCapacity, filling: AttributeSummary(PathAttributes(), hash: 0, serial: 0))
            refcounts.grow(to: newCapacity, filling: Self.freeMark)
        }
        (values.unsafelyUnwrapped + slot).initialize(to: PathAttributes())
        slotCount += 1
        return slot
    }

    private mutating func free(_ ref: Int) {
        removeFromIndex(ref)
        values.unsafelyUnwrapped[ref] = PathAttributes()
        refcounts[ref] = Self.freeMark
        freeSlots.push(UInt32(ref))
        count -= 1
    }

    private func insertIntoIndex(_ ref: Int) {
        let mask = index.capacity - 1
        var i = summaries[ref].hash & mask
        while index[i] != 0 { i = (i + 1) & mask }
        index[i] = UInt32(ref + 1)
    }

    private mutating func rebuildIndex(capacity: Int) {
        index.free()
        index = RawBuffer(repeating: 0, count: capacity)
        for ref in 0..<slotCount where refcounts[ref] != Self.freeMark {
            insertIntoIndex(ref)
        }
    }

    /// Backward-shift deletion keeps probe chains whole without tombstones.
    private func removeFromIndex(_ ref: Int) {
        let mask = index.capacity - 1
        var hole = summaries[ref].hash & mask
        while index[hole] != UInt32(ref + 1) { hole = (hole + 1) & mask }
        var j = hole
        while true {
            j = (j + 1) & mask
            let slot = index[j]
            if slot == 0 { break }
            let home = summaries[Int(slot - 1)].hash & mask
            let stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
            if !stays {
                index[hole] = slot
                hole = j
            }
        }
        index[hole] = 0
    }
}
