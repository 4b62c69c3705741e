import NIOCore
import Testing
@testable import BGPSpeaker

/// A fixed-seed generator (SplitMix64), so the jitter is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite struct ReconnectBackoffTests {
    @Test func doublesUpToTheMaximumWithJitter() {
        var backoff = ReconnectBackoff()
        var random = SeededGenerator(state: 42)
        let delays = (0..<10).map { _ in backoff.next(using: &random) }
        // 1, 2, 4, 8, 16, 32, then 60 s, each scaled by 0.75 to 1.
        let bases: [Int64] = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
        for (delay, base) in zip(delays, bases) {
            #expect(delay <= .seconds(base) && delay >= .milliseconds(base * 750), "\(delay) for \(base) s")
        }
        #expect(Set(delays.map(\.nanoseconds)).count == delays.count, "jitter varies the delays")
        #expect(backoff.attempts == 10)
        backoff.reset()
        #expect(backoff.next(using: &random) <= .seconds(1))
    }

    @Test func withoutJitterTheSeriesIsExact() {
        var policy = ReconnectBackoff.Policy()
        policy.jitter = 0
        policy.initial = .milliseconds(100)
        policy.maximum = .milliseconds(500)
        var backoff = ReconnectBackoff(policy: policy)
        var random = SeededGenerator(state: 1)
        #expect((0..<5).map { _ in backoff.next(using: &random) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500),
        ])
        // Days of failures do not overflow.
        for _ in 0..<10_000 { _ = backoff.next(using: &random) }
        #expect(backoff.next(using: &random) == .milliseconds(500))
    }
}
