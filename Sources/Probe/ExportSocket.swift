import NetCore

#if canImport(Glibc)
import Glibc
#endif

/// A connected UDP socket toward one collector, optionally bound to `nfprobe_source_ip`.
public final class ExportSocket {
    public let receiver: String
    private let fd: Int32

    public init(host: String, port: Int, source: String?) throws {
        receiver = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard let address = IPAddress(host) else { throw CaptureError("'\(host)' is not an IP address") }
        let v6 = address.family == .v6
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw CaptureError("socket: \(String(cString: strerror(errno)))") }
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        if let source {
            guard let local = IPAddress(source), local.family == address.family else {
                close(fd)
                throw CaptureError("nfprobe_source_ip \(source) is not of the receiver \(receiver)'s address family")
            }
            let bound = Self.withSockaddr(local, port: 0) { bind(fd, $0, $1) }
            guard bound == 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw CaptureError("cannot send from \(source): \(reason)")
            }
        }
        self.fd = fd
        destination = address
        self.port = port
    }

    private let destination: IPAddress
    private let port: Int

    deinit {
        close(fd)
    }

    /// Sends one datagram; false when the system refused it (the caller counts it). The
    /// socket is not connected, so a collector that is down (ICMP port unreachable) does not
    /// fail the sends that follow, as nfprobe does not.
    public func send(_ message: [UInt8]) -> Bool {
        let sent = message.withUnsafeBytes { bytes in
            Self.withSockaddr(destination, port: port) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, $1) }
        }
        return sent == message.count
    }

    static func withSockaddr<T>(_ address: IPAddress, port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        if address.family == .v6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = UInt16(port).bigEndian
            var high = address.high.bigEndian
            var low = address.low.bigEndian
            withUnsafeBytes(of: &high) { h in
                withUnsafeBytes(of: &low) { l in
                    withUnsafeMutableBytes(of: &sa.sin6_addr) { dst in
                        dst.copyBytes(from: h)
                        UnsafeMutableRawBufferPointer(rebasing: dst[8...]).copyBytes(from: l)
                    }
                }
            }
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(port).bigEndian
        sa.sin_addr.s_addr = address.v4Value.bigEndian
        return withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}
