import NetCore

/// The path attributes of one UPDATE (RFC 4271 §5, RFC 4760, RFC 1997, RFC 4360, RFC 8092,
/// RFC 4456, RFC 6793), as the RIB and the flow enrichment need them.
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

        public init(kind: Kind, asns: [UInt32]) {
            self.kind = kind
            self.asns = asns
        }

        var isConfederation: Bool { kind == .confedSequence || kind == .confedSet }
    }

    public var origin: Origin?
    public var asPath: [Segment] = []
    /// The next hop of the announced routes: MP_REACH_NLRI's when the UPDATE has one, else NEXT_HOP's
    /// (see `Update.mixedNLRI` for the one UPDATE shape where the two differ).
    public var nextHop: IPAddress = .none
    /// The link-local half of a 32-byte IPv6 next hop (RFC 2545 §3), when one was sent.
    public var linkLocalNextHop: IPAddress = .none
    public var med: UInt32?
    public var localPref: UInt32?
    public var atomicAggregate = false
    /// AGGREGATOR with its 4-octet ASN (from AS4_AGGREGATOR when a 2-octet speaker sent AS_TRANS).
    public var aggregator: Aggregator?
    public var communities: [UInt32] = []
    public var extendedCommunities: [UInt64] = []
    /// (global administrator, local data 1, local data 2).
    public var largeCommunities: [LargeCommunity] = []
    public var originatorID: UInt32?
    public var clusterList: [UInt32] = []
    /// Optional transitive attributes we do not interpret, kept as received (flags without the
    /// Extended Length bit, code, value), in code order.
    public var opaque: [OpaqueAttribute] = []

    public init() {}

    public struct LargeCommunity: Sendable, Equatable, Hashable {
        public var global: UInt32, local1: UInt32, local2: UInt32

        public init(global: UInt32, local1: UInt32, local2: UInt32) {
            self.global = global
            self.local1 = local1
            self.local2 = local2
        }
    }

    public struct OpaqueAttribute: Sendable, Equatable, Hashable {
        public var flags: UInt8, code: UInt8, value: [UInt8]

        public init(flags: UInt8, code: UInt8, value: [UInt8]) {
            self.flags = flags
            self.code = code
            self.value = value
        }
    }

    /// The AS that formed an aggregate route and its BGP identifier (RFC 4271 §5.1.7).
    public struct Aggregator: Sendable, Equatable, Hashable {
        public var asn: UInt32
        public var address: IPAddress

        public init(asn: UInt32, address: IPAddress) {
            self.asn = asn
            self.address = address
        }
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
