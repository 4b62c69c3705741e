/// An AFI/SAFI pair (RFC 4760): IPv4 unicast is 1/1, IPv6 unicast 2/1.
public struct AddressFamily: Hashable, Sendable, CustomStringConvertible {
    public var afi: UInt16
    public var safi: UInt8

    public init(afi: UInt16, safi: UInt8) {
        self.afi = afi
        self.safi = safi
    }

    public static let ipv4Unicast = AddressFamily(afi: 1, safi: 1)
    public static let ipv6Unicast = AddressFamily(afi: 2, safi: 1)

    public var description: String { "\(afi)/\(safi)" }
}
