import NIOCore
import NetCore

extension IPAddress {
    /// A socket's address; IPv4-mapped IPv6 addresses (dual-stack listener) become IPv4.
    init(socketAddress: SocketAddress?) {
        switch socketAddress {
        case .v4(let v4)?:
            self.init(v4: UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6)?:
            var storage = v6.address.sin6_addr
            let (high, low): (UInt64, UInt64) = withUnsafeBytes(of: &storage) { raw in
                (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            if high == 0 && low >> 32 == 0xffff {
                self.init(v4: UInt32(truncatingIfNeeded: low))
            } else {
                self.init(v6High: high, low: low)
            }
        default:
            self = .none
        }
    }
}
