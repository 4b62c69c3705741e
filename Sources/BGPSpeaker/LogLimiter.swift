import NIOCore

/// At most `burst` log lines per key and `window`; the rest are counted and reported with the
/// next line that passes, so a flapping peer or a scan cannot flood the log.
struct LogLimiter {
    struct Window {
        var start: NIODeadline
        var count: Int
        var suppressed: Int
    }

    var burst = 5
    var window: TimeAmount = .seconds(60)
    private var windows: [String: Window] = [:]

    /// Whether to log now, and how many lines of this key were held back before it.
    mutating func allow(_ key: String, now: NIODeadline) -> (allowed: Bool, suppressed: Int) {
        if windows.count > 4096 {
            // Many distinct keys (a scan of the listener): forget the idle ones.
            windows = windows.filter { now - $0.value.start < window }
        }
        var w = windows[key] ?? Window(start: now, count: 0, suppressed: 0)
        if now - w.start >= window {
            w.start = now
            w.count = 0
        }
        guard w.count < burst else {
            w.suppressed += 1
            windows[key] = w
            return (false, 0)
        }
        w.count += 1
        let suppressed = w.suppressed
        w.suppressed = 0
        windows[key] = w
        return (true, suppressed)
    }
}
