/// The values of the `path_match` primitive: how a flow was mapped to a BGP path (DESIGN §3).
public enum PathMatchCode: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Not enriched (no BGP daemon); written as an empty string.
    case none = 0
    /// The longest covering prefix has a path with the flow's BGP next-hop.
    case exact
    /// A less specific covering prefix is the most specific one with such a path.
    case covering
    /// The flow has no BGP next-hop: the best path of the longest covering prefix.
    case best
    /// No covering prefix has a path with the flow's next-hop.
    case mismatch
    /// The router has no route covering the destination.
    case noRoute
    /// No BGP session matches the flow's exporter.
    case noPeer

    public var description: String {
        switch self {
        case .none: ""
        case .exact: "exact"
        case .covering: "covering"
        case .best: "best"
        case .mismatch: "mismatch"
        case .noRoute: "no_route"
        case .noPeer: "no_peer"
        }
    }
}
