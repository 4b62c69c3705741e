import BGPWire
import NIOCore
import NetCore
import Testing
@testable import BGPSpeaker

/// The state machine with no I/O: two sessions back to back on a fake clock (`SessionLink`).
@Suite struct SessionTests {
    static let both: Set<AddressFamily> = [.ipv4Unicast, .ipv6Unicast]

    static func route(_ prefix: String, _ pathID: UInt32 = 0) -> Update.Route {
        Update.Route(prefix: IPPrefix(prefix)!, pathID: pathID)
    }

    /// An UPDATE announcing `routes` via `nextHop` (AS_PATH 65010, LOCAL_PREF 100).
    static func announcement(_ routes: [Update.Route], nextHop: String = "10.0.0.1") -> Update {
        var update = Update()
        update.announced = routes
        update.attributes.origin = .igp
        update.attributes.asPath = [.init(kind: .sequence, asns: [65010])]
        update.attributes.nextHop = IPAddress(nextHop)!
        update.attributes.localPref = 100
        return update
    }

    static let addPathContext = Update.Context(addPath: both, fourOctetAS: true)

    func states(_ events: [Session.Action]) -> [Session.State] {
        events.compactMap { if case .stateChange(_, let to) = $0 { return to } else { return nil } }
    }

    @Test func backToBackReachEstablishedAndDeliverRoutes() throws {
        var link = SessionLink()
        link.start()
        #expect(link.collector.state == .established)
        #expect(link.router.state == .established)
        // The collector mirrors the peer's AS, so its OPEN waits for the router's (DelayOpen).
        #expect(states(link.collectorEvents) == [.active, .openConfirm, .established])
        #expect(states(link.routerEvents) == [.openSent, .openConfirm, .established])
        let n = try #require(link.collectorNegotiation)
        #expect(n.localAS == 65000 && n.peerAS == 65000 && !n.isExternal)
        #expect(n.peerID == ipv4("10.0.0.254"))
        #expect(n.holdTime == 90 && n.keepaliveInterval == 30)
        #expect(n.families == Self.both)
        #expect(n.addPath == Self.both)
        #expect(n.fourOctetAS && n.extendedMessages && n.routeRefresh && n.extendedNextHop && n.peerGracefulRestart)
        #expect(n.context.addPath == Self.both && !n.context.externalPeer)
        // Our OPEN: AS 65000 (mirrored), ADD-PATH receive for both families, GR with time 0.
        let ours = try #require(link.collector.localOpen)
        #expect(ours.myAS == 65000 && ours.autonomousSystem == 65000 && ours.holdTime == 90)
        #expect(ours.addPath == [.init(family: .ipv4Unicast, mode: 1), .init(family: .ipv6Unicast, mode: 1)])
        #expect(ours.capabilities.contains(.other(code: 64, value: [0, 0])))

        // Routes with path identifiers, then End-of-RIB for both families.
        let v4 = Self.announcement([Self.route("192.0.2.0/24", 1), Self.route("192.0.2.0/24", 2)])
        link.routerSends(v4.message(context: Self.addPathContext))
        var v6 = Self.announcement([Self.route("2001:db8:1::/48", 7)], nextHop: "2001:db8:ffff::1")
        v6.attributes.nextHop = IPAddress("2001:db8:ffff::1")!
        link.routerSends(v6.message(context: Self.addPathContext))
        for family in [AddressFamily.ipv4Unicast, .ipv6Unicast] {
            var eor = Update()
            eor.endOfRIB = family
            link.routerSends(eor.message(context: Self.addPathContext))
        }
        let updates = link.collectorUpdates
        #expect(updates.count == 2)
        #expect(updates.first?.announced == v4.announced)
        #expect(updates.last?.announced == [Self.route("2001:db8:1::/48", 7)])
        #expect(updates.last?.attributes.nextHop == IPAddress("2001:db8:ffff::1"))
        let eors = link.collectorEvents.compactMap { if case .endOfRIB(let f) = $0 { return f } else { return nil } }
        #expect(eors == [.ipv4Unicast, .ipv6Unicast])
        #expect(link.collectorNotificationsSent.isEmpty)
    }

