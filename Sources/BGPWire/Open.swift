import NIOCore
import NetCore

/// An OPEN message body (RFC 4271 §4.2) with its capabilities (RFC 5492).
public struct Open: Sendable, Equatable {
    public var version: UInt8 = 4
    /// The 2-octet "My Autonomous System"; AS_TRANS (23456) when the real ASN needs 4 octets.
    public var myAS: UInt16
    public var holdTime: UInt16
    public var identifier: UInt32
    /// Capabilities in the order received; each optional parameter of type 2 may hold several.
    public var capabilities: [Capability]

    public init(myAS: UInt16, holdTime: UInt16, identifier: UInt32, capabilities: [Capability]) {
        self.myAS = myAS
        self.holdTime = holdTime
        self.identifier = identifier
        self.capabilities = capabilities
    }

    /// The speaker's ASN: from the 4-octet AS capability when present (RFC 6793 §4.1).
    public var autonomousSystem: UInt32 {
        for case .fourOctetAS(let asn) in capabilities { return asn }
        return UInt32(myAS)
    }

    public var families: [AddressFamily] {
        capabilities.compactMap { if case .multiprotocol(let f) = $0 { return f } else { return nil } }
    }

    public var addPath: [Capability.AddPath] {
        capabilities.flatMap { if case .addPath(let e) = $0 { return e } else { return [] } }
    }

    /// Parses an OPEN body; errors carry the NOTIFICATION of RFC 4271 §6.2.
    public static func decode(_ body: ByteBuffer) throws -> Open {
        var b = body
        guard let version = b.readInteger(as: UInt8.self), let myAS = b.readInteger(as: UInt16.self),
              let hold = b.readInteger(as: UInt16.self), let id = b.readInteger(as: UInt32.self),
              let optionalLength = b.readInteger(as: UInt8.self) else {
            throw BGPError.badLength(BGPMessage.headerLength + body.readableBytes)
        }
        guard version == 4 else { throw BGPError.open(1, "unsupported version \(version)", data: [0, 4]) }
        // §6.2: zero (no keepalives) or at least three seconds.
        guard hold == 0 || hold >= 3 else { throw BGPError.open(6, "unacceptable hold time \(hold)") }
        guard id != 0 else { throw BGPError.open(3, "bad BGP identifier 0.0.0.0") }
        guard Int(optionalLength) == b.readableBytes else {
            throw BGPError.open(0, "optional parameters length \(optionalLength) with \(b.readableBytes) bytes left")
        }
        var capabilities: [Capability] = []
        while b.readableBytes > 0 {
            guard let type = b.readInteger(as: UInt8.self), let length = b.readInteger(as: UInt8.self),
                  var parameter = b.readSlice(length: Int(length)) else {
                throw BGPError.open(0, "truncated optional parameter")
            }
            // Only capabilities (2) are defined today; authentication (1) is deprecated.
            guard type == 2 else { throw BGPError.open(4, "unsupported optional parameter \(type)", data: [type]) }
            while parameter.readableBytes > 0 {
                guard let code = parameter.readInteger(as: UInt8.self), let valueLength = parameter.readInteger(as: UInt8.self),
                      let value = parameter.readBytes(length: Int(valueLength)) else {
                    throw BGPError.open(0, "truncated capability")
                }
                capabilities.append(Capability.decode(code: code, value: value))
            }
        }
        return Open(myAS: myAS, holdTime: hold, identifier: id, capabilities: capabilities)
        .with(version: version)
    }

    func with(version: UInt8) -> Open {
        var copy = self
        copy.version = version
        return copy
    }

    /// The body, all capabilities in one optional parameter (as most speakers send them).
    public func encode(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var capabilityBytes: [UInt8] = []
        for c in capabilities {
            let value = c.value
            capabilityBytes += [c.code, UInt8(value.count)] + value
        }
        var out = allocator.buffer(capacity: 12 + capabilityBytes.count)
        out.writeInteger(version)
        out.writeInteger(myAS)
        out.writeInteger(holdTime)
        out.writeInteger(identifier)
        if capabilityBytes.isEmpty {
            out.writeInteger(UInt8(0))
        } else {
            out.writeInteger(UInt8(capabilityBytes.count + 2))
            out.writeInteger(UInt8(2))
            out.writeInteger(UInt8(capabilityBytes.count))
            out.writeBytes(capabilityBytes)
        }
        return out
    }
}
