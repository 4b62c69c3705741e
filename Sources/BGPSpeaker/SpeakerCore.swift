import BGPWire
import Logging
import NIOCore
import NIOPosix
import NetCore

/// The speaker's state on its event loop: connections, active neighbours, the sink.
final class SpeakerCore {
    struct ActiveNeighbor {
        var config: SpeakerConfig.Neighbor
        var backoff: ReconnectBackoff
        var retry: Scheduled<Void>?
        var connecting = false
    }

    let config: SpeakerConfig
    let loop: any EventLoop
    let sink: any RouteSink
    let logger: Logger
    let board: PeerBoard
    let finished: EventLoopPromise<Void>
    private(set) var shuttingDown = false
    private var isFinished = false
    private var connections: [Int: BGPConnectionHandler] = [:]
    private var nextConnection = 0
    private var nextSession: UInt64 = 0
    private var neighbors: [ActiveNeighbor]
    private var preOpen: PreOpenConnections
    /// bgp_daemon_allow_file, replaced by a reload (SIGUSR2); sessions already up stay.
    var allow: [IPPrefix]?
    private var listener: (any Channel)?
    private var shutdownTimer: Scheduled<Void>?
    private var limiter = LogLimiter()
    private var random = SystemRandomNumberGenerator()

    init(config: SpeakerConfig, loop: any EventLoop, sink: any RouteSink, logger: Logger, board: PeerBoard) {
        self.config = config
        self.loop = loop
        self.sink = sink
        self.logger = logger
        self.board = board
        finished = loop.makePromise()
        neighbors = config.neighbors.map { ActiveNeighbor(config: $0, backoff: ReconnectBackoff(policy: config.reconnect)) }
        preOpen = PreOpenConnections(perAddress: config.preOpenPerAddress, total: config.preOpenTotal)
        allow = config.allow
    }

    // MARK: start and stop

