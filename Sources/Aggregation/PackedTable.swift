import CPrefetch

/// An open-addressing hash table from `PackedKey` to `Counters`, for a view's rows.
///
/// Every row is one 64-byte entry on its own cache line (key, bin, flows and a used bit,
/// packets, bytes), so a lookup costs one memory access. Linear probing over a power-of-two
/// array kept at most 5/8 full; the hash is the key's own multiply-xor fold, started from a
/// per-process random seed, so no `Hasher` runs per flow.
///
/// A class over manually managed memory: it is owned by one view at a time and handed over
/// whole at a flush, never shared between threads.
final class PackedTable: @unchecked Sendable {
    static let entrySize = 64
    /// Byte offsets inside an entry.
    static let binOffset = 40, tagOffset = 44, packetsOffset = 48, bytesOffset = 56
    /// Bit 31 of the tag marks a used entry; bits 0–30 count flows.
    static let usedBit: UInt32 = 1 << 31

    private var base: UnsafeMutableRawPointer
    private(set) var count = 0
    /// Additions that left a row's counter at its maximum.
    private(set) var saturated: UInt64 = 0
    /// Flows a row counts in its tag's 31 bits.
    static let maximumFlows = UInt64(~usedBit)
    private var mask: Int

    static let seed: UInt64 = {
        var generator = SystemRandomNumberGenerator()
        return generator.next() | 1
    }()

