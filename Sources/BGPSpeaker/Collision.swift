/// Connection collision resolution (RFC 4271 §6.8): two connections with the same peer, one
/// just past OpenSent. The driver applies it and closes the loser with Cease 6/7
/// (`Session.closeForCollision()`).
public enum Collision {
    /// One of the two connections.
    public struct Connection: Sendable, Equatable {
        public var state: Session.State
        /// We opened it (the peer accepted our connect).
        public var outbound: Bool

        public init(state: Session.State, outbound: Bool) {
            self.state = state
            self.outbound = outbound
        }
    }

    public enum Loser: Sendable, Equatable {
        case existing, new
    }

    /// Which connection to close when `new` has just received the peer's OPEN (identifier
    /// `remoteID`) while `existing` is with the same peer; nil when they do not collide.
    public static func resolve(localID: UInt32, remoteID: UInt32, existing: Connection, new: Connection) -> Loser? {
        switch existing.state {
        case .established:
            // §6.8: a collision with an Established connection closes the newer one.
            return .new
        case .openConfirm:
            // Two connections in the same direction are no collision of §6.8 (the peer
            // reconnected); the older one stays until its own timers decide.
            guard existing.outbound != new.outbound else { return .new }
            // §6.8: the lower identifier gives up the connection it initiated; the identifiers
            // compare as unsigned integers in host order.
            let closeOutbound = localID < remoteID
            return existing.outbound == closeOutbound ? .existing : .new
        case .idle, .connect, .active, .openSent:
            return nil
        }
    }
}
