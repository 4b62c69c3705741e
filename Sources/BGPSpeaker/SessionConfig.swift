import BGPWire
import NetCore

/// What one BGP session announces and accepts. The defaults make an iBGP route-reflector client
/// that receives every path (ADD-PATH) and never advertises routes.
public struct SessionConfig: Sendable, Equatable {
    /// Our AS; nil mirrors the peer's AS (iBGP, like pmacct). Without `expectedPeerAS` our OPEN
    /// then waits for the peer's (RFC 4271 §8.1.1 DelayOpen).
    public var localAS: UInt32?
    public var identifier: UInt32
    /// Seconds; 0 means no hold timer and no keepalives (RFC 4271 §4.2).
    public var holdTime: UInt16 = 90
    /// RFC 4271 §8.2.2: the hold timer while waiting for the peer's OPEN. The RFC suggests 4
    /// minutes; routers send their OPEN at once, and a short one frees connections that never do.
    public var openHoldTime: UInt16 = 10
    public var families: [AddressFamily] = [.ipv4Unicast, .ipv6Unicast]
    /// Ask for path identifiers (RFC 7911) for every family in `families` that `Update` parses.
    public var addPathReceive = true
    /// RFC 4724 with restart time 0 and no families: gobgpd and FRR send End-of-RIB only to a
    /// peer that announces it (fixtures/bgp/README.md).
    public var gracefulRestart = true
    public var routeRefresh = true
    /// RFC 8654.
    public var extendedMessages = true
    /// RFC 8950: IPv4 unicast NLRI with an IPv6 next hop.
    public var extendedNextHop = true
    /// RFC 6793.
    public var fourOctetAS = true
    /// A peer announcing another AS is refused with 2/2.
    public var expectedPeerAS: UInt32?
    /// A connection from another address is refused with 6/5.
    public var expectedPeerAddress: IPAddress?
    /// Appended to our OPEN as given (a test speaker announcing ADD-PATH send, for instance).
    public var additionalCapabilities: [Capability] = []

    public init(identifier: UInt32, localAS: UInt32? = nil) {
        self.identifier = identifier
        self.localAS = localAS
    }

    /// RFC 6793 §4.1: "My Autonomous System" of an ASN that needs four octets.
    public static let asTrans: UInt32 = 23456

    /// Families we ask path identifiers for: only those whose NLRI we parse.
    var addPathFamilies: [AddressFamily] {
        addPathReceive ? families.filter { Update.supportedFamilies.contains($0) } : []
    }

    /// Our OPEN for a session whose local AS is `asn`. Capability order follows the collector
    /// used for the captures in fixtures/bgp, so its OPENs can be compared byte for byte.
    func open(asn: UInt32) -> Open {
        var capabilities: [Capability] = families.map { .multiprotocol($0) }
        if fourOctetAS { capabilities.append(.fourOctetAS(asn)) }
        if routeRefresh { capabilities.append(.routeRefresh) }
        if extendedMessages { capabilities.append(.extendedMessage) }
        if extendedNextHop && families.contains(.ipv4Unicast) {
            // AFI 1, SAFI 1, next-hop AFI 2 (RFC 8950 §3); written raw, it encodes the same.
            capabilities.append(.other(code: 5, value: [0, 1, 0, 1, 0, 2]))
        }
        let addPath = addPathFamilies
        if !addPath.isEmpty {
            capabilities.append(.addPath(addPath.map { Capability.AddPath(family: $0, mode: 1) }))
        }
        if gracefulRestart {
            // RFC 4724 §3: restart flags and time (0), no address families.
            capabilities.append(.other(code: 64, value: [0, 0]))
        }
        capabilities += additionalCapabilities
        let myAS = asn > UInt32(UInt16.max) ? UInt16(Self.asTrans) : UInt16(asn)
        return Open(myAS: myAS, holdTime: holdTime, identifier: identifier, capabilities: capabilities)
    }
}
