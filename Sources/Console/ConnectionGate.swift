import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// The console's connections, at most `limit`, as the metrics endpoint bounds its own: when a new
/// one would pass the limit, the oldest idle connection (no request in progress) is closed to
/// make room, and counted, so clients that open connections and keep them cannot lock others out.
final class ConnectionGate: Sendable {
    struct State {
        var open: [ObjectIdentifier: (channel: any Channel, since: NIODeadline)] = [:]
        var busy: Set<ObjectIdentifier> = []
        var evicted: UInt64 = 0
    }

    let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    func open(_ channel: any Channel) {
        let victim: (any Channel)? = state.withLockedValue { s in
            defer { s.open[ObjectIdentifier(channel)] = (channel, .now()) }
            guard s.open.count >= limit else { return nil }
            guard let oldest = s.open.filter({ !s.busy.contains($0.key) }).min(by: { $0.value.since < $1.value.since }) else { return nil }
            s.open.removeValue(forKey: oldest.key)
            s.evicted += 1
            return oldest.value.channel
        }
        victim?.close(promise: nil)
    }

    func closed(_ channel: any Channel) {
        state.withLockedValue {
            $0.open.removeValue(forKey: ObjectIdentifier(channel))
            $0.busy.remove(ObjectIdentifier(channel))
        }
    }

    /// From a request's head to its answer's end, a connection is not idle.
    func busy(_ channel: any Channel, _ busy: Bool) {
        state.withLockedValue {
            if busy { $0.busy.insert(ObjectIdentifier(channel)) } else { $0.busy.remove(ObjectIdentifier(channel)) }
        }
    }

    /// Connections closed to make room so far.
    var evicted: UInt64 { state.withLockedValue { $0.evicted } }

    var connections: Int { state.withLockedValue { $0.open.count } }
}

/// In each connection's pipeline (after HTTP decoding): registers the connection with the gate
/// and tells it when a request is in progress.
final class ConnectionGateHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let gate: ConnectionGate

    init(gate: ConnectionGate) {
        self.gate = gate
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let (gate, channel) = (self.gate, context.channel)
        gate.open(channel)
        channel.closeFuture.whenComplete { _ in gate.closed(channel) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { gate.busy(context.channel, true) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { gate.busy(context.channel, false) }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension ConnectionGateHandler: Sendable {}
