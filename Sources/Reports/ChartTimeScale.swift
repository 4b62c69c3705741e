import Foundation

/// A time axis from `start` to `end` (unix seconds) with ticks on round times of the stamps' zone
/// (local or UTC): every few minutes, hours, days, weeks or months, as many as fit. Labels are
/// the time of day (with the date under the first tick and under each tick of a new day), the
/// date, or the month.
struct ChartTimeScale {
    struct Tick: Equatable {
        var time: Int
        var label: String
        /// A second line: the date (or year) where it changes.
        var date: String?
    }

    let start: Int
    let end: Int
    let utc: Bool
    /// Seconds between ticks; months are `monthSeconds` × months.
    let step: Int
    let ticks: [Tick]

    static let monthSeconds = 2_629_746
    /// Fixed steps, then months.
    static let steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400,
                        172_800, 604_800, 1_209_600]
    static let monthSteps = [1, 2, 3, 6, 12, 24, 60, 120, 600, 1_200]

    /// At most `maxTicks` ticks between `start` and `end`.
    init(start: Int, end: Int, utc: Bool, maxTicks: Int) {
        self.start = start
        self.end = max(end, start + 1)
        self.utc = utc
        let span = Double(self.end - start), most = Double(max(2, maxTicks))
        if let s = Self.steps.first(where: { span / Double($0) <= most }) {
            step = s
            ticks = Self.fixedTicks(start, self.end, step: s, utc: utc)
        } else {
            let months = Self.monthSteps.first { span / Double($0 * Self.monthSeconds) <= most } ?? Self.monthSteps.last!
            step = months * Self.monthSeconds
            ticks = Self.monthTicks(start, self.end, months: months, utc: utc)
        }
    }

    func position(_ t: Int, from a: Double, to b: Double) -> Double {
        a + (b - a) * Double(t - start) / Double(end - start)
    }

    /// Seconds of the wall clock: `t` as its stamp reads, taken as UTC.
    static func wallClock(_ t: Int, utc: Bool) -> Int {
        utc ? t : StampText.parse(StampText.format(t, utc: false), utc: true) ?? t
    }

    /// The real time of a wall-clock reading.
    static func realTime(_ wall: Int, utc: Bool) -> Int {
        utc ? wall : StampText.parse(StampText.format(wall, utc: true), utc: false) ?? wall
    }

    static func fixedTicks(_ start: Int, _ end: Int, step: Int, utc: Bool) -> [Tick] {
        // Weeks start on Mondays (1970-01-05).
        let phase = step % 604_800 == 0 ? 345_600 : 0
        let first = wallClock(start, utc: utc), last = wallClock(end, utc: utc)
        var wall = first - ((first - phase) % step + step) % step
        if wall < first { wall += step }
        var ticks: [Tick] = []
        // The second line (date under times of day, year under dates) where it changes.
        var previous = ""
        while wall <= last + 3_600 && ticks.count < 200 {
            let t = realTime(wall, utc: utc)
            wall += step
            guard t >= start && t <= end, ticks.last.map({ $0.time < t }) ?? true else { continue }
            let stamp = StampText.format(t, utc: utc)
            let day = String(stamp.prefix(10))
            let label = step < 86_400 ? String(stamp.dropFirst(11).prefix(step < 60 ? 8 : 5)) : String(day.dropFirst(5))
            let second = step < 86_400 ? day : String(day.prefix(4))
            ticks.append(Tick(time: t, label: label, date: second != previous ? second : nil))
            previous = second
        }
        return ticks
    }

    static func monthTicks(_ start: Int, _ end: Int, months: Int, utc: Bool) -> [Tick] {
        let stamp = StampText.format(start, utc: utc)
        guard var year = Int(stamp.prefix(4)), var month = Int(stamp.dropFirst(5).prefix(2)) else { return [] }
        // The first month that starts on a multiple of `months` (January first).
        month = ((month - 1) / months) * months + 1
        var ticks: [Tick] = []
        while ticks.count < 200 && year <= 9_999 {
            let text = String(format: "%04d-%02d-01 00:00:00", year, month)
            if let t = StampText.parse(text, utc: utc) {
                if t > end { break }
                if t >= start { ticks.append(Tick(time: t, label: String(text.prefix(7)), date: nil)) }
            }
            month += months
            while month > 12 {
                month -= 12
                year += 1
            }
        }
        return ticks
    }

    /// The zones of the stamps from `start` to `end`: one, or both ends' when a change to or from
    /// summer time lies between.
    static func zones(from start: Int, to end: Int, utc: Bool) -> String {
        let a = zone(at: start, utc: utc), b = zone(at: end, utc: utc)
        return a == b ? a : "\(a) to \(b)"
    }

    /// The zone of the stamps at `t`: "UTC", or the local zone's abbreviation and offset
    /// ("CET, UTC+01:00").
    static func zone(at t: Int, utc: Bool) -> String {
        if utc { return "UTC" }
        var value = time_t(t)
        var parts = tm()
        localtime_r(&value, &parts)
        let offset = Int(parts.tm_gmtoff)
        let sign = offset < 0 ? "-" : "+"
        let hours = abs(offset) / 3_600, minutes = abs(offset) % 3_600 / 60
        let utcOffset = offset == 0 ? "UTC" : String(format: "UTC%@%02d:%02d", sign, hours, minutes)
        let name = parts.tm_zone.map { String(cString: $0) } ?? ""
        // A zone without a name of its own (POSIX "+03", or UTC itself) is its offset.
        if name.isEmpty || name.hasPrefix("+") || name.hasPrefix("-") || name == "UTC" || (name == "GMT" && offset == 0) {
            return utcOffset
        }
        return "\(name), \(utcOffset)"
    }
}
