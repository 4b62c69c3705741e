import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The event loops the intake's sockets run on, and the shard each socket feeds.
///
/// The loops are made on first use (by the running intake or flush service), never before, and
/// shut down once, by the flush service after the final flush. Work is handed to a shard only
/// under the lock and only while the loops are open, so a late caller (a scrape of /metrics
/// during a stop, a reload) gets nothing rather than a task on a loop that is gone.
final class ShardLoops: Sendable {
    struct Handle: Sendable {
        var loop: any EventLoop
        var shard: NIOLoopBound<CollectorShard>
    }

    struct State {
        var group: MultiThreadedEventLoopGroup?
        var closed = false
        var handles: [Int: Handle] = [:]
    }

    struct Closed: Error, CustomStringConvertible {
        var description: String { "the collector's event loops are shut down" }
    }

    let threads: Int
    private let state = NIOLockedValueBox(State())

    init(threads: Int) {
        self.threads = threads
    }

    /// The loops, made on the first call.
    func group() throws -> MultiThreadedEventLoopGroup {
        try state.withLockedValue { state in
            if state.closed { throw Closed() }
            if let group = state.group { return group }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
            state.group = group
            return group
        }
    }

    func add(_ shard: CollectorShard, index: Int, on loop: any EventLoop) {
        state.withLockedValue { $0.handles[index] = Handle(loop: loop, shard: NIOLoopBound(shard, eventLoop: loop)) }
    }

    /// Runs `body` on every shard's loop; no futures once the loops are shut down.
    func submit<T: Sendable>(_ body: @escaping @Sendable (CollectorShard) -> T) -> [EventLoopFuture<T>] {
        state.withLockedValue { state in
            guard !state.closed else { return [] }
            return state.handles.sorted { $0.key < $1.key }.map { _, handle in
                let bound = handle.shard
                return handle.loop.submit { body(bound.value) }
            }
        }
    }

    /// Current counters from every shard, merged; nil once the loops are shut down.
    func stats() -> EventLoopFuture<ShardStats>? {
        let (loop, futures) = state.withLockedValue { state -> ((any EventLoop)?, [EventLoopFuture<ShardStats>]) in
            guard !state.closed, let group = state.group else { return (nil, []) }
            return (group.next(), state.handles.values.map { handle in
                let bound = handle.shard
                return handle.loop.submit { bound.value.snapshot() }
            })
        }
        guard let loop else { return nil }
        return EventLoopFuture.whenAllSucceed(futures, on: loop).map { parts in
            var total = ShardStats()
            for part in parts { total.merge(part) }
            return total
        }
    }

    /// Closes the loops for good; what was handed to them before still runs.
    func shutdown() async {
        let group = state.withLockedValue { state -> MultiThreadedEventLoopGroup? in
            state.closed = true
            state.handles = [:]
            defer { state.group = nil }
            return state.group
        }
        try? await group?.shutdownGracefully()
    }
}
