import Foundation
import NIOCore
import NetCore
import Testing
import BGPFixtures
@testable import BGPWire

/// Every UPDATE of every captured session decodes to the route events an independent decoder
/// (tools/bgp/decode.py) wrote to fixtures/bgp/*.expected.json.
@Suite struct UpdateTests {
    static let context = BGPFixtures.context

    /// One route event in the oracle's vocabulary (`BGPFixtures.oracle(_, "routes")`).
    static func events(_ update: Update) -> [[String: String]] {
        update.announced.map { route in
            var event = BGPFixtures.fields(route.prefix, pathID: route.pathID, update.attributes)
            event["action"] = "announce"
            return event
        } + update.withdrawn.map { route in
            [
                "action": "withdraw",
                "family": route.prefix.address.family == .v6 ? "ipv6" : "ipv4",
                "path_id": String(route.pathID),
                "prefix": route.prefix.description,
            ]
        }
    }

    static func expected(_ speaker: String) throws -> [[String: String]] {
        try BGPFixtures.oracle(speaker, "routes")
    }

    @Test(arguments: BGPFixtures.speakers)
    func sessionsDecodeLikeTheOracle(speaker: String) throws {
        var got: [[String: String]] = []
        var endOfRIB: [AddressFamily] = []
        for bytes in try BGPFixtures.messages("\(speaker)-addpath.hex") {
            let message = try #require(try BGPFixtures.frameOne(bytes))
            guard message.kind == .update else { continue }
            let update = try Update.decode(message.body, context: Self.context)
            #expect(update.treatedAsWithdraw == nil && update.discarded.isEmpty, "\(speaker) \(update)")
            if let family = update.endOfRIB { endOfRIB.append(family) }
            got += Self.events(update)
        }
        let want = try Self.expected(speaker)
        // 12 announcements, one implicit replace, two withdrawals (fixtures/bgp/README.md).
        #expect(want.count == 15)
        #expect(got.count == want.count)
        for (g, w) in zip(got, want) {
            #expect(g == w, "\(speaker)")
        }
        #expect(Set(endOfRIB) == [.ipv4Unicast, .ipv6Unicast])
    }

