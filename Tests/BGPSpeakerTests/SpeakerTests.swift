import BGPWire
import NIOCore
import NIOPosix
import NetCore
import Testing
@testable import BGPSpeaker

/// The NIO driver on loopback, every wait bounded.
@Suite(.timeLimit(.minutes(1)))
struct SpeakerTests {
    static let collectorID = ipv4("127.0.0.1")

    /// A speaker listening on 127.0.0.1 (free port) with the collector's defaults; always shut down.
    static func withSpeaker(
        _ configure: (inout SpeakerConfig) -> Void = { _ in },
        _ body: (Speaker, TestSink, MultiThreadedEventLoopGroup) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var config = SpeakerConfig(session: SessionConfig(identifier: collectorID))
        config.listenAddress = "127.0.0.1"
        config.listenPort = 0
        configure(&config)
        let sink = TestSink()
        let speaker = Speaker(config: config, eventLoop: group.next(), makeSink: { _ in sink })
        do {
            try await speaker.start()
            try await body(speaker, sink, group)
        } catch {
            await speaker.shutdown()
            try await group.shutdownGracefully()
            throw error
        }
        await speaker.shutdown()
        try await group.shutdownGracefully()
    }

    /// An OPEN from a router with AS 65000.
    static func routerOpen(id: String = "10.0.0.9", hold: UInt16 = 90) -> BGPMessage {
        var config = SessionLink.routerConfig()
        config.identifier = ipv4(id)
        config.holdTime = hold
        return BGPMessage(kind: .open, body: config.open(asn: 65000).encode())
    }

    static func established(_ peer: TestPeer) async throws {
        try await peer.send(routerOpen())
        try await peer.waitForMessages(2)
        try await peer.send(.keepalive)
    }

    /// gobgpd's captured session replayed into the listener: the sink gets exactly the routes the
    /// independent decoder saw, then shutdown sends Cease 6/2 with its message.
    /// `chunk` 0 sends message by message as captured; otherwise the whole byte stream goes in
    /// writes of `chunk` bytes (7: every message split across reads; 100,000: one write).
    @Test(arguments: [0, 7, 100_000])
    func replayedGobgpdSession(chunk: Int) async throws {
        try await Self.withSpeaker { speaker, sink, group in
            let port = try #require(speaker.listeningPort)
            let peer = try await TestPeer.connect(port: port, group: group)
            let lines = try SpeakerFixtures.lines("gobgpd-addpath.hex")
            if chunk == 0 {
                try await peer.send(lines[0])
                try await peer.waitForMessages(2)
                for line in lines.dropFirst() { try await peer.send(line) }
            } else {
                let stream = Array(lines.joined())
                for start in stride(from: 0, to: stream.count, by: chunk) {
                    try await peer.send(Array(stream[start..<min(stream.count, start + chunk)]))
                }
            }
            let answer = try await peer.waitForMessages(2)
            #expect(answer.map(\.kind) == [.open, .keepalive])
            let ours = try Open.decode(answer[0].body)
            #expect(ours.autonomousSystem == 65000 && ours.identifier == Self.collectorID)

            #expect(try await eventually { sink.endOfRIB.count == 2 && sink.updates.count == 15 })
            let events = sink.updates.flatMap(SpeakerFixtures.events)
            #expect(events == (try SpeakerFixtures.expectedRoutes("gobgpd")))
            #expect(Set(sink.endOfRIB) == [.ipv4Unicast, .ipv6Unicast])
            // 10 paths remain (fixtures/bgp/README.md).
            #expect(sink.read { $0.paths.values.first?.count } == 10)

            let info = try #require(sink.peers.first)
            #expect(sink.peers.count == 1)
            #expect(info.remoteAddress == IPAddress("127.0.0.1") && info.localAddress == IPAddress("127.0.0.1"))
            #expect(info.remotePort == peer.channel.localAddress?.port)
            #expect(info.asn == 65000 && info.bgpID == ipv4("127.0.0.2") && info.holdTime == 90)
            #expect(info.addPath == [.ipv4Unicast, .ipv6Unicast] && info.fourOctetAS)
            #expect(info.capabilities.count == 8)

            // Message counts reach the looking glass once per read.
            #expect(try await eventually { speaker.peers().first?.messagesIn == lines.count })
            let status = try #require(speaker.peers().first)
            #expect(status.state == .established && status.sessionID == info.sessionID)
            #expect(status.messagesIn == lines.count && status.messagesOut == 2)
            #expect(status.asn == 65000 && status.bgpID == ipv4("127.0.0.2") && status.addPath == info.addPath)
            #expect(status.uptime != nil && status.lastError == nil)
            let received = sink.events.filter { if case .messageReceived = $0 { return true } else { return false } }
            #expect(received.count == lines.count)

            // Route refresh on request, for a family the session carries.
            speaker.requestRouteRefresh(session: info.sessionID, family: .ipv6Unicast)
            let refreshed = try await peer.waitForMessages(3)
            #expect(refreshed.last == RouteRefresh(family: .ipv6Unicast).message)

            await speaker.shutdown(message: "collector maintenance")
            #expect(try await peer.waitUntilClosed())
            #expect(peer.inbox.notifications.last?.shutdownCommunication == "collector maintenance")
            #expect(peer.inbox.notifications.last.map { ($0.code, $0.subcode) } ?? (0, 0) == (6, 2))
            #expect(sink.downs.map(\.session) == [info.sessionID])
            #expect(sink.read { $0.paths.isEmpty })
        }
    }