    struct AddPathCase: Sendable, CustomTestStringConvertible {
        var name: String
        var routerModes: [Capability.AddPath]
        var collectorFamilies: [AddressFamily] = [.ipv4Unicast, .ipv6Unicast]
        var collectorReceives = true
        var expected: Set<AddressFamily>
        var testDescription: String { name }
    }

    static let addPathCases: [AddPathCase] = [
        AddPathCase(name: "send both", routerModes: [.init(family: .ipv4Unicast, mode: 2), .init(family: .ipv6Unicast, mode: 2)],
                    expected: both),
        AddPathCase(name: "send/receive (FRR's mode 3)", routerModes: [.init(family: .ipv4Unicast, mode: 3)],
                    expected: [.ipv4Unicast]),
        AddPathCase(name: "receive only is not sending",
                    routerModes: [.init(family: .ipv4Unicast, mode: 2), .init(family: .ipv6Unicast, mode: 1)],
                    expected: [.ipv4Unicast]),
        AddPathCase(name: "none", routerModes: [], expected: []),
        AddPathCase(name: "we did not ask", routerModes: [.init(family: .ipv4Unicast, mode: 2)], collectorReceives: false,
                    expected: []),
        AddPathCase(name: "family we do not carry", routerModes: [.init(family: .ipv6Unicast, mode: 2)],
                    collectorFamilies: [.ipv4Unicast], expected: []),
        AddPathCase(name: "a family no one parses", routerModes: [.init(family: AddressFamily(afi: 1, safi: 128), mode: 2)],
                    collectorFamilies: [.ipv4Unicast, AddressFamily(afi: 1, safi: 128)], expected: []),
    ]

    @Test(arguments: addPathCases)
    func addPathIsNegotiatedPerFamily(_ c: AddPathCase) throws {
        var collector = SessionLink.collectorConfig
        collector.families = c.collectorFamilies
        collector.addPathReceive = c.collectorReceives
        var link = SessionLink(collector: collector, router: SessionLink.routerConfig(addPath: c.routerModes))
        link.start()
        let n = try #require(link.collectorNegotiation)
        #expect(n.addPath == c.expected)
        // We only ever ask to receive, and only for families the codec parses.
        let asked = link.collector.localOpen?.addPath ?? []
        #expect(asked.allSatisfy { $0.mode == 1 && Update.supportedFamilies.contains($0.family) })
    }

    @Test func capabilitiesNeedBothSides() throws {
        var router = SessionLink.routerConfig()
        router.fourOctetAS = false
        router.extendedMessages = false
        router.routeRefresh = false
        router.gracefulRestart = false
        router.extendedNextHop = false
        router.families = [.ipv4Unicast]
        var link = SessionLink(router: router)
        link.start()
        let n = try #require(link.collectorNegotiation)
        #expect(!n.fourOctetAS && !n.context.fourOctetAS)
        #expect(!n.extendedMessages && !link.collector.extendedMessages)
        #expect(!n.routeRefresh && !n.peerGracefulRestart && !n.extendedNextHop)
        #expect(n.families == [.ipv4Unicast] && n.addPath == [.ipv4Unicast])

        // A peer without any multiprotocol capability speaks IPv4 unicast (RFC 4760).
        var bare = SessionConfig(identifier: ipv4("10.0.0.254"), localAS: 65000)
        bare.families = []
        bare.addPathReceive = false
        var plain = SessionLink(router: bare)
        plain.start()
        #expect(plain.collectorNegotiation?.families == [.ipv4Unicast])
    }

