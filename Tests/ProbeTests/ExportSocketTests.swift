import NetCore
import Testing
@testable import Probe

#if canImport(Glibc)
import Glibc
#endif

/// Export sockets toward IPv4 and IPv6 collectors on loopback, with and without a source address.
struct ExportSocketTests {
    /// A bound UDP socket on `host` (an ephemeral port); returns (fd, port).
    static func receiver(_ host: String) throws -> (Int32, Int) {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let address = try #require(IPAddress(host))
        let bound = ExportSocket.withSockaddr(address, port: 0) { bind(fd, $0, $1) }
        try #require(bound == 0)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = withUnsafeBytes(of: &storage) { raw in
            Int(UInt16(raw[2]) << 8 | UInt16(raw[3]))
        }
        return (fd, port)
    }

    static func receive(_ fd: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? Array(buffer[0..<n]) : nil
    }

    @Test(arguments: [("127.0.0.1", nil as String?), ("127.0.0.1", "127.0.0.1"), ("::1", nil), ("::1", "::1")])
    func sendsToTheCollector(host: String, source: String?) throws {
        let (fd, port) = try Self.receiver(host)
        defer { close(fd) }
        let socket = try ExportSocket(host: host, port: port, source: source)
        #expect(socket.send([10, 0, 0, 16, 1, 2, 3]))
        #expect(Self.receive(fd) == [10, 0, 0, 16, 1, 2, 3])
    }

    @Test func mismatchedSourceFamilyIsRefused() {
        #expect(throws: CaptureError.self) { try ExportSocket(host: "::1", port: 4739, source: "127.0.0.1") }
    }
}

