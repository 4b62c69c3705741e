import NIOCore
import NetCore

#if canImport(Glibc)
import Glibc
#endif

/// TCP MD5 signatures (RFC 2385) through Linux's TCP_MD5SIG socket option: one key per peer
/// address, set on the listening socket (accepted connections inherit it) or on an outgoing
/// socket before it connects.
public enum TCPMD5 {
    public struct SetupError: Error, CustomStringConvertible, Equatable {
        public var peer: IPAddress
        public var reason: String

        public var description: String { "TCP MD5 signature (RFC 2385) for peer \(peer): \(reason)" }
    }

    /// Linux's TCP_MD5SIG_MAXKEYLEN.
    public static let maximumKeyLength = 80

    /// Sets `key` for `peer` on `channel`'s socket; `ipv6Socket` when the socket is AF_INET6
    /// (then an IPv4 peer is keyed by its IPv4-mapped address, as the kernel sees it).
    static func configure(_ channel: any Channel, peer: IPAddress, key: String, ipv6Socket: Bool) -> EventLoopFuture<Void> {
        #if os(Linux)
        let keyBytes = Array(key.utf8)
        guard !keyBytes.isEmpty, keyBytes.count <= maximumKeyLength else {
            return channel.eventLoop.makeFailedFuture(
                SetupError(peer: peer, reason: "key of \(keyBytes.count) bytes, 1 to \(maximumKeyLength) allowed"))
        }
        guard ipv6Socket || peer.family == .v4 else {
            return channel.eventLoop.makeFailedFuture(SetupError(peer: peer, reason: "an IPv6 peer on an IPv4 socket"))
        }
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(SetupError(peer: peer, reason: "the channel has no socket options"))
        }
        var signature = tcp_md5sig()
        withUnsafeMutableBytes(of: &signature.tcpm_addr) { storage in
            if ipv6Socket {
                var address = sockaddr_in6()
                address.sin6_family = sa_family_t(AF_INET6)
                let (high, low) = peer.family == .v4 ? (UInt64(0), 0xffff_0000_0000 | UInt64(peer.v4Value)) : (peer.high, peer.low)
                withUnsafeMutableBytes(of: &address.sin6_addr) { bytes in
                    bytes.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
                    bytes.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
                }
                withUnsafeBytes(of: &address) { storage.copyMemory(from: $0) }
            } else {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = peer.v4Value.bigEndian
                withUnsafeBytes(of: &address) { storage.copyMemory(from: $0) }
            }
        }
        signature.tcpm_keylen = UInt16(keyBytes.count)
        withUnsafeMutableBytes(of: &signature.tcpm_key) { $0.copyBytes(from: keyBytes) }
        return provider.unsafeSetSocketOption(
            level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_MD5SIG), value: signature
        ).flatMapErrorThrowing { error in
            throw SetupError(peer: peer, reason: "setsockopt(TCP_MD5SIG) failed: \(error)")
        }
        #else
        return channel.eventLoop.makeFailedFuture(SetupError(peer: peer, reason: "only available on Linux"))
        #endif
    }
}
