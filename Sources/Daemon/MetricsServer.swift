import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server answering GET /metrics in Prometheus text format.
final class MetricsServer: Sendable {
    let channel: any Channel

    init(channel: any Channel) {
        self.channel = channel
    }

    static func start(
        host: String, port: Int, group: MultiThreadedEventLoopGroup,
        render: @escaping @Sendable () -> EventLoopFuture<String>
    ) async throws -> MetricsServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(render: render))
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

    let render: @Sendable () -> EventLoopFuture<String>
    var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> EventLoopFuture<String>) {
        self.render = render
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
            let path = request.uri.split(separator: "?").first.map(String.init) ?? request.uri
            guard request.method == .GET, path == "/metrics" || path == "/" else {
                respond(context: context, status: .notFound, body: "not found; try /metrics\n", keepAlive: request.isKeepAlive)
                return
            }
            let keepAlive = request.isKeepAlive
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            render().hop(to: context.eventLoop).whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success(let text):
                    handler.respond(context: context, status: .ok, body: text, keepAlive: keepAlive,
                                    contentType: "text/plain; version=0.0.4; charset=utf-8")
                case .failure(let error):
                    handler.respond(context: context, status: .internalServerError, body: "\(error)\n", keepAlive: keepAlive)
                }
            }
        }
    }

    func respond(
        context: ChannelHandlerContext, status: HTTPResponseStatus, body: String, keepAlive: Bool,
        contentType: String = "text/plain; charset=utf-8"
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
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
