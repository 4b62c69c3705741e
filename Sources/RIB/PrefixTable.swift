/// A prefix as a table key: address bits and length, already masked.
protocol PrefixKey: BitwiseCopyable, Equatable {
    var length: UInt8 { get }
    /// 64 well-mixed bits; the table takes the top ones.
    var mixed: UInt64 { get }
    static var zero: Self { get }
}

/// Per-process random seed, so peers cannot choose prefixes that collide in our tables.
let prefixHashSeed = UInt64.random(in: 1...UInt64.max) | 1

struct IPv4Key: PrefixKey {
    var address: UInt32
    var length: UInt8

    @inline(__always)
    var mixed: UInt64 {
        ((UInt64(address) << 8 | UInt64(length)) ^ prefixHashSeed) &* 0x9E37_79B9_7F4A_7C15
    }

    static let zero = IPv4Key(address: 0, length: 0)
}

struct IPv6Key: PrefixKey {
    var high: UInt64
    var low: UInt64
    var length: UInt8

    @inline(__always)
    var mixed: UInt64 {
        var h = (high ^ prefixHashSeed) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 29) ^ low) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 31) ^ UInt64(length)) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 32)
    }

    static let zero = IPv6Key(high: 0, low: 0, length: 0)
}

/// One prefix and its paths. The entry index is what the LPM structures store.
struct PrefixSlot<Key: PrefixKey>: BitwiseCopyable {
    var paths: PathSet
    var key: Key
}

/// The source of truth for one router and one address family: entries in a slab (indices
/// stay put while the prefix lives), found by (address, length) through an open-addressing
/// index with linear probing and backward-shift deletion.
struct PrefixTable<Key: PrefixKey>: BitwiseCopyable {
    private(set) var entries = RawBuffer<PrefixSlot<Key>>()
    /// Entries below this have been used; free ones have no paths and chain through `link`.
    private(set) var entryCount = 0
    private var freeHead: UInt32 = 0
    /// Entry index + 1, 0 for an empty slot; capacity a power of two.
    private var slots = RawBuffer<UInt32>()
    private var shift: UInt64 = 64
    private(set) var count = 0

    @inline(__always)
    private func home(_ key: Key) -> Int {
        Int(truncatingIfNeeded: key.mixed >> shift)
    }

    /// The entry of `key`, if held.
    @inline(__always)
    func find(_ key: Key) -> Int? {
        guard count > 0 else { return nil }
        let mask = slots.capacity - 1
        var i = home(key)
        while true {
            let slot = slots[i]
            if slot == 0 { return nil }
            if entries[Int(slot) - 1].key == key { return Int(slot) - 1 }
            i = (i + 1) & mask
        }
    }

    @inline(__always)
    func entry(_ index: Int) -> UnsafeMutablePointer<PrefixSlot<Key>> {
        entries.pointer(index)
    }

    /// Adds `key` (which must be absent) with `paths`; returns its entry index.
    mutating func insert(_ key: Key, paths: PathSet) -> Int {
        if (count + 1) * 4 > slots.capacity * 3 { resize(Swift.max(64, slots.capacity * 2)) }
        let index: Int
        if freeHead != 0 {
            index = Int(freeHead) - 1
            freeHead = entries[index].paths.link
        } else {
            entries.reserve(entryCount + 1, filling: PrefixSlot(paths: .empty, key: .zero))
            index = entryCount
            entryCount += 1
        }
        entries[index] = PrefixSlot(paths: paths, key: key)
        let mask = slots.capacity - 1
        var i = home(key)
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = UInt32(index + 1)
        count += 1
        return index
    }

    /// Removes the entry at `index`; its index may be handed out again.
    mutating func remove(_ index: Int) {
        let key = entries[index].key
        let mask = slots.capacity - 1
        var hole = home(key)
        while slots[hole] != UInt32(index + 1) { hole = (hole + 1) & mask }
        var j = hole
        while true {
            j = (j + 1) & mask
            let slot = slots[j]
            if slot == 0 { break }
            let h = home(entries[Int(slot) - 1].key)
            let stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j)
            if !stays {
                slots[hole] = slot
                hole = j
            }
        }
        slots[hole] = 0
        entries[index].paths = .empty
        entries[index].paths.link = freeHead
        freeHead = UInt32(index + 1)
        count -= 1
    }

    private mutating func resize(_ capacity: Int) {
        slots.free()
        slots = RawBuffer(repeating: 0, count: capacity)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        let mask = capacity - 1
        for index in 0..<entryCount where entries[index].paths.count > 0 {
            var i = home(entries[index].key)
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = UInt32(index + 1)
        }
    }

    var bytes: Int { entries.bytes + slots.bytes }

    mutating func deallocate() {
        entries.free()
        slots.free()
        freeHead = 0
        entryCount = 0
        count = 0
    }
}
