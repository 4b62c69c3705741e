import BGPWire
import NIOCore

extension ByteBuffer {
    /// The type the BGP header at the reader index names, when the marker is intact (RFC 4271
    /// §4.1); nothing is consumed. Tells what a message the framer rejected claimed to be.
    func peekBGPMessageKind() -> BGPMessage.Kind? {
        let start = readerIndex
        guard getInteger(at: start, as: UInt64.self) == .max, getInteger(at: start + 8, as: UInt64.self) == .max,
              let type = getInteger(at: start + 18, as: UInt8.self) else { return nil }
        return BGPMessage.Kind(rawValue: type)
    }
}
