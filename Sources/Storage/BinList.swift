import GRDB
import GRDBSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes per time bin, packed in a blob: the per-bin detail a daily rollup row keeps.
///
/// Entries are 12 bytes, `UInt32` seconds since the day's first stamp (`YYYY-MM-DD 00:00:00`,
/// from the stamp's text, so local time as pmacct writes it) and `Int64` bytes, little-endian,
/// sorted by second, one entry per second. Only bins with traffic have an entry.
///
/// Three SQL functions work on it, registered on each connection by `register(_:)`:
/// - `pathflow_bins(second, bytes)`: aggregate, builds a list from rows;
/// - `pathflow_bins_merge(list)`: aggregate, adds lists up entry by entry;
/// - `pathflow_bins_add(a, b)`: the two lists added up (NULL counts as empty).
public enum BinList {
    public static let entrySize = 12

    public struct Entry: Equatable, Sendable {
        public var second: UInt32
        public var bytes: Int64

        public init(second: UInt32, bytes: Int64) {
            self.second = second
            self.bytes = bytes
        }
    }

    /// The blob of `entries` (sorted, merged on equal seconds).
    public static func encode(_ entries: [Entry]) -> [UInt8] {
        var entries = entries
        let n = normalize(&entries)
        var out = [UInt8](repeating: 0, count: n * entrySize)
        out.withUnsafeMutableBytes { raw in
            for i in 0..<n { store(entries[i], raw.baseAddress!.advanced(by: i * entrySize)) }
        }
        return out
    }

    /// The entries of a blob; nil when its length is not a whole number of entries.
    public static func decode(_ blob: UnsafeRawBufferPointer) -> [Entry]? {
        guard blob.count % entrySize == 0 else { return nil }
        var out: [Entry] = []
        out.reserveCapacity(blob.count / entrySize)
        forEach(blob) { out.append($0) }
        return out
    }