    init(minimumCapacity: Int = 0) {
        var capacity = 16
        while capacity * 5 / 8 < minimumCapacity { capacity *= 2 }
        mask = capacity - 1
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity * Self.entrySize, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: capacity * Self.entrySize)
    }

    deinit {
        base.deallocate()
    }

    var isEmpty: Bool { count == 0 }
    var capacity: Int { mask + 1 }

    @inline(__always)
    static func hash(_ k: PackedKey) -> UInt64 {
        @inline(__always) func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
            let x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            return x ^ (x >> 29)
        }
        var h = mix(seed, k.w0)
        h = mix(h, k.w1)
        h = mix(h, k.w2)
        h = mix(h, k.w3)
        h = mix(h, k.w4 ^ UInt64(k.bin) << 32)
        return h
    }

    /// The slot where probing for `key` starts.
    @inline(__always)
    func home(_ key: PackedKey) -> Int {
        Int(truncatingIfNeeded: Self.hash(key)) & mask
    }

    /// Starts loading a slot's cache line before `add` needs it: prefetching a batch of slots
    /// first lets the memory loads overlap, without waiting for any.
    @inline(__always)
    func prefetch(_ slot: Int) {
        pathflow_prefetch_write(base + slot * Self.entrySize)
    }

    @inline(__always)
    private func entry(_ slot: Int) -> UnsafeMutableRawPointer {
        base + slot * Self.entrySize
    }

    @inline(__always)
    private static func matches(_ e: UnsafeMutableRawPointer, _ k: PackedKey) -> Bool {
        e.load(as: UInt64.self) == k.w0
            && e.load(fromByteOffset: 8, as: UInt64.self) == k.w1
            && e.load(fromByteOffset: 16, as: UInt64.self) == k.w2
            && e.load(fromByteOffset: 24, as: UInt64.self) == k.w3
            && e.load(fromByteOffset: 32, as: UInt64.self) == k.w4
            && e.load(fromByteOffset: binOffset, as: UInt32.self) == k.bin
    }

    /// Adds `counters` to the row of `key`, creating it when there is room below `limit` rows.
    /// Returns false when the row did not exist and the table is at `limit`.
    @inline(__always)
    func add(_ key: PackedKey, _ counters: Counters, limit: Int) -> Bool {
        add(key, counters, limit: limit, from: home(key))
    }

    @inline(__always)
    func add(_ key: PackedKey, _ counters: Counters, limit: Int, from start: Int) -> Bool {
        var slot = start
        while true {
            let e = entry(slot)
            let tag = e.load(fromByteOffset: Self.tagOffset, as: UInt32.self)
            if tag & Self.usedBit == 0 { break }
            if Self.matches(e, key) {
                // Counters saturate: flows at the tag's 31 bits, packets and bytes at Int64.max.
                let flows = min(UInt64(tag & ~Self.usedBit) &+ counters.flows, Self.maximumFlows)
                e.storeBytes(of: Self.usedBit | UInt32(flows), toByteOffset: Self.tagOffset, as: UInt32.self)
                let packets = Counters.sum(e.load(fromByteOffset: Self.packetsOffset, as: UInt64.self), counters.packets)
                let bytes = Counters.sum(e.load(fromByteOffset: Self.bytesOffset, as: UInt64.self), counters.bytes)
                e.storeBytes(of: packets, toByteOffset: Self.packetsOffset, as: UInt64.self)
                e.storeBytes(of: bytes, toByteOffset: Self.bytesOffset, as: UInt64.self)
                if flows == Self.maximumFlows || packets == Counters.maximum || bytes == Counters.maximum { saturated &+= 1 }
                return true
            }
            slot = (slot + 1) & mask
        }
        guard count < limit else { return false }
        store(key, counters, at: entry(slot))
        count += 1
        if count * 8 > capacity * 5 { grow() }
        return true
    }

    @inline(__always)
    private func store(_ key: PackedKey, _ counters: Counters, at e: UnsafeMutableRawPointer) {
        e.storeBytes(of: key.w0, as: UInt64.self)
        e.storeBytes(of: key.w1, toByteOffset: 8, as: UInt64.self)
        e.storeBytes(of: key.w2, toByteOffset: 16, as: UInt64.self)
        e.storeBytes(of: key.w3, toByteOffset: 24, as: UInt64.self)
        e.storeBytes(of: key.w4, toByteOffset: 32, as: UInt64.self)
        e.storeBytes(of: key.bin, toByteOffset: Self.binOffset, as: UInt32.self)
        let flows = UInt32(min(counters.flows, Self.maximumFlows))
        e.storeBytes(of: Self.usedBit | flows, toByteOffset: Self.tagOffset, as: UInt32.self)
        e.storeBytes(of: counters.packets, toByteOffset: Self.packetsOffset, as: UInt64.self)
        e.storeBytes(of: counters.bytes, toByteOffset: Self.bytesOffset, as: UInt64.self)
    }

    /// Doubles the table in place of this one's memory (the view holds the same object).
    private func grow() {
        let bigger = PackedTable(minimumCapacity: capacity * 5 / 8 * 2 + 1)
        forEach { key, counters in
            var slot = bigger.home(key)
            while bigger.entry(slot).load(fromByteOffset: Self.tagOffset, as: UInt32.self) & Self.usedBit != 0 {
                slot = (slot + 1) & bigger.mask
            }
            bigger.store(key, counters, at: bigger.entry(slot))
            bigger.count += 1
        }
        // Take the bigger memory; `bigger` frees the old one when it goes.
        let old = base
        base = bigger.base
        mask = bigger.mask
        count = bigger.count
        bigger.base = old
    }

    func forEach(_ body: (PackedKey, Counters) throws -> Void) rethrows {
        for slot in 0..<capacity {
            let e = entry(slot)
            let tag = e.load(fromByteOffset: Self.tagOffset, as: UInt32.self)
            guard tag & Self.usedBit != 0 else { continue }
            var key = PackedKey()
            key.w0 = e.load(as: UInt64.self)
            key.w1 = e.load(fromByteOffset: 8, as: UInt64.self)
            key.w2 = e.load(fromByteOffset: 16, as: UInt64.self)
            key.w3 = e.load(fromByteOffset: 24, as: UInt64.self)
            key.w4 = e.load(fromByteOffset: 32, as: UInt64.self)
            key.bin = e.load(fromByteOffset: Self.binOffset, as: UInt32.self)
            try body(key, Counters(
                packets: e.load(fromByteOffset: Self.packetsOffset, as: UInt64.self),
                bytes: e.load(fromByteOffset: Self.bytesOffset, as: UInt64.self),
                flows: UInt64(tag & ~Self.usedBit)))
        }
    }
}
