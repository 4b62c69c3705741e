#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A read-write lock for short sections on both sides (a datagram's lookups, one UPDATE), in one
/// word: the reader count, and a bit the writer sets to go next. New readers stay out while the
/// bit is set, so a steady stream of readers cannot starve the writer, and a reader waits for at
/// most the one write in progress.
///
/// Waiting spins, then yields the processor; nothing sleeps in the kernel. With a pthread lock
/// every hand-over between the flow threads and the BGP writer was a futex wake-up, and under a
/// full-table load the flow path spent most of its time being woken (see the enriched-ingest
/// benchmark with a flapping table in docs/PERFORMANCE.md).
///
/// Writers must be serialised by the caller (the RIB's writer mutex): one writer at a time.
final class ReadWriteLock: @unchecked Sendable {
    private let state = Atomic<Int>(0)
    private static let writer = 1 << 62

    init() {}

    @inline(__always)
    func withReadLock<R>(_ body: () throws -> R) rethrows -> R {
        lockRead()
        defer { state.subtract(1, ordering: .releasing) }
        return try body()
    }

    @inline(__always)
    func withWriteLock<R>(_ body: () throws -> R) rethrows -> R {
        lockWrite()
        defer { state.bitwiseAnd(~Self.writer, ordering: .releasing) }
        return try body()
    }

    @inline(__always)
    private func lockRead() {
        var current = state.load(ordering: .relaxed)
        if current & Self.writer == 0,
           state.weakCompareExchange(expected: current, desired: current + 1, ordering: .acquiring).exchanged {
            return
        }
        var spins = 0
        while true {
            current = state.load(ordering: .relaxed)
            if current & Self.writer == 0 {
                if state.weakCompareExchange(expected: current, desired: current + 1, ordering: .acquiring).exchanged { return }
                continue
            }
            Self.pause(&spins)
        }
    }

    private func lockWrite() {
        // Announce: no new reader gets in. Then wait for the readers inside to leave.
        _ = state.bitwiseOr(Self.writer, ordering: .acquiring)
        var spins = 0
        while state.load(ordering: .acquiring) != Self.writer {
            Self.pause(&spins)
        }
    }

    /// Busy-waits a little, then gives the processor away: the other side may be descheduled.
    @inline(__always)
    private static func pause(_ spins: inout Int) {
        spins += 1
        if spins < 64 { return }
        spins = 0
        sched_yield()
    }
}
