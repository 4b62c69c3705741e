import BGPWire
import NetCore

/// Where routes go. Called on the speaker's event loop only, so the implementation is the RIB's
/// single writer.
public protocol RouteSink: AnyObject {
    func established(_ peer: PeerInfo)
    /// Returns the number of paths now held for that session (checked against the prefix limit).
    func update(_ update: Update, session: UInt64) -> Int
    func endOfRIB(_ family: AddressFamily, session: UInt64)
    /// The session is gone; its paths must be flushed.
    func down(session: UInt64, reason: String)
    /// Everything worth counting.
    func event(_ event: SpeakerEvent)
    /// A connection from `address` closed before completing the OPEN exchange.
    func preOpenClosed(_ address: IPAddress, _ reason: PreOpenClose)
}
