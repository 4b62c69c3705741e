import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 over plain sockets on loopback, for tests that need to hold connections open, see
/// them closed, or ask a server whose port they only know at run time. The calls block: from
/// async code run them through `blocking`, or they hold the threads the server answers on.
public enum RawHTTP {
    /// `body` on a thread of its own, not one of Swift concurrency's few.
    public static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }

    /// A TCP connection to 127.0.0.1:`port`, reads timing out after `timeout` seconds; nil when
    /// nobody listens.
    public static func connect(_ port: Int, timeout: Double = 5) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Sends a GET for `path` on `fd`.
    public static func send(_ fd: Int32, _ path: String, headers: [String: String] = [:], close: Bool = false) {
        var text = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        if close { text += "Connection: close\r\n" }
        text += "\r\n"
        _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    /// Reads one answer with a Content-Length body: its status and body; nil when the
    /// connection closes (or times out) first.
    public static func answer(_ fd: Int32) -> (status: Int, body: String)? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
                let lines = head.split(separator: "\r\n")
                guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
                let length = lines.dropFirst().compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
                if bytes.count - end.upperBound >= length {
                    return (status, String(decoding: bytes[end.upperBound..<(end.upperBound + length)], as: UTF8.self))
                }
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return nil }
            bytes += buffer[0..<n]
        }
    }

    /// One GET on a connection of its own.
    public static func get(_ port: Int, _ path: String, headers: [String: String] = [:]) -> (status: Int, body: String)? {
        guard let fd = connect(port) else { return nil }
        defer { Glibc.close(fd) }
        send(fd, path, headers: headers, close: true)
        return answer(fd)
    }

    /// Whether the peer closed `fd` within `seconds`: a read sees the end (or a reset) rather
    /// than waiting.
    public static func isClosed(_ fd: Int32, within seconds: Double) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK)) <= 0
    }
}