    /// RFC 6793: a 4-octet ASN goes as AS_TRANS in My AS with the real one in the capability.
    @Test func fourOctetASMirrorsBehindASTrans() throws {
        var router = SessionLink.routerConfig()
        router.localAS = 4_200_000_001
        var link = SessionLink(router: router)
        link.start()
        let n = try #require(link.collectorNegotiation)
        #expect(n.peerAS == 4_200_000_001 && n.localAS == 4_200_000_001)
        let ours = try #require(link.collector.localOpen)
        #expect(ours.myAS == 23456 && ours.autonomousSystem == 4_200_000_001)

        // A 2-octet speaker on our side (AS 65001) sees the router as AS_TRANS (RFC 6793 §4.2).
        var collector = SessionLink.collectorConfig
        collector.fourOctetAS = false
        collector.localAS = 65001
        var old = SessionLink(collector: collector, router: router)
        old.start()
        #expect(old.collectorNegotiation?.peerAS == 23456)
        #expect(old.collectorNegotiation?.fourOctetAS == false)
        #expect(old.collectorNegotiation?.isExternal == true)
        #expect(old.collector.localOpen?.capabilities.contains { $0.code == 65 } == false)
        #expect(old.router.negotiation?.peerAS == 65001 && old.router.state == .established)
    }

    @Test(arguments: [(UInt16(90), UInt16(30), UInt16(30)), (180, 90, 90), (90, 0, 0), (0, 90, 0), (3, 90, 3)])
    func holdTimeIsTheSmaller(ours: UInt16, theirs: UInt16, expected: UInt16) throws {
        var collector = SessionLink.collectorConfig
        collector.holdTime = ours
        var router = SessionLink.routerConfig()
        router.holdTime = theirs
        var link = SessionLink(collector: collector, router: router)
        link.start()
        let n = try #require(link.collectorNegotiation)
        #expect(n.holdTime == expected)
        #expect(n.keepaliveInterval == expected / 3)
        // No hold time: no timer at all.
        #expect((link.collector.nextDeadline == nil) == (expected == 0))
    }

    @Test func keepalivesGoOutOnOurTimer() throws {
        var link = SessionLink()
        link.start()
        let keepalives = { (l: SessionLink) in l.collectorSent.filter { $0.kind == .keepalive }.count }
        // One KEEPALIVE answers the OPEN.
        #expect(keepalives(link) == 1)
        link.advance(seconds: 29)
        #expect(keepalives(link) == 1)
        link.advance(seconds: 1)
        #expect(keepalives(link) == 2)
        // Ten minutes: one every 30 s, both sides keep each other alive.
        link.advance(seconds: 600)
        #expect(keepalives(link) == 22)
        #expect(link.collector.state == .established && link.router.state == .established)
    }

    @Test func holdTimerExpiresWhenThePeerGoesSilent() throws {
        var link = SessionLink()
        link.start()
        link.routerMuted = true
        link.advance(seconds: 89)
        #expect(link.collector.state == .established)
        link.advance(seconds: 1)
        #expect(link.collector.state == .idle)
        #expect(link.collectorNotificationsSent == [Notification(code: 4, subcode: 0)])
        #expect(link.collectorEvents.last == .close(.sent(Notification(code: 4, subcode: 0), reason: "hold timer expired")))
        // Idle takes no further input.
        #expect(link.collector.tick(now: link.now + .seconds(100)).isEmpty)
        #expect(link.collector.nextDeadline == nil)
    }

    @Test func updatesAndKeepalivesRestartTheHoldTimer() throws {
        var collector = SessionLink.collectorConfig
        collector.holdTime = 9
        var link = SessionLink(collector: collector)
        link.start()
        link.routerMuted = true
        // The router's UPDATEs still reach us (sent by hand), every 8 s.
        for _ in 0..<5 {
            link.advance(seconds: 8)
            link.routerSends(Self.announcement([Self.route("198.51.100.0/24", 1)]).message(context: Self.addPathContext))
        }
        #expect(link.collector.state == .established)
        link.advance(seconds: 9)
        #expect(link.collector.state == .idle)
    }

