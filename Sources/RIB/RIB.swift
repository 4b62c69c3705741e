import BGPWire
import NetCore
import Synchronization

/// Every path of every prefix of every router pathflow peers with (iBGP, route-reflector
/// client, ADD-PATH): per router an Adj-RIB-In keyed by (prefix, path id), attribute sets
/// interned across routers, the best path of each prefix, and longest-prefix match for flows.
///
/// Writer side (`addRouter`, `apply`, `removeRouter`): meant for one thread at a time, the BGP
/// event loop; concurrent calls are serialised. Readers (`read`) run on any thread alongside
/// it. The write lock is held for one UPDATE at a time, and `removeRouter` holds it only to
/// unlink the table, so a reader never waits longer than one UPDATE takes to apply.
public final class RIB: @unchecked Sendable {
    private let lock = ReadWriteLock()
    /// Serialises writers, including the part of `removeRouter` that runs outside the lock.
    private let writer = Mutex(())
    private let core: UnsafeMutablePointer<RIBCore>
    private let directory: UnsafeMutablePointer<RouterDirectory>

    public init() {
        core = .allocate(capacity: 1)
        core.initialize(to: RIBCore())
        directory = .allocate(capacity: 1)
        directory.initialize(to: RouterDirectory())
    }

    deinit {
        core.pointee.deallocate()
        core.deinitialize(count: 1)
        core.deallocate()
        directory.deinitialize(count: 1)
        directory.deallocate()
    }

    /// Starts an empty table for a router whose session came up.
    public func addRouter(_ peer: PeerIdentity) -> RouterID {
        writer.withLock { _ in
            lock.withWriteLock {
                let id = core.pointee.addRouter(bgpID: peer.bgpID)
                directory.pointee.add(id, peer)
                return id
            }
        }
    }

    /// Applies one decoded UPDATE from `router`: withdrawals, then announcements (RFC 4271 §9.1),
    /// interning its attributes once. An unknown (removed) router changes nothing.
    @discardableResult
    public func apply(_ update: Update, to router: RouterID) -> ApplyResult {
        writer.withLock { _ in
            lock.withWriteLock { core.pointee.apply(update, to: router) }
        }
    }

    /// `apply`, appending to `changes` every change of a prefix's best path the UPDATE makes
    /// (`BestPathChange`): for a router past its initial table, whose changes are egress shifts.
    @discardableResult
    public func apply(_ update: Update, to router: RouterID, changes: inout [BestPathChange]) -> ApplyResult {
        writer.withLock { _ in
            lock.withWriteLock {
                withUnsafeMutablePointer(to: &changes) { core.pointee.apply(update, to: router, changes: $0) }
            }
        }
    }

    /// Drops a router and all its paths (its session went down). Under the lock the table is
    /// only unlinked; its paths are released and its memory freed after readers are let go.
    public func removeRouter(_ router: RouterID) {
        writer.withLock { _ in
            let detached = lock.withWriteLock {
                directory.pointee.remove(router)
                return core.pointee.detach(router)
            }
            guard let table = detached else { return }
            // No reader can reach the table any more. Releasing its attribute uses touches only
            // sets no other table holds (which are freed) and writer-only bookkeeping.
            table.pointee.releaseAll(store: &core.pointee.store)
            table.pointee.deallocate()
            table.deinitialize(count: 1)
            table.deallocate()
            lock.withWriteLock { core.pointee.publishStoreSize() }
        }
    }

    /// Runs `body` with a reader of a consistent RIB: one lock acquisition for any number of
    /// lookups, so batch them. Do not call the RIB's writer methods or `read` again inside, and
    /// keep `body` short: it delays the writer, and the writer delays new readers.
    public func read<R>(_ body: (borrowing RIBReader) throws -> R) rethrows -> R {
        try lock.withReadLock { try body(RIBReader(core: UnsafePointer(core), directory: UnsafePointer(directory))) }
    }
}
