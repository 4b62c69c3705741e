import NIOCore
import Testing
@testable import BGPSpeaker

@Suite struct LogLimiterTests {
    @Test func holdsBackAndReports() {
        var limiter = LogLimiter()
        let start = NIODeadline.uptimeNanoseconds(0)
        let first = (0..<8).map { _ in limiter.allow("peer", now: start).allowed }
        #expect(first == [true, true, true, true, true, false, false, false])
        // Another key has its own budget.
        #expect(limiter.allow("other", now: start).allowed)
        // A minute later: allowed again, with the three held back reported.
        let later = limiter.allow("peer", now: start + .seconds(60))
        #expect(later.allowed && later.suppressed == 3)
        #expect(limiter.allow("peer", now: start + .seconds(61)).suppressed == 0)
    }
}