    /// Calls `body` with each entry of a well-formed blob (trailing partial entries ignored).
    @inline(__always)
    public static func forEach(_ blob: UnsafeRawBufferPointer, _ body: (Entry) throws -> Void) rethrows {
        guard let base = blob.baseAddress else { return }
        var offset = 0
        while offset + entrySize <= blob.count {
            try body(load(base.advanced(by: offset)))
            offset += entrySize
        }
    }

    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> Entry {
        Entry(
            second: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)),
            bytes: Int64(littleEndian: p.advanced(by: 4).loadUnaligned(as: Int64.self)))
    }

    @inline(__always)
    static func store(_ e: Entry, _ p: UnsafeMutableRawPointer) {
        p.storeBytes(of: e.second.littleEndian, as: UInt32.self)
        p.advanced(by: 4).storeBytes(of: e.bytes.littleEndian, as: Int64.self)
    }

    /// Sorts by second and adds up equal seconds in place; returns how many entries remain.
    @discardableResult
    static func normalize(_ entries: inout [Entry]) -> Int {
        let n = entries.withUnsafeMutableBufferPointer { normalize($0) }
        entries.removeLast(entries.count - n)
        return n
    }

    static func normalize(_ buffer: UnsafeMutableBufferPointer<Entry>) -> Int {
        var buffer = buffer
        guard buffer.count > 0 else { return 0 }
        var sorted = true
        for i in 1..<buffer.count where buffer[i - 1].second >= buffer[i].second {
            sorted = false
            break
        }
        if !sorted { buffer.sort { $0.second < $1.second } }
        var n = 0
        for i in 0..<buffer.count {
            if n > 0 && buffer[n - 1].second == buffer[i].second {
                buffer[n - 1].bytes = add(buffer[n - 1].bytes, buffer[i].bytes)
            } else {
                buffer[n] = buffer[i]
                n += 1
            }
        }
        return n
    }

    // MARK: SQL functions

    /// Registers the three functions on a connection (once per connection, before use).
    public static func register(_ db: Database) throws {
        guard let connection = db.sqliteConnection else { return }
        let flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC
        var status = sqlite3_create_function_v2(
            connection, "pathflow_bins_add", 2, flags, nil,
            { context, _, arguments in BinList.addFunction(context, arguments) }, nil, nil, nil)
        if status == SQLITE_OK {
            status = sqlite3_create_function_v2(
                connection, "pathflow_bins", 2, flags, nil, nil,
                { context, _, arguments in BinList.collectStep(context, arguments) },
                { context in BinList.collectFinal(context) }, nil)
        }
        if status == SQLITE_OK {
            status = sqlite3_create_function_v2(
                connection, "pathflow_bins_merge", 1, flags, nil, nil,
                { context, _, arguments in BinList.mergeStep(context, arguments) },
                { context in BinList.collectFinal(context) }, nil)
        }
        guard status == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: status), message: "cannot register the bin-list functions")
        }
    }

    /// An aggregate's state in SQLite's aggregate context: a malloc'd array of entries.
    struct Accumulator {
        var entries: UnsafeMutablePointer<Entry>?
        var count: Int
        var capacity: Int

        mutating func reserve(_ extra: Int) -> Bool {
            guard count + extra > capacity else { return true }
            let grown = max(64, max(capacity * 2, count + extra))
            guard let p = realloc(entries, grown * MemoryLayout<Entry>.stride) else { return false }
            entries = p.assumingMemoryBound(to: Entry.self)
            capacity = grown
            return true
        }
    }

    static func accumulator(_ context: OpaquePointer?, create: Bool) -> UnsafeMutablePointer<Accumulator>? {
        let size = create ? Int32(MemoryLayout<Accumulator>.stride) : 0
        // SQLite zeroes the context when it first allocates it: entries nil, count and capacity 0.
        return sqlite3_aggregate_context(context, size)?.assumingMemoryBound(to: Accumulator.self)
    }

    static func blob(_ value: OpaquePointer?) -> UnsafeRawBufferPointer? {
        guard sqlite3_value_type(value) == SQLITE_BLOB else { return nil }
        let n = Int(sqlite3_value_bytes(value))
        guard let p = sqlite3_value_blob(value), n > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: n)
    }

    static func collectStep(_ context: OpaquePointer?, _ arguments: UnsafeMutablePointer<OpaquePointer?>?) {
        guard let arguments, let state = accumulator(context, create: true) else {
            sqlite3_result_error_nomem(context)
            return
        }
        let second = sqlite3_value_int64(arguments[0])
        guard second >= 0 && second <= Int64(UInt32.max) else {
            sqlite3_result_error(context, "pathflow_bins: second out of range", -1)
            return
        }
        guard state.pointee.reserve(1) else {
            sqlite3_result_error_nomem(context)
            return
        }
        state.pointee.entries![state.pointee.count] = Entry(second: UInt32(second), bytes: sqlite3_value_int64(arguments[1]))
        state.pointee.count += 1
    }

    static func mergeStep(_ context: OpaquePointer?, _ arguments: UnsafeMutablePointer<OpaquePointer?>?) {
        guard let arguments, let state = accumulator(context, create: true) else {
            sqlite3_result_error_nomem(context)
            return
        }
        guard let list = blob(arguments[0]) else { return }  // NULL: nothing to add
        guard list.count % entrySize == 0 else {
            sqlite3_result_error(context, "pathflow_bins_merge: not a bin list", -1)
            return
        }
        guard state.pointee.reserve(list.count / entrySize) else {
            sqlite3_result_error_nomem(context)
            return
        }
        let entries = state.pointee.entries!
        var n = state.pointee.count
        forEach(list) {
            entries[n] = $0
            n += 1
        }
        state.pointee.count = n
    }

    static func collectFinal(_ context: OpaquePointer?) {
        guard let state = accumulator(context, create: false), let entries = state.pointee.entries else {
            sqlite3_result_zeroblob(context, 0)
            return
        }
        defer {
            free(entries)
            state.pointee.entries = nil
        }
        let buffer = UnsafeMutableBufferPointer(start: entries, count: state.pointee.count)
        let n = buffer.count >= denseThreshold ? addUpByMinute(buffer) ?? normalize(buffer) : normalize(buffer)
        result(context, count: n) { i in entries[i] }
    }

    /// From this many entries a group's bins are added up in an array of the day's minutes
    /// rather than sorted (when every bin starts on a minute, as pmacct's bins do).
    static let denseThreshold = 2_048

    /// Adds up entries whose seconds are whole minutes in a per-minute array, writing the result
    /// sorted to the front of `buffer`; nil (buffer untouched) if a second is not a whole minute.
    static func addUpByMinute(_ buffer: UnsafeMutableBufferPointer<Entry>) -> Int? {
        let minutes = 1_440
        guard buffer.allSatisfy({ $0.second % 60 == 0 && $0.second < 86_400 }) else { return nil }
        var sums = [Int64](repeating: 0, count: minutes)
        var present = [Bool](repeating: false, count: minutes)
        for e in buffer {
            let m = Int(e.second / 60)
            sums[m] = add(sums[m], e.bytes)
            present[m] = true
        }
        var n = 0
        for m in 0..<minutes where present[m] {
            buffer[n] = Entry(second: UInt32(m * 60), bytes: sums[m])
            n += 1
        }
        return n
    }

    /// Bytes of one second added up, held at Int64's limits as the tables' counters are.
    @inline(__always)
    static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    static func addFunction(_ context: OpaquePointer?, _ arguments: UnsafeMutablePointer<OpaquePointer?>?) {
        guard let arguments else { return }
        // A list whose length is not whole entries (written by something else) keeps its whole
        // entries: the collector's flush adds to the rollup's lists, and an error here would
        // lose the flush's rows in the table too.
        func whole(_ list: UnsafeRawBufferPointer?) -> UnsafeRawBufferPointer {
            guard let list else { return UnsafeRawBufferPointer(start: nil, count: 0) }
            return UnsafeRawBufferPointer(rebasing: list[0..<(list.count - list.count % entrySize)])
        }
        let a = whole(blob(arguments[0])), b = whole(blob(arguments[1]))
        // Both sorted: one merge pass.
        var merged: [Entry] = []
        merged.reserveCapacity((a.count + b.count) / entrySize)
        let na = a.count / entrySize, nb = b.count / entrySize
        var i = 0, j = 0
        while i < na || j < nb {
            let x = i < na ? load(a.baseAddress!.advanced(by: i * entrySize)) : nil
            let y = j < nb ? load(b.baseAddress!.advanced(by: j * entrySize)) : nil
            if let x, let y, x.second == y.second {
                merged.append(Entry(second: x.second, bytes: add(x.bytes, y.bytes)))
                i += 1
                j += 1
            } else if let x, y == nil || x.second < y!.second {
                merged.append(x)
                i += 1
            } else {
                merged.append(y!)
                j += 1
            }
        }
        // Lists written by other tools might not be sorted: normalize whatever came out.
        let n = normalize(&merged)
        result(context, count: n) { merged[$0] }
    }

    static func result(_ context: OpaquePointer?, count: Int, _ entry: (Int) -> Entry) {
        let size = count * entrySize
        guard size > 0 else {
            sqlite3_result_zeroblob(context, 0)
            return
        }
        guard let out = malloc(size) else {
            sqlite3_result_error_nomem(context)
            return
        }
        for i in 0..<count { store(entry(i), out.advanced(by: i * entrySize)) }
        sqlite3_result_blob64(context, out, sqlite3_uint64(size), { free($0) })
    }
}
