import NIOCore

/// One framed BGP message: its type and body, the 19-byte header removed (RFC 4271 §4.1).
public struct BGPMessage: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case open = 1, update = 2, notification = 3, keepalive = 4, routeRefresh = 5
    }

    public var kind: Kind
    public var body: ByteBuffer

    public init(kind: Kind, body: ByteBuffer) {
        self.kind = kind
        self.body = body
    }

    public static let headerLength = 19
    /// RFC 4271 §4.1; RFC 8654 raises it to 65,535 once both sides announce extended messages.
    public static let maximumLength = 4096
    public static let maximumExtendedLength = 65_535

    /// Reads one message from the front of `buffer`: nil until a whole message is there.
    /// Framing only; bodies are parsed by whoever knows the session's negotiated facts.
    public static func frame(_ buffer: inout ByteBuffer, extendedMessages: Bool = false) throws -> BGPMessage? {
        guard buffer.readableBytes >= headerLength else { return nil }
        let start = buffer.readerIndex
        guard buffer.getInteger(at: start, as: UInt64.self) == .max,
              buffer.getInteger(at: start + 8, as: UInt64.self) == .max else {
            throw BGPError.notSynchronized()
        }
        let length = Int(buffer.getInteger(at: start + 16, as: UInt16.self)!)
        let limit = extendedMessages ? maximumExtendedLength : maximumLength
        guard length >= headerLength, length <= limit else { throw BGPError.badLength(length) }
        let rawType = buffer.getInteger(at: start + 18, as: UInt8.self)!
        guard let kind = Kind(rawValue: rawType) else { throw BGPError.badType(rawType) }
        // §6.1: each type has a minimum length; KEEPALIVE is exactly the header.
        let minimum: [Kind: Int] = [.open: 29, .update: 23, .notification: 21, .keepalive: 19, .routeRefresh: 23]
        guard length >= minimum[kind]!, kind != .keepalive || length == headerLength else {
            throw BGPError.badLength(length)
        }
        guard buffer.readableBytes >= length else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength)
        let body = buffer.readSlice(length: length - headerLength)!
        return BGPMessage(kind: kind, body: body)
    }

    /// The message with its header, ready to send.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var out = allocator.buffer(capacity: Self.headerLength + body.readableBytes)
        out.writeInteger(UInt64.max)
        out.writeInteger(UInt64.max)
        out.writeInteger(UInt16(Self.headerLength + body.readableBytes))
        out.writeInteger(kind.rawValue)
        var copy = body
        out.writeBuffer(&copy)
        return out
    }

    public static let keepalive = BGPMessage(kind: .keepalive, body: ByteBuffer())
}
