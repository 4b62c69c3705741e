import Synchronization

/// Texts that flow keys hold by number (AS paths and community lists): each distinct text once,
/// numbered from 1 in the order first seen; 0 is the empty text. Shared by every shard and
/// view, so equal texts have equal numbers across shards and rows merge by key alone.
///
/// Shards look texts up through caches of their own (per attribute set) and come here only on
/// a miss; the storage writer resolves numbers to texts at a flush. Numbers are never reused,
/// so a row drained long after its path went away still reads its text. The pool holds at most
/// `capacity` texts; past that new texts are counted in `overflowed` and map to 0.
public final class TextPool: Sendable {
    private struct State {
        var texts: [String] = [""]
        var numbers: [String: UInt32] = ["": 0]
        var overflowed: UInt64 = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int = 8_000_000) {
        self.capacity = capacity
    }

    /// The number of `text`, added if new.
    public func number(_ text: String) -> UInt32 {
        if text.isEmpty { return 0 }
        return state.withLock { s in
            if let n = s.numbers[text] { return n }
            guard s.texts.count < capacity else {
                s.overflowed += 1
                return 0
            }
            let n = UInt32(s.texts.count)
            s.texts.append(text)
            s.numbers[text] = n
            return n
        }
    }

    /// The text numbered `number` ("" for 0 or a number the pool never gave).
    public func text(_ number: UInt32) -> String {
        state.withLock { s in Int(number) < s.texts.count ? s.texts[Int(number)] : "" }
    }

    /// Every text so far, indexed by number: one lock for a whole flush.
    public func snapshot() -> [String] {
        state.withLock { $0.texts }
    }

    public var count: Int { state.withLock { $0.texts.count - 1 } }

    /// Texts that found the pool full.
    public var overflowed: UInt64 { state.withLock { $0.overflowed } }
}
