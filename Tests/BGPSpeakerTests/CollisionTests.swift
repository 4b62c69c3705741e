import BGPWire
import NIOCore
import Testing
@testable import BGPSpeaker

/// RFC 4271 §6.8.
@Suite struct CollisionTests {
    typealias C = Collision.Connection

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var localID: UInt32
        var remoteID: UInt32
        var existing: C
        var new: C
        var loser: Collision.Loser?
        var testDescription: String { name }
    }

    static let low = ipv4("10.0.0.1")
    static let high = ipv4("10.0.0.2")

    static let cases: [Case] = [
        // Our identifier is lower: the connection we opened goes.
        Case(name: "lower local id, existing outbound", localID: low, remoteID: high,
             existing: C(state: .openConfirm, outbound: true), new: C(state: .openConfirm, outbound: false), loser: .existing),
        Case(name: "lower local id, existing inbound", localID: low, remoteID: high,
             existing: C(state: .openConfirm, outbound: false), new: C(state: .openConfirm, outbound: true), loser: .new),
        // Our identifier is higher: the connection the peer opened goes.
        Case(name: "higher local id, existing outbound", localID: high, remoteID: low,
             existing: C(state: .openConfirm, outbound: true), new: C(state: .openConfirm, outbound: false), loser: .new),
        Case(name: "higher local id, existing inbound", localID: high, remoteID: low,
             existing: C(state: .openConfirm, outbound: false), new: C(state: .openConfirm, outbound: true), loser: .existing),
        // Unsigned comparison: 200.0.0.1 is higher than 10.0.0.1.
        Case(name: "identifiers compare unsigned", localID: ipv4("200.0.0.1"), remoteID: low,
             existing: C(state: .openConfirm, outbound: false), new: C(state: .openConfirm, outbound: true), loser: .existing),
        Case(name: "established wins", localID: low, remoteID: high,
             existing: C(state: .established, outbound: true), new: C(state: .openConfirm, outbound: false), loser: .new),
        Case(name: "same direction keeps the older", localID: low, remoteID: high,
             existing: C(state: .openConfirm, outbound: false), new: C(state: .openConfirm, outbound: false), loser: .new),
        Case(name: "OpenSent is no collision yet", localID: low, remoteID: high,
             existing: C(state: .openSent, outbound: true), new: C(state: .openConfirm, outbound: false), loser: nil),
        Case(name: "Idle is no collision", localID: low, remoteID: high,
             existing: C(state: .idle, outbound: true), new: C(state: .openConfirm, outbound: false), loser: nil),
    ]

    @Test(arguments: cases)
    func resolve(_ c: Case) {
        #expect(Collision.resolve(localID: c.localID, remoteID: c.remoteID, existing: c.existing, new: c.new) == c.loser)
    }

    /// Both ways end to end: a router connects to us while our connection to it is in
    /// OpenConfirm; whichever loses sends Cease 6/7 and the other reaches Established.
    @Test(arguments: [true, false])
    func loserClosesWithCease(collectorIDLower: Bool) throws {
        let collectorID = collectorIDLower ? Self.low : Self.high
        let routerID = collectorIDLower ? Self.high : Self.low
        var router = SessionLink.routerConfig()
        router.identifier = routerID
        var collector = SessionConfig(identifier: collectorID, localAS: 65000)
        collector.addPathReceive = true
        // Connection 1: we connected out. Connection 2: the router connected in.
        var outbound = SessionLink(collector: collector, router: router)
        var inbound = SessionLink(collector: collector, router: router)
        outbound.collectorDoes { $0.connecting() }
        // Bring both to OpenConfirm on our side: the router's KEEPALIVEs are held back.
        outbound.routerMuted = true
        inbound.routerMuted = true
        outbound.start()
        inbound.start()
        #expect(outbound.collector.state == .openSent && inbound.collector.state == .openSent)
        outbound.routerMuted = false
        inbound.routerMuted = false
        outbound.routerSends(BGPMessage(kind: .open, body: router.open(asn: 65000).encode()))
        #expect(outbound.collector.state == .openConfirm)
        inbound.routerSends(BGPMessage(kind: .open, body: router.open(asn: 65000).encode()))
        #expect(inbound.collector.state == .openConfirm)

        let remoteID = try #require(inbound.collector.negotiation?.peerID)
        let loser = try #require(Collision.resolve(
            localID: collectorID, remoteID: remoteID,
            existing: C(state: outbound.collector.state, outbound: true),
            new: C(state: inbound.collector.state, outbound: false)))
        // The lower identifier gives up the connection it opened.
        #expect(loser == (collectorIDLower ? .existing : .new))
        let cease = Notification(code: 6, subcode: 7)
        if loser == .existing {
            outbound.collectorDoes { $0.closeForCollision() }
            inbound.routerSends(.keepalive)
            #expect(outbound.collectorNotificationsSent == [cease] && outbound.collector.state == .idle)
            #expect(inbound.collector.state == .established)
        } else {
            inbound.collectorDoes { $0.closeForCollision() }
            outbound.routerSends(.keepalive)
            #expect(inbound.collectorNotificationsSent == [cease] && inbound.collector.state == .idle)
            #expect(outbound.collector.state == .established)
        }
    }
}