    /// Binds the listener (when configured), then connects to the active neighbours.
    /// The future holds the bound port.
    func start() -> EventLoopFuture<Int?> {
        guard let host = config.listenAddress else {
            startNeighbors()
            return loop.makeSucceededFuture(nil)
        }
        let ipv6 = host.contains(":")
        let keyed = config.neighbors.compactMap { n in n.md5Key.map { (n.address, $0) } }
        let bound = NIOLoopBound(self, eventLoop: loop)
        return ServerBootstrap(group: loop, childGroup: loop)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                // Accept errors (file descriptors exhausted) back off instead of spinning the loop.
                var ready = channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler())
                }
                for (peer, key) in keyed {
                    ready = ready.flatMap { TCPMD5.configure(channel, peer: peer, key: key, ipv6Socket: ipv6) }
                }
                return ready
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BGPConnectionHandler(core: bound.value, outbound: nil))
                }
            }
            .bind(host: host, port: config.listenPort)
            .map { channel in
                let core = bound.value
                core.listener = channel
                core.logger.info("BGP listening on \(host) port \(channel.localAddress?.port ?? core.config.listenPort)")
                core.startNeighbors()
                return channel.localAddress?.port
            }
    }

    private func startNeighbors() {
        for index in neighbors.indices where neighbors[index].config.connect {
            let n = neighbors[index].config
            board.setNeighbor(index, PeerStatus(remoteAddress: n.address, remotePort: n.port, outbound: true, state: .idle))
            connect(index)
        }
    }

    /// Cease to every peer, then close; the future completes when all connections are gone
    /// (or after `shutdownTimeout`).
    func shutdown(_ cease: Cease, message: String?) -> EventLoopFuture<Void> {
        guard !shuttingDown else { return finished.futureResult }
        shuttingDown = true
        for index in neighbors.indices {
            neighbors[index].retry?.cancel()
            neighbors[index].retry = nil
        }
        listener?.close(promise: nil)
        listener = nil
        for connection in Array(connections.values) {
            connection.stop(cease, message: message)
        }
        if connections.isEmpty {
            finish()
        } else {
            shutdownTimer = loop.assumeIsolated().scheduleTask(in: config.shutdownTimeout) { [self] in
                for connection in Array(connections.values) { connection.forceClose() }
                finish()
            }
        }
        return finished.futureResult
    }

    /// A start that failed: nothing to stop.
    func failed(_ error: any Error) {
        shuttingDown = true
        guard !isFinished else { return }
        isFinished = true
        finished.fail(error)
    }

    private func finish() {
        guard !isFinished else { return }
        isFinished = true
        shutdownTimer?.cancel()
        shutdownTimer = nil
        logger.info("BGP speaker stopped")
        finished.succeed(())
    }

    // MARK: connections

    /// Why a passive connection from `remote` is refused, or nil to accept it.
    func admit(_ remote: IPAddress) -> SpeakerEvent.Rejection? {
        if shuttingDown { return .shuttingDown }
        let configured = config.neighbor(remote) != nil
        if !configured, let allow, !allow.contains(where: { $0.contains(remote) }) {
            return .notAllowed
        }
        if let maximum = config.maximumPeers, peersPastOpen() >= maximum {
            return .tooManyPeers
        }
        return nil
    }

    /// Sessions that take a `maximumPeers` place; connections waiting for an OPEN do not.
    private func peersPastOpen(excluding excluded: BGPConnectionHandler? = nil) -> Int {
        connections.values.reduce(0) { $0 + ($1 !== excluded && $1.session.state.isPastOpen ? 1 : 0) }
    }

    func rejected(_ remote: IPAddress, _ rejection: SpeakerEvent.Rejection) {
        sink.event(.connectionRejected(remote, rejection))
        log(.warning, "connection rejected (Cease 6/5): \(rejection.rawValue)", peer: remote, key: "reject:\(rejection.rawValue)")
    }

    func register(_ connection: BGPConnectionHandler) -> Int {
        let id = nextConnection
        nextConnection += 1
        connections[id] = connection
        return id
    }

    func newSessionID() -> UInt64 {
        nextSession += 1
        return nextSession
    }

    /// A passive connection is up and waits for the peer's OPEN: hold it within the pre-OPEN
    /// bounds, closing the connections it displaces.
    func awaitOpen(_ connection: BGPConnectionHandler) {
        for eviction in preOpen.admit(connection.id, from: connection.remote) {
            let bound = eviction.bound == .addressBound ? "\(preOpen.perAddress) from this address" : "\(preOpen.total) in all"
            log(.warning, "closing a connection that sent no OPEN yet: more than \(bound) waiting for one",
                peer: eviction.address, key: "preopen:\(eviction.bound.rawValue)")
            sink.preOpenClosed(eviction.address, eviction.bound)
            connections[eviction.id]?.reject(reason: "more than \(bound) connections waiting for an OPEN")
        }
    }

    /// The connection reached OpenConfirm or ended (idempotent).
    func openDone(_ connection: BGPConnectionHandler) {
        preOpen.remove(connection.id, from: connection.remote)
    }

    func connectionClosed(_ connection: BGPConnectionHandler) {
        preOpen.remove(connection.id, from: connection.remote)
        connections.removeValue(forKey: connection.id)
        board.removeConnection(connection.id)
        for index in neighbors.indices where neighbors[index].config.connect && neighbors[index].config.address == connection.remote {
            var status = PeerStatus(remoteAddress: neighbors[index].config.address, remotePort: neighbors[index].config.port,
                                    outbound: true, state: .idle)
            status.lastError = connection.lastError
            board.setNeighbor(index, status)
            if let up = connection.establishedAt, NIODeadline.now() - up >= config.reconnect.stableAfter {
                neighbors[index].backoff.reset()
            }
            scheduleReconnect(index, atLeast: connection.hitPrefixLimit ? config.prefixLimitRestart : .zero)
        }
        if shuttingDown && connections.isEmpty { finish() }
    }

    /// A connection just reached OpenConfirm: collision resolution, then a `maximumPeers` place
    /// (active neighbours always get one, as they always did).
    func reachedOpenConfirm(_ connection: BGPConnectionHandler) {
        openDone(connection)
        checkCollision(connection)
        guard connection.session.state == .openConfirm, connection.outbound == nil,
              let maximum = config.maximumPeers, peersPastOpen(excluding: connection) >= maximum else { return }
        rejected(connection.remote, .tooManyPeers)
        connection.reject(reason: "\(maximum) peers already")
    }

    /// RFC 4271 §6.8 for a connection that just reached OpenConfirm; connections are the same
    /// peer's when they share its address.
    private func checkCollision(_ new: BGPConnectionHandler) {
        guard let remoteID = new.session.negotiation?.peerID else { return }
        for existing in Array(connections.values) where existing !== new && existing.remote == new.remote {
            let loser = Collision.resolve(
                localID: config.session.identifier, remoteID: remoteID,
                existing: Collision.Connection(state: existing.session.state, outbound: existing.outbound != nil),
                new: Collision.Connection(state: new.session.state, outbound: new.outbound != nil))
            switch loser {
            case .existing?:
                existing.closeForCollision()
            case .new?:
                new.closeForCollision()
                return
            case nil:
                continue
            }
        }
    }

    func requestRouteRefresh(session: UInt64, family: AddressFamily) {
        connections.values.first { $0.sessionID == session }?.requestRouteRefresh(family)
    }

    // MARK: active neighbours

    private func hasConnection(to address: IPAddress) -> Bool {
        connections.values.contains { $0.remote == address }
    }

    private func connect(_ index: Int) {
        neighbors[index].retry = nil
        let n = neighbors[index].config
        guard !shuttingDown, !neighbors[index].connecting, !hasConnection(to: n.address) else { return }
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: n.address.description, port: n.port)
        } catch {
            connectFailed(index, error)
            return
        }
        neighbors[index].connecting = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        ClientBootstrap(group: loop)
            .connectTimeout(config.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                let keyed = n.md5Key.map { TCPMD5.configure(channel, peer: n.address, key: $0, ipv6Socket: n.address.family == .v6) }
                return (keyed ?? channel.eventLoop.makeSucceededVoidFuture()).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(BGPConnectionHandler(core: bound.value, outbound: index))
                }
            }
            .connect(to: address)
            .assumeIsolated()
            .whenComplete { [self] result in
                neighbors[index].connecting = false
                switch result {
                case .success:
                    // The handler took over (and closes at once if we shut down meanwhile).
                    break
                case .failure(let error):
                    connectFailed(index, error)
                }
            }
    }

    private func connectFailed(_ index: Int, _ error: any Error) {
        let n = neighbors[index].config
        sink.event(.connectFailed(n.address, reason: "\(error)"))
        log(.warning, "connect to port \(n.port) failed: \(error)", peer: n.address, key: "connect:\(n.address)")
        var status = PeerStatus(remoteAddress: n.address, remotePort: n.port, outbound: true, state: .idle)
        status.lastError = "\(error)"
        board.setNeighbor(index, status)
        scheduleReconnect(index, atLeast: .zero)
    }

    private func scheduleReconnect(_ index: Int, atLeast minimum: TimeAmount) {
        let n = neighbors[index]
        guard !shuttingDown, n.config.connect, n.retry == nil, !n.connecting, !hasConnection(to: n.config.address) else { return }
        let delay = max(minimum, neighbors[index].backoff.next(using: &random))
        neighbors[index].retry = loop.assumeIsolated().scheduleTask(in: delay) { [self] in connect(index) }
    }

    // MARK: logging

    /// Logs at most a few lines per key and minute (`LogLimiter`).
    func log(_ level: Logger.Level, _ message: String, peer: IPAddress, key: String) {
        let (allowed, suppressed) = limiter.allow(key, now: .now())
        guard allowed else { return }
        var metadata: Logger.Metadata = ["peer": "\(peer)"]
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.log(level: level, "\(message)", metadata: metadata)
    }
}

@available(*, unavailable)
extension SpeakerCore: Sendable {}
