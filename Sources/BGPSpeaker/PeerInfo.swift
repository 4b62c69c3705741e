import BGPWire
import NetCore

/// The facts of one established session.
public struct PeerInfo: Sendable, Equatable {
    /// Unique per established session (a reconnect gets a new one).
    public var sessionID: UInt64
    public var remoteAddress: IPAddress
    public var remotePort: Int
    public var localAddress: IPAddress
    public var bgpID: UInt32
    public var asn: UInt32
    public var holdTime: UInt16
    public var addPath: Set<AddressFamily>
    public var fourOctetAS: Bool
    /// The peer's capabilities as received.
    public var capabilities: [Capability]

    public init(sessionID: UInt64, remoteAddress: IPAddress, remotePort: Int, localAddress: IPAddress,
                bgpID: UInt32, asn: UInt32, holdTime: UInt16, addPath: Set<AddressFamily>,
                fourOctetAS: Bool, capabilities: [Capability]) {
        self.sessionID = sessionID
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.localAddress = localAddress
        self.bgpID = bgpID
        self.asn = asn
        self.holdTime = holdTime
        self.addPath = addPath
        self.fourOctetAS = fourOctetAS
        self.capabilities = capabilities
    }
}
