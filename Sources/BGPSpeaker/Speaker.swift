import BGPWire
import Logging
import NIOCore
import NIOPosix
import NetCore
import Synchronization

/// The BGP daemon: a listener (pmacct's bgp_daemon_ip/port), optional active neighbours, one
/// `Session` per connection. Every BGP channel runs on one event loop, so the sink sees route
/// events from a single thread.
///
/// Inert until `start()` or `run()`; `shutdown()` sends Cease to every peer and closes.
public final class Speaker: Sendable {
    public let config: SpeakerConfig
    let loop: any EventLoop
    let logger: Logger
    let makeSink: @Sendable (any EventLoop) -> any RouteSink
    let core: NIOLoopBoundBox<SpeakerCore?>
    let board = PeerBoard()
    private let state = Mutex<(port: Int?, finished: EventLoopFuture<Void>?)>((nil, nil))

    /// `makeSink` runs once, on `eventLoop`, when the speaker starts.
    public init(config: SpeakerConfig, eventLoop: any EventLoop, logger: Logger = Logger(label: "pathflow.bgp"),
                makeSink: @escaping @Sendable (any EventLoop) -> any RouteSink) {
        self.config = config
        loop = eventLoop
        self.logger = logger
        self.makeSink = makeSink
        core = NIOLoopBoundBox.makeEmptyBox(valueType: SpeakerCore.self, eventLoop: eventLoop)
    }

    /// The listener's port once bound (useful with `listenPort` 0).
    public var listeningPort: Int? { state.withLock { $0.port } }

    /// Binds the listener and starts connecting to active neighbours; returns once bound.
    /// An unusable TCP MD5 key fails here, naming the peer.
    public func start() async throws {
        let port = try await loop.flatSubmit { () -> EventLoopFuture<Int?> in
            if self.core.value != nil { return self.loop.makeSucceededFuture(self.listeningPort) }
            let core = SpeakerCore(config: self.config, loop: self.loop, sink: self.makeSink(self.loop),
                                   logger: self.logger, board: self.board)
            self.core.value = core
            let finished = core.finished.futureResult
            self.state.withLock { $0.finished = finished }
            let started = core.start()
            started.whenFailure { error in
                self.loop.execute { self.core.value?.failed(error) }
            }
            return started
        }.get()
        state.withLock { $0.port = port }
    }

    /// `start()`, then runs until `shutdown()` or cancellation (which shuts down with 6/2).
    public func run() async throws {
        try await start()
        guard let finished = state.withLock({ $0.finished }) else { return }
        try await withTaskCancellationHandler {
            try await finished.get()
        } onCancel: {
            self.loop.execute { _ = self.core.value?.shutdown(.administrativeShutdown, message: nil) }
        }
    }

    /// Sends Cease (6/2 with the RFC 8203 `message`, or 6/3 peer de-configured) to every peer,
    /// stops listening and reconnecting, and returns when every connection is closed.
    public func shutdown(_ cease: Cease = .administrativeShutdown, message: String? = nil) async {
        let done = try? await loop.submit { () -> EventLoopFuture<Void>? in
            self.core.value?.shutdown(cease, message: message)
        }.get()
        _ = try? await done?.get()
    }

    /// Asks the peer of an established session to send `family` again (RFC 2918).
    /// A reloaded bgp_daemon_allow_file: it applies to connections from now on.
    public func replaceAllowList(_ allow: [IPPrefix]?) {
        loop.execute { self.core.value?.allow = allow }
    }

    public func requestRouteRefresh(session: UInt64, family: AddressFamily) {
        loop.execute { self.core.value?.requestRouteRefresh(session: session, family: family) }
    }

    /// Every connection and every active neighbour without one, for a looking glass.
    public func peers() -> [PeerStatus] {
        board.snapshot(now: .now())
    }
}
