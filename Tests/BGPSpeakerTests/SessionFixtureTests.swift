import BGPWire
import NIOCore
import NetCore
import Testing
@testable import BGPSpeaker

/// Real OPENs and sessions of gobgpd, bird2, frr and exabgp (fixtures/bgp) fed to a `Session`.
@Suite struct SessionFixtureTests {
    /// What each speaker announced (fixtures/bgp/README.md, "What each capture contains").
    struct Expected: Sendable {
        var peerID: String
        var extendedMessage: Bool
        var extendedNextHop: Bool
        var gracefulRestart: Bool
        /// The capture's listener announced GR to these only.
        var listenerAnnouncedGR: Bool
    }

    static let expected: [String: Expected] = [
        "gobgpd": Expected(peerID: "127.0.0.2", extendedMessage: false, extendedNextHop: true, gracefulRestart: true,
                           listenerAnnouncedGR: true),
        "bird2": Expected(peerID: "127.0.0.3", extendedMessage: false, extendedNextHop: false, gracefulRestart: true,
                          listenerAnnouncedGR: false),
        "frr": Expected(peerID: "127.0.0.4", extendedMessage: true, extendedNextHop: false, gracefulRestart: true,
                        listenerAnnouncedGR: true),
        "exabgp": Expected(peerID: "127.0.0.5", extendedMessage: true, extendedNextHop: false, gracefulRestart: false,
                           listenerAnnouncedGR: false),
    ]

    /// Our default configuration, as the collector would run.
    static let collector = SessionConfig(identifier: ipv4("127.0.0.1"))

    @Test(arguments: SpeakerFixtures.speakers)
    func negotiatedFactsPerSpeaker(speaker: String) throws {
        let want = try #require(Self.expected[speaker])
        let lines = try SpeakerFixtures.lines("\(speaker)-addpath.hex")
        var session = Session(config: Self.collector)
        var now = NIODeadline.uptimeNanoseconds(0)
        #expect(session.transportUp(now: now) == [.stateChange(from: .idle, to: .active)])
        let opened = session.receive(try SpeakerFixtures.message(lines[0]), now: now)
        #expect(session.state == .openConfirm)
        #expect(opened.filter { if case .send = $0 { return true } else { return false } }.count == 2)
        // The capture's second message is the speaker's KEEPALIVE.
        let up = session.receive(try SpeakerFixtures.message(lines[1]), now: now)
        guard case .established(let n)? = up.last else {
            Issue.record("\(speaker): \(up)")
            return
        }
        #expect(n.peerAS == 65000 && n.localAS == 65000 && !n.isExternal)
        #expect(n.peerID == ipv4(want.peerID))
        #expect(n.holdTime == 90 && n.keepaliveInterval == 30)
        #expect(n.families == [.ipv4Unicast, .ipv6Unicast])
        #expect(n.addPath == [.ipv4Unicast, .ipv6Unicast])
        #expect(n.fourOctetAS)
        #expect(n.routeRefresh)
        #expect(n.extendedMessages == want.extendedMessage)
        #expect(session.extendedMessages == want.extendedMessage)
        #expect(n.extendedNextHop == want.extendedNextHop)
        #expect(n.peerGracefulRestart == want.gracefulRestart)

        // The rest of the capture: 15 route events and both End-of-RIB markers, no error.
        var events: [SpeakerFixtures.RouteEvent] = []
        var endOfRIB: [AddressFamily] = []
        for bytes in lines.dropFirst(2) {
            now = now + .seconds(1)
            for action in session.receive(try SpeakerFixtures.message(bytes), now: now) {
                switch action {
                case .update(let update):
                    #expect(update.treatedAsWithdraw == nil && update.discarded.isEmpty)
                    events += SpeakerFixtures.events(update)
                case .endOfRIB(let family):
                    endOfRIB.append(family)
                default:
                    Issue.record("\(speaker): unexpected \(action)")
                }
            }
        }
        #expect(events == (try SpeakerFixtures.expectedRoutes(speaker)))
        #expect(Set(endOfRIB) == [.ipv4Unicast, .ipv6Unicast] && endOfRIB.count == 2)
        #expect(session.state == .established)
    }

    /// With the capture's listener settings our OPEN is the one it sent, byte for byte
    /// (capability order, GR with time 0, ADD-PATH receive).
    @Test(arguments: SpeakerFixtures.speakers)
    func ourOpenMatchesTheCapturedListener(speaker: String) throws {
        let want = try #require(Self.expected[speaker])
        var config = Self.collector
        config.extendedMessages = false
        config.extendedNextHop = false
        config.gracefulRestart = want.listenerAnnouncedGR
        var session = Session(config: config)
        let now = NIODeadline.uptimeNanoseconds(0)
        _ = session.transportUp(now: now)
        let actions = session.receive(try SpeakerFixtures.message(try SpeakerFixtures.lines("\(speaker)-addpath.hex")[0]), now: now)
        guard case .send(let open)? = actions.first, case .send(let keepalive)? = actions.dropFirst().first else {
            Issue.record("\(actions)")
            return
        }
        let captured = try #require(try SpeakerFixtures.lines("\(speaker)-addpath.open-sent.hex").first)
        #expect(Array(open.encoded().readableBytesView) == captured)
        #expect(keepalive == .keepalive)
    }
}
