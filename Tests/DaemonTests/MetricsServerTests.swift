import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import Daemon

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP endpoint against clients that hold what they open, and streamed answers.
@Suite struct MetricsServerTests {
    /// A blocking TCP client: connect, send, read until EOF or `timeout`.
    final class Client {
        let fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        }
        deinit { close(fd) }

        func send(_ text: String) { _ = text.withCString { Glibc.send(fd, $0, strlen($0), 0) } }

        /// What came until `text` appeared (or the server closed, or `timeout` seconds passed).
        func read(until text: String, timeout: Int = 5) -> String {
            var tv = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !String(decoding: data, as: UTF8.self).contains(text) {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                data += buffer[0..<n]
            }
            return String(decoding: data, as: UTF8.self)
        }

        /// Everything until the server closes, or what came within `timeout` seconds.
        func readAll(timeout: Int = 5) -> (text: String, closed: Bool) {
            var tv = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 { return (String(decoding: data, as: UTF8.self), true) }
                if n < 0 { return (String(decoding: data, as: UTF8.self), false) }
                data += buffer[0..<n]
            }
        }
    }

    static func withServer(limits: MetricsServer.Limits, _ body: (Int) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let routes: HTTPRoutes = [
            "/metrics": { _ in group.next().makeSucceededFuture(HTTPAnswer(body: "ok\n")) },
            "/stream": { _ in
                group.next().makeSucceededFuture(HTTPAnswer(contentType: "text/plain") { emit in
                    for i in 0..<3 {
                        try emit("line \(i)\n")
                        Thread.sleep(forTimeInterval: 0.2)
                    }
                })
            },
        ]
        let server = try await MetricsServer.start(host: "127.0.0.1", port: 0, group: group, routes: routes, limits: limits)
        do {
            try await body(server.port!)
        } catch {
            try? await server.close()
            try await group.shutdownGracefully()
            throw error
        }
        try await server.close()
        try await group.shutdownGracefully()
    }

    @Test func streamedAnswersAreChunkedForHTTP11AndRawForHTTP10() async throws {
        try await Self.withServer(limits: .init()) { port in
            let a = try Client(port: port)
            a.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            let chunked = a.readAll()
            #expect(chunked.closed)
            #expect(chunked.text.lowercased().contains("transfer-encoding: chunked"))
            #expect(chunked.text.contains("7\r\nline 0\n\r\n") && chunked.text.hasSuffix("0\r\n\r\n"))
            let b = try Client(port: port)
            b.send("GET /stream HTTP/1.0\r\n\r\n")
            let raw = b.readAll()
            #expect(raw.closed && raw.text.hasSuffix("line 0\nline 1\nline 2\n"))
            #expect(!raw.text.lowercased().contains("chunked"))
        }
    }

    @Test func streamsPastTheLimitAreTurnedAway() async throws {
        var limits = MetricsServer.Limits()
        limits.streams = 1
        try await Self.withServer(limits: limits) { port in
            let first = try Client(port: port)
            first.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            // The first stream is under way (its first line arrived) when the second asks.
            let started = first.read(until: "line 0")
            let second = try Client(port: port)
            second.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(second.readAll().text.hasPrefix("HTTP/1.1 503"))
            #expect((started + first.readAll().text).contains("line 2"))
        }
    }

    @Test func idleConnectionsMakeRoomAndTimeOut() async throws {
        var limits = MetricsServer.Limits()
        limits.connections = 3
        limits.idle = .seconds(1)
        try await Self.withServer(limits: limits) { port in
            // Three connections that send nothing fill every slot; a scrape still gets through,
            // and the oldest idle one is closed for it.
            let idle = try (0..<3).map { _ in try Client(port: port) }
            try await Task.sleep(for: .milliseconds(100))
            let scrape = try Client(port: port)
            scrape.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(scrape.readAll().text.hasSuffix("ok\n"))
            #expect(idle[0].readAll(timeout: 3).closed)
            // The others are closed by the idle timeout.
            #expect(idle[2].readAll(timeout: 3).closed)
        }
    }
}