    static func update(attributes: [UInt8], nlri: [UInt8] = [], withdrawn: [UInt8] = []) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt16(withdrawn.count))
        b.writeBytes(withdrawn)
        b.writeInteger(UInt16(attributes.count))
        b.writeBytes(attributes)
        b.writeBytes(nlri)
        return b
    }

    // ORIGIN igp, AS_PATH sequence [65001], NEXT_HOP 192.0.2.1.
    static let origin: [UInt8] = [0x40, 1, 1, 0]
    static let asPath: [UInt8] = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9]
    static let nextHop: [UInt8] = [0x40, 3, 4, 192, 0, 2, 1]
    /// 10.0.0.0/8 without a path id.
    static let nlri: [UInt8] = [8, 10]

    @Test func rfc7606TreatAsWithdrawAndDiscard() throws {
        let plain = Update.Context(addPath: [], fourOctetAS: true)
        // ORIGIN with value 7: the route is withdrawn, not dropped silently and not accepted.
        let badOrigin = try Update.decode(Self.update(attributes: [0x40, 1, 1, 7] + Self.asPath + Self.nextHop, nlri: Self.nlri), context: plain)
        #expect(badOrigin.announced.isEmpty)
        #expect(badOrigin.withdrawn.map(\.prefix.description) == ["10.0.0.0/8"])
        #expect(badOrigin.treatedAsWithdraw == "ORIGIN malformed")
        // COMMUNITIES of 3 bytes: treat as withdraw.
        let badCommunities = try Update.decode(
            Self.update(attributes: Self.origin + Self.asPath + Self.nextHop + [0xc0, 8, 3, 0, 0, 1], nlri: Self.nlri), context: plain)
        #expect(badCommunities.treatedAsWithdraw == "COMMUNITIES length 3")
        // ATOMIC_AGGREGATE with a value: discard the attribute, keep the route.
        let badAtomic = try Update.decode(
            Self.update(attributes: Self.origin + Self.asPath + Self.nextHop + [0x40, 6, 1, 0], nlri: Self.nlri), context: plain)
        #expect(badAtomic.announced.count == 1 && badAtomic.discarded == ["ATOMIC_AGGREGATE length 1"])
        // An attribute whose length runs past the attributes field.
        let overrun = try Update.decode(Self.update(attributes: Self.origin + [0x40, 2, 200, 2], nlri: Self.nlri), context: plain)
        #expect(overrun.announced.isEmpty && overrun.withdrawn.count == 1)
        // Unknown optional transitive attribute: kept as received.
        let opaque = try Update.decode(
            Self.update(attributes: Self.origin + Self.asPath + Self.nextHop + [0xc0, 99, 2, 0xab, 0xcd], nlri: Self.nlri), context: plain)
        #expect(opaque.attributes.opaque == [.init(flags: 0xc0, code: 99, value: [0xab, 0xcd])])
        // 2-octet AS peer: AS_PATH of 2-byte ASNs.
        let twoOctet = try Update.decode(
            Self.update(attributes: Self.origin + [0x40, 2, 4, 2, 1, 0xfd, 0xe9] + Self.nextHop, nlri: Self.nlri),
            context: Update.Context(addPath: [], fourOctetAS: false))
        #expect(twoOctet.attributes.asPathText == "65001")
    }

    /// RFC 6793 §4.2.3, a 2-octet speaker: AS_PATH [65001 23456 23456], AS4_PATH [4200000001 4200000002]
    /// → 65001 4200000001 4200000002.
    @Test func as4PathMergesForTwoOctetSpeakers() throws {
        let twoOctet = Update.Context(addPath: [], fourOctetAS: false)
        let asPath: [UInt8] = [0x40, 2, 8, 2, 3, 0xfd, 0xe9, 0x5b, 0xa0, 0x5b, 0xa0]
        let as4Path: [UInt8] = [0xc0, 17, 10, 2, 2, 0xfa, 0x56, 0xea, 0x01, 0xfa, 0x56, 0xea, 0x02]
        let merged = try Update.decode(
            Self.update(attributes: Self.origin + asPath + Self.nextHop + as4Path, nlri: Self.nlri), context: twoOctet)
        #expect(merged.attributes.asPathText == "65001 4200000001 4200000002")
        // An AS4_PATH longer than the AS_PATH is ignored.
        let longer: [UInt8] = [0xc0, 17, 18, 2, 4] + [UInt8](repeating: 1, count: 16)
        let ignored = try Update.decode(
            Self.update(attributes: Self.origin + asPath + Self.nextHop + longer, nlri: Self.nlri), context: twoOctet)
        #expect(ignored.attributes.asPathText == "65001 23456 23456")
        // From a 4-octet speaker an AS4_PATH is discarded.
        let fromNew = try Update.decode(
            Self.update(attributes: Self.origin + Self.asPath + Self.nextHop + as4Path, nlri: Self.nlri),
            context: Update.Context(addPath: [], fourOctetAS: true))
        #expect(fromNew.attributes.asPathText == "65001" && fromNew.discarded == ["AS4_PATH from a 4-octet AS speaker"])
    }

    @Test func sessionResetsWhereRFC7606SaysSo() {
        let plain = Update.Context(addPath: [], fourOctetAS: true)
        // A prefix length of 33 for IPv4: the NLRI cannot be parsed.
        #expect(throws: Update.nlriError("prefix length past 32")) {
            try Update.decode(Self.update(attributes: Self.origin + Self.asPath + Self.nextHop, nlri: [33, 10, 0, 0, 0, 0]), context: plain)
        }
        // MP_REACH_NLRI with a next-hop length of 5.
        let mpReach: [UInt8] = [0x80, 14, 10, 0, 2, 1, 5, 1, 2, 3, 4, 5, 0]
        #expect((try? Update.decode(Self.update(attributes: Self.origin + Self.asPath + mpReach), context: plain)) == nil)
        // Withdrawn length past the message.
        var short = ByteBuffer()
        short.writeInteger(UInt16(50))
        #expect(throws: BGPError.self) { try Update.decode(short, context: plain) }
    }
}
