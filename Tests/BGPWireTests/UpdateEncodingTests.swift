import NIOCore
import NetCore
import BGPFixtures
import Testing
@testable import BGPWire

/// `Update.encode`: decode → encode → decode on every captured UPDATE, byte-exact where the speaker
/// wrote what our encoder writes, and hand-checked bytes for what the captures do not exercise.
@Suite struct UpdateEncodingTests {
    static let context = UpdateTests.context

    /// The UPDATE bodies of one capture.
    static func bodies(_ speaker: String) throws -> [[UInt8]] {
        try BGPFixtures.messages("\(speaker)-addpath.hex").compactMap { bytes in
            bytes[18] == BGPMessage.Kind.update.rawValue ? Array(bytes[19...]) : nil
        }
    }

    @Test(arguments: BGPFixtures.speakers)
    func capturedUpdatesRoundTrip(speaker: String) throws {
        for (index, body) in try Self.bodies(speaker).enumerated() {
            let update = try Update.decode(ByteBuffer(bytes: body), context: Self.context)
            for mpFirst in [false, true] {
                let encoded = update.encode(context: Self.context, mpAttributesFirst: mpFirst)
                let again = try Update.decode(encoded, context: Self.context)
                #expect(again == update, "\(speaker) UPDATE #\(index) (MP first: \(mpFirst))")
            }
        }
    }

    /// Whether a captured body is written the way our encoder writes: attributes in code order (or
    /// MP_REACH_NLRI/MP_UNREACH_NLRI first), each with exactly its RFC flags, Extended Length only
    /// past 255 bytes.
    static func writtenLikeOurs(_ body: [UInt8], mpFirst: Bool) -> Bool {
        let withdrawnLength = Int(body[0]) << 8 | Int(body[1])
        let attributesLength = Int(body[2 + withdrawnLength]) << 8 | Int(body[3 + withdrawnLength])
        var i = 4 + withdrawnLength
        let end = i + attributesLength
        var codes: [UInt8] = []
        while i < end {
            let flags = body[i], code = body[i + 1]
            let extended = flags & 0x10 != 0
            let length = extended ? Int(body[i + 2]) << 8 | Int(body[i + 3]) : Int(body[i + 2])
            guard let type = AttributeType.byCode[Int(code)], flags == type.flags | (extended ? 0x10 : 0),
                  extended == (length > 255) else { return false }
            codes.append(code)
            i += (extended ? 4 : 3) + length
        }
        let isMP = { (code: UInt8) in code == 14 || code == 15 }
        let order = mpFirst ? codes.filter(isMP) + codes.filter { !isMP($0) }.sorted() : codes.sorted()
        return codes == order
    }

    /// gobgpd and exabgp write attributes in code order; bird2 and frr put MP_REACH_NLRI first
    /// (RFC 7606 §5.1). Where, besides, the flags are ours, re-encoding gives the speaker's bytes:
    /// - gobgpd: all 17 UPDATEs;
    /// - bird2: 11, not its IPv6 ones (MP_REACH_NLRI and MP_UNREACH_NLRI with Extended Length 0x90
    ///   and a 1-byte value);
    /// - exabgp: 13, not the IPv6 ones with attributes of codes above 14 before its MP_REACH_NLRI
    ///   last, nor its IPv6 End-of-RIB (0x90);
    /// - frr: 3 (End-of-RIBs and the IPv4 withdrawal): AS_PATH always 0x50, ORIGINATOR_ID and
    ///   CLUSTER_LIST after LARGE_COMMUNITY.
    @Test(arguments: [("gobgpd", false, 17), ("bird2", true, 11), ("exabgp", false, 13), ("frr", true, 3)])
    func byteExactWhereTheSpeakerWritesLikeUs(speaker: String, mpFirst: Bool, expected: Int) throws {
        var exact = 0
        for (index, body) in try Self.bodies(speaker).enumerated() where Self.writtenLikeOurs(body, mpFirst: mpFirst) {
            let update = try Update.decode(ByteBuffer(bytes: body), context: Self.context)
            let encoded = Array(buffer: update.encode(context: Self.context, mpAttributesFirst: mpFirst))
            #expect(encoded == body, "\(speaker) UPDATE #\(index)")
            if encoded == body { exact += 1 }
        }
        #expect(exact == expected)
    }

    static func route(_ text: String, _ pathID: UInt32 = 0) -> Update.Route {
        Update.Route(prefix: IPPrefix(text)!, pathID: pathID)
    }

    static func announcement(_ routes: [Update.Route], nextHop: String, path: [UInt32] = [65001]) -> Update {
        var update = Update()
        update.announced = routes
        update.attributes.origin = .igp
        update.attributes.asPath = [.init(kind: .sequence, asns: path)]
        update.attributes.nextHop = IPAddress(nextHop)!
        return update
    }

