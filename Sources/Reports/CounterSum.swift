import GRDB
import GRDBSQLite

/// `pathflow_counters(bytes, packets, flows)`: an SQL aggregate that adds up a group's counters
/// as `CounterClamps` reads them, with sums that stop at `Int64.max`. SQLite's SUM fails the
/// whole query with "integer overflow" past 2^63-1, returns a REAL once one value is REAL, and
/// lets a negative value cancel others; TOTAL is exact only below 2^53.
///
/// The result is a blob of eight native-endian Int64: bytes, packets, flows, then the group's
/// clamps (negative, tooLarge, fractions, notNumbers) and the number of sums that saturated.
/// One call per row for the three counters: the report's inner loop.
public enum CounterSum {
    public static let name = "pathflow_counters"

    /// The aggregate's state in SQLite's aggregate context, which SQLite zeroes on first use.
    struct State {
        var bytes: Int64
        var packets: Int64
        var flows: Int64
        var negative: Int64
        var tooLarge: Int64
        var fractions: Int64
        var notNumbers: Int64
        var saturated: Int64
    }

    public struct Result: Sendable, Equatable {
        public var bytes: Int64 = 0
        public var packets: Int64 = 0
        public var flows: Int64 = 0
        public var clamps = CounterClamps()
    }

    static let resultSize = 8 * MemoryLayout<Int64>.size

    /// Registers the aggregate on a connection (once per connection, before use).
    public static func register(_ db: Database) throws {
        guard let connection = db.sqliteConnection else { return }
        let status = sqlite3_create_function_v2(
            connection, name, 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nil, nil,
            { context, _, arguments in CounterSum.step(context, arguments) },
            { context in CounterSum.final(context) }, nil)
        guard status == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: status), message: "cannot register \(name)")
        }
    }

    static func step(_ context: OpaquePointer?, _ arguments: UnsafeMutablePointer<OpaquePointer?>?) {
        guard let arguments,
              let raw = sqlite3_aggregate_context(context, Int32(MemoryLayout<State>.stride)) else {
            sqlite3_result_error_nomem(context)
            return
        }
        let state = raw.assumingMemoryBound(to: State.self)
        var clamps = CounterClamps()
        let bytes = read(arguments[0], &clamps), packets = read(arguments[1], &clamps), flows = read(arguments[2], &clamps)
        var saturated: Int64 = 0
        if state.pointee.bytes.addSaturated(bytes) { saturated &+= 1 }
        if state.pointee.packets.addSaturated(packets) { saturated &+= 1 }
        if state.pointee.flows.addSaturated(flows) { saturated &+= 1 }
        state.pointee.negative &+= clamps.negative
        state.pointee.tooLarge &+= clamps.tooLarge
        state.pointee.fractions &+= clamps.fractions
        state.pointee.notNumbers &+= clamps.notNumbers
        state.pointee.saturated &+= saturated
    }

    @inline(__always)
    static func read(_ value: OpaquePointer?, _ clamps: inout CounterClamps) -> Int64 {
        switch sqlite3_value_type(value) {
        case SQLITE_INTEGER: clamps.read(sqlite3_value_int64(value))
        case SQLITE_FLOAT: clamps.read(sqlite3_value_double(value))
        default: clamps.readNotANumber()
        }
    }

    static func final(_ context: OpaquePointer?) {
        var s = State(bytes: 0, packets: 0, flows: 0, negative: 0, tooLarge: 0, fractions: 0, notNumbers: 0, saturated: 0)
        if let raw = sqlite3_aggregate_context(context, 0) { s = raw.assumingMemoryBound(to: State.self).pointee }
        // A homogeneous tuple: its layout is fixed, unlike a struct's.
        var out = (s.bytes, s.packets, s.flows, s.negative, s.tooLarge, s.fractions, s.notNumbers, s.saturated)
        withUnsafeBytes(of: &out) { bytes in
            // SQLITE_TRANSIENT: SQLite copies the blob before the context is freed.
            sqlite3_result_blob(context, bytes.baseAddress, Int32(resultSize), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
    }

    /// The aggregate's result in column `i` of the current row (zeros if it is not one).
    static func result(_ s: OpaquePointer, _ i: Int32) -> Result {
        guard sqlite3_column_bytes(s, i) == Int32(resultSize), let p = sqlite3_column_blob(s, i) else { return Result() }
        func at(_ k: Int) -> Int64 { p.loadUnaligned(fromByteOffset: k * 8, as: Int64.self) }
        var r = Result(bytes: at(0), packets: at(1), flows: at(2))
        r.clamps.negative = at(3)
        r.clamps.tooLarge = at(4)
        r.clamps.fractions = at(5)
        r.clamps.notNumbers = at(6)
        r.clamps.saturated = at(7) != 0
        return r
    }
}
