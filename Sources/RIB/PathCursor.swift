import NetCore

/// Where a paged walk over one router's paths stands. Table dumps and the looking glass read a
/// full table a few thousand prefixes per `RIB.read`, so the writer (and the flow lookups queued
/// behind it) never waits for a whole dump. Between pages the table may change: a page sees a
/// consistent table, the walk as a whole does not (nor does nfacctd's).
public struct PathCursor: Sendable, Hashable {
    var v6: Bool
    var entry: Int

    public static let start = PathCursor(v6: false, entry: 0)
}

extension RouterTable {
    func forEachPath(from cursor: PathCursor, prefixes limit: Int, _ body: (IPPrefix, Path, Bool) throws -> Void) rethrows -> PathCursor? {
        var seen = 0
        if !cursor.v6 {
            var e = cursor.entry
            while e < v4.entryCount {
                if seen == limit { return PathCursor(v6: false, entry: e) }
                let slot = v4.entry(e).pointee
                e += 1
                guard slot.paths.count > 0 else { continue }
                seen += 1
                let prefix = IPPrefix(address: IPAddress(v4: slot.key.address), length: slot.key.length)
                for i in 0..<Int(slot.paths.count) { try body(prefix, slot.paths.path(i, overflow), i == Int(slot.paths.best)) }
            }
        }
        var e = cursor.v6 ? cursor.entry : 0
        while e < v6.entryCount {
            if seen == limit { return PathCursor(v6: true, entry: e) }
            let slot = v6.entry(e).pointee
            e += 1
            guard slot.paths.count > 0 else { continue }
            seen += 1
            let prefix = IPPrefix(address: IPAddress(v6High: slot.key.high, low: slot.key.low), length: slot.key.length)
            for i in 0..<Int(slot.paths.count) { try body(prefix, slot.paths.path(i, overflow), i == Int(slot.paths.best)) }
        }
        return nil
    }
}

extension RIBReader {
    /// Up to `limit` prefixes' paths of `router`, from `cursor`; returns where to go on, or nil when
    /// the table (or the router) is done.
    public func forEachPath(
        router: RouterID, from cursor: PathCursor, prefixes limit: Int,
        _ body: (_ prefix: IPPrefix, _ path: Path, _ isBest: Bool) throws -> Void
    ) rethrows -> PathCursor? {
        try core.pointee.table(router)?.pointee.forEachPath(from: cursor, prefixes: limit, body)
    }
}

extension RIBReader {
    /// The indices of `paths` (one prefix's paths of `router`, in path id order, as a walk gives
    /// them) from most to least preferred: the best path, then the best of the rest, and so on.
    /// What the router would pick if the paths before failed.
    public func rankByPreference(_ paths: [Path], router: RouterID) -> [Int] {
        guard let table = core.pointee.table(router), paths.count > 1 else { return Array(paths.indices) }
        let summaries = core.pointee.store.summaries
        var left = Array(paths.indices)
        var order: [Int] = []
        while !left.isEmpty {
            let candidates = left.map { paths[$0] }
            let pick = candidates.withUnsafeBufferPointer {
                BestPath.select($0, summaries: summaries, peerBGPID: table.pointee.bgpID)
            }
            order.append(left.remove(at: pick))
        }
        return order
    }
}