    @Test func ipv4AnnouncementWithPathIDs() {
        let update = Self.announcement([Self.route("10.0.0.0/8", 7), Self.route("192.0.2.128/25", 9)], nextHop: "192.0.2.1")
        let encoded = update.encode(context: Update.Context(addPath: [.ipv4Unicast]))
        let expected: [UInt8] = [
            0, 0,                                   // withdrawn routes length
            0, 20,                                  // total path attribute length
            0x40, 1, 1, 0,                          // ORIGIN igp
            0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9,     // AS_PATH sequence [65001], 4-octet
            0x40, 3, 4, 192, 0, 2, 1,               // NEXT_HOP 192.0.2.1
            0, 0, 0, 7, 8, 10,                      // path id 7, 10.0.0.0/8
            0, 0, 0, 9, 25, 192, 0, 2, 128,         // path id 9, 192.0.2.128/25
        ]
        #expect(Array(buffer: encoded) == expected)
        // Without ADD-PATH for IPv4 the path ids are not on the wire.
        let plain = update.encode(context: Update.Context(addPath: [.ipv6Unicast]))
        #expect(Array(buffer: plain).suffix(7) == [8, 10, 25, 192, 0, 2, 128])
    }

    /// RFC 6793 §4.2.2: to a 2-octet peer, AS_TRANS in AS_PATH and the real path in AS4_PATH.
    @Test func twoOctetPeerGetsASTransAndAS4Path() throws {
        var update = Self.announcement([Self.route("10.0.0.0/8")], nextHop: "192.0.2.1", path: [65001, 4_200_000_001])
        update.attributes.aggregator = .init(asn: 4_200_000_002, address: IPAddress("198.51.100.1")!)
        let twoOctet = Update.Context(fourOctetAS: false)
        let encoded = update.encode(context: twoOctet)
        let expected: [UInt8] = [
            0, 0,                                           // withdrawn routes length
            0, 53,                                          // total path attribute length
            0x40, 1, 1, 0,                                  // ORIGIN igp
            0x40, 2, 6, 2, 2, 0xfd, 0xe9, 0x5b, 0xa0,       // AS_PATH sequence [65001 23456], 2-octet
            0x40, 3, 4, 192, 0, 2, 1,                       // NEXT_HOP 192.0.2.1
            0xc0, 7, 6, 0x5b, 0xa0, 198, 51, 100, 1,        // AGGREGATOR AS_TRANS, 198.51.100.1
            0xc0, 17, 10, 2, 2,                             // AS4_PATH sequence of 2
            0, 0, 0xfd, 0xe9, 0xfa, 0x56, 0xea, 0x01,       //   65001 4200000001
            0xc0, 18, 8, 0xfa, 0x56, 0xea, 0x02,            // AS4_AGGREGATOR 4200000002,
            198, 51, 100, 1,                                //   198.51.100.1
            8, 10,                                          // 10.0.0.0/8
        ]
        #expect(Array(buffer: encoded) == expected)
        let back = try Update.decode(encoded, context: twoOctet)
        #expect(back == update)
        // All ASNs mappable: no AS4_PATH, no AS4_AGGREGATOR.
        var small = update
        small.attributes.asPath = [.init(kind: .sequence, asns: [65001, 65002])]
        small.attributes.aggregator?.asn = 65003
        let smallEncoded = small.encode(context: twoOctet)
        #expect(try Update.decode(smallEncoded, context: twoOctet) == small)
        #expect(smallEncoded.readableBytes == encoded.readableBytes - 13 - 11)
    }

    /// Confederation segments stay out of AS4_PATH (RFC 6793 §4.2.2) and come back from AS_PATH.
    @Test func confederationSegmentsLeadTheMergedPath() throws {
        var update = Self.announcement([Self.route("10.0.0.0/8")], nextHop: "192.0.2.1")
        update.attributes.asPath = [
            .init(kind: .confedSequence, asns: [64512, 64513]),
            .init(kind: .sequence, asns: [65001, 4_200_000_001]),
            .init(kind: .set, asns: [4_200_000_005, 65010]),
        ]
        let twoOctet = Update.Context(fourOctetAS: false)
        let back = try Update.decode(update.encode(context: twoOctet), context: twoOctet)
        #expect(back.attributes.asPathText == "(64512 64513) 65001 4200000001 {4200000005,65010}")
        #expect(back == update)
    }

    @Test func longAttributesUseExtendedLength() throws {
        var update = Self.announcement([Self.route("10.0.0.0/8")], nextHop: "192.0.2.1")
        update.attributes.communities = (0..<70).map { 65001 << 16 | UInt32($0) }
        let bytes = Array(buffer: update.encode(context: Update.Context()))
        // After ORIGIN (4), AS_PATH (9), NEXT_HOP (7): COMMUNITIES with flags 0xd0 and a 2-byte length.
        let communities = 4 + 4 + 9 + 7
        #expect(Array(bytes[communities..<communities + 4]) == [0xd0, 8, 0x01, 0x18])
        #expect(try Update.decode(ByteBuffer(bytes: bytes), context: Update.Context()) == update)
    }

    @Test func segmentsOfMoreThan255ASNsAreSplit() throws {
        let path = (0..<300).map { UInt32(64_000 + $0) }
        let update = Self.announcement([Self.route("10.0.0.0/8")], nextHop: "192.0.2.1", path: path)
        let back = try Update.decode(update.encode(context: Update.Context()), context: Update.Context())
        #expect(back.attributes.asPath.map(\.asns.count) == [255, 45])
        #expect(back.attributes.asPath.flatMap(\.asns) == path)
    }

