import BGPWire
import NIOCore
import NetCore

/// A ROUTE-REFRESH message body (RFC 2918 §3): AFI (2), reserved (1), SAFI (1). RFC 7313 §3.2
/// turns the reserved octet into a subtype: 0 request, 1 BoRR, 2 EoRR.
public struct RouteRefresh: Sendable, Equatable {
    public var family: AddressFamily
    public var subtype: UInt8

    public init(family: AddressFamily, subtype: UInt8 = 0) {
        self.family = family
        self.subtype = subtype
    }

    /// RFC 7313 §5: a body that is not four octets is ROUTE-REFRESH Message Error / Invalid
    /// Message Length (7/1), with the message as data.
    public static func decode(_ body: ByteBuffer) throws -> RouteRefresh {
        var b = body
        guard body.readableBytes == 4, let afi = b.readInteger(as: UInt16.self),
              let subtype = b.readInteger(as: UInt8.self), let safi = b.readInteger(as: UInt8.self) else {
            let message = BGPMessage(kind: .routeRefresh, body: body).encoded()
            throw BGPError(code: 7, subcode: 1, data: Array(message.readableBytesView),
                           reason: "ROUTE-REFRESH body of \(body.readableBytes) bytes")
        }
        return RouteRefresh(family: AddressFamily(afi: afi, safi: safi), subtype: subtype)
    }

    public var message: BGPMessage {
        var body = ByteBuffer()
        body.writeInteger(family.afi)
        body.writeInteger(subtype)
        body.writeInteger(family.safi)
        return BGPMessage(kind: .routeRefresh, body: body)
    }
}
