import BGPWire
import NIOCore
import NetCore

/// One BGP connection: frames bytes, feeds the `Session`, performs its actions and keeps its
/// timer. Everything it does happens on the speaker's event loop.
final class BGPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let core: SpeakerCore
    /// The active neighbour's index when we connected out.
    let outbound: Int?
    private(set) var id = -1
    private(set) var session: Session
    private(set) var remote: IPAddress = .none
    private var remotePort = 0
    private var local: IPAddress = .none
    private var neighbor: SpeakerConfig.Neighbor?
    private var context: ChannelHandlerContext?
    private var buffer: ByteBuffer?
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?
    private var lastWrite: EventLoopFuture<Void>?
    private(set) var sessionID: UInt64?
    private(set) var establishedAt: NIODeadline?
    /// The session ended on Cease 6/1 (an active neighbour then waits longer).
    private(set) var hitPrefixLimit = false
    private(set) var lastError: String?
    private var status: PeerStatus
    /// Gone from the core and the looking glass.
    private var inactive = false

    static let closeGrace: TimeAmount = .seconds(5)

    init(core: SpeakerCore, outbound: Int?) {
        self.core = core
        self.outbound = outbound
        let neighbor = outbound.map { core.config.neighbors[$0] }
        self.neighbor = neighbor
        session = Session(config: core.config.sessionConfig(for: neighbor, outbound: outbound != nil))
        status = PeerStatus(remoteAddress: .none, remotePort: 0, outbound: outbound != nil, state: .idle)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        remote = IPAddress(socketAddress: context.channel.remoteAddress)
        remotePort = context.channel.remoteAddress?.port ?? 0
        local = IPAddress(socketAddress: context.channel.localAddress)
        // Access control before anything else.
        if outbound == nil {
            if let rejection = core.admit(remote) {
                core.rejected(remote, rejection)
                let cease = Cease.connectionRejected.notification()
                let bytes = BGPMessage(kind: .notification, body: cease.encode()).encoded(allocator: context.channel.allocator)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
            neighbor = core.config.neighbor(remote)
            session = Session(config: core.config.sessionConfig(for: neighbor, outbound: false))
        } else if core.shuttingDown {
            context.close(promise: nil)
            return
        }
        id = core.register(self)
        if outbound == nil { core.awaitOpen(self) }
        status.remoteAddress = remote
        status.remotePort = remotePort
        perform((outbound != nil ? session.connecting() : []) + session.transportUp(now: .now(), remote: remote))
        publish()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard id >= 0, session.state != .idle else { return }
        var bytes: ByteBuffer
        if var pending = buffer {
            buffer = nil
            pending.writeBuffer(&incoming)
            bytes = pending
        } else {
            bytes = incoming
        }
        defer {
            // Keep a partial message for the next read; drop consumed bytes now and then.
            if bytes.readableBytes == 0 {
                buffer = nil
            } else {
                if bytes.readerIndex > 65_536 { bytes.discardReadBytes() }
                buffer = bytes
            }
        }
        while session.state != .idle {
            let message: BGPMessage
            do {
                guard let framed = try BGPMessage.frame(&bytes, extendedMessages: session.extendedMessages) else { return }
                message = framed
            } catch let error as BGPError {
                perform(session.framingError(error, bytes: bytes))
                return
            } catch {
                perform(session.framingError(BGPError(code: 1, subcode: 0, reason: "\(error)"), bytes: bytes))
                return
            }
            status.messagesIn += 1
            core.sink.event(.messageReceived(remote, message.kind))
            perform(session.receive(message, now: .now()))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        publish()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        guard id >= 0 else { return }
        perform(session.transportDown())
        inactive = true
        core.connectionClosed(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.log(.warning, "connection error: \(error)", peer: remote, key: "error:\(remote)")
        context.close(promise: nil)
    }

    // MARK: inputs from the core

    func stop(_ cease: Cease, message: String?) {
        perform(session.stop(cease, message: message))
    }

    func closeForCollision() {
        perform(session.closeForCollision())
    }

    func reject(reason: String) {
        perform(session.reject(reason: reason))
    }

    func requestRouteRefresh(_ family: AddressFamily) {
        perform(session.requestRouteRefresh(family))
    }

    /// Shutdown took too long: close without waiting for pending writes.
    func forceClose() {
        context?.close(promise: nil)
    }

    // MARK: actions

    private func perform(_ actions: [Session.Action]) {
        var queue = actions[...]
        var reachedOpenConfirm = false
        // The looking glass learns of sends and state changes at once, of received messages
        // once per read (channelReadComplete).
        var changed = false
        while let action = queue.popFirst() {
            switch action {
            case .send(let message):
                send(message)
                changed = true
            case .stateChange(let from, let to):
                changed = true
                status.state = to
                core.sink.event(.stateChanged(remote, from: from, to: to))
                if to == .openConfirm { reachedOpenConfirm = true }
                if to == .idle { core.openDone(self) }
            case .established(let negotiation):
                established(negotiation)
            case .update(let update):
                queue += deliver(update)
            case .endOfRIB(let family):
                if let sessionID { core.sink.endOfRIB(family, session: sessionID) }
            case .routeRefresh(let refresh):
                core.sink.event(.routeRefreshReceived(remote, refresh))
            case .notificationReceived(let notification):
                core.sink.event(.notificationReceived(remote, notification))
                core.log(.notice, "NOTIFICATION received: \(notification.summary)", peer: remote, key: "notification:\(remote)")
            case .close(let reason):
                switch reason {
                case .openTimeout:
                    // Logged as the NOTIFICATION sent.
                    core.sink.preOpenClosed(remote, .openTimeout)
                case .malformedNotification:
                    core.log(.notice, "\(reason), not answered (RFC 4271 §6.4)", peer: remote, key: "notification:\(remote)")
                default:
                    break
                }
                close(reason)
            }
        }
        if reachedOpenConfirm && session.state == .openConfirm {
            // RFC 4271 §6.8: the peer's identifier is known now; and it wants a peer's place.
            core.reachedOpenConfirm(self)
        }
        if changed && session.state != .idle { publish() }
        armTimer()
    }

    private func send(_ message: BGPMessage) {
        guard let context else { return }
        status.messagesOut += 1
        lastWrite = context.writeAndFlush(wrapOutboundOut(message.encoded(allocator: context.channel.allocator)))
        if message.kind == .notification, let notification = try? Notification.decode(message.body) {
            core.sink.event(.notificationSent(remote, notification))
            core.log(.notice, "NOTIFICATION sent: \(notification.summary)", peer: remote, key: "notification:\(remote)")
        }
    }

    private func established(_ negotiation: Negotiation) {
        let id = core.newSessionID()
        sessionID = id
        let now = NIODeadline.now()
        establishedAt = now
        status.sessionID = id
        status.establishedAt = now
        status.bgpID = negotiation.peerID
        status.asn = negotiation.peerAS
        status.addPath = negotiation.addPath
        let info = PeerInfo(
            sessionID: id, remoteAddress: remote, remotePort: remotePort, localAddress: local,
            bgpID: negotiation.peerID, asn: negotiation.peerAS, holdTime: negotiation.holdTime,
            addPath: negotiation.addPath, fourOctetAS: negotiation.fourOctetAS,
            capabilities: negotiation.peerOpen.capabilities)
        // The looking glass shows the session before the sink hears of it.
        status.state = session.state
        publish()
        core.sink.established(info)
        let families = negotiation.addPath.map(\.description).sorted().joined(separator: ",")
        core.log(.info, "session up: AS \(negotiation.peerAS), id \(IPAddress(v4: negotiation.peerID)), hold \(negotiation.holdTime) s, ADD-PATH [\(families)]",
                 peer: remote, key: "updown:\(remote)")
    }

    /// Hands an UPDATE to the sink; past the prefix limit, the actions that end the session.
    private func deliver(_ update: Update) -> [Session.Action] {
        if update.treatedAsWithdraw != nil {
            core.sink.event(.treatedAsWithdraw(remote, routes: update.withdrawn.count))
        }
        if !update.discarded.isEmpty {
            core.sink.event(.attributesDiscarded(remote, count: update.discarded.count))
        }
        guard let sessionID else { return [] }
        let held = core.sink.update(update, session: sessionID)
        guard let limit = core.config.maximumPrefixes(for: neighbor), held > limit else { return [] }
        hitPrefixLimit = true
        let family: AddressFamily = update.announced.first?.prefix.address.family == .v6 ? .ipv6Unicast : .ipv4Unicast
        return session.maximumPrefixesReached(family: family, limit: UInt32(clamping: limit))
    }

    private func close(_ reason: Session.CloseReason) {
        lastError = reason.description
        status.lastError = lastError
        if let id = sessionID {
            sessionID = nil
            core.sink.down(session: id, reason: reason.description)
            core.log(.info, "session down: \(reason)", peer: remote, key: "updown:\(remote)")
        }
        status.sessionID = nil
        status.establishedAt = nil
        cancelTimer()
        guard let context else { return }
        // Let the NOTIFICATION go out before the socket closes, but do not wait forever on a
        // peer that stopped reading.
        let channel = context.channel
        if let lastWrite {
            lastWrite.whenComplete { _ in channel.close(promise: nil) }
            channel.eventLoop.scheduleTask(in: Self.closeGrace) { channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: timer

    /// One scheduled task at the session's next deadline; a deadline that moved later (the hold
    /// timer restarted) is picked up when the task fires early.
    private func armTimer() {
        guard let next = session.nextDeadline, let context else {
            cancelTimer()
            return
        }
        if let at = timerAt, at <= next { return }
        cancelTimer()
        timerAt = next
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: next) { [self] in
            timer = nil
            timerAt = nil
            perform(session.tick(now: .now()))
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerAt = nil
    }

    private func publish() {
        guard id >= 0, !inactive else { return }
        core.board.setConnection(id, status)
    }
}

@available(*, unavailable)
extension BGPConnectionHandler: Sendable {}
