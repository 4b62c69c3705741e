import NIOCore

/// A NOTIFICATION (RFC 4271 §4.5).
public struct Notification: Sendable, Equatable {
    public var code: UInt8
    public var subcode: UInt8
    public var data: [UInt8]

    public init(code: UInt8, subcode: UInt8, data: [UInt8] = []) {
        self.code = code
        self.subcode = subcode
        self.data = data
    }

    public init(_ error: BGPError) {
        self.init(code: error.code, subcode: error.subcode, data: error.data)
    }

    public static func decode(_ body: ByteBuffer) throws -> Notification {
        var b = body
        guard let code = b.readInteger(as: UInt8.self), let subcode = b.readInteger(as: UInt8.self) else {
            throw BGPError.badLength(BGPMessage.headerLength + body.readableBytes)
        }
        return Notification(code: code, subcode: subcode, data: b.readBytes(length: b.readableBytes) ?? [])
    }

    public func encode(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var out = allocator.buffer(capacity: 2 + data.count)
        out.writeInteger(code)
        out.writeInteger(subcode)
        out.writeBytes(data)
        return out
    }

    /// RFC 8203/9003: the operator's message in Cease / Administrative Shutdown or Reset.
    public var shutdownCommunication: String? {
        guard code == 6, subcode == 2 || subcode == 4, let length = data.first,
              length > 0, data.count >= 1 + Int(length) else { return nil }
        return String(decoding: data[1...Int(length)], as: UTF8.self)
    }
}
