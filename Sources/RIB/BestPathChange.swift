import BGPWire
import NetCore

/// A change of one prefix's best path at one router, as the writer saw it while applying an
/// UPDATE: where traffic to the prefix leaves the network moves with it (an egress shift).
///
/// Recorded when the best path becomes another path (path id), when the prefix gains its first
/// path or loses its last, and when the best path is re-announced with another next-hop. A
/// change of other attributes on the same best path is not one.
public struct BestPathChange: Sendable, Equatable {
    /// Why the best path changed: the event, or the step of best-path selection (`BestPath`) at
    /// which the new best path beats the old one's attributes as they are after the UPDATE.
    public enum Reason: String, Sendable, CaseIterable {
        /// The prefix had no path before.
        case newPrefix = "new_prefix"
        /// The old best path was withdrawn (the new one, if any, is the next in the ranking).
        case withdraw
        /// The same path re-announced with another next-hop.
        case update
        case localPref = "local_pref"
        case asPathLength = "as_path_length"
        case origin
        case med
        /// ORIGINATOR_ID, or the peer's BGP identifier without one (RFC 4456 §9).
        case routerID = "router_id"
        case clusterListLength = "cluster_list_length"
        /// Equal in every step: the lower ADD-PATH path id wins.
        case pathID = "path_id"
    }

    /// One side of a change: a path as it was (old) or is (new).
    public struct Side: Sendable, Equatable {
        public var pathID: UInt32
        public var attributes: PathAttributes

        public init(pathID: UInt32, attributes: PathAttributes) {
            self.pathID = pathID
            self.attributes = attributes
        }
    }

    public var prefix: IPPrefix
    /// nil: the prefix had no path.
    public var old: Side?
    /// nil: the prefix has no path left.
    public var new: Side?
    public var reason: Reason

    public init(prefix: IPPrefix, old: Side?, new: Side?, reason: Reason) {
        self.prefix = prefix
        self.old = old
        self.new = new
        self.reason = reason
    }
}

extension BestPath {
    /// The first step of the selection at which `winner` beats `loser` (both of one prefix at
    /// one router). MED counts only between paths from the same neighbouring AS, as in `select`.
    static func decidingStep(
        _ winner: AttributeSummary, _ loser: AttributeSummary, peerBGPID: UInt32
    ) -> BestPathChange.Reason {
        if winner.localPref != loser.localPref { return .localPref }
        if winner.asPathLength != loser.asPathLength { return .asPathLength }
        if winner.origin != loser.origin { return .origin }
        if winner.firstASN == loser.firstASN && winner.med != loser.med { return .med }
        let w = winner.hasOriginatorID ? winner.originatorID : peerBGPID
        let l = loser.hasOriginatorID ? loser.originatorID : peerBGPID
        if w != l { return .routerID }
        if winner.clusterListLength != loser.clusterListLength { return .clusterListLength }
        return .pathID
    }
}
