#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// pmacct's time bins (sql_history, sql_history_roundoff).
///
/// pmacct anchors its grid at the collector's start time with seconds cleared and the fields
/// named by the roundoff letters reset, in local time ('m' clears minutes, 'h' hours too,
/// 'd' the day of month, 'w' back to Sunday, 'M' the month), then places each flow in the slot
/// of that grid holding its time. Months are calendar months.
public struct TimeBinning: Sendable, Equatable {
    public enum Unit: Sendable, Equatable {
        case seconds, minutes, hours, days, weeks, months
    }

    public var unit: Unit
    public var count: Int
    public var anchor: Int
    /// Slot length in seconds; months vary and use the calendar instead.
    public var slot: Int

    public init(unit: Unit, count: Int, roundoff: String, now: Int) {
        self.unit = unit
        self.count = max(1, count)
        switch unit {
        case .seconds: slot = self.count
        case .minutes: slot = self.count * 60
        case .hours: slot = self.count * 3600
        case .days: slot = self.count * 86_400
        case .weeks: slot = self.count * 86_400 * 7
        case .months: slot = 0
        }
        var base = now
        if unit == .months { base = Self.roundoff(base, letters: "d") }
        anchor = Self.roundoff(base, letters: roundoff)
    }

    /// Start of the bin holding `time`.
    @inline(__always)
    public func bin(_ time: Int) -> Int {
        if slot > 0 {
            let delta = time - anchor
            let remainder = ((delta % slot) + slot) % slot
            return time - remainder
        }
        return monthBin(time)
    }

    func monthBin(_ time: Int) -> Int {
        var start = anchor
        // Walk calendar slots of `count` months; bounded by the span between anchor and time.
        var guardSteps = 0
        while time < start && guardSteps < 100_000 {
            start = Self.addMonths(start, -count)
            guardSteps += 1
        }
        while Self.addMonths(start, count) <= time && guardSteps < 100_000 {
            start = Self.addMonths(start, count)
            guardSteps += 1
        }
        return start
    }

    static func addMonths(_ t: Int, _ months: Int) -> Int {
        var value = time_t(t)
        var parts = tm()
        localtime_r(&value, &parts)
        parts.tm_mon += Int32(months)
        parts.tm_isdst = -1
        return Int(mktime(&parts))
    }

    /// pmacct's roundoff_time(): clear seconds, then what each letter names, in local time.
    public static func roundoff(_ t: Int, letters: String) -> Int {
        var value = time_t(t)
        var parts = tm()
        localtime_r(&value, &parts)
        parts.tm_sec = 0
        for letter in letters {
            switch letter {
            case "m":
                parts.tm_min = 0
            case "h":
                parts.tm_min = 0
                parts.tm_hour = 0
            case "d":
                parts.tm_min = 0
                parts.tm_hour = 0
                parts.tm_mday = 1
            case "w":
                parts.tm_min = 0
                parts.tm_hour = 0
                parts.tm_mday -= parts.tm_wday
                parts.tm_wday = 0
            case "M":
                parts.tm_min = 0
                parts.tm_hour = 0
                parts.tm_mday = 1
                parts.tm_mon = 0
            default:
                continue
            }
        }
        parts.tm_isdst = -1
        return Int(mktime(&parts))
    }
}
