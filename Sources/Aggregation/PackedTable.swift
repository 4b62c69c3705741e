/// An open-addressing hash table from `PackedKey` to `Counters`, for a view's rows.
///
/// Linear probing over power-of-two arrays kept at most 5/8 full. The hash is the key's own
/// multiply-xor fold, started from a per-process random seed, so no `Hasher` runs per flow.
struct PackedTable: Sendable {
    /// Key and counters side by side: a lookup touches one place in memory, not two.
    struct Entry: Sendable {
        var key: PackedKey
        var counters: Counters
    }

    private var entries: [Entry]
    /// 0: empty slot; otherwise the slot is used.
    private var used: [UInt8]
    private(set) var count = 0
    private var mask: Int

    static let seed: UInt64 = {
        var generator = SystemRandomNumberGenerator()
        return generator.next() | 1
    }()

    init(minimumCapacity: Int = 0) {
        var capacity = 16
        while capacity * 5 / 8 < minimumCapacity { capacity *= 2 }
        entries = Array(repeating: Entry(key: PackedKey(), counters: Counters()), count: capacity)
        used = Array(repeating: 0, count: capacity)
        mask = capacity - 1
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
        h = mix(h, k.w4)
        h = mix(h, k.w5)
        h = mix(h, k.w6 ^ UInt64(k.bin) << 32)
        return h
    }

    /// The slot where probing for `key` starts.
    @inline(__always)
    func home(_ key: PackedKey) -> Int {
        Int(truncatingIfNeeded: Self.hash(key)) & mask
    }

    /// Reads the start of a slot so that its cache lines are on their way before `add` needs
    /// them: touching a batch of slots first lets the memory loads overlap.
    @inline(__always)
    func touch(_ slot: Int) -> UInt64 {
        UInt64(used[slot]) &+ entries[slot].key.w0
    }

    /// Adds `counters` to the row of `key`, creating it when there is room below `limit` rows.
    /// Returns false when the row did not exist and the table is at `limit`.
    @inline(__always)
    mutating func add(_ key: PackedKey, _ counters: Counters, limit: Int) -> Bool {
        add(key, counters, limit: limit, from: home(key))
    }

    @inline(__always)
    mutating func add(_ key: PackedKey, _ counters: Counters, limit: Int, from start: Int) -> Bool {
        var slot = start
        while used[slot] != 0 {
            if entries[slot].key == key {
                entries[slot].counters.add(counters)
                return true
            }
            slot = (slot + 1) & mask
        }
        guard count < limit else { return false }
        entries[slot] = Entry(key: key, counters: counters)
        used[slot] = 1
        count += 1
        if count * 8 > (mask + 1) * 5 { grow() }
        return true
    }

    mutating func grow() {
        var bigger = PackedTable(minimumCapacity: (mask + 1) * 5 / 8 * 2 + 1)
        forEach { bigger.insertNew($0, $1) }
        self = bigger
    }

    private mutating func insertNew(_ key: PackedKey, _ counters: Counters) {
        var slot = Int(truncatingIfNeeded: Self.hash(key)) & mask
        while used[slot] != 0 { slot = (slot + 1) & mask }
        entries[slot] = Entry(key: key, counters: counters)
        used[slot] = 1
        count += 1
    }

    func forEach(_ body: (PackedKey, Counters) -> Void) {
        for slot in 0...mask where used[slot] != 0 {
            body(entries[slot].key, entries[slot].counters)
        }
    }
}
