import BGPSpeaker
import BGPWire
import Logging
import Prometheus
import NIOConcurrencyHelpers
import NetCore
import RIB

/// What the looking glass and the dumps need to know about a router's session.
struct RouterSession: Sendable {
    var router: RouterID
    var peer: PeerInfo
}

/// The speaker's sink: turns session events into RIB writes. Runs on the BGP event loop only,
/// which makes it the RIB's single writer.
final class RIBFeeder: RouteSink {
    let rib: RIB
    let metrics: BGPMetrics
    let logger: Logger
    /// Sessions by id, shared with the HTTP side (looking glass, dumps) under a lock; written
    /// only when a session comes up or goes down.
    let sessions: NIOLockedValueBox<[UInt64: RouterSession]>
    /// The same sessions for this loop alone, with their counters: an UPDATE takes no lock and
    /// makes no registry lookup before the RIB's.
    var live: [UInt64: (router: RouterID, metrics: BGPMetrics.Peer)] = [:]
    /// Messages received per peer address and type, kept once looked up.
    var messageCounters: [IPAddress: [BGPMessage.Kind: Counter]] = [:]

    init(rib: RIB, metrics: BGPMetrics, logger: Logger, sessions: NIOLockedValueBox<[UInt64: RouterSession]>) {
        self.rib = rib
        self.metrics = metrics
        self.logger = logger
        self.sessions = sessions
    }

    func established(_ peer: PeerInfo) {
        let router = rib.addRouter(PeerIdentity(address: peer.remoteAddress, bgpID: peer.bgpID, asn: peer.asn))
        live[peer.sessionID] = (router, BGPMetrics.Peer(metrics, peer: peer.remoteAddress.description))
        let count = sessions.withLockedValue { all -> Int in
            all[peer.sessionID] = RouterSession(router: router, peer: peer)
            return all.count
        }
        metrics.sessionsEstablished.set(Int64(count))
        logger.info("BGP session established", metadata: [
            "peer": "\(peer.remoteAddress)", "port": "\(peer.remotePort)", "bgp_id": "\(IPAddress(v4: peer.bgpID))",
            "as": "\(peer.asn)", "hold_time": "\(peer.holdTime)",
            "add_path": "\(peer.addPath.map(\.description).sorted().joined(separator: ","))",
        ])
    }

    func update(_ update: Update, session: UInt64) -> Int {
        guard let entry = live[session] else { return 0 }
        let result = rib.apply(update, to: entry.router)
        entry.metrics.record(result)
        return result.pathsHeld
    }

    func endOfRIB(_ family: AddressFamily, session: UInt64) {
        guard let entry = sessions.withLockedValue({ $0[session] }) else { return }
        let peer = entry.peer.remoteAddress.description
        metrics.counter("pathflow_bgp_end_of_rib_total", [("peer", peer), ("family", family.description)],
                        "End-of-RIB markers received (RFC 4724)").increment()
        let summary = rib.read { $0.summary(of: entry.router) }
        logger.info("End-of-RIB", metadata: [
            "peer": "\(peer)", "family": "\(family)",
            "prefixes": "\(summary?.prefixes ?? 0)", "paths": "\(summary?.paths ?? 0)",
        ])
    }

    func down(session: UInt64, reason: String) {
        guard let (entry, count) = sessions.withLockedValue({ all -> (RouterSession, Int)? in
            guard let entry = all.removeValue(forKey: session) else { return nil }
            return (entry, all.count)
        }) else { return }
        live[session] = nil
        let summary = rib.read { $0.summary(of: entry.router) }
        rib.removeRouter(entry.router)
        let peer = entry.peer.remoteAddress.description
        metrics.sessionsEstablished.set(Int64(count))
        metrics.peerPaths(peer).set(Int64(0))
        metrics.peerPrefixes(peer).set(Int64(0))
        metrics.counter("pathflow_bgp_session_down_total", [("peer", peer)], "Established sessions that ended; their paths were flushed").increment()
        logger.warning("BGP session down; its paths are flushed", metadata: [
            "peer": "\(peer)", "reason": "\(reason)", "paths": "\(summary?.paths ?? 0)",
        ])
    }

    func event(_ event: SpeakerEvent) {
        switch event {
        case .connectionRejected(let address, let why):
            metrics.counter("pathflow_bgp_connections_rejected_total", [("reason", Self.label(why))],
                            "Incoming BGP connections refused with Cease 6/5").increment()
            logger.debug("BGP connection rejected", metadata: ["peer": "\(address)", "reason": "\(why.rawValue)"])
        case .connectFailed:
            metrics.counter("pathflow_bgp_connect_failures_total", [], "Outgoing connection attempts that failed").increment()
        case .notificationSent(_, let n):
            metrics.notificationSent(code: n.code, subcode: n.subcode)
        case .notificationReceived(_, let n):
            metrics.notificationReceived(code: n.code, subcode: n.subcode)
        case .treatedAsWithdraw(let address, let routes):
            metrics.counter("pathflow_bgp_treat_as_withdraw_total", [("peer", address.description)],
                            "UPDATEs treated as withdraw (RFC 7606)").increment()
            metrics.counter("pathflow_bgp_treat_as_withdraw_routes_total", [("peer", address.description)],
                            "Routes withdrawn by RFC 7606 treat-as-withdraw").increment(by: Int64(routes))
        case .attributesDiscarded(let address, let count):
            metrics.counter("pathflow_bgp_attributes_discarded_total", [("peer", address.description)],
                            "Malformed attributes discarded (RFC 7606)").increment(by: Int64(count))
        case .messageReceived(let address, let kind):
            if let counter = messageCounters[address]?[kind] {
                counter.increment()
            } else {
                let counter = metrics.counter("pathflow_bgp_messages_received_total",
                                              [("peer", address.description), ("type", "\(kind)")], "BGP messages received, by type")
                messageCounters[address, default: [:]][kind] = counter
                counter.increment()
            }
        case .stateChanged, .routeRefreshReceived:
            break
        }
    }

    static func label(_ rejection: SpeakerEvent.Rejection) -> String {
        switch rejection {
        case .notAllowed: return "not_allowed"
        case .tooManyPeers: return "max_peers"
        case .shuttingDown: return "shutting_down"
        }
    }
}
