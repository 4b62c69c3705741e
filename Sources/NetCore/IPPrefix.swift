/// An address prefix such as 192.0.2.0/24 or 2001:db8::/32.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var length: UInt8

    public init(address: IPAddress, length: UInt8) {
        self.address = address.masked(to: Int(length))
        self.length = length
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = IPAddress(parts[0]) else { return nil }
        let maxLength = address.family == .v4 ? 32 : 128
        var length = maxLength
        if parts.count == 2 {
            guard let l = Int(parts[1]), (0...maxLength).contains(l) else { return nil }
            length = l
        }
        self.init(address: address, length: UInt8(length))
    }

    public func contains(_ other: IPAddress) -> Bool {
        other.family == address.family && other.masked(to: Int(length)) == address
    }

    public var description: String { "\(address)/\(length)" }
}
