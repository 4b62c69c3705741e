/// IPv4 longest-prefix match in a multibit trie with 16-8-8 strides: a 65,536-slot root, then
/// 256-slot chunks for /17–/24, then 256-slot chunks for /25–/32.
///
/// Every slot holds, for the addresses it covers, the most specific prefix covering them
/// (controlled prefix expansion), or a link to a chunk of the next level. A prefix's slot value
/// carries its length, so updates compare lengths without reading entries. A chunk exists
/// exactly while some prefix longer than its parent level lies inside it.
///
/// Level-2 chunks are stored compressed (as in Poptrie's leaf vectors): a 256-bit map of the
/// slots where the value changes, then one value per run. For the benchmark's million-prefix
/// table level 2 takes 16 MB instead of about 58 (10 bytes less per path), and what stays cached of
/// it is worth more; a lookup reads the map and then the run, usually from one or two cache
/// lines. The writer edits a chunk in its plain 256-slot form and stores it compressed again.
struct IPv4Trie: BitwiseCopyable {
    private(set) var root = RawBuffer<UInt32>()
    /// Compressed level-2 chunks: 8 words of run-start bitmap, 1 word of rank bases (bytes 0–2:
    /// runs before bitmap words 1–3; byte 3: the chunk's size class), then the run values.
    private(set) var level2 = RawBuffer<UInt32>()
    private(set) var level3 = RawBuffer<UInt32>()
    private var used2 = 0, used3 = 0
    /// Free level-2 chunks, one stack per size class.
    private var free2 = RawBuffer<RawStack>()
    private var free3 = RawStack()
    /// A chunk in plain form while the writer edits it (slots 0–255), and its run values (256–511).
    private var scratch = RawBuffer<UInt32>()
    private(set) var chunks = 0

    static let link: UInt32 = 1 << 31
    /// Entry indices fit in 25 bits beside the length and the link bit.
    static let maximumEntries = (1 << 25) - 2
    /// Run capacities of the level-2 size classes (about 1.5× apart, to waste little).
    static let runCapacities = [4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]
    static let header = 9

    @inline(__always)
    static func value(entry: Int, length: UInt8) -> UInt32 {
        UInt32(entry + 1) << 6 | UInt32(length)
    }

    @inline(__always)
    static func entry(_ value: UInt32) -> Int { Int(value >> 6) - 1 }

    @inline(__always)
    static func length(_ value: UInt32) -> UInt8 { UInt8(value & 63) }

    /// The slot value of the longest prefix covering `address`, 0 if none.
    @inline(__always)
    func lookup(_ address: UInt32) -> UInt32 {
        Self.lookup(root, level2, level3, address)
    }

    /// `lookup` on the three levels alone, so readers going through a pointer to the table copy
    /// nothing else.
    @inline(__always)
    static func lookup(_ root: RawBuffer<UInt32>, _ level2: RawBuffer<UInt32>, _ level3: RawBuffer<UInt32>, _ address: UInt32) -> UInt32 {
        guard let base = root.base else { return 0 }
        var s = base[Int(address >> 16)]
        if s & link != 0 {
            s = level2[runIndex(level2, Int(s & ~link), Int((address >> 8) & 0xff))]
            if s & link != 0 {
                s = level3[Int(s & ~link) << 8 | Int(address & 0xff)]
            }
        }
        return s
    }

    /// Where in `level2` the value of slot `position` of the chunk at `chunk` is.
    @inline(__always)
    static func runIndex(_ level2: RawBuffer<UInt32>, _ chunk: Int, _ position: Int) -> Int {
        let p = UnsafeRawPointer(level2.pointer(chunk))
        return runIndex(
            chunk: chunk, position: position, word: p.loadUnaligned(fromByteOffset: (position >> 6) &* 8, as: UInt64.self),
            bases: p.load(fromByteOffset: 32, as: UInt32.self))
    }

    /// `runIndex` from the chunk's bitmap word holding `position` and its rank bases.
    @inline(__always)
    static func runIndex(chunk: Int, position: Int, word: UInt64, bases: UInt32) -> Int {
        let w = position >> 6
        let before = w == 0 ? 0 : Int((bases >> UInt32((w &- 1) &* 8)) & 0xff)
        let upTo = word & ((UInt64(2) &<< UInt64(position & 63)) &- 1)
        return chunk &+ header &+ before &+ upTo.nonzeroBitCount &- 1
    }

    // MARK: Writer

