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
    var live: [UInt64: Live] = [:]
    /// Messages received per peer address and type, kept once looked up.
    var messageCounters: [IPAddress: [BGPMessage.Kind: Counter]] = [:]
    /// Where best-path changes go; nil when bgp_best_path_history is 0.
    let history: BestPathHistory?
    /// Best-path changes per peer address and reason, kept once looked up.
    var changeCounters: [IPAddress: [BestPathChange.Reason: Counter]] = [:]
    /// Reused for each UPDATE of a recording router.
    var changes: [BestPathChange] = []

    struct Live {
        var router: RouterID
        var metrics: BGPMetrics.Peer
        var peer: PeerInfo
        /// Best-path changes are recorded once the router's initial table is in: from its first
        /// End-of-RIB, or `recordingDelay` after the session came up (monotonic seconds).
        var recording = false
        var recordFrom: Double
    }

    /// A router that sends no End-of-RIB has its changes recorded from this long after its
    /// session came up.
    static let recordingDelay: Double = 300

    init(rib: RIB, metrics: BGPMetrics, logger: Logger, sessions: NIOLockedValueBox<[UInt64: RouterSession]>,
         history: BestPathHistory? = nil) {
        self.rib = rib
        self.metrics = metrics
        self.logger = logger
        self.sessions = sessions
        self.history = history
    }

    func established(_ peer: PeerInfo) {
        let router = rib.addRouter(PeerIdentity(address: peer.remoteAddress, bgpID: peer.bgpID, asn: peer.asn))
        live[peer.sessionID] = Live(
            router: router, metrics: BGPMetrics.Peer(metrics, peer: peer.remoteAddress.description), peer: peer,
            recordFrom: monotonicNow() + Self.recordingDelay)
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
        guard var entry = live[session] else { return 0 }
        if history != nil && !entry.recording && monotonicNow() >= entry.recordFrom {
            entry.recording = true
            live[session] = entry
        }
        guard let history, entry.recording else {
            let result = rib.apply(update, to: entry.router)
            entry.metrics.record(result)
            return result.pathsHeld
        }
        changes.removeAll(keepingCapacity: true)
        let result = rib.apply(update, to: entry.router, changes: &changes)
        entry.metrics.record(result)
        if !changes.isEmpty {
            let address = entry.peer.remoteAddress
            history.record(changes, router: address, bgpID: entry.peer.bgpID, timeMilliseconds: wallMilliseconds())
            for change in changes { changeCounter(address, change.reason).increment() }
        }
        return result.pathsHeld
    }

    func changeCounter(_ address: IPAddress, _ reason: BestPathChange.Reason) -> Counter {
        if let counter = changeCounters[address]?[reason] { return counter }
        let counter = metrics.counter(
            "pathflow_bgp_best_path_changes_total", [("peer", address.description), ("reason", reason.rawValue)],
            "Changes of a prefix's best path (egress shifts) after the router's initial table, by reason")
        changeCounters[address, default: [:]][reason] = counter
        return counter
    }

    func endOfRIB(_ family: AddressFamily, session: UInt64) {
        if history != nil, live[session]?.recording == false {
            live[session]?.recording = true
        }
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
