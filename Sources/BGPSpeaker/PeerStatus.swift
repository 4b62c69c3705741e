import NIOCore
import NetCore

/// One connection (or one configured neighbour without a connection) for a looking glass.
public struct PeerStatus: Sendable, Equatable {
    public var remoteAddress: IPAddress
    public var remotePort: Int
    /// We connected out (an active neighbour).
    public var outbound: Bool
    public var state: Session.State
    public var sessionID: UInt64?
    /// Since the session was established, at the time of the snapshot.
    public var uptime: TimeAmount?
    public var bgpID: UInt32?
    public var asn: UInt32?
    public var addPath: Set<AddressFamily> = []
    public var messagesIn = 0
    public var messagesOut = 0
    /// Why the last session of this peer ended, or the last connection attempt failed.
    public var lastError: String?

    /// When the session came up; `uptime` is computed from it in snapshots.
    var establishedAt: NIODeadline?

    public init(remoteAddress: IPAddress, remotePort: Int, outbound: Bool, state: Session.State) {
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.outbound = outbound
        self.state = state
    }
}
