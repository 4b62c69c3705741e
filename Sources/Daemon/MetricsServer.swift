import NIOCore
import NIOHTTP1
import NIOPosix

/// One answer of the HTTP endpoint.
struct HTTPAnswer: Sendable {
    var status: HTTPResponseStatus = .ok
    var contentType = "text/plain; charset=utf-8"
    var body: String

    static func notFound(_ text: String) -> HTTPAnswer {
        HTTPAnswer(status: .notFound, body: text)
    }
}

/// Handlers by path; each gets the query parameters and answers asynchronously.
typealias HTTPRoutes = [String: @Sendable ([String: String]) -> EventLoopFuture<HTTPAnswer>]

/// A small HTTP/1.1 server on the metrics address: GET /metrics in Prometheus text format, and
/// whatever other read-only routes the daemon adds (the RIB's looking glass).
final class MetricsServer: Sendable {
    let channel: any Channel

    init(channel: any Channel) {
        self.channel = channel
    }

    static func start(
        host: String, port: Int, group: MultiThreadedEventLoopGroup,
        routes: HTTPRoutes
    ) async throws -> MetricsServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(routes: routes))
                }
            }
            .bind(host: host, port: port).get()
        return MetricsServer(channel: channel)
    }

    var port: Int? { channel.localAddress?.port }

    func close() async throws {
        try await channel.close()
    }
}

final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let routes: HTTPRoutes
    var head: HTTPRequestHead?

    init(routes: HTTPRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let parts = request.uri.split(separator: "?", maxSplits: 1)
            let path = parts.first.map(String.init) ?? request.uri
            let route = routes[path == "/" ? "/metrics" : path]
            guard request.method == .GET, let route else {
                let known = routes.keys.sorted().joined(separator: ", ")
                respond(context: context, answer: .notFound("not found; try \(known)\n"), keepAlive: request.isKeepAlive)
                return
            }
            let query = parts.count == 2 ? Self.query(parts[1]) : [:]
            let keepAlive = request.isKeepAlive
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            route(query).hop(to: context.eventLoop).whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success(let answer):
                    handler.respond(context: context, answer: answer, keepAlive: keepAlive)
                case .failure(let error):
                    handler.respond(context: context, answer: HTTPAnswer(status: .internalServerError, body: "\(error)\n"),
                                    keepAlive: keepAlive)
                }
            }
        }
    }

    /// `a=1&b=x%3A1` → ["a": "1", "b": "x:1"].
    static func query(_ text: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard let key = kv.first.map(String.init) else { continue }
            result[key] = kv.count == 2 ? percentDecoded(kv[1]) : ""
        }
        return result
    }

    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            if byte == UInt8(ascii: "%"), let h = utf8.next(), let l = utf8.next(),
               let value = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func respond(context: ChannelHandlerContext, answer: HTTPAnswer, keepAlive: Bool) {
        let body = answer.body
        let status = answer.status
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: answer.contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension MetricsHandler: Sendable {}
