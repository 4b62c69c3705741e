import BGPWire
import NIOCore
import NetCore

/// One BGP connection's finite state machine (RFC 4271 §8) as a value: inputs are method calls
/// with the current time, outputs are actions for the driver. No I/O, clock or logging inside.
///
/// We only receive routes: the session never sends an UPDATE.
public struct Session: Sendable {
    /// RFC 4271 §8.2.2 states. `connect`: our connection attempt is under way. `active`: the
    /// transport is up and our OPEN waits for the peer's (§8.1.1 DelayOpen), because the local AS
    /// mirrors the peer's and no expected peer AS is configured.
    public enum State: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
        case idle, connect, active, openSent, openConfirm, established

        public var description: String {
            switch self {
            case .idle: return "Idle"
            case .connect: return "Connect"
            case .active: return "Active"
            case .openSent: return "OpenSent"
            case .openConfirm: return "OpenConfirm"
            case .established: return "Established"
            }
        }

        /// The transport is up (a NOTIFICATION can be sent).
        var hasTransport: Bool { self != .idle && self != .connect }

        /// The peer's OPEN was accepted: the session takes a `maximumPeers` place.
        public var isPastOpen: Bool { self == .openConfirm || self == .established }
    }

    /// What the driver does, in order.
    public enum Action: Sendable, Equatable {
        case send(BGPMessage)
        case stateChange(from: State, to: State)
        /// KEEPALIVE received in OpenConfirm: the session is up with these facts.
        case established(Negotiation)
        /// An UPDATE decoded with the negotiated context; RFC 7606 treat-as-withdraw and
        /// attribute discard are recorded in it, not session errors.
        case update(Update)
        /// RFC 4724 §2.
        case endOfRIB(AddressFamily)
        /// RFC 2918 (and RFC 7313 BoRR/EoRR) for a negotiated family.
        case routeRefresh(RouteRefresh)
        /// The peer's NOTIFICATION; `shutdownCommunication` has its RFC 8203 text.
        case notificationReceived(Notification)
        /// Close the transport; the session is Idle and takes no further input.
        case close(CloseReason)
    }

    public enum CloseReason: Sendable, Equatable, CustomStringConvertible {
        /// We sent this NOTIFICATION (an error we found, a timer, a stop).
        case sent(Notification, reason: String)
        case received(Notification)
        /// No OPEN before the hold timer of §8.2.2 (`openHoldTime` seconds); we sent 4/0.
        case openTimeout(seconds: UInt16)
        /// The peer's NOTIFICATION did not parse; nothing is sent back (RFC 4271 §6.4).
        case malformedNotification(String)
        case transportDown
        /// Stopped before the transport was up: nothing to send.
        case stopped

        public var description: String {
            switch self {
            case .sent(let n, let reason): return "sent NOTIFICATION \(n.summary) (\(reason))"
            case .received(let n): return "received NOTIFICATION \(n.summary)"
            case .openTimeout(let seconds):
                return "sent NOTIFICATION \(Self.holdTimerExpired.summary) (no OPEN within \(seconds) s)"
            case .malformedNotification(let reason): return "received a malformed NOTIFICATION (\(reason))"
            case .transportDown: return "connection closed"
            case .stopped: return "stopped"
            }
        }

        static let holdTimerExpired = Notification(code: 4, subcode: 0)
    }

    public let config: SessionConfig
    public private(set) var state: State = .idle
    /// Set when the peer's OPEN is accepted (OpenConfirm and Established).
    public private(set) var negotiation: Negotiation?
    /// Our OPEN once sent.
    public private(set) var localOpen: Open?
    private var holdDeadline: NIODeadline?
    private var keepaliveDeadline: NIODeadline?

    public init(config: SessionConfig) {
        self.config = config
    }

    /// RFC 8654: frame with the 65,535-byte limit once both OPENs announced it.
    public var extendedMessages: Bool { negotiation?.extendedMessages ?? false }

    /// When `tick(now:)` has something to do; nil when no timer runs.
    public var nextDeadline: NIODeadline? {
        switch (holdDeadline, keepaliveDeadline) {
        case (let h?, let k?): return min(h, k)
        case (let h?, nil): return h
        case (nil, let k?): return k
        case (nil, nil): return nil
        }
    }

    // MARK: inputs

    /// We start connecting to the peer.
    public mutating func connecting() -> [Action] {
        guard state == .idle else { return [] }
        return [move(to: .connect)]
    }

    /// The TCP connection is up: send our OPEN, or wait for the peer's when our AS mirrors it.
    public mutating func transportUp(now: NIODeadline, remote: IPAddress? = nil) -> [Action] {
        guard state == .idle || state == .connect else { return [] }
        var actions: [Action] = []
        let next: State = localASBeforeOpen == nil ? .active : .openSent
        actions.append(move(to: next))
        if let expected = config.expectedPeerAddress, let remote, remote != expected {
            return actions + close(sending: Cease.connectionRejected.notification(),
                                   reason: "connection from \(remote), expected \(expected)")
        }
        // §8.2.2: a large hold time until the peer's OPEN arrives.
        holdDeadline = config.openHoldTime == 0 ? nil : now + .seconds(Int64(config.openHoldTime))
        if let asn = localASBeforeOpen {
            let open = config.open(asn: asn)
            localOpen = open
            actions.append(.send(BGPMessage(kind: .open, body: open.encode())))
        }
        return actions
    }

    /// One framed message from the peer.
    public mutating func receive(_ message: BGPMessage, now: NIODeadline) -> [Action] {
        guard state.hasTransport else { return [] }
        switch message.kind {
        case .notification:
            let notification: Notification
            do {
                notification = try Notification.decode(message.body)
            } catch {
                // §6.4: nothing goes back.
                return end(.malformedNotification((error as? BGPError)?.reason ?? "\(error)"))
            }
            var actions: [Action] = [.notificationReceived(notification)]
            actions += end(.received(notification))
            return actions
        case .open:
            guard state == .active || state == .openSent else { return unexpected(message.kind) }
            return receiveOpen(message.body, now: now)
        case .keepalive:
            switch state {
            case .openConfirm:
                restartHoldTimer(now: now)
                guard let negotiation else { return unexpected(message.kind) }
                return [move(to: .established), .established(negotiation)]
            case .established:
                restartHoldTimer(now: now)
                return []
            default:
                return unexpected(message.kind)
            }
        case .update:
            guard state == .established, let negotiation else { return unexpected(message.kind) }
            let update: Update
            do {
                update = try Update.decode(message.body, context: negotiation.context)
            } catch let error as BGPError {
                return close(sending: Notification(error), reason: error.reason)
            } catch {
                return close(sending: Notification(code: 3, subcode: 1), reason: "\(error)")
            }
            restartHoldTimer(now: now)
            if let family = update.endOfRIB { return [.endOfRIB(family)] }
            return [.update(update)]
        case .routeRefresh:
            guard state == .established, let negotiation else { return unexpected(message.kind) }
            do {
                let refresh = try RouteRefresh.decode(message.body)
                // RFC 2918 §4: a family not announced in the OPEN is ignored.
                return negotiation.families.contains(refresh.family) ? [.routeRefresh(refresh)] : []
            } catch let error as BGPError {
                return close(sending: Notification(error), reason: error.reason)
            } catch {
                return close(sending: Notification(code: 7, subcode: 1), reason: "\(error)")
            }
        }
    }

    /// The framer rejected the message at the front of `bytes` (RFC 4271 §6.1 errors).
    public mutating func framingError(_ error: BGPError, bytes: ByteBuffer) -> [Action] {
        guard state.hasTransport else { return [] }
        // §6.4: an error in a NOTIFICATION is never answered with one.
        if bytes.peekBGPMessageKind() == .notification {
            return end(.malformedNotification(error.reason))
        }
        return close(sending: Notification(error), reason: error.reason)
    }

    /// Timers: hold (4/0 on expiry, §6.5) and keepalive.
    public mutating func tick(now: NIODeadline) -> [Action] {
        guard state.hasTransport else { return [] }
        if let hold = holdDeadline, hold <= now {
            guard negotiation != nil else {
                // §8.2.2: the OPEN never came (Active with our DelayOpen, or OpenSent).
                return [.send(BGPMessage(kind: .notification, body: CloseReason.holdTimerExpired.encode()))]
                    + end(.openTimeout(seconds: config.openHoldTime))
            }
            return close(sending: CloseReason.holdTimerExpired, reason: "hold timer expired")
        }
        if let keepalive = keepaliveDeadline, keepalive <= now, let negotiation {
            keepaliveDeadline = now + .seconds(Int64(negotiation.keepaliveInterval))
            return [.send(.keepalive)]
        }
        return []
    }

    /// The TCP connection went away (or our connect failed).
    public mutating func transportDown() -> [Action] {
        guard state != .idle else { return [] }
        return end(.transportDown)
    }

    /// Administrative stop: Cease with `cease` (6/2 by default) and the RFC 8203 `message`.
    public mutating func stop(_ cease: Cease = .administrativeShutdown, message: String? = nil) -> [Action] {
        switch state {
        case .idle:
            return []
        case .connect:
            return end(.stopped)
        default:
            return close(sending: cease.notification(message: message), reason: "administrative stop")
        }
    }

    /// Asks the peer to send `family` again (RFC 2918); nothing unless Established and the peer
    /// announced route refresh and the family.
    public mutating func requestRouteRefresh(_ family: AddressFamily) -> [Action] {
        guard state == .established, let negotiation, negotiation.routeRefresh,
              negotiation.families.contains(family) else { return [] }
        return [.send(RouteRefresh(family: family).message)]
    }

    /// The sink holds more paths than allowed: Cease 6/1 with AFI, SAFI and the limit (RFC 4486).
    public mutating func maximumPrefixesReached(family: AddressFamily, limit: UInt32) -> [Action] {
        guard state.hasTransport else { return [] }
        return close(sending: Cease.maximumPrefixes(family: family, limit: limit),
                     reason: "more than \(limit) paths")
    }

    /// Refused once the transport is up (no `maximumPeers` place left, a pre-OPEN bound): Cease
    /// 6/5 (RFC 4486 §4).
    public mutating func reject(reason: String) -> [Action] {
        guard state.hasTransport else { return [] }
        return close(sending: Cease.connectionRejected.notification(), reason: reason)
    }

    /// This connection lost a collision (RFC 4271 §6.8, `Collision.resolve`): Cease 6/7.
    public mutating func closeForCollision() -> [Action] {
        guard state.hasTransport else { return [] }
        return close(sending: Cease.connectionCollisionResolution.notification(), reason: "connection collision")
    }

    // MARK: internals

    /// The AS our OPEN carries when we may send it before the peer's.
    private var localASBeforeOpen: UInt32? { config.localAS ?? config.expectedPeerAS }

    private mutating func receiveOpen(_ body: ByteBuffer, now: NIODeadline) -> [Action] {
        let open: Open
        do {
            open = try Open.decode(body)
        } catch let error as BGPError {
            return close(sending: Notification(error), reason: error.reason)
        } catch {
            return close(sending: Notification(code: 2, subcode: 0), reason: "\(error)")
        }
        // RFC 6793 §4.1: without the capability on our side, the peer is its 2-octet AS.
        let peerAS = config.fourOctetAS ? open.autonomousSystem : UInt32(open.myAS)
        if config.fourOctetAS, let problem = Self.inconsistentAS(open) {
            return close(sending: Notification(code: 2, subcode: 2), reason: problem)
        }
        // RFC 7607: AS 0 is Bad Peer AS.
        if peerAS == 0 {
            return close(sending: Notification(code: 2, subcode: 2), reason: "peer AS 0")
        }
        if let expected = config.expectedPeerAS, expected != peerAS {
            return close(sending: Notification(code: 2, subcode: 2), reason: "peer AS \(peerAS), expected \(expected)")
        }
        // Our OPEN went out with `localASBeforeOpen`, or waited for this one to mirror it.
        let localAS = localASBeforeOpen ?? peerAS
        // RFC 6286 §2.2: within one AS the identifiers must differ.
        if open.identifier == config.identifier && peerAS == localAS {
            return close(sending: Notification(code: 2, subcode: 3),
                         reason: "peer BGP identifier \(IPAddress(v4: open.identifier)) equals ours")
        }
        var actions: [Action] = []
        let local: Open
        if let sent = localOpen {
            local = sent
        } else {
            local = config.open(asn: localAS)
            localOpen = local
            actions.append(.send(BGPMessage(kind: .open, body: local.encode())))
        }
        let negotiation = Negotiation(local: local, peer: open, localAS: localAS, peerAS: peerAS, config: config)
        self.negotiation = negotiation
        actions.append(.send(.keepalive))
        actions.append(move(to: .openConfirm))
        // §4.4: hold time 0 means neither timer runs.
        if negotiation.holdTime == 0 {
            holdDeadline = nil
            keepaliveDeadline = nil
        } else {
            holdDeadline = now + .seconds(Int64(negotiation.holdTime))
            keepaliveDeadline = now + .seconds(Int64(negotiation.keepaliveInterval))
        }
        return actions
    }

    /// RFC 6793 §4.1: My AS is AS_TRANS exactly when the 4-octet AS does not fit two octets,
    /// and the capability never carries AS_TRANS (pmacct refuses the same OPENs).
    static func inconsistentAS(_ open: Open) -> String? {
        let announced = open.capabilities.lazy.compactMap { c -> UInt32? in
            if case .fourOctetAS(let asn) = c { return asn } else { return nil }
        }.first
        let asTrans = UInt16(SessionConfig.asTrans)
        switch announced {
        case nil:
            return open.myAS == asTrans ? "My AS is AS_TRANS without a 4-octet AS capability" : nil
        case let asn? where asn == 0 || asn == SessionConfig.asTrans:
            return "4-octet AS capability with AS \(asn)"
        case let asn? where open.myAS == asTrans:
            return asn > UInt32(UInt16.max) ? nil : "My AS is AS_TRANS for the 2-octet AS \(asn)"
        case let asn?:
            return asn == UInt32(open.myAS) ? nil : "My AS \(open.myAS) but 4-octet AS \(asn)"
        }
    }

    private mutating func restartHoldTimer(now: NIODeadline) {
        if let negotiation, negotiation.holdTime > 0 {
            holdDeadline = now + .seconds(Int64(negotiation.holdTime))
        }
    }

    /// RFC 4271 §6.6 with the subcodes of RFC 6608 (none is defined for Connect and Active).
    private mutating func unexpected(_ kind: BGPMessage.Kind) -> [Action] {
        let subcode: UInt8
        switch state {
        case .openSent: subcode = 1
        case .openConfirm: subcode = 2
        case .established: subcode = 3
        default: subcode = 0
        }
        return close(sending: Notification(code: 5, subcode: subcode), reason: "unexpected \(kind) in \(state)")
    }

    private mutating func close(sending notification: Notification, reason: String) -> [Action] {
        [.send(BGPMessage(kind: .notification, body: notification.encode()))] + end(.sent(notification, reason: reason))
    }

    private mutating func end(_ reason: CloseReason) -> [Action] {
        holdDeadline = nil
        keepaliveDeadline = nil
        return [move(to: .idle), .close(reason)]
    }

    private mutating func move(to next: State) -> Action {
        let previous = state
        state = next
        return .stateChange(from: previous, to: next)
    }
}
