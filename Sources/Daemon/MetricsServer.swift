import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// One answer of the HTTP endpoint: a text, or a stream of chunks produced off the event loop
/// (a full table dump is millions of lines: it is never built whole).
struct HTTPAnswer: Sendable {
    /// Writes one chunk and waits until the client took it; throws when the client has gone.
    typealias Emit = @Sendable (String) throws -> Void

    var status: HTTPResponseStatus = .ok
    var contentType = "text/plain; charset=utf-8"
    var body: String
    /// When set, the answer's body: called on a thread of its own, it emits the body in chunks.
    var stream: (@Sendable (Emit) throws -> Void)?

    init(status: HTTPResponseStatus = .ok, contentType: String = "text/plain; charset=utf-8", body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    init(contentType: String, stream: @escaping @Sendable (Emit) throws -> Void) {
        self.contentType = contentType
        self.body = ""
        self.stream = stream
    }

    static func notFound(_ text: String) -> HTTPAnswer {
        HTTPAnswer(status: .notFound, body: text)
    }
}

/// Handlers by path; each gets the query parameters and answers asynchronously.
typealias HTTPRoutes = [String: @Sendable ([String: String]) -> EventLoopFuture<HTTPAnswer>]

/// A small HTTP/1.1 server on the metrics address: GET /metrics in Prometheus text format, and
/// whatever other read-only routes the daemon adds (the RIB's looking glass).
///
/// Bounded against clients that hold what they open: at most `Limits.connections` connections
/// (past it the oldest is closed to make room, and counted), a connection idle for `Limits.idle`
/// is closed, at most `Limits.streams` streamed answers run at once (more get 503), and accept
/// errors (file descriptors exhausted) back off instead of spinning.
final class MetricsServer: Sendable {
    struct Limits: Sendable {
        var connections = 64
        var idle: TimeAmount = .seconds(30)
        var streams = 2
    }

    /// Connections and streams in progress. When every connection slot is taken, the oldest
    /// connection not streaming is closed to make room: clients that open connections and keep
    /// them (or reconnect as fast as they are closed) cannot lock a scraper out.
    final class Gate: Sendable {
        struct State {
            var open: [ObjectIdentifier: (channel: any Channel, since: NIODeadline)] = [:]
            var streaming: Set<ObjectIdentifier> = []
            var evicted: UInt64 = 0
            var refusedStreams: UInt64 = 0
        }

        let limits: Limits
        private let state = NIOLockedValueBox(State())

        init(limits: Limits) {
            self.limits = limits
        }

        func open(_ channel: any Channel) {
            let victim: (any Channel)? = state.withLockedValue { s in
                defer { s.open[ObjectIdentifier(channel)] = (channel, .now()) }
                guard s.open.count >= limits.connections else { return nil }
                let oldest = s.open.filter { !s.streaming.contains($0.key) }.min { $0.value.since < $1.value.since }
                guard let oldest else { return nil }
                s.open.removeValue(forKey: oldest.key)
                s.evicted += 1
                return oldest.value.channel
            }
            victim?.close(promise: nil)
        }

        func closed(_ channel: any Channel) {
            state.withLockedValue { _ = $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
        }

        func startStream(_ channel: any Channel) -> Bool {
            state.withLockedValue {
                guard $0.streaming.count < limits.streams else {
                    $0.refusedStreams += 1
                    return false
                }
                $0.streaming.insert(ObjectIdentifier(channel))
                return true
            }
        }

        func endStream(_ channel: any Channel) {
            state.withLockedValue { _ = $0.streaming.remove(ObjectIdentifier(channel)) }
        }

        /// Connections closed to make room, and streams refused, so far.
        var refused: (connections: UInt64, streams: UInt64) {
            state.withLockedValue { ($0.evicted, $0.refusedStreams) }
        }

        var connections: Int { state.withLockedValue { $0.open.count } }
    }

    let channel: any Channel
    let gate: Gate

    init(channel: any Channel, gate: Gate) {
        self.channel = channel
        self.gate = gate
    }

    static func start(
        host: String, port: Int, group: MultiThreadedEventLoopGroup,
        routes: HTTPRoutes, limits: Limits = Limits()
    ) async throws -> MetricsServer {
        let gate = Gate(limits: limits)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler())
                }
            }
            .childChannelInitializer { channel in
                gate.open(channel)
                channel.closeFuture.whenComplete { _ in gate.closed(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: limits.idle))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(routes: routes, gate: gate))
                }
            }
            .bind(host: host, port: port).get()
        return MetricsServer(channel: channel, gate: gate)
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
    let gate: MetricsServer.Gate
    var head: HTTPRequestHead?
    /// A streamed answer is being written: the connection stays open past the idle timeout.
    var streaming = false

    init(routes: HTTPRoutes, gate: MetricsServer.Gate) {
        self.routes = routes
        self.gate = gate
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, !streaming {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
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
            let version = request.version
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            route(query).hop(to: context.eventLoop).whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success(let answer):
                    handler.respond(context: context, answer: answer, keepAlive: keepAlive, version: version)
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

    func respond(context: ChannelHandlerContext, answer: HTTPAnswer, keepAlive: Bool, version: HTTPVersion = .http1_1) {
        if let stream = answer.stream {
            respond(context: context, status: answer.status, contentType: answer.contentType, version: version, stream: stream)
            return
        }
        let body = answer.body
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: answer.contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// A streamed answer produced on a thread-pool thread: each chunk is written and waited for,
    /// so a slow reader slows the producer instead of piling the body up in memory. Chunked for
    /// HTTP/1.1; for HTTP/1.0 (`pathflow rib dump`) the body runs until the connection closes.
    func respond(
        context: ChannelHandlerContext, status: HTTPResponseStatus, contentType: String, version: HTTPVersion,
        stream: @escaping @Sendable (HTTPAnswer.Emit) throws -> Void
    ) {
        guard gate.startStream(context.channel) else {
            respond(context: context, answer: HTTPAnswer(status: .serviceUnavailable, body: "busy: try again later\n"), keepAlive: false)
            return
        }
        streaming = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        let chunked = version.major > 1 || (version.major == 1 && version.minor >= 1)
        if chunked { headers.add(name: "Transfer-Encoding", value: "chunked") }
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: chunked ? .http1_1 : .http1_0, status: status, headers: headers)
        context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        let gate = self.gate
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let emit: HTTPAnswer.Emit = { text in
            guard !text.isEmpty else { return }
            let written = channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
                var buffer = channel.allocator.buffer(capacity: text.utf8.count)
                buffer.writeString(text)
                return channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)))
            }
            try written.wait()
        }
        NIOThreadPool.singleton.submit { state in
            defer { gate.endStream(channel) }
            guard state == .active else { return }
            do {
                try stream(emit)
                try channel.writeAndFlush(HTTPServerResponsePart.end(nil)).wait()
            } catch {
                // The client went away, or the producer failed mid-body: nothing more to send.
            }
            channel.eventLoop.execute {
                bound.value.streaming = false
                channel.close(promise: nil)
            }
        }
    }
}

@available(*, unavailable)
extension MetricsHandler: Sendable {}
