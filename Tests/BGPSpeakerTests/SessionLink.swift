import BGPWire
import NIOCore
import NetCore
@testable import BGPSpeaker

/// Two `Session` machines wired back to back with a fake clock: our collector and a "router"
/// that plays the peer. Every message goes through encoding and the real framer.
struct SessionLink {
    enum Side { case collector, router }

    var collector: Session
    var router: Session
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// Actions other than `.send`, per side, in order.
    var collectorEvents: [Session.Action] = []
    var routerEvents: [Session.Action] = []
    /// Messages each side sent.
    var collectorSent: [BGPMessage] = []
    var routerSent: [BGPMessage] = []
    /// Messages from a muted side are dropped on the wire (a peer gone silent).
    var routerMuted = false
    private var inFlight: [(to: Side, bytes: ByteBuffer)] = []

    /// The router of most tests: AS 65000, sends ADD-PATH for both families.
    static func routerConfig(
        addPath: [Capability.AddPath] = [.init(family: .ipv4Unicast, mode: 2), .init(family: .ipv6Unicast, mode: 2)]
    ) -> SessionConfig {
        var config = SessionConfig(identifier: ipv4("10.0.0.254"), localAS: 65000)
        config.addPathReceive = false
        config.additionalCapabilities = addPath.isEmpty ? [] : [.addPath(addPath)]
        return config
    }

    static let collectorConfig = SessionConfig(identifier: ipv4("192.0.2.1"))

    init(collector: SessionConfig = Self.collectorConfig, router: SessionConfig = Self.routerConfig()) {
        self.collector = Session(config: collector)
        self.router = Session(config: router)
    }

    /// Both transports come up at once; runs until nothing is in flight.
    mutating func start() {
        let c = collector.transportUp(now: now)
        handle(c, from: .collector)
        let r = router.transportUp(now: now)
        handle(r, from: .router)
        pump()
    }

    /// The router sends `message` to the collector.
    mutating func routerSends(_ message: BGPMessage) {
        routerSent.append(message)
        inFlight.append((.collector, message.encoded()))
        pump()
    }

    /// Raw bytes to the collector, as if the router's framing were broken.
    mutating func routerSendsBytes(_ bytes: ByteBuffer) {
        inFlight.append((.collector, bytes))
        pump()
    }

    mutating func collectorDoes(_ input: (inout Session) -> [Session.Action]) {
        let actions = input(&collector)
        handle(actions, from: .collector)
        pump()
    }

    mutating func routerDoes(_ input: (inout Session) -> [Session.Action]) {
        let actions = input(&router)
        handle(actions, from: .router)
        pump()
    }

    /// Moves the clock one second at a time, ticking both sides.
    mutating func advance(seconds: Int) {
        for _ in 0..<seconds {
            now = now + .seconds(1)
            let c = collector.tick(now: now)
            handle(c, from: .collector)
            let r = router.tick(now: now)
            handle(r, from: .router)
            pump()
        }
    }

    var collectorNotificationsSent: [Notification] {
        collectorSent.filter { $0.kind == .notification }.compactMap { try? Notification.decode($0.body) }
    }

    var collectorNegotiation: Negotiation? {
        for case .established(let n) in collectorEvents { return n }
        return nil
    }

    var collectorUpdates: [Update] {
        collectorEvents.compactMap { if case .update(let u) = $0 { return u } else { return nil } }
    }

    private mutating func handle(_ actions: [Session.Action], from side: Side) {
        for action in actions {
            switch (action, side) {
            case (.send(let message), .collector):
                collectorSent.append(message)
                inFlight.append((.router, message.encoded()))
            case (.send(let message), .router):
                routerSent.append(message)
                if !routerMuted { inFlight.append((.collector, message.encoded())) }
            case (_, .collector):
                collectorEvents.append(action)
            case (_, .router):
                routerEvents.append(action)
            }
        }
    }

    /// Delivers what is in flight; bounded, as two machines could in principle ping-pong.
    private mutating func pump() {
        var steps = 0
        while !inFlight.isEmpty && steps < 10_000 {
            steps += 1
            var (to, bytes) = inFlight.removeFirst()
            while bytes.readableBytes > 0 {
                let extended = to == .collector ? collector.extendedMessages : router.extendedMessages
                let actions: [Session.Action]
                do {
                    guard let message = try BGPMessage.frame(&bytes, extendedMessages: extended) else { break }
                    actions = to == .collector ? collector.receive(message, now: now) : router.receive(message, now: now)
                } catch let error as BGPError {
                    actions = to == .collector
                        ? collector.framingError(error, bytes: bytes) : router.framingError(error, bytes: bytes)
                    bytes.clear()
                } catch {
                    fatalError("\(error)")
                }
                handle(actions, from: to)
            }
        }
    }
}
