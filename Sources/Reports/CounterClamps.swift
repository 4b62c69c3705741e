/// How a report reads the stored packets, bytes and flows counters that are not non-negative
/// integers, and how many it met, so that the report can say so rather than trap or hide it.
///
/// A table may hold anything: a collector that wrote a counter near 2^64 leaves a REAL (SQLite
/// turns an INTEGER overflow into REAL) or a negative INTEGER; a hand-made table may hold NULL
/// or text. The rules, one stored value at a time:
/// - INTEGER ≥ 0: itself, exactly;
/// - below zero (INTEGER or REAL, -inf included): 0 (`negative`);
/// - REAL of 2^63 or more, +inf included: `Int64.max` (`tooLarge`);
/// - REAL with a fraction: truncated toward zero (`fractions`);
/// - NULL, TEXT, BLOB, NaN: 0 (`notNumbers`).
/// Sums of counters stop at `Int64.max` (`saturated`); rates and shares are computed in floating
/// point from the clamped values.
public struct CounterClamps: Sendable, Equatable {
    public var negative: Int64 = 0
    public var tooLarge: Int64 = 0
    public var fractions: Int64 = 0
    public var notNumbers: Int64 = 0
    /// A sum of counters (a group's, a key's, a total) passed `Int64.max` and stopped there.
    public var saturated = false

    public init() {}

    public var isEmpty: Bool { negative == 0 && tooLarge == 0 && fractions == 0 && notNumbers == 0 && !saturated }

    public mutating func add(_ other: CounterClamps) {
        negative = negative &+ other.negative
        tooLarge = tooLarge &+ other.tooLarge
        fractions = fractions &+ other.fractions
        notNumbers = notNumbers &+ other.notNumbers
        saturated = saturated || other.saturated
    }

    /// An INTEGER counter value.
    @inline(__always)
    public mutating func read(_ value: Int64) -> Int64 {
        if value >= 0 { return value }
        negative = negative &+ 1
        return 0
    }

    /// A REAL counter value.
    public mutating func read(_ value: Double) -> Int64 {
        if value.isNaN {
            notNumbers = notNumbers &+ 1
            return 0
        }
        if value < 0 {
            negative = negative &+ 1
            return 0
        }
        // 2^63 is the first double Int64 cannot hold.
        if value >= 9_223_372_036_854_775_808.0 {
            tooLarge = tooLarge &+ 1
            return .max
        }
        let whole = value.rounded(.towardZero)
        if whole != value { fractions = fractions &+ 1 }
        return Int64(whole)
    }

    /// A NULL, TEXT or BLOB counter value.
    @inline(__always)
    public mutating func readNotANumber() -> Int64 {
        notNumbers = notNumbers &+ 1
        return 0
    }

    /// The note line a report prints when values were clamped; nil when none were.
    public var note: String? {
        guard !isEmpty else { return nil }
        var parts: [String] = []
        func count(_ n: Int64, _ what: String) { if n > 0 { parts.append("\(n) \(what)") } }
        count(negative, "negative read as 0")
        count(tooLarge, "above 2^63-1 read as 2^63-1")
        count(fractions, "fractional truncated")
        count(notNumbers, "NULL or not a number read as 0")
        var line = "# counters out of range"
        if !parts.isEmpty { line += ": " + parts.joined(separator: ", ") + " (stored values)" }
        if saturated { line += (parts.isEmpty ? ": " : "; ") + "sums above 2^63-1 stop at 2^63-1" }
        return line
    }
}
