/// The length of a history time bin (`sql_history`, `print_history`), parsed as pmacct's
/// parse_time(): `#[s|m|h|d|w|M]`, a bare number meaning seconds.
public enum TimeBin: Sendable, Hashable, CustomStringConvertible {
    case seconds(Int)
    case minutes(Int)
    case hours(Int)
    case days(Int)
    case weeks(Int)
    case months(Int)

    /// pmacct turns whole minutes given in seconds into minutes (`300` → 5m) and rejects
    /// seconds that are neither below 60 nor a multiple of 60 (`90`). Case matters: `m` is
    /// minutes, `M` months. Returns nil for anything else, including 0 and trailing junk.
    public init?(pmacct text: String) {
        var digits = Substring(text)
        var unit: Character = "s"
        if let last = text.last, !("0"..."9").contains(last) {
            unit = last
            digits = digits.dropLast()
        }
        // pmacct holds the count in a C int.
        guard let count = ASCIIText.decimal(digits), count > 0, count <= Int(Int32.max) else { return nil }
        switch unit {
        case "s":
            if count % 60 == 0 {
                self = .minutes(count / 60)
            } else if count < 60 {
                self = .seconds(count)
            } else {
                return nil
            }
        case "m": self = .minutes(count)
        case "h": self = .hours(count)
        case "d": self = .days(count)
        case "w": self = .weeks(count)
        case "M": self = .months(count)
        default: return nil
        }
    }

    /// The bin length in seconds; nil for months, whose length depends on the calendar.
    public var lengthInSeconds: Int? {
        switch self {
        case .seconds(let n): return n
        case .minutes(let n): return n * 60
        case .hours(let n): return n * 3600
        case .days(let n): return n * 86_400
        case .weeks(let n): return n * 604_800
        case .months: return nil
        }
    }

    /// pmacct notation, e.g. `5m`, `1M`.
    public var description: String {
        switch self {
        case .seconds(let n): return "\(n)s"
        case .minutes(let n): return "\(n)m"
        case .hours(let n): return "\(n)h"
        case .days(let n): return "\(n)d"
        case .weeks(let n): return "\(n)w"
        case .months(let n): return "\(n)M"
        }
    }
}
