import NetCore

/// How a flow's destination and next-hop were mapped to a path (pathflow's `path_match`,
/// DESIGN §3 steps 3–5).
public struct PathMatch: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable, CustomStringConvertible {
        /// The longest covering prefix has a path with the flow's next-hop.
        case exact
        /// A less specific covering prefix is the most specific one with such a path.
        case covering
        /// The flow has no next-hop: the best path of the longest covering prefix.
        case best
        /// No covering prefix has a path with the flow's next-hop; `path` is the best path of
        /// the longest covering prefix, for callers that want it anyway.
        case mismatch
        /// No covering prefix (or no such router).
        case noRoute

        public var description: String {
            switch self {
            case .exact: "exact"
            case .covering: "covering"
            case .best: "best"
            case .mismatch: "mismatch"
            case .noRoute: "no_route"
            }
        }
    }

    public var kind: Kind
    /// The chosen path; nil only for `noRoute`.
    public var path: Path?
    // The prefix is kept as its parts and built on demand: most flows never ask for it.
    var prefixAddress: IPAddress
    var prefixLength: UInt8

    init(kind: Kind, path: Path?, prefixAddress: IPAddress, prefixLength: UInt8) {
        self.kind = kind
        self.path = path
        self.prefixAddress = prefixAddress
        self.prefixLength = prefixLength
    }

    @inline(__always)
    static var noRoute: PathMatch {
        PathMatch(kind: .noRoute, path: nil, prefixAddress: IPAddress(high: 0, low: 0, family: .none), prefixLength: 0)
    }

    /// The prefix the path belongs to; nil only for `noRoute`.
    public var prefix: IPPrefix? {
        kind == .noRoute ? nil : IPPrefix(address: prefixAddress, length: prefixLength)
    }
}
