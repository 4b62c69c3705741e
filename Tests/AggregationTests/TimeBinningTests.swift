import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Aggregation

/// Bins as pmacct's sql_init_historical_acct() and sql_cache_insert() place them (UTC here:
/// CI machines run in UTC; pmacct uses local time and so do we).
@Suite struct TimeBinningTests {
    init() { useUTC() }

    // 2023-11-14 22:13:20 UTC.
    let now = 1_700_000_000

    @Test func roundoffClearsTheNamedFields() {
        #expect(TimeBinning.roundoff(now, letters: "") == 1_699_999_980)   // 22:13:00
        #expect(TimeBinning.roundoff(now, letters: "m") == 1_699_999_200)  // 22:00:00
        #expect(TimeBinning.roundoff(now, letters: "h") == 1_699_920_000)  // 00:00:00
        #expect(TimeBinning.roundoff(now, letters: "d") == 1_698_796_800)  // Nov 1
        #expect(TimeBinning.roundoff(now, letters: "w") == 1_699_747_200)  // Sunday Nov 12
        #expect(TimeBinning.roundoff(now, letters: "M") == 1_672_531_200)  // Jan 1
    }

    @Test func minuteBinsAlignToTheGrid() {
        let b = TimeBinning(unit: .minutes, count: 5, roundoff: "m", now: now)
        #expect(b.bin(now) == 1_699_999_800)           // 22:10:00
        #expect(b.bin(1_699_999_800) == 1_699_999_800)  // boundary stays
        #expect(b.bin(1_699_999_799) == 1_699_999_500)  // one second earlier → previous bin
        #expect(b.bin(1_600_000_000) == 1_600_000_000 - 1_600_000_000 % 300)
    }

    @Test func secondsAndHours() {
        #expect(TimeBinning(unit: .seconds, count: 30, roundoff: "", now: now).bin(now + 45) == 1_700_000_040)
        #expect(TimeBinning(unit: .hours, count: 1, roundoff: "h", now: now).bin(now) == 1_699_999_200)
    }

    @Test func monthsFollowTheCalendar() {
        let b = TimeBinning(unit: .months, count: 1, roundoff: "d", now: now)
        #expect(b.bin(now) == 1_698_796_800)           // 2023-11-01
        #expect(b.bin(1_701_388_800) == 1_701_388_800)  // 2023-12-01
        #expect(b.bin(1_698_796_799) == 1_696_118_400)  // 2023-10-01
    }
}
