import BGPWire
import NIOCore
import NIOPosix
import NetCore
import Synchronization
@testable import BGPSpeaker

/// Messages one test connection received, written on its event loop, read by the test.
final class Inbox: Sendable {
    private struct State {
        var messages: [BGPMessage] = []
        var closed = false
        var framingError: BGPError?
    }

    private let state = Mutex(State())

    var messages: [BGPMessage] { state.withLock { $0.messages } }
    var closed: Bool { state.withLock { $0.closed } }
    var notifications: [Notification] {
        messages.filter { $0.kind == .notification }.compactMap { try? Notification.decode($0.body) }
    }

    func append(_ message: BGPMessage) { state.withLock { $0.messages.append(message) } }
    func close() { state.withLock { $0.closed = true } }
    func fail(_ error: BGPError) { state.withLock { $0.framingError = error } }
}

/// Frames whatever arrives (any length up to 65,535) into the inbox.
final class InboxHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let inbox: Inbox
    var buffer = ByteBuffer()

    init(inbox: Inbox) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        do {
            while let message = try BGPMessage.frame(&buffer, extendedMessages: true) {
                inbox.append(message)
            }
        } catch let error as BGPError {
            inbox.fail(error)
            context.close(promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.close()
    }
}

@available(*, unavailable)
extension InboxHandler: Sendable {}

/// One end of a loopback TCP connection that plays a router.
final class TestPeer: Sendable {
    let channel: any Channel
    let inbox: Inbox

    init(channel: any Channel, inbox: Inbox) {
        self.channel = channel
        self.inbox = inbox
    }

    /// `from`: the local address (any of 127.0.0.0/8 on Linux), so tests can play many routers.
    static func connect(port: Int, group: any EventLoopGroup, md5Key: String? = nil, from: String? = nil,
                        timeout: TimeAmount = .seconds(2)) async throws -> TestPeer {
        let inbox = Inbox()
        var bootstrap = ClientBootstrap(group: group)
        if let from { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: from, port: 0)) }
        let channel = try await bootstrap
            .connectTimeout(timeout)
            .channelInitializer { channel in
                let keyed = md5Key.map {
                    TCPMD5.configure(channel, peer: IPAddress("127.0.0.1")!, key: $0, ipv6Socket: false)
                } ?? channel.eventLoop.makeSucceededVoidFuture()
                return keyed.flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(InboxHandler(inbox: inbox))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TestPeer(channel: channel, inbox: inbox)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    func send(_ message: BGPMessage) async throws {
        try await channel.writeAndFlush(message.encoded()).get()
    }

    /// Waits (bounded) until `count` messages arrived; returns what is there.
    @discardableResult
    func waitForMessages(_ count: Int, timeout: Duration = .seconds(5)) async throws -> [BGPMessage] {
        _ = try await eventually(timeout) { self.inbox.messages.count >= count }
        return inbox.messages
    }

    func waitUntilClosed(timeout: Duration = .seconds(5)) async throws -> Bool {
        try await eventually(timeout) { self.inbox.closed }
    }

    func close() async {
        try? await channel.close()
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
