import Aggregation
import BGPWire
import Enrichment
import NIOConcurrencyHelpers
import NetCore
import RIB
import Storage

/// Best-path changes (egress shifts) between the BGP loop that records them and what uses them:
/// the writer of `rib_best_changes`, and the flush that counts the traffic of shifted prefixes.
///
/// Bounded: at most `limit` changes wait to be written (past it the oldest are dropped and
/// counted), and the recent changes the flush looks at are kept for `window` seconds, at most
/// `limit` prefixes.
final class BestPathHistory: Sendable {
    /// A change as the BGP loop hands it over: the RIB's change, when, and at which router.
    struct Entry: Sendable {
        var timeMilliseconds: Int64
        var router: IPAddress
        var bgpID: UInt32
        var change: BestPathChange
    }

    /// A router and prefix whose best path changed.
    struct PrefixAtRouter: Hashable, Sendable {
        var router: IPAddress
        var prefix: IPPrefix
    }

    struct State {
        var pending: [Entry] = []
        var dropped = 0
        /// The latest change time (unix seconds) per router and prefix, under both the router's
        /// session address and its BGP identifier: flows name their exporter by either.
        var recent: [PrefixAtRouter: Int] = [:]
    }

    /// How long after a change a prefix's traffic counts as shifted (`pathflow_egress_shift_bytes_total`).
    static let window = 600
    let limit: Int
    let state = NIOLockedValueBox(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    func record(_ changes: [BestPathChange], router: IPAddress, bgpID: UInt32, timeMilliseconds: Int64) {
        guard !changes.isEmpty else { return }
        let seconds = Int(timeMilliseconds / 1000)
        let identifier = IPAddress(v4: bgpID)
        state.withLockedValue { s in
            for change in changes {
                s.pending.append(Entry(timeMilliseconds: timeMilliseconds, router: router, bgpID: bgpID, change: change))
                if s.recent.count < limit {
                    s.recent[PrefixAtRouter(router: router, prefix: change.prefix)] = seconds
                    if identifier != router { s.recent[PrefixAtRouter(router: identifier, prefix: change.prefix)] = seconds }
                }
            }
            if s.pending.count > limit {
                let excess = s.pending.count - limit
                s.pending.removeFirst(excess)
                s.dropped += excess
            }
        }
    }

    /// The changes waiting to be written, and how many were dropped since the last call.
    func take() -> (entries: [Entry], dropped: Int) {
        state.withLockedValue { s in
            defer {
                s.pending = []
                s.dropped = 0
            }
            return (s.pending, s.dropped)
        }
    }

    /// Changes that could not be written go back in front of newer ones, within the limit.
    func putBack(_ entries: [Entry]) {
        guard !entries.isEmpty else { return }
        state.withLockedValue { s in
            s.pending = entries + s.pending
            if s.pending.count > limit {
                let excess = s.pending.count - limit
                s.pending.removeFirst(excess)
                s.dropped += excess
            }
        }
    }

    /// Bytes of `rows` whose router and prefix had a best-path change during the row's bin or
    /// in the `window` seconds before the bin started. Needs the view's peer_src_ip, dst_net and
    /// dst_mask; changes older than `window` + `binSeconds` are forgotten.
    func shiftedBytes(_ parts: [DrainedRows], binSeconds: Int, now: Int) -> UInt64 {
        let recent = state.withLockedValue { s -> [PrefixAtRouter: Int] in
            let horizon = now - Self.window - max(binSeconds, 1) * 2
            if s.recent.contains(where: { $0.value < horizon }) { s.recent = s.recent.filter { $0.value >= horizon } }
            return s.recent
        }
        guard !recent.isEmpty else { return 0 }
        var bytes: UInt64 = 0
        for part in parts {
            part.forEach { key, counters in
                let prefix = IPPrefix(address: key.key.dstNet, length: key.key.dstMask)
                guard let t = recent[PrefixAtRouter(router: key.key.peerSrc, prefix: prefix)] else { return }
                let start = Int(key.bin)
                if t > start - Self.window && t < start + binSeconds { bytes &+= counters.bytes }
            }
        }
        return bytes
    }

    /// The row `rib_best_changes` stores for an entry.
    static func row(_ e: Entry, stamp: String) -> BestPathChangeRow {
        func side(_ s: BestPathChange.Side?) -> BestPathChangeRow.Side? {
            guard let s else { return nil }
            let a = s.attributes
            return BestPathChangeRow.Side(
                pathID: Int64(s.pathID), nextHop: a.nextHop.isNone ? "0.0.0.0" : a.nextHop.description,
                peerAS: Int64(Enricher.asns(a.asPath).first), asPath: PmacctText.asPath(a.asPath),
                localPref: Int64(a.localPref ?? 0), med: Int64(a.med ?? 0))
        }
        return BestPathChangeRow(
            stamp: stamp, timeMilliseconds: e.timeMilliseconds, router: e.router.description,
            bgpID: IPAddress(v4: e.bgpID).description, net: e.change.prefix.address.description,
            mask: Int(e.change.prefix.length), reason: e.change.reason.rawValue,
            old: side(e.change.old), new: side(e.change.new))
    }
}
