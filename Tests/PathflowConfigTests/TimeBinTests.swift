import Testing
@testable import PathflowConfig

struct TimeBinTests {
    @Test(arguments: [
        ("60", TimeBin.minutes(1)),
        ("5m", .minutes(5)),
        ("300", .minutes(5)),
        ("300s", .minutes(5)),
        ("30", .seconds(30)),
        ("45s", .seconds(45)),
        ("3600", .minutes(60)),
        ("1h", .hours(1)),
        ("4h", .hours(4)),
        ("1d", .days(1)),
        ("1w", .weeks(1)),
        ("1M", .months(1)),
    ])
    func parsesLikePmacct(text: String, expected: TimeBin) {
        #expect(TimeBin(pmacct: text) == expected)
    }

    @Test(arguments: ["90", "61", "150s", "0", "0m", "-5", "5x", "m", "", "5 m", "5mm", "1.5h", "99999999999"])
    func rejectsWhatPmacctRejectsAndJunk(text: String) {
        #expect(TimeBin(pmacct: text) == nil)
    }

    @Test func lengthsAndNotation() {
        #expect(TimeBin.minutes(5).lengthInSeconds == 300)
        #expect(TimeBin.hours(1).lengthInSeconds == 3600)
        #expect(TimeBin.days(1).lengthInSeconds == 86_400)
        #expect(TimeBin.weeks(2).lengthInSeconds == 1_209_600)
        #expect(TimeBin.seconds(30).lengthInSeconds == 30)
        #expect(TimeBin.months(1).lengthInSeconds == nil)
        #expect(TimeBin.minutes(5).description == "5m")
        #expect(TimeBin.months(1).description == "1M")
    }

    @Test func historyInAConfiguration() {
        let cases: [(String, TimeBin?)] = [("60", .minutes(1)), ("5m", .minutes(5)), ("300", .minutes(5)),
                                           ("1h", .hours(1)), ("1d", .days(1)), ("90", nil)]
        for (value, expected) in cases {
            let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", "sql_history: \(value)"])
            #expect(config?.views.first?.history == expected, "sql_history: \(value)")
            if expected == nil {
                #expect(diagnostics.map(\.summary) == ["2 sql_history skipped"])
                #expect(diagnostics.first?.message.contains("'90'") == true)
            } else {
                #expect(diagnostics.isEmpty, "sql_history: \(value)")
            }
        }
    }
}
