import NetCore

/// A router (one BGP session's table) in the RIB. Never reused: a router that reconnects gets a
/// new one, so an identifier kept past `removeRouter` finds nothing rather than another table.
public struct RouterID: Hashable, Sendable, Comparable, CustomStringConvertible, BitwiseCopyable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static func < (a: RouterID, b: RouterID) -> Bool { a.rawValue < b.rawValue }

    public var description: String { "router#\(rawValue)" }
}

/// Who a router is: the session's remote address, its BGP identifier and AS (from its OPEN).
public struct PeerIdentity: Sendable, Hashable {
    public var address: IPAddress
    public var bgpID: UInt32
    public var asn: UInt32

    public init(address: IPAddress, bgpID: UInt32, asn: UInt32) {
        self.address = address
        self.bgpID = bgpID
        self.asn = asn
    }
}

/// One router's table size, for listings and metrics.
public struct RouterSummary: Sendable, Hashable {
    public var id: RouterID
    public var peer: PeerIdentity
    public var prefixes: Int
    public var paths: Int

    public init(id: RouterID, peer: PeerIdentity, prefixes: Int, paths: Int) {
        self.id = id
        self.peer = peer
        self.prefixes = prefixes
        self.paths = paths
    }
}