    /// Adds a prefix (not held before) whose slot value is `value`.
    mutating func insert(_ address: UInt32, length: UInt8, value: UInt32) {
        if root.capacity == 0 {
            root = RawBuffer(repeating: 0, count: 1 << 16)
            scratch = RawBuffer(repeating: 0, count: 512)
            free2 = RawBuffer(repeating: RawStack(), count: Self.runCapacities.count)
        }
        let len = Int(length)
        let r = Int(address >> 16)
        if len <= 16 {
            for i in r..<(r + 1 << (16 - len)) {
                if root[i] & Self.link != 0 {
                    let slots = loadChunk2(root: i)
                    for j in 0..<256 { slots[j] = place(slots[j], value) }
                    saveChunk2(root: i)
                } else {
                    root[i] = place(root[i], value)
                }
            }
            return
        }
        ensureChunk2(root: r)
        let i2 = Int((address >> 8) & 0xff)
        let slots = loadChunk2(root: r)
        if len <= 24 {
            for i in i2..<(i2 + 1 << (24 - len)) { slots[i] = place(slots[i], value) }
        } else {
            let c3 = chunk3(&slots[i2])
            let start = c3 << 8 | Int(address & 0xff)
            for i in start..<(start + 1 << (32 - len)) { level3[i] = place(level3[i], value) }
        }
        saveChunk2(root: r)
    }

    /// Removes the prefix whose slot value is `value`; its addresses fall back to `replacement`
    /// (the next covering prefix's value, or 0).
    mutating func remove(_ address: UInt32, length: UInt8, value: UInt32, replacement: UInt32) {
        let len = Int(length)
        let r = Int(address >> 16)
        if len <= 16 {
            for i in r..<(r + 1 << (16 - len)) {
                if root[i] & Self.link != 0 {
                    let slots = loadChunk2(root: i)
                    for j in 0..<256 { slots[j] = swap(slots[j], value, replacement) }
                    saveChunk2(root: i)
                } else {
                    root[i] = swap(root[i], value, replacement)
                }
            }
            return
        }
        let i2 = Int((address >> 8) & 0xff)
        let slots = loadChunk2(root: r)
        if len <= 24 {
            for i in i2..<(i2 + 1 << (24 - len)) { slots[i] = swap(slots[i], value, replacement) }
        } else {
            let c3 = Int(slots[i2] & ~Self.link)
            let start = c3 << 8 | Int(address & 0xff)
            for i in start..<(start + 1 << (32 - len)) { level3[i] = swap(level3[i], value, replacement) }
            if let uniform = Self.uniform(level3.pointer(c3 << 8)) {
                slots[i2] = uniform
                free3.push(UInt32(c3))
                chunks -= 1
            }
        }
        saveChunk2(root: r)
    }

    /// The new value of a slot covered by a prefix being added: it wins over shorter prefixes
    /// and leaves longer ones; a link to level 3 is followed.
    private func place(_ old: UInt32, _ value: UInt32) -> UInt32 {
        if old & Self.link != 0 {
            let base = Int(old & ~Self.link) << 8
            for i in base..<(base + 256) { level3[i] = place(level3[i], value) }
            return old
        }
        return old == 0 || Self.length(old) < Self.length(value) ? value : old
    }

    private func swap(_ old: UInt32, _ value: UInt32, _ replacement: UInt32) -> UInt32 {
        if old & Self.link != 0 {
            let base = Int(old & ~Self.link) << 8
            for i in base..<(base + 256) { level3[i] = swap(level3[i], value, replacement) }
            return old
        }
        return old == value ? replacement : old
    }

    /// The one value of 256 slots that all hold it and no link; nil otherwise.
    private static func uniform(_ p: UnsafeMutablePointer<UInt32>) -> UInt32? {
        let first = p[0]
        guard first & link == 0 else { return nil }
        for i in 1..<256 where p[i] != first { return nil }
        return first
    }

    /// Makes root slot `r` a level-2 chunk whose slots all hold its present value.
    private mutating func ensureChunk2(root r: Int) {
        let old = root[r]
        guard old & Self.link == 0 else { return }
        scratch[256] = old
        root[r] = Self.link | UInt32(store2(runs: 1, map: (1, 0, 0, 0), bases: 0x0001_0101, replacing: nil))
        chunks += 1
    }