    @Test func silentPeerIsDroppedByTheHoldTimer() async throws {
        try await Self.withSpeaker { speaker, sink, group in
            let peer = try await TestPeer.connect(port: try #require(speaker.listeningPort), group: group)
            try await peer.send(Self.routerOpen(hold: 3))
            try await peer.waitForMessages(2)
            try await peer.send(.keepalive)
            #expect(try await eventually { sink.peers.count == 1 })
            // Hold time 3: our KEEPALIVEs every second, and 4/0 about 3 s after the peer's last word.
            #expect(try await peer.waitUntilClosed(timeout: .seconds(6)))
            let kinds = peer.inbox.messages.map(\.kind)
            #expect(kinds.filter { $0 == .keepalive }.count >= 3)
            #expect(peer.inbox.notifications == [Notification(code: 4, subcode: 0)])
            #expect(try await eventually { sink.downs.count == 1 })
            #expect(sink.downs.first?.reason.contains("hold timer expired") == true)
            #expect(sink.events.contains(.notificationSent(IPAddress("127.0.0.1")!, Notification(code: 4, subcode: 0))))
            #expect(try await eventually { speaker.peers().isEmpty })
        }
    }

    @Test func allowListRejectsWithCease() async throws {
        try await Self.withSpeaker({ $0.allow = [IPPrefix("10.0.0.0/8")!, IPPrefix("2001:db8::/32")!] }) { speaker, sink, group in
            let peer = try await TestPeer.connect(port: try #require(speaker.listeningPort), group: group)
            #expect(try await peer.waitUntilClosed())
            #expect(peer.inbox.notifications == [Notification(code: 6, subcode: 5)])
            #expect(sink.events == [.connectionRejected(IPAddress("127.0.0.1")!, .notAllowed)])
            #expect(speaker.peers().isEmpty)
        }
        try await Self.withSpeaker({ $0.allow = [IPPrefix("127.0.0.0/8")!] }) { speaker, sink, group in
            let peer = try await TestPeer.connect(port: try #require(speaker.listeningPort), group: group)
            try await Self.established(peer)
            #expect(try await eventually { sink.peers.count == 1 })
            #expect(peer.inbox.notifications.isEmpty)
        }
    }

    @Test func maximumPeers() async throws {
        try await Self.withSpeaker({ $0.maximumPeers = 1 }) { speaker, sink, group in
            let port = try #require(speaker.listeningPort)
            let first = try await TestPeer.connect(port: port, group: group)
            try await Self.established(first)
            #expect(try await eventually { sink.peers.count == 1 })
            let second = try await TestPeer.connect(port: port, group: group)
            #expect(try await second.waitUntilClosed())
            #expect(second.inbox.notifications == [Notification(code: 6, subcode: 5)])
            #expect(sink.events.contains(.connectionRejected(IPAddress("127.0.0.1")!, .tooManyPeers)))
            #expect(!first.inbox.closed)
            // Once the first is gone there is room again.
            await first.close()
            #expect(try await eventually { speaker.peers().isEmpty })
            let third = try await TestPeer.connect(port: port, group: group)
            try await Self.established(third)
            #expect(try await eventually { sink.peers.count == 2 })
        }
    }

    /// gobgpd's capture again with a limit of 5 paths: the 6th path ends the session with 6/1.
    @Test func maximumPrefixes() async throws {
        try await Self.withSpeaker({ $0.maximumPrefixes = 5 }) { speaker, sink, group in
            let peer = try await TestPeer.connect(port: try #require(speaker.listeningPort), group: group)
            let lines = try SpeakerFixtures.lines("gobgpd-addpath.hex")
            try await peer.send(lines[0])
            try await peer.waitForMessages(2)
            // All in one write: the session ends in the middle of it.
            try await peer.send(Array(lines.dropFirst().joined()))
            #expect(try await peer.waitUntilClosed())
            // RFC 4486 §4: AFI 1, SAFI 1, limit 5.
            #expect(peer.inbox.notifications == [Notification(code: 6, subcode: 1, data: [0, 1, 1, 0, 0, 0, 5])])
            #expect(sink.updates.count == 6)
            #expect(try await eventually { sink.downs.count == 1 })
            #expect(sink.downs.first?.reason.contains("6/1") == true)
        }
    }

    @Test func framingErrorSendsNotification() async throws {
        try await Self.withSpeaker { speaker, sink, group in
            let peer = try await TestPeer.connect(port: try #require(speaker.listeningPort), group: group)
            var open = Self.routerOpen().encoded()
            open.setInteger(UInt8(0xfe), at: 0)  // marker not all ones
            try await peer.send(Array(open.readableBytesView))
            #expect(try await peer.waitUntilClosed())
            #expect(peer.inbox.notifications == [Notification(code: 1, subcode: 1)])
            #expect(sink.peers.isEmpty)
        }
    }

    /// An active neighbour: we connect to a router, reconnect after it drops us, and say
    /// Cease 6/3 when de-configured.
    @Test func activeNeighbourConnectsAndReconnects() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await TestServer.start(group: group)
        do {
            try await Self.withSpeaker({ config in
                config.listenAddress = nil
                config.neighbors = [.init(address: IPAddress("127.0.0.1")!, port: server.port, peerAS: 65000)]
                config.reconnect.initial = .milliseconds(100)
            }) { speaker, sink, _ in
                #expect(speaker.listeningPort == nil)
                #expect(try await eventually { server.peers.count == 1 })
                let router = try #require(server.peers.first)
                // The peer AS is configured, so our OPEN goes out at once.
                let ours = try #require(try await router.waitForMessages(1).first)
                #expect(ours.kind == .open)
                #expect(try Open.decode(ours.body).autonomousSystem == 65000)
                try await router.send(Self.routerOpen())
                try await router.waitForMessages(2)
                try await router.send(.keepalive)
                #expect(try await eventually { sink.peers.count == 1 })
                #expect(speaker.peers().first?.outbound == true && speaker.peers().first?.state == .established)

                // The router drops the connection; we come back.
                await router.close()
                #expect(try await eventually { sink.downs.count == 1 })
                #expect(try await eventually { server.peers.count == 2 })
                let again = server.peers[1]
                try await again.waitForMessages(1)
                try await again.send(Self.routerOpen())
                try await again.waitForMessages(2)
                try await again.send(.keepalive)
                #expect(try await eventually { sink.peers.count == 2 })
                #expect(sink.peers[0].sessionID != sink.peers[1].sessionID)

                await speaker.shutdown(.peerDeconfigured)
                #expect(try await again.waitUntilClosed())
                #expect(again.inbox.notifications == [Notification(code: 6, subcode: 3)])
            }
        } catch {
            await server.close()
            try await group.shutdownGracefully()
            throw error
        }
        // No reconnect after shutdown.
        try await Task.sleep(for: .milliseconds(300))
        #expect(server.peers.count == 2)
        await server.close()
        try await group.shutdownGracefully()
    }

    @Test func unreachableNeighbourIsRetriedWithBackoff() async throws {
        // A port nobody listens on: bind one, note it, close it.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await TestServer.start(group: group)
        let port = server.port
        await server.close()
        try await group.shutdownGracefully()
        try await Self.withSpeaker({ config in
            config.listenAddress = nil
            config.neighbors = [.init(address: IPAddress("127.0.0.1")!, port: port)]
            config.reconnect.initial = .milliseconds(50)
            config.reconnect.maximum = .milliseconds(200)
        }) { speaker, sink, _ in
            let failures = { sink.events.filter { if case .connectFailed = $0 { return true } else { return false } }.count }
            #expect(try await eventually { failures() >= 4 })
            let status = try #require(speaker.peers().first)
            #expect(status.state == .idle && status.outbound && status.lastError != nil)
        }
    }

    /// RFC 2385 on the listening socket: only a client with the key gets through.
    @Test func tcpMD5() async throws {
        let key = "pathflow-md5"
        try await Self.withSpeaker({ config in
            config.neighbors = [.init(address: IPAddress("127.0.0.1")!, connect: false, md5Key: key)]
        }) { speaker, sink, group in
            let port = try #require(speaker.listeningPort)
            let keyed = try await TestPeer.connect(port: port, group: group, md5Key: key)
            try await Self.established(keyed)
            #expect(try await eventually { sink.peers.count == 1 })
            // Without the key the kernel drops the SYN: no connection.
            await #expect(throws: (any Error).self) {
                _ = try await TestPeer.connect(port: port, group: group, timeout: .milliseconds(500))
            }
        }
    }

    @Test func unusableMD5KeyNamesThePeer() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var config = SpeakerConfig(session: SessionConfig(identifier: Self.collectorID))
        config.listenAddress = "127.0.0.1"
        config.listenPort = 0
        config.neighbors = [.init(address: IPAddress("192.0.2.7")!, connect: false, md5Key: String(repeating: "k", count: 81))]
        let speaker = Speaker(config: config, eventLoop: group.next(), makeSink: { _ in TestSink() })
        do {
            try await speaker.start()
            Issue.record("start succeeded")
        } catch let error as TCPMD5.SetupError {
            #expect(error.peer == IPAddress("192.0.2.7"))
            #expect(error.description.contains("192.0.2.7"))
        }
        await speaker.shutdown()
        try await group.shutdownGracefully()
    }

    /// RFC 4271 §6.8 in the driver: our connection to the router and the router's connection to
    /// us both reach OpenConfirm; the one the lower identifier opened is closed with 6/7.
    @Test(arguments: ["10.0.0.9", "200.0.0.1"])
    func connectionCollision(routerID: String) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await TestServer.start(group: group)
        do {
            try await Self.withSpeaker({ config in
                config.neighbors = [.init(address: IPAddress("127.0.0.1")!, port: server.port, peerAS: 65000)]
            }) { speaker, sink, peers in
                // Ours: the router answers our OPEN with its own but holds its KEEPALIVE back.
                #expect(try await eventually { server.peers.count == 1 })
                let outbound = server.peers[0]
                try await outbound.waitForMessages(1)
                try await outbound.send(Self.routerOpen(id: routerID))
                try await outbound.waitForMessages(2)
                // Theirs: the router connects to our listener.
                let inbound = try await TestPeer.connect(port: try #require(speaker.listeningPort), group: peers)
                try await inbound.send(Self.routerOpen(id: routerID))
                // 127.0.0.1 is lower than 200.0.0.1 (we give up ours) and higher than 10.0.0.9.
                let weAreLower = Self.collectorID < ipv4(routerID)
                let (loser, winner) = weAreLower ? (outbound, inbound) : (inbound, outbound)
                #expect(try await loser.waitUntilClosed())
                #expect(loser.inbox.notifications == [Notification(code: 6, subcode: 7)])
                try await winner.send(.keepalive)
                #expect(try await eventually { sink.peers.count == 1 })
                #expect(!winner.inbox.closed && winner.inbox.notifications.isEmpty)
                #expect(speaker.peers().map(\.state) == [.established])
                #expect(speaker.peers().first?.outbound == !weAreLower)
            }
        } catch {
            await server.close()
            try await group.shutdownGracefully()
            throw error
        }
        await server.close()
        try await group.shutdownGracefully()
    }

    /// After Cease 6/1 an active neighbour waits `prefixLimitRestart`, not the short backoff.
    @Test func activeNeighbourWaitsAfterThePrefixLimit() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await TestServer.start(group: group)
        do {
            try await Self.withSpeaker({ config in
                config.listenAddress = nil
                config.neighbors = [.init(address: IPAddress("127.0.0.1")!, port: server.port, peerAS: 65000, maximumPrefixes: 1)]
                config.reconnect.initial = .milliseconds(20)
                config.prefixLimitRestart = .milliseconds(1_000)
            }) { _, sink, _ in
                #expect(try await eventually { server.peers.count == 1 })
                let router = server.peers[0]
                try await router.waitForMessages(1)
                try await router.send(Self.routerOpen())
                try await router.waitForMessages(2)
                try await router.send(.keepalive)
                let context = Update.Context(addPath: [.ipv4Unicast, .ipv6Unicast])
                let update = SessionTests.announcement([SessionTests.route("192.0.2.0/24", 1), SessionTests.route("192.0.2.0/24", 2)])
                try await router.send(update.message(context: context))
                #expect(try await router.waitUntilClosed())
                let closedAt = ContinuousClock.now
                #expect(router.inbox.notifications == [Notification(code: 6, subcode: 1, data: [0, 1, 1, 0, 0, 0, 1])])
                #expect(sink.updates.count == 1)
                #expect(try await eventually(.seconds(10)) { server.peers.count == 2 })
                // The jitter only shortens the backoff, never the prefix-limit wait.
                #expect(ContinuousClock.now - closedAt >= .milliseconds(900))
            }
        } catch {
            await server.close()
            try await group.shutdownGracefully()
            throw error
        }
        await server.close()
        try await group.shutdownGracefully()
    }
}
