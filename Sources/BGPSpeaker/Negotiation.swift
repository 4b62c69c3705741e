import BGPWire
import NetCore

/// What two OPENs agreed on (RFC 4271 §4.2, RFC 5492 and each capability's RFC).
public struct Negotiation: Sendable, Equatable {
    public var localOpen: Open
    public var peerOpen: Open
    public var localAS: UInt32
    public var peerAS: UInt32
    public var peerID: UInt32
    /// min(ours, theirs) in seconds; 0 means no hold timer and no keepalives.
    public var holdTime: UInt16
    /// Families both sides announced (IPv4 unicast alone for a peer without RFC 4760).
    public var families: Set<AddressFamily>
    /// Families whose NLRI carry path identifiers towards us (RFC 7911 §4: we receive, they send).
    public var addPath: Set<AddressFamily>
    /// RFC 6793: both sides announced 4-octet AS.
    public var fourOctetAS: Bool
    /// RFC 8654: both sides announced it; messages may then be up to 65,535 bytes.
    public var extendedMessages: Bool
    /// The peer accepts ROUTE-REFRESH (RFC 2918 code 2, or the pre-standard code 128).
    public var routeRefresh: Bool
    /// RFC 8950: both sides announced IPv4 unicast with IPv6 next hops.
    public var extendedNextHop: Bool
    /// The peer announced Graceful Restart (RFC 4724).
    public var peerGracefulRestart: Bool

    /// RFC 4271 §10: a third of the hold time.
    public var keepaliveInterval: UInt16 { holdTime / 3 }
    public var isExternal: Bool { localAS != peerAS }

    /// How this session's UPDATE bodies read.
    public var context: Update.Context {
        Update.Context(addPath: addPath, fourOctetAS: fourOctetAS, externalPeer: isExternal)
    }

    init(local: Open, peer: Open, localAS: UInt32, peerAS: UInt32, config: SessionConfig) {
        localOpen = local
        peerOpen = peer
        self.localAS = localAS
        self.peerAS = peerAS
        peerID = peer.identifier
        holdTime = min(local.holdTime, peer.holdTime)
        let peerFamilies = peer.families
        let announced = peerFamilies.isEmpty ? [AddressFamily.ipv4Unicast] : peerFamilies
        families = Set(config.families).intersection(announced)
        let weReceive = Set(config.addPathFamilies)
        addPath = Set(peer.addPath.filter { $0.sends && weReceive.contains($0.family) }.map(\.family))
            .intersection(families)
        fourOctetAS = config.fourOctetAS && peer.capabilities.contains { $0.code == 65 }
        extendedMessages = config.extendedMessages && peer.capabilities.contains(.extendedMessage)
        routeRefresh = peer.capabilities.contains { $0.code == 2 || $0.code == 128 }
        let ours = local.capabilities.contains { $0.code == 5 }
        extendedNextHop = ours && peer.capabilities.contains { capability in
            switch capability {
            case .extendedNextHop(let entries):
                return entries.contains { $0.family == .ipv4Unicast && $0.nextHopAFI == 2 }
            default:
                return false
            }
        }
        peerGracefulRestart = peer.capabilities.contains { $0.code == 64 }
    }
}