    /// Root slot `r`'s chunk in plain form (in `scratch`) for the writer to change.
    private func loadChunk2(root r: Int) -> UnsafeMutablePointer<UInt32> {
        let chunk = Int(root[r] & ~Self.link)
        let slots = scratch.pointer(0)
        let map = UnsafeRawPointer(level2.pointer(chunk))
        // Each set bit starts a run; fill from it to the next one.
        var run = chunk + Self.header
        var start = 0
        for w in 0..<4 {
            var bits = map.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self)
            if w == 0 { bits &= ~1 }
            while bits != 0 {
                let next = w * 64 + bits.trailingZeroBitCount
                (slots + start).update(repeating: level2[run], count: next - start)
                run += 1
                start = next
                bits &= bits - 1
            }
        }
        (slots + start).update(repeating: level2[run], count: 256 - start)
        return slots
    }

    /// Stores `scratch` as root slot `r`'s chunk again, or folds it into the root slot when
    /// every slot holds one value and no link.
    private mutating func saveChunk2(root r: Int) {
        let chunk = Int(root[r] & ~Self.link)
        let slots = scratch.pointer(0)
        // One pass: the run map and the run values, kept in the scratch buffer's tail.
        var map: (UInt64, UInt64, UInt64, UInt64) = (1, 0, 0, 0)
        let values = scratch.pointer(256)
        values[0] = slots[0]
        var runs = 1
        var bases: UInt32 = 0
        withUnsafeMutableBytes(of: &map) { raw in
            let words = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            for w in 0..<4 {
                if w > 0 { bases |= UInt32(runs) << UInt32((w - 1) * 8) }
                var word = words[w]
                for b in 0..<64 {
                    let p = w * 64 + b
                    if p > 0 && slots[p] != slots[p - 1] {
                        word |= 1 << UInt64(b)
                        values[runs] = slots[p]
                        runs += 1
                    }
                }
                words[w] = word
            }
        }
        if runs == 1 && slots[0] & Self.link == 0 {
            root[r] = slots[0]
            release2(chunk)
            chunks -= 1
            return
        }
        root[r] = Self.link | UInt32(store2(runs: runs, map: map, bases: bases, replacing: chunk))
    }

    /// Writes a compressed chunk (run map, bases, the `runs` values at `scratch[256...]`) over
    /// `replacing` if its size class fits, else somewhere new; returns its offset.
    private mutating func store2(runs: Int, map: (UInt64, UInt64, UInt64, UInt64), bases: UInt32, replacing old: Int?) -> Int {
        let sizeClass = Self.runCapacities.firstIndex { $0 >= runs }!
        var chunk: Int
        if let old, Int(level2[old + 8] >> 24) == sizeClass {
            chunk = old
        } else {
            if let old { release2(old) }
            chunk = allocate2(sizeClass)
        }
        let p = UnsafeMutableRawPointer(level2.pointer(chunk))
        p.storeBytes(of: map.0, toByteOffset: 0, as: UInt64.self)
        p.storeBytes(of: map.1, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: map.2, toByteOffset: 16, as: UInt64.self)
        p.storeBytes(of: map.3, toByteOffset: 24, as: UInt64.self)
        level2[chunk + 8] = bases | UInt32(sizeClass) << 24
        level2.pointer(chunk + Self.header).update(from: scratch.pointer(256), count: runs)
        return chunk
    }

    private mutating func allocate2(_ sizeClass: Int) -> Int {
        if let free = free2.pointer(sizeClass).pointee.pop() { return Int(free) }
        let chunk = used2
        used2 += Self.header + Self.runCapacities[sizeClass]
        precondition(used2 < Int(Self.link), "RIB: IPv4 trie full")
        level2.reserve(used2, filling: 0)
        return chunk
    }

    private mutating func release2(_ chunk: Int) {
        let sizeClass = Int(level2[chunk + 8] >> 24)
        free2.pointer(sizeClass).pointee.push(UInt32(chunk))
    }

    /// The level-3 chunk under level-2 slot `slot`, made (filled with the slot's value) if missing.
    private mutating func chunk3(_ slot: inout UInt32) -> Int {
        let old = slot
        if old & Self.link != 0 { return Int(old & ~Self.link) }
        let c: Int
        if let free = free3.pop() {
            c = Int(free)
        } else {
            c = used3
            used3 += 1
            level3.reserve(used3 << 8, filling: 0)
        }
        level3.pointer(c << 8).update(repeating: old, count: 256)
        slot = Self.link | UInt32(c)
        chunks += 1
        return c
    }

    var bytes: Int {
        var total = root.bytes + level2.bytes + level3.bytes + free3.bytes + scratch.bytes + free2.bytes
        for i in 0..<free2.capacity { total += free2[i].bytes }
        return total
    }

    mutating func deallocate() {
        root.free()
        level2.free()
        level3.free()
        free3.free()
        scratch.free()
        for i in 0..<free2.capacity { free2.pointer(i).pointee.free() }
        free2.free()
    }
}
