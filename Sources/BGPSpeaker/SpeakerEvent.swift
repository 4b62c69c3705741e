import BGPWire
import NetCore

/// Events for counters (and tests).
public enum SpeakerEvent: Sendable, Equatable {
    public enum Rejection: String, Sendable, Equatable {
        /// Not in the allow list (pmacct's bgp_daemon_allow_file).
        case notAllowed = "not in the allow list"
        /// bgp_daemon_max_peers sessions past OPEN (OpenConfirm, Established) already.
        case tooManyPeers = "maximum number of peers reached"
        /// The speaker is shutting down.
        case shuttingDown = "shutting down"
    }

    /// An incoming connection refused with Cease 6/5.
    case connectionRejected(IPAddress, Rejection)
    /// An outgoing connection attempt failed (before any BGP message).
    case connectFailed(IPAddress, reason: String)
    case stateChanged(IPAddress, from: Session.State, to: Session.State)
    case notificationSent(IPAddress, Notification)
    case notificationReceived(IPAddress, Notification)
    case messageReceived(IPAddress, BGPMessage.Kind)
    /// RFC 7606 treat-as-withdraw: this many routes of one UPDATE became withdrawals.
    case treatedAsWithdraw(IPAddress, routes: Int)
    /// RFC 7606 attribute discard: this many attributes dropped from one UPDATE.
    case attributesDiscarded(IPAddress, count: Int)
    case routeRefreshReceived(IPAddress, RouteRefresh)
}

/// Why a connection that had not completed the OPEN exchange was closed (DESIGN §8); given to
/// `RouteSink.preOpenClosed`. The raw values are metric labels.
public enum PreOpenClose: String, Sendable, Equatable, CaseIterable {
    /// No OPEN within `SessionConfig.openHoldTime` (RFC 4271 §8.2.2): NOTIFICATION 4/0.
    case openTimeout = "open_timeout"
    /// The oldest of its address past `SpeakerConfig.preOpenPerAddress`: Cease 6/5.
    case addressBound = "address"
    /// The oldest of the busiest address past `SpeakerConfig.preOpenTotal`: Cease 6/5.
    case totalBound = "total"
}
