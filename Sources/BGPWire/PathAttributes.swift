import NetCore

/// The path attributes of one UPDATE (RFC 4271 §5, RFC 4760, RFC 1997, RFC 4360, RFC 8092,
/// RFC 4456), as the RIB and the flow enrichment need them.
public struct PathAttributes: Sendable, Equatable, Hashable {
    public enum Origin: UInt8, Sendable, Hashable {
        case igp = 0, egp = 1, incomplete = 2
    }

    /// One AS_PATH segment (RFC 4271 §4.3; confederation segments RFC 5065).
    public struct Segment: Sendable, Equatable, Hashable {
        public enum Kind: UInt8, Sendable, Hashable {
            case set = 1, sequence = 2, confedSequence = 3, confedSet = 4
        }

        public var kind: Kind
        public var asns: [UInt32]
    }

    public var origin: Origin?
    public var asPath: [Segment] = []
    public var nextHop: IPAddress = .none
    public var med: UInt32?
    public var localPref: UInt32?
    public var atomicAggregate = false
    public var communities: [UInt32] = []
    public var extendedCommunities: [UInt64] = []
    /// (global administrator, local data 1, local data 2).
    public var largeCommunities: [LargeCommunity] = []
    public var originatorID: UInt32?
    public var clusterList: [UInt32] = []
    /// Optional transitive attributes we do not interpret, kept as received (flags, code, value).
    public var opaque: [OpaqueAttribute] = []

    public init() {}

    public struct LargeCommunity: Sendable, Equatable, Hashable {
        public var global: UInt32, local1: UInt32, local2: UInt32
    }

    public struct OpaqueAttribute: Sendable, Equatable, Hashable {
        public var flags: UInt8, code: UInt8, value: [UInt8]
    }

    /// The AS_PATH as text: sequences space-separated, sets in braces (pmacct's and BIRD's style).
    public var asPathText: String {
        asPath.map { segment -> String in
            let asns = segment.asns.map(String.init).joined(separator: " ")
            switch segment.kind {
            case .sequence: return asns
            case .set: return "{" + segment.asns.map(String.init).joined(separator: ",") + "}"
            case .confedSequence: return "(" + asns + ")"
            case .confedSet: return "[" + segment.asns.map(String.init).joined(separator: ",") + "]"
            }
        }.joined(separator: " ")
    }
}