    /// RFC 4271 §8.2.2: the hold timer for the peer's OPEN, 10 s by default (not the suggested
    /// 4 minutes), in OpenSent and while our OPEN waits for the peer's (Active).
    @Test(arguments: [UInt32?.some(65000), nil])
    func openHoldTimer(localAS: UInt32?) throws {
        let config = SessionConfig(identifier: ipv4("192.0.2.1"), localAS: localAS)
        #expect(config.openHoldTime == 10)
        var link = SessionLink(collector: config)
        link.routerMuted = true
        link.start()
        #expect(link.collector.state == (localAS == nil ? .active : .openSent))
        link.advance(seconds: 9)
        #expect(link.collector.state != .idle)
        link.advance(seconds: 1)
        #expect(link.collector.state == .idle)
        #expect(link.collectorNotificationsSent == [Notification(code: 4, subcode: 0)])
        #expect(link.collectorEvents.last == .close(.openTimeout(seconds: 10)))
        #expect(Session.CloseReason.openTimeout(seconds: 10).description
                == "sent NOTIFICATION 4/0 Hold Timer Expired (no OPEN within 10 s)")
    }

    /// A NOTIFICATION the framer rejects, as bytes: marker, length, type 3, then the body.
    static func notificationBytes(length: UInt16, body: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt64.max)  // marker
        b.writeInteger(UInt64.max)
        b.writeInteger(length)      // length
        b.writeInteger(UInt8(3))    // type NOTIFICATION
        b.writeBytes(body)
        return b
    }

    struct MalformedCase: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var established: Bool
        var testDescription: String { name }
    }

    static let malformedNotifications: [MalformedCase] = [
        // §6.1: a NOTIFICATION is at least 21 octets.
        MalformedCase(name: "length 20 (code, no subcode), Established",
                      bytes: Array(notificationBytes(length: 20, body: [6]).readableBytesView), established: true),
        MalformedCase(name: "length 19 (no body), Established",
                      bytes: Array(notificationBytes(length: 19, body: []).readableBytesView), established: true),
        MalformedCase(name: "length 20 before any OPEN (Active)",
                      bytes: Array(notificationBytes(length: 20, body: [6]).readableBytesView), established: false),
    ]

    /// RFC 4271 §6.4: an error in a NOTIFICATION is not answered with one; the session closes.
    @Test(arguments: malformedNotifications)
    func malformedNotificationGetsNoNotificationBack(_ c: MalformedCase) throws {
        var link = SessionLink()
        if c.established {
            link.start()
        } else {
            link.routerMuted = true
            link.start()
            #expect(link.collector.state == .active)
        }
        link.routerSendsBytes(ByteBuffer(bytes: c.bytes))
        #expect(link.collector.state == .idle)
        #expect(link.collectorNotificationsSent.isEmpty)
        guard case .close(.malformedNotification)? = link.collectorEvents.last else {
            Issue.record("\(link.collectorEvents.suffix(2))")
            return
        }
        #expect(!link.collectorEvents.contains { if case .notificationReceived = $0 { return true } else { return false } })
    }

    /// The same through `receive`, for a body the framer let through but `Notification` cannot read.
    @Test func undecodableNotificationGetsNoNotificationBack() throws {
        var session = Session(config: SessionLink.collectorConfig)
        let now = NIODeadline.uptimeNanoseconds(0)
        _ = session.transportUp(now: now)
        let actions = session.receive(BGPMessage(kind: .notification, body: ByteBuffer(bytes: [6])), now: now)
        #expect(session.state == .idle)
        #expect(actions.count == 2)
        #expect(actions.first == .stateChange(from: .active, to: .idle))
        guard case .close(.malformedNotification)? = actions.last else {
            Issue.record("\(actions)")
            return
        }
    }

    /// Other message types with a bad length still get 1/2 (RFC 4271 §6.1).
    @Test func malformedKeepaliveIsAnswered() throws {
        var link = SessionLink()
        link.start()
        var bytes = Self.notificationBytes(length: 20, body: [0])
        bytes.setInteger(UInt8(4), at: 18)  // type KEEPALIVE
        link.routerSendsBytes(bytes)
        #expect(link.collectorNotificationsSent.map { "\($0.code)/\($0.subcode)" } == ["1/2"])
    }

    static func openBody(version: UInt8 = 4, myAS: UInt16 = 65000, hold: UInt16 = 90, id: UInt32, parameters: [UInt8] = []) -> BGPMessage {
        var b = ByteBuffer()
        b.writeInteger(version)                  // version
        b.writeInteger(myAS)                     // my AS
        b.writeInteger(hold)                     // hold time
        b.writeInteger(id)                       // BGP identifier
        b.writeInteger(UInt8(parameters.count))  // optional parameters length
        b.writeBytes(parameters)
        return BGPMessage(kind: .open, body: b)
    }

    struct OpenErrorCase: Sendable, CustomTestStringConvertible {
        var name: String
        var config: SessionConfig
        var open: BGPMessage
        var expected: Notification
        var testDescription: String { name }
    }

    static let us = ipv4("192.0.2.1")
    static let peer = ipv4("192.0.2.2")
    static var expecting65001: SessionConfig {
        var c = SessionConfig(identifier: us)
        c.expectedPeerAS = 65001
        return c
    }

    static let openErrorCases: [OpenErrorCase] = [
        OpenErrorCase(name: "2/1 version 3", config: SessionConfig(identifier: us), open: openBody(version: 3, id: peer),
                      expected: Notification(code: 2, subcode: 1, data: [0, 4])),
        OpenErrorCase(name: "2/2 not the expected AS", config: expecting65001, open: openBody(id: peer),
                      expected: Notification(code: 2, subcode: 2)),
        OpenErrorCase(name: "2/2 AS 0 (RFC 7607)", config: SessionConfig(identifier: us), open: openBody(myAS: 0, id: peer),
                      expected: Notification(code: 2, subcode: 2)),
        // The 4-octet capability (code 65) names the AS, not My AS: 4200000001 is not 65001.
        OpenErrorCase(name: "2/2 from the 4-octet capability", config: expecting65001,
                      open: openBody(myAS: 23456, id: peer, parameters: [2, 6, 65, 4, 0xfa, 0x56, 0xea, 0x01]),
                      expected: Notification(code: 2, subcode: 2)),
        // RFC 6793 §4.1 consistency between My AS and the capability.
        OpenErrorCase(name: "2/2 My AS disagrees with the capability", config: SessionConfig(identifier: us),
                      open: openBody(myAS: 65001, id: peer, parameters: [2, 6, 65, 4, 0, 0, 0xfd, 0xea]),
                      expected: Notification(code: 2, subcode: 2)),
        OpenErrorCase(name: "2/2 AS_TRANS without the capability", config: SessionConfig(identifier: us),
                      open: openBody(myAS: 23456, id: peer), expected: Notification(code: 2, subcode: 2)),
        OpenErrorCase(name: "2/2 AS_TRANS in the capability", config: SessionConfig(identifier: us),
                      open: openBody(myAS: 23456, id: peer, parameters: [2, 6, 65, 4, 0, 0, 0x5b, 0xa0]),
                      expected: Notification(code: 2, subcode: 2)),
        OpenErrorCase(name: "2/2 AS_TRANS for a 2-octet AS", config: SessionConfig(identifier: us),
                      open: openBody(myAS: 23456, id: peer, parameters: [2, 6, 65, 4, 0, 0, 0xfd, 0xe8]),
                      expected: Notification(code: 2, subcode: 2)),
        OpenErrorCase(name: "2/3 identifier 0", config: SessionConfig(identifier: us), open: openBody(id: 0),
                      expected: Notification(code: 2, subcode: 3)),
        OpenErrorCase(name: "2/3 our identifier in iBGP", config: SessionConfig(identifier: us), open: openBody(id: us),
                      expected: Notification(code: 2, subcode: 3)),
        OpenErrorCase(name: "2/6 hold time 2", config: SessionConfig(identifier: us), open: openBody(hold: 2, id: peer),
                      expected: Notification(code: 2, subcode: 6)),
        OpenErrorCase(name: "2/6 hold time 1", config: SessionConfig(identifier: us, localAS: 65000),
                      open: openBody(hold: 1, id: peer), expected: Notification(code: 2, subcode: 6)),
        OpenErrorCase(name: "2/4 optional parameter 1", config: SessionConfig(identifier: us),
                      open: openBody(id: peer, parameters: [1, 0]), expected: Notification(code: 2, subcode: 4, data: [1])),
    ]

    @Test(arguments: openErrorCases)
    func openErrorsSendTheirNotification(_ c: OpenErrorCase) throws {
        var session = Session(config: c.config)
        let now = NIODeadline.uptimeNanoseconds(0)
        _ = session.transportUp(now: now)
        let actions = session.receive(c.open, now: now)
        #expect(actions.first == .send(BGPMessage(kind: .notification, body: c.expected.encode())))
        #expect(session.state == .idle)
        guard case .close(.sent(let sent, _))? = actions.last else {
            Issue.record("no close: \(actions)")
            return
        }
        #expect(sent == c.expected)
        #expect(!actions.contains { if case .established = $0 { return true } else { return false } })
    }

    /// RFC 6286 §2.2: equal identifiers are fine between different ASes.
    @Test func equalIdentifierIsAcceptedInEBGP() throws {
        var session = Session(config: SessionConfig(identifier: Self.us, localAS: 65001))
        let now = NIODeadline.uptimeNanoseconds(0)
        _ = session.transportUp(now: now)
        _ = session.receive(Self.openBody(id: Self.us), now: now)
        #expect(session.state == .openConfirm)
        #expect(session.negotiation?.isExternal == true && session.negotiation?.context.externalPeer == true)
    }

    @Test func connectionFromTheWrongAddressIsRejected() throws {
        var config = SessionConfig(identifier: Self.us)
        config.expectedPeerAddress = IPAddress("192.0.2.2")
        var session = Session(config: config)
        let actions = session.transportUp(now: .uptimeNanoseconds(0), remote: IPAddress("192.0.2.3"))
        #expect(actions.contains(.send(BGPMessage(kind: .notification, body: Notification(code: 6, subcode: 5).encode()))))
        #expect(session.state == .idle)
        var right = Session(config: config)
        _ = right.transportUp(now: .uptimeNanoseconds(0), remote: IPAddress("192.0.2.2"))
        #expect(right.state == .active)
    }

    struct FSMCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// Messages the router sends by hand after the transports came up.
        var messages: [BGPMessage]
        var collectorAS: UInt32?
        var expected: Notification
        var testDescription: String { name }
    }

    static let update = announcement([route("192.0.2.0/24", 1)]).message(context: addPathContext)
    static let routerOpen = BGPMessage(kind: .open, body: SessionLink.routerConfig().open(asn: 65000).encode())

    static let fsmCases: [FSMCase] = [
        FSMCase(name: "UPDATE in OpenSent", messages: [update], collectorAS: 65000, expected: Notification(code: 5, subcode: 1)),
        FSMCase(name: "KEEPALIVE in OpenSent", messages: [.keepalive], collectorAS: 65000, expected: Notification(code: 5, subcode: 1)),
        FSMCase(name: "KEEPALIVE before any OPEN (Active)", messages: [.keepalive], expected: Notification(code: 5, subcode: 0)),
        FSMCase(name: "UPDATE in OpenConfirm", messages: [routerOpen, update], expected: Notification(code: 5, subcode: 2)),
        FSMCase(name: "OPEN in OpenConfirm", messages: [routerOpen, routerOpen], expected: Notification(code: 5, subcode: 2)),
        FSMCase(name: "ROUTE-REFRESH in OpenConfirm", messages: [routerOpen, RouteRefresh(family: .ipv4Unicast).message],
                expected: Notification(code: 5, subcode: 2)),
        FSMCase(name: "OPEN in Established", messages: [routerOpen, .keepalive, routerOpen], expected: Notification(code: 5, subcode: 3)),
    ]

    /// RFC 6608 subcodes for messages that do not belong in the state.
    @Test(arguments: fsmCases)
    func unexpectedMessagesAreFSMErrors(_ c: FSMCase) throws {
        var session = Session(config: SessionConfig(identifier: Self.us, localAS: c.collectorAS))
        let now = NIODeadline.uptimeNanoseconds(0)
        _ = session.transportUp(now: now)
        var actions: [Session.Action] = []
        for message in c.messages {
            actions = session.receive(message, now: now)
        }
        #expect(actions.first == .send(BGPMessage(kind: .notification, body: c.expected.encode())))
        #expect(session.state == .idle)
    }

    @Test func notificationWithShutdownCommunication() throws {
        var link = SessionLink()
        link.start()
        link.routerDoes { $0.stop(message: "maintenance window 42 ✓") }
        let received = link.collectorEvents.compactMap { if case .notificationReceived(let n) = $0 { return n } else { return nil } }
        #expect(received.count == 1)
        #expect(received.first?.code == 6 && received.first?.subcode == 2)
        #expect(received.first?.shutdownCommunication == "maintenance window 42 ✓")
        #expect(link.collector.state == .idle)
        guard case .close(.received(let n))? = link.collectorEvents.last else {
            Issue.record("\(link.collectorEvents)")
            return
        }
        #expect(n.summary == "6/2 Administrative Shutdown: \"maintenance window 42 ✓\"")
        // We say nothing back to a NOTIFICATION.
        #expect(link.collectorNotificationsSent.isEmpty)
    }

    /// RFC 9003: at most 255 octets, cut between characters.
    @Test func shutdownCommunicationIsCutAtACharacter() throws {
        let long = String(repeating: "é", count: 200)  // 400 octets
        let n = Cease.administrativeShutdown.notification(message: long)
        #expect(n.data.first == 254)
        #expect(n.data.count == 255)
        #expect(n.shutdownCommunication == String(repeating: "é", count: 127))
        #expect(Cease.peerDeconfigured.notification(message: "ignored").data.isEmpty)
        #expect(Cease.administrativeReset.notification(message: "x").shutdownCommunication == "x")
    }

    @Test func ourStopSendsCease() throws {
        var link = SessionLink()
        link.start()
        link.collectorDoes { $0.stop(.peerDeconfigured) }
        #expect(link.collectorNotificationsSent == [Notification(code: 6, subcode: 3)])
        #expect(link.router.state == .idle)
        // Before the transport is up there is nothing to send.
        var connecting = Session(config: SessionLink.collectorConfig)
        _ = connecting.connecting()
        #expect(connecting.stop() == [.stateChange(from: .connect, to: .idle), .close(.stopped)])
    }

    @Test func routeRefresh() throws {
        var link = SessionLink()
        link.start()
        link.collectorDoes { $0.requestRouteRefresh(.ipv6Unicast) }
        #expect(link.collectorSent.last == RouteRefresh(family: .ipv6Unicast).message)
        // RFC 2918 §3: AFI 2, reserved 0, SAFI 1.
        #expect(Array(link.collectorSent.last!.encoded().readableBytesView.suffix(4)) == [0, 2, 0, 1])
        #expect(link.routerEvents.contains(.routeRefresh(RouteRefresh(family: .ipv6Unicast))))
        // A family the session does not carry is neither sent nor accepted.
        #expect(link.collector.requestRouteRefresh(AddressFamily(afi: 1, safi: 128)).isEmpty)
        link.routerSends(RouteRefresh(family: AddressFamily(afi: 1, safi: 128)).message)
        #expect(!link.collectorEvents.contains { if case .routeRefresh = $0 { return true } else { return false } })
        // RFC 7313 §5: a body of the wrong length is 7/1.
        var body = ByteBuffer()
        body.writeBytes([0, 1, 0, 1, 0])
        link.routerSends(BGPMessage(kind: .routeRefresh, body: body))
        #expect(link.collectorNotificationsSent.first?.code == 7 && link.collectorNotificationsSent.first?.subcode == 1)
        #expect(link.collector.state == .idle)
    }

    @Test func noRouteRefreshToAPeerWithoutTheCapability() throws {
        var router = SessionLink.routerConfig()
        router.routeRefresh = false
        var link = SessionLink(router: router)
        link.start()
        #expect(link.collector.requestRouteRefresh(.ipv4Unicast).isEmpty)
    }

    @Test func updateErrorsResetButRFC7606ErrorsDoNot() throws {
        var link = SessionLink()
        link.start()
        // ORIGIN 7 (RFC 7606 §7.1): treat-as-withdraw, the session stays up.
        var withdrawn = ByteBuffer()
        withdrawn.writeInteger(UInt16(0))                                      // withdrawn routes length
        let attributes: [UInt8] = [0x40, 1, 1, 7,                              // ORIGIN 7
                                   0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xea,         // AS_PATH 65002
                                   0x40, 3, 4, 10, 0, 0, 1]                    // NEXT_HOP 10.0.0.1
        withdrawn.writeInteger(UInt16(attributes.count))                       // path attributes length
        withdrawn.writeBytes(attributes)
        withdrawn.writeBytes([0, 0, 0, 9, 24, 192, 0, 2])                      // path id 9, 192.0.2.0/24
        link.routerSends(BGPMessage(kind: .update, body: withdrawn))
        #expect(link.collector.state == .established)
        let update = try #require(link.collectorUpdates.last)
        #expect(update.treatedAsWithdraw != nil)
        #expect(update.withdrawn == [Self.route("192.0.2.0/24", 9)])

        // A prefix length of 33 cannot be parsed: 3/10 Invalid Network Field, session reset.
        var bad = ByteBuffer()
        bad.writeInteger(UInt16(0))
        bad.writeInteger(UInt16(attributes.count))
        bad.writeBytes(attributes.prefix(3) + [0] + attributes.dropFirst(4))  // ORIGIN igp
        bad.writeBytes([0, 0, 0, 9, 33, 192, 0, 2, 0, 0])
        link.routerSends(BGPMessage(kind: .update, body: bad))
        #expect(link.collector.state == .idle)
        #expect(link.collectorNotificationsSent.map { "\($0.code)/\($0.subcode)" } == ["3/10"])
    }

    @Test func framingErrorsSendTheirNotification() throws {
        var link = SessionLink()
        link.start()
        var broken = BGPMessage.keepalive.encoded()
        broken.setInteger(UInt8(0), at: 3)  // marker no longer all ones
        link.routerSendsBytes(broken)
        #expect(link.collectorNotificationsSent == [Notification(code: 1, subcode: 1)])
        #expect(link.collector.state == .idle)
    }

    /// RFC 8654: a 65,535-byte limit once both sides announced it, 4,096 otherwise.
    @Test(arguments: [true, false])
    func extendedMessageFraming(collectorAnnounces: Bool) throws {
        var collector = SessionLink.collectorConfig
        collector.extendedMessages = collectorAnnounces
        var link = SessionLink(collector: collector)
        link.start()
        #expect(link.collector.extendedMessages == collectorAnnounces)
        // 600 /24s with path ids: about 4,800 bytes.
        let routes = (0..<600).map { i in Self.route("10.\(i / 256).\(i % 256).0/24", UInt32(i + 1)) }
        let big = Self.announcement(routes).message(context: Self.addPathContext)
        #expect(big.body.readableBytes + BGPMessage.headerLength > BGPMessage.maximumLength)
        link.routerSends(big)
        if collectorAnnounces {
            #expect(link.collectorUpdates.last?.announced.count == 600)
            #expect(link.collector.state == .established)
        } else {
            #expect(link.collectorUpdates.isEmpty)
            #expect(link.collectorNotificationsSent.map { "\($0.code)/\($0.subcode)" } == ["1/2"])
            #expect(link.collector.state == .idle)
        }
    }

    @Test func maximumPrefixesCease() throws {
        var link = SessionLink()
        link.start()
        link.collectorDoes { $0.maximumPrefixesReached(family: .ipv6Unicast, limit: 100_000) }
        // RFC 4486 §4: AFI 2, SAFI 1, limit 100000 (0x000186a0).
        #expect(link.collectorNotificationsSent == [Notification(code: 6, subcode: 1, data: [0, 2, 1, 0, 1, 0x86, 0xa0])])
        #expect(link.router.state == .idle)
        #expect(link.routerEvents.contains(.notificationReceived(Notification(code: 6, subcode: 1, data: [0, 2, 1, 0, 1, 0x86, 0xa0]))))
    }

    @Test func transportDownEndsTheSessionOnce() throws {
        var link = SessionLink()
        link.start()
        let actions = link.collector.transportDown()
        #expect(actions == [.stateChange(from: .established, to: .idle), .close(.transportDown)])
        #expect(link.collector.transportDown().isEmpty)
        #expect(link.collector.receive(.keepalive, now: link.now).isEmpty)
    }
}