    /// IPv6 in MP_REACH_NLRI with a global and a link-local next hop (RFC 2545 §3), first in the list
    /// (RFC 7606 §5.1); withdrawals in MP_UNREACH_NLRI.
    @Test func ipv6InMultiprotocolAttributes() throws {
        var update = Self.announcement([Self.route("2001:db8:1::/48", 3)], nextHop: "2001:db8::1")
        update.attributes.linkLocalNextHop = IPAddress("fe80::1")!
        update.withdrawn = [Self.route("2001:db8:2::/64", 4)]
        let context = Update.Context(addPath: [.ipv6Unicast])
        let bytes = Array(buffer: update.encode(context: context))
        let mpReach: [UInt8] = [
            0x80, 14, 48,                           // MP_REACH_NLRI, 48 bytes
            0, 2, 1,                                // AFI 2, SAFI 1
            32,                                     // next hop length: global + link-local
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,      // 2001:db8::1
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,            // fe80::1
            0,                                      // reserved
            0, 0, 0, 3, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1,                    // id 3, 2001:db8:1::/48
        ]
        let mpUnreach: [UInt8] = [
            0x80, 15, 16,                           // MP_UNREACH_NLRI, 16 bytes
            0, 2, 1,                                // AFI 2, SAFI 1
            0, 0, 0, 4, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0,              // id 4, 2001:db8:2::/64
        ]
        #expect(Array(bytes[0..<4]) == [0, 0, 0, UInt8(mpReach.count + mpUnreach.count + 4 + 9)])
        #expect(Array(bytes[4..<(4 + mpReach.count + mpUnreach.count)]) == mpReach + mpUnreach)
        #expect(try Update.decode(ByteBuffer(bytes: bytes), context: context) == update)
        // In code order the MP attributes follow AS_PATH.
        let codeOrder = Array(buffer: update.encode(context: context, mpAttributesFirst: false))
        #expect(Array(codeOrder[4..<8]) == [0x40, 1, 1, 0])
    }

    /// RFC 8950: IPv4 routes with an IPv6 next hop travel in MP_REACH_NLRI for AFI 1.
    @Test func ipv4RoutesWithAnIPv6NextHop() throws {
        let update = Self.announcement([Self.route("198.51.100.0/24")], nextHop: "2001:db8::1")
        let bytes = Array(buffer: update.encode(context: Update.Context()))
        #expect(bytes.count == 4 + 4 + 9 + 3 + 5 + 16 + 4)
        #expect(Array(bytes[4..<12]) == [0x80, 14, 25, 0, 1, 1, 16, 0x20])
        #expect(try Update.decode(ByteBuffer(bytes: bytes), context: Update.Context()) == update)
    }

    /// RFC 7606 §5.1's mixed UPDATE: each group of routes keeps its own next hop.
    @Test func mixedNLRIKeepsBothNextHops() throws {
        var update = Self.announcement([Self.route("2001:db8:1::/48"), Self.route("10.0.0.0/8")], nextHop: "2001:db8::1")
        update.mixedNLRI = .init(count: 1, nextHop: IPAddress("192.0.2.1")!)
        let back = try Update.decode(update.encode(context: Update.Context()), context: Update.Context())
        #expect(back == update)
        let groups = back.announcementGroups
        #expect(groups.map { $0.attributes.nextHop.description } == ["2001:db8::1", "192.0.2.1"])
        #expect(groups.map { $0.routes.map(\.prefix.description) } == [["2001:db8:1::/48"], ["10.0.0.0/8"]])
    }

    @Test func endOfRIBMarkers() throws {
        var ipv4 = Update()
        ipv4.endOfRIB = .ipv4Unicast
        #expect(Array(buffer: ipv4.encode(context: Self.context)) == [0, 0, 0, 0])
        var ipv6 = Update()
        ipv6.endOfRIB = .ipv6Unicast
        let bytes = Array(buffer: ipv6.encode(context: Self.context))
        #expect(bytes == [0, 0, 0, 6, 0x80, 15, 3, 0, 2, 1])
        #expect(try Update.decode(ByteBuffer(bytes: bytes), context: Self.context) == ipv6)
    }

    @Test func opaqueAttributesKeepTheirFlagsAndOrder() throws {
        var update = Self.announcement([Self.route("10.0.0.0/8")], nextHop: "192.0.2.1")
        update.attributes.opaque = [
            .init(flags: 0xe0, code: 21, value: [1, 2]),                            // partial bit kept
            .init(flags: 0xc0, code: 40, value: [UInt8](repeating: 7, count: 300)),  // extended length
        ]
        let bytes = Array(buffer: update.encode(context: Update.Context()))
        #expect(Array(bytes[24..<29]) == [0xe0, 21, 2, 1, 2])
        #expect(Array(bytes[29..<33]) == [0xd0, 40, 0x01, 0x2c])
        #expect(try Update.decode(ByteBuffer(bytes: bytes), context: Update.Context()) == update)
    }
}
