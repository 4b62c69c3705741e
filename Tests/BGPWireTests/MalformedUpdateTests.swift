import NIOCore
import NetCore
import BGPFixtures
import Testing
@testable import BGPWire
import BGPWireFuzzing

/// One hand-built UPDATE body and what RFC 4271 / RFC 4760 / RFC 6793 / RFC 7606 say it yields.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    enum Outcome: Sendable {
        /// Session reset: UPDATE Message Error with this subcode.
        case reset(BGPError.UpdateSubcode)
        /// Treat-as-withdraw, for this reason: nothing announced, the routes withdrawn.
        case withdraw(String)
        /// These attributes discarded, nothing treated as withdrawn.
        case discard([String])
        case accepted
    }

    var name: String
    var body: [UInt8]
    var outcome: Outcome
    var context: Update.Context
    var check: @Sendable (Update) -> Bool

    var testDescription: String { name }
}

@Suite struct MalformedUpdateTests {
    static func body(withdrawn: [UInt8] = [], _ attributes: [UInt8], nlri: [UInt8] = []) -> [UInt8] {
        [UInt8(withdrawn.count >> 8), UInt8(withdrawn.count & 0xff)] + withdrawn
            + [UInt8(attributes.count >> 8), UInt8(attributes.count & 0xff)] + attributes + nlri
    }

    static func c(
        _ name: String, _ body: [UInt8], _ outcome: MalformedCase.Outcome, context: Update.Context = Update.Context(),
        check: @escaping @Sendable (Update) -> Bool = { _ in true }
    ) -> MalformedCase {
        MalformedCase(name: name, body: body, outcome: outcome, context: context, check: check)
    }

    static let twoOctet = Update.Context(fourOctetAS: false)
    static let external = Update.Context(externalPeer: true)

    static let origin: [UInt8] = [0x40, 1, 1, 0]                          // ORIGIN igp
    static let asPath: [UInt8] = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9]     // AS_PATH sequence [65001], 4-octet
    static let asPath2: [UInt8] = [0x40, 2, 4, 2, 1, 0xfd, 0xe9]          // AS_PATH sequence [65001], 2-octet
    static let nextHop: [UInt8] = [0x40, 3, 4, 192, 0, 2, 1]              // NEXT_HOP 192.0.2.1
    static let mandatory = origin + asPath + nextHop
    static let nlri: [UInt8] = [8, 10]                                    // 10.0.0.0/8
    static let v6NextHop: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]  // 2001:db8::1
    /// MP_REACH_NLRI: AFI 2, SAFI 1, next hop 2001:db8::1, reserved, 2001:db8::/32.
    static let mpReachV6: [UInt8] = [0x80, 14, 26, 0, 2, 1, 16] + v6NextHop + [0, 32, 0x20, 0x01, 0x0d, 0xb8]
    /// AS_PATH sequence [65001 23456] from a 2-octet speaker.
    static let asPathTrans: [UInt8] = [0x40, 2, 6, 2, 2, 0xfd, 0xe9, 0x5b, 0xa0]
    /// AS4_PATH sequence [4200000001].
    static let as4Path: [UInt8] = [0xc0, 17, 6, 2, 1, 0xfa, 0x56, 0xea, 0x01]

    static let cases: [MalformedCase] = structure + duplicates + flags + missing + values + nlriFields + combined

    // RFC 7606 §3 b and §4: lengths.
    static let structure: [MalformedCase] = [
        c("withdrawn routes length past the message",
          [0, 50,                                   // withdrawn routes length 50
           8, 10],                                  // 2 bytes of it
          .reset(.malformedAttributeList)),
        c("total path attribute length past the message",
          [0, 0,                                    // withdrawn routes length
           0, 30] + origin,                         // attribute length 30, 4 bytes present
          .reset(.malformedAttributeList)),
        c("attribute header of one byte",
          body(mandatory + [0x40],                  // a lone flags byte
               nlri: nlri),
          .withdraw("truncated attribute header")),
        c("Extended Length header cut short",
          body(mandatory + [0x50, 8, 0],            // flags 0x50 need a 2-byte length: 1 byte left
               nlri: nlri),
          .withdraw("truncated attribute header")),
        c("last attribute runs past the attributes (§4)",
          body(mandatory + [0xc0, 8, 8,             // COMMUNITIES, length 8
                            0, 0, 0, 1],            //   4 bytes present
               nlri: nlri),
          .withdraw("COMMUNITIES runs past the path attributes")),
        c("overrun in a withdrawal resets the session (§5.2)",
          body(withdrawn: [8, 10],                  // withdraw 10.0.0.0/8
               origin + [0x40, 2, 9, 2, 1]),        // AS_PATH length 9, 2 bytes present
          .reset(.attributeLengthError)),
        c("Extended Length on a 1-byte ORIGIN is fine",
          body([0x50, 1, 0, 1, 0]                   // ORIGIN, flags 0x50, length 0x0001, igp
               + asPath + nextHop, nlri: nlri),
          .accepted, check: { $0.attributes.origin == .igp && $0.announced.count == 1 }),
        c("COMMUNITIES of 300 bytes with Extended Length",
          body(mandatory + [0xd0, 8, 0x01, 0x2c]    // COMMUNITIES, flags 0xd0, length 300
               + [UInt8](repeating: 0xfd, count: 300), nlri: nlri),  // 75 × 0xfdfdfdfd
          .accepted, check: { $0.attributes.communities == [UInt32](repeating: 0xfdfd_fdfd, count: 75) }),
    ]

    // RFC 7606 §3 g.
    static let duplicates: [MalformedCase] = [
        c("ORIGIN twice: the second is discarded",
          body(mandatory + [0x40, 1, 1, 1],         // ORIGIN egp, again
               nlri: nlri),
          .discard(["ORIGIN repeated"]), check: { $0.attributes.origin == .igp && $0.announced.count == 1 }),
        c("MP_REACH_NLRI twice",
          body(origin + asPath + mpReachV6 + mpReachV6),
          .reset(.malformedAttributeList)),
        c("MP_UNREACH_NLRI twice",
          body([0x80, 15, 3, 0, 2, 1,               // MP_UNREACH_NLRI 2/1, nothing withdrawn
                0x80, 15, 3, 0, 2, 1]),             // and again
          .reset(.malformedAttributeList)),
        c("an unknown optional transitive attribute twice",
          body(mandatory + [0xc0, 99, 1, 1,         // attribute 99, value 1
                            0xc0, 99, 1, 2],        // attribute 99, value 2
               nlri: nlri),
          .discard(["attribute 99 repeated"]), check: { $0.attributes.opaque == [.init(flags: 0xc0, code: 99, value: [1])] }),
    ]

    // RFC 7606 §3 c: Optional/Transitive bits that contradict the type; §3 e, §3 f, RFC 6793 §6.
    static let flags: [MalformedCase] = [
        c("ORIGIN flagged optional",
          body([0xc0, 1, 1, 0] + asPath + nextHop, nlri: nlri), .withdraw("ORIGIN flags 0xc0")),
        c("AS_PATH flagged non-transitive",
          body(origin + [0x00, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9] + nextHop, nlri: nlri), .withdraw("AS_PATH flags 0x0")),
        c("NEXT_HOP flagged optional non-transitive",
          body(origin + asPath + [0x80, 3, 4, 192, 0, 2, 1], nlri: nlri), .withdraw("NEXT_HOP flags 0x80")),
        c("MULTI_EXIT_DISC flagged well-known",
          body(mandatory + [0x40, 4, 4, 0, 0, 0, 5], nlri: nlri), .withdraw("MULTI_EXIT_DISC flags 0x40")),
        c("LOCAL_PREF flagged optional",
          body(mandatory + [0xc0, 5, 4, 0, 0, 0, 100], nlri: nlri), .withdraw("LOCAL_PREF flags 0xc0")),
        c("ATOMIC_AGGREGATE flagged optional: discarded (§3 f)",
          body(mandatory + [0xc0, 6, 0], nlri: nlri),
          .discard(["ATOMIC_AGGREGATE flags 0xc0"]), check: { !$0.attributes.atomicAggregate && $0.announced.count == 1 }),
        c("AGGREGATOR flagged well-known: discarded (§3 f)",
          body(mandatory + [0x40, 7, 8, 0, 0, 0xfd, 0xe9, 192, 0, 2, 9], nlri: nlri),
          .discard(["AGGREGATOR flags 0x40"]), check: { $0.attributes.aggregator == nil }),
        c("COMMUNITIES flagged non-transitive",
          body(mandatory + [0x80, 8, 4, 0xfd, 0xe9, 0, 1], nlri: nlri), .withdraw("COMMUNITIES flags 0x80")),
        c("ORIGINATOR_ID flagged transitive",
          body(mandatory + [0xc0, 9, 4, 192, 0, 2, 7], nlri: nlri), .withdraw("ORIGINATOR_ID flags 0xc0")),
        c("CLUSTER_LIST flagged well-known",
          body(mandatory + [0x40, 10, 4, 192, 0, 2, 8], nlri: nlri), .withdraw("CLUSTER_LIST flags 0x40")),
        c("MP_REACH_NLRI flagged transitive resets (§3 j)",
          body(origin + asPath + [0xc0] + mpReachV6.dropFirst()), .reset(.attributeFlagsError)),
        c("MP_UNREACH_NLRI flagged well-known resets",
          body([0x40, 15, 3, 0, 2, 1]), .reset(.attributeFlagsError)),
        c("EXTENDED_COMMUNITIES flagged non-transitive",
          body(mandatory + [0x80, 16, 8, 0, 2, 0xfd, 0xe9, 0, 0, 0, 1], nlri: nlri),
          .withdraw("EXTENDED_COMMUNITIES flags 0x80")),
        c("LARGE_COMMUNITY flagged well-known",
          body(mandatory + [0x40, 32, 12, 0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2], nlri: nlri),
          .withdraw("LARGE_COMMUNITY flags 0x40")),
        c("AS4_PATH flagged non-transitive: discarded (RFC 6793 §6)",
          body(origin + asPathTrans + nextHop + [0x80] + as4Path.dropFirst(), nlri: nlri),
          .discard(["AS4_PATH flags 0x80"]), context: twoOctet, check: { $0.attributes.asPathText == "65001 23456" }),
        c("AS4_AGGREGATOR flagged well-known: discarded",
          body(origin + asPath2 + nextHop + [0x40, 18, 8, 0xfa, 0x56, 0xea, 0x02, 198, 51, 100, 1], nlri: nlri),
          .discard(["AS4_AGGREGATOR flags 0x40"]), context: twoOctet),
        c("Partial bit on ORIGIN is not judged",
          body([0x60, 1, 1, 0] + asPath + nextHop, nlri: nlri), .accepted, check: { $0.attributes.origin == .igp }),
        c("Partial bit on COMMUNITIES is not judged",
          body(mandatory + [0xe0, 8, 4, 0xfd, 0xe9, 0, 1], nlri: nlri),
          .accepted, check: { $0.attributes.communities == [0xfde9_0001] }),
    ]

    // RFC 7606 §3 d, RFC 4760 §3, RFC 4271 §5.1.5.
    static let missing: [MalformedCase] = [
        c("IPv4 NLRI without ORIGIN",
          body(asPath + nextHop, nlri: nlri), .withdraw("missing ORIGIN")),
        c("IPv4 NLRI without AS_PATH",
          body(origin + nextHop, nlri: nlri), .withdraw("missing AS_PATH")),
        c("IPv4 NLRI without NEXT_HOP",
          body(origin + asPath, nlri: nlri), .withdraw("IPv4 NLRI without NEXT_HOP")),
        c("MP_REACH_NLRI alone needs no NEXT_HOP",
          body(origin + asPath + mpReachV6), .accepted,
          check: { $0.attributes.nextHop == IPAddress("2001:db8::1")! && $0.announced.map(\.prefix.description) == ["2001:db8::/32"] }),
        c("no LOCAL_PREF on an internal session is not an error",
          body(mandatory, nlri: nlri), .accepted, check: { $0.attributes.localPref == nil && $0.announced.count == 1 }),
        c("MP_REACH_NLRI routes without ORIGIN",
          body(asPath + mpReachV6), .withdraw("missing ORIGIN"),
          check: { $0.withdrawn.map(\.prefix.description) == ["2001:db8::/32"] }),
        c("a withdrawal needs no attributes",
          body(withdrawn: [8, 10], []), .accepted, check: { $0.withdrawn.map(\.prefix.description) == ["10.0.0.0/8"] }),
    ]

    // RFC 7606 §7 per attribute, RFC 6793 §4.2.3 and §6.
    static let values: [MalformedCase] = [
        c("ORIGIN of 2 bytes", body([0x40, 1, 2, 0, 0] + asPath + nextHop, nlri: nlri), .withdraw("ORIGIN length 2")),
        c("ORIGIN value 3", body([0x40, 1, 1, 3] + asPath + nextHop, nlri: nlri), .withdraw("ORIGIN malformed")),
        c("ORIGIN of zero length (§4)", body([0x40, 1, 0] + asPath + nextHop, nlri: nlri), .withdraw("ORIGIN length 0")),
        c("AS_PATH segment type 5",
          body(origin + [0x40, 2, 6, 5, 1, 0, 0, 0xfd, 0xe9] + nextHop, nlri: nlri), .withdraw("AS_PATH malformed")),
        c("AS_PATH segment overrun",
          body(origin + [0x40, 2, 6, 2, 2,          // sequence of 2 ASNs
                         0, 0, 0xfd, 0xe9]          //   only one
               + nextHop, nlri: nlri), .withdraw("AS_PATH malformed")),
        c("AS_PATH underrun: one byte after the last segment",
          body(origin + [0x40, 2, 7, 2, 1, 0, 0, 0xfd, 0xe9, 2] + nextHop, nlri: nlri), .withdraw("AS_PATH malformed")),
        c("AS_PATH segment of zero ASNs",
          body(origin + [0x40, 2, 8, 2, 1, 0, 0, 0xfd, 0xe9, 2, 0] + nextHop, nlri: nlri), .withdraw("AS_PATH malformed")),
        c("AS_PATH of zero length is an empty path",
          body(origin + [0x40, 2, 0] + nextHop, nlri: nlri), .accepted, check: { $0.attributes.asPath.isEmpty }),
        c("4-octet AS_PATH on a 2-octet session",
          body(mandatory, nlri: nlri), .withdraw("AS_PATH malformed"), context: twoOctet),
        c("confederation segments",
          body(origin + [0x40, 2, 12, 3, 1, 0, 0, 0xfc, 0x00,   // AS_CONFED_SEQUENCE [64512]
                         2, 1, 0, 0, 0xfd, 0xe9]                // AS_SEQUENCE [65001]
               + nextHop, nlri: nlri),
          .accepted, check: { $0.attributes.asPathText == "(64512) 65001" }),
        c("NEXT_HOP of 5 bytes",
          body(origin + asPath + [0x40, 3, 5, 192, 0, 2, 1, 0], nlri: nlri), .withdraw("NEXT_HOP length 5")),
        c("NEXT_HOP 0.0.0.0 (RFC 4271 §6.3)",
          body(origin + asPath + [0x40, 3, 4, 0, 0, 0, 0], nlri: nlri), .withdraw("NEXT_HOP 0.0.0.0 is not a unicast address")),
        c("NEXT_HOP multicast",
          body(origin + asPath + [0x40, 3, 4, 224, 0, 0, 5], nlri: nlri), .withdraw("NEXT_HOP 224.0.0.5 is not a unicast address")),
        c("a bad NEXT_HOP beside MP_REACH_NLRI alone is ignored (RFC 4760 §3)",
          body(origin + asPath + [0x40, 3, 0] + mpReachV6), .accepted,
          check: { $0.attributes.nextHop == IPAddress("2001:db8::1")! && $0.announced.count == 1 }),
        c("MULTI_EXIT_DISC of 2 bytes",
          body(mandatory + [0x80, 4, 2, 0, 5], nlri: nlri), .withdraw("MULTI_EXIT_DISC length 2")),
        c("LOCAL_PREF of 3 bytes",
          body(mandatory + [0x40, 5, 3, 0, 0, 100], nlri: nlri), .withdraw("LOCAL_PREF length 3")),
        c("LOCAL_PREF from an external peer (§7.5)",
          body(mandatory + [0x40, 5, 4, 0, 0, 0, 100], nlri: nlri), .discard(["LOCAL_PREF from an external peer"]),
          context: external, check: { $0.attributes.localPref == nil && $0.announced.count == 1 }),
        c("ATOMIC_AGGREGATE with a value",
          body(mandatory + [0x40, 6, 1, 0], nlri: nlri), .discard(["ATOMIC_AGGREGATE length 1"])),
        c("AGGREGATOR of 6 bytes on a 4-octet session (§7.7)",
          body(mandatory + [0xc0, 7, 6, 0xfd, 0xe9, 192, 0, 2, 9], nlri: nlri),
          .discard(["AGGREGATOR length 6"]), check: { $0.attributes.aggregator == nil && $0.announced.count == 1 }),
        c("AGGREGATOR of 8 bytes on a 4-octet session",
          body(mandatory + [0xc0, 7, 8, 0, 0, 0xfd, 0xe9, 192, 0, 2, 9], nlri: nlri), .accepted,
          check: { $0.attributes.aggregator == .init(asn: 65001, address: IPAddress("192.0.2.9")!) }),
        c("AGGREGATOR of 6 bytes on a 2-octet session",
          body(origin + asPath2 + nextHop + [0xc0, 7, 6, 0xfd, 0xe9, 192, 0, 2, 9], nlri: nlri), .accepted,
          context: twoOctet, check: { $0.attributes.aggregator == .init(asn: 65001, address: IPAddress("192.0.2.9")!) }),
        c("AS4_AGGREGATOR behind AGGREGATOR AS_TRANS (RFC 6793 §4.2.3)",
          body(origin + asPathTrans + nextHop
               + [0xc0, 7, 6, 0x5b, 0xa0, 192, 0, 2, 9]                        // AGGREGATOR AS_TRANS, 192.0.2.9
               + as4Path
               + [0xc0, 18, 8, 0xfa, 0x56, 0xea, 0x02, 198, 51, 100, 1],      // AS4_AGGREGATOR 4200000002, 198.51.100.1
               nlri: nlri),
          .accepted, context: twoOctet,
          check: {
              $0.attributes.aggregator == .init(asn: 4_200_000_002, address: IPAddress("198.51.100.1")!)
                  && $0.attributes.asPathText == "65001 4200000001"
          }),
        c("AS4_AGGREGATOR behind a real AGGREGATOR: both AS4 attributes ignored",
          body(origin + asPathTrans + nextHop
               + [0xc0, 7, 6, 0xfd, 0xea, 192, 0, 2, 9]                        // AGGREGATOR 65002
               + as4Path + [0xc0, 18, 8, 0xfa, 0x56, 0xea, 0x02, 198, 51, 100, 1], nlri: nlri),
          .accepted, context: twoOctet,
          check: { $0.attributes.aggregator?.asn == 65002 && $0.attributes.asPathText == "65001 23456" }),
        c("AS4_AGGREGATOR without AGGREGATOR is ignored",
          body(origin + asPathTrans + nextHop + as4Path + [0xc0, 18, 8, 0xfa, 0x56, 0xea, 0x02, 198, 51, 100, 1],
               nlri: nlri),
          .accepted, context: twoOctet,
          check: { $0.attributes.aggregator == nil && $0.attributes.asPathText == "65001 4200000001" }),
        c("AS4_AGGREGATOR of 6 bytes",
          body(origin + asPath2 + nextHop + [0xc0, 18, 6, 0xfa, 0x56, 198, 51, 100, 1], nlri: nlri),
          .discard(["AS4_AGGREGATOR length 6"]), context: twoOctet),
        c("AS4_AGGREGATOR from a 4-octet speaker (RFC 6793 §4.1)",
          body(mandatory + [0xc0, 18, 8, 0xfa, 0x56, 0xea, 0x02, 198, 51, 100, 1], nlri: nlri),
          .discard(["AS4_AGGREGATOR from a 4-octet AS speaker"])),
        c("COMMUNITIES of zero length (§4)",
          body(mandatory + [0xc0, 8, 0], nlri: nlri), .withdraw("COMMUNITIES length 0")),
        c("COMMUNITIES of 6 bytes",
          body(mandatory + [0xc0, 8, 6, 0xfd, 0xe9, 0, 1, 0, 0], nlri: nlri), .withdraw("COMMUNITIES length 6")),
        c("ORIGINATOR_ID of 5 bytes",
          body(mandatory + [0x80, 9, 5, 192, 0, 2, 7, 0], nlri: nlri), .withdraw("ORIGINATOR_ID length 5")),
        c("ORIGINATOR_ID from an external peer (§7.9)",
          body(mandatory + [0x80, 9, 4, 192, 0, 2, 7], nlri: nlri), .discard(["ORIGINATOR_ID from an external peer"]),
          context: external, check: { $0.attributes.originatorID == nil }),
        c("CLUSTER_LIST of 6 bytes",
          body(mandatory + [0x80, 10, 6, 192, 0, 2, 8, 0, 0], nlri: nlri), .withdraw("CLUSTER_LIST length 6")),
        c("CLUSTER_LIST of zero length",
          body(mandatory + [0x80, 10, 0], nlri: nlri), .withdraw("CLUSTER_LIST length 0")),
        c("CLUSTER_LIST from an external peer (§7.10)",
          body(mandatory + [0x80, 10, 4, 192, 0, 2, 8], nlri: nlri), .discard(["CLUSTER_LIST from an external peer"]),
          context: external, check: { $0.attributes.clusterList.isEmpty }),
        c("MP_REACH_NLRI with a 4-byte next hop for IPv6 (§7.11)",
          body(origin + asPath + [0x80, 14, 14, 0, 2, 1,  // MP_REACH_NLRI 2/1
                                  4, 192, 0, 2, 1,        // next hop length 4
                                  0,                      // reserved
                                  32, 0x20, 0x01, 0x0d, 0xb8]),
          .reset(.optionalAttributeError)),
        c("MP_REACH_NLRI shorter than its next hop",
          body(origin + asPath + [0x80, 14, 6, 0, 2, 1, 16, 0x20, 0x01]), .reset(.optionalAttributeError)),
        c("MP_REACH_NLRI with an IPv6 prefix of length 129 (§5.3)",
          body(origin + asPath + [0x80, 14, 22, 0, 2, 1, 16] + v6NextHop + [0, 129]), .reset(.optionalAttributeError)),
        c("MP_REACH_NLRI of another family beside IPv4 NLRI: its NLRI ignored",
          body(mandatory + [0x80, 14, 13, 0, 1, 128,     // MP_REACH_NLRI 1/128 (VPN), not read
                            4, 192, 0, 2, 1, 0,          // next hop, reserved
                            32, 10, 0, 0], nlri: nlri),  // NLRI bytes, skipped
          .accepted,
          check: { $0.announced.map(\.prefix.description) == ["10.0.0.0/8"] && $0.attributes.nextHop == IPAddress("192.0.2.1")! }),
        c("MP_REACH_NLRI of another family alone",
          body(origin + asPath + [0x80, 14, 13, 0, 1, 128, 4, 192, 0, 2, 1, 0, 32, 10, 0, 0]),
          .accepted, check: { $0.announced.isEmpty && $0.mixedNLRI == nil }),
        c("MP_UNREACH_NLRI of 2 bytes",
          body([0x80, 15, 2, 0, 2]), .reset(.optionalAttributeError)),
        c("MP_UNREACH_NLRI of another family with NLRI is not an End-of-RIB",
          body([0x80, 15, 7, 0, 1, 128, 32, 10, 0, 0]), .accepted,
          check: { $0.endOfRIB == nil && $0.withdrawn.isEmpty }),
        c("MP_UNREACH_NLRI with a path id cut short (ADD-PATH)",
          body([0x80, 15, 5, 0, 2, 1, 0, 0]), .reset(.optionalAttributeError),
          context: Update.Context(addPath: [.ipv6Unicast])),
        c("EXTENDED_COMMUNITIES of 4 bytes",
          body(mandatory + [0xc0, 16, 4, 0, 2, 0xfd, 0xe9], nlri: nlri), .withdraw("EXTENDED_COMMUNITIES length 4")),
        c("LARGE_COMMUNITY of 13 bytes",
          body(mandatory + [0xc0, 32, 13] + [UInt8](repeating: 1, count: 13), nlri: nlri),
          .withdraw("LARGE_COMMUNITY length 13")),
        c("AS4_PATH from a 4-octet speaker",
          body(mandatory + as4Path, nlri: nlri), .discard(["AS4_PATH from a 4-octet AS speaker"]),
          check: { $0.attributes.asPathText == "65001" }),
        c("AS4_PATH segment overrun",
          body(origin + asPathTrans + nextHop + [0xc0, 17, 6, 2, 2, 0xfa, 0x56, 0xea, 0x01], nlri: nlri),
          .discard(["AS4_PATH malformed"]), context: twoOctet, check: { $0.attributes.asPathText == "65001 23456" }),
        c("AS4_PATH confederation segments are dropped, the rest merged (RFC 6793 §6)",
          body(origin + asPathTrans + nextHop
               + [0xc0, 17, 12, 3, 1, 0, 0, 0xfc, 0x00,     // AS_CONFED_SEQUENCE [64512]
                  2, 1, 0xfa, 0x56, 0xea, 0x01],            // AS_SEQUENCE [4200000001]
               nlri: nlri),
          .discard(["AS4_PATH confederation segments"]), context: twoOctet,
          check: { $0.attributes.asPathText == "65001 4200000001" }),
        c("unrecognized well-known attribute (RFC 4271 §6.3)",
          body(mandatory + [0x40, 40, 1, 0], nlri: nlri), .reset(.unrecognizedWellKnownAttribute)),
        c("unknown optional non-transitive attribute is ignored",
          body(mandatory + [0x80, 99, 1, 0], nlri: nlri), .accepted, check: { $0.attributes.opaque.isEmpty }),
        c("unknown optional transitive attribute is kept",
          body(mandatory + [0xc0, 99, 2, 0xab, 0xcd], nlri: nlri), .accepted,
          check: { $0.attributes.opaque == [.init(flags: 0xc0, code: 99, value: [0xab, 0xcd])] }),
    ]

    // RFC 7606 §3 i and §5.3: fields of prefixes that do not parse.
    static let nlriFields: [MalformedCase] = [
        c("withdrawn prefix of length 33",
          body(withdrawn: [33, 10, 0, 0, 0, 0], []), .reset(.invalidNetworkField)),
        c("withdrawn prefix cut short",
          body(withdrawn: [24, 10, 0], []), .reset(.invalidNetworkField)),
        c("NLRI prefix cut short",
          body(mandatory, nlri: [24, 10, 0]), .reset(.invalidNetworkField)),
        c("NLRI prefix of length 33",
          body(mandatory, nlri: [33, 10, 0, 0, 0, 0]), .reset(.invalidNetworkField)),
        c("NLRI path id cut short (ADD-PATH)",
          body(mandatory, nlri: [0, 0, 1]), .reset(.invalidNetworkField), context: Update.Context(addPath: [.ipv4Unicast])),
    ]

    // RFC 7606 §5.2, §3 h, §5.1; RFC 4271 §4.3; RFC 4724 §2.
    static let combined: [MalformedCase] = [
        c("malformed ORIGIN in a withdrawal resets the session (§5.2)",
          body(withdrawn: [8, 10], [0x40, 1, 1, 7]), .reset(.invalidOrigin)),
        c("attribute discard in a withdrawal does not",
          body(withdrawn: [8, 10], [0x40, 6, 1, 0]), .discard(["ATOMIC_AGGREGATE length 1"]),
          check: { $0.withdrawn.count == 1 }),
        c("malformed ORIGIN beside an MP_REACH_NLRI without NLRI resets",
          body([0x40, 1, 1, 7] + asPath + [0x80, 14, 21, 0, 2, 1, 16] + v6NextHop + [0]), .reset(.invalidOrigin)),
        c("discard and treat-as-withdraw: the stronger wins (§3 h)",
          body(mandatory + [0x40, 6, 1, 0] + [0xc0, 8, 3, 0, 0, 1], nlri: nlri),
          .withdraw("COMMUNITIES length 3"), check: { $0.discarded == ["ATOMIC_AGGREGATE length 1"] }),
        c("treat-as-withdraw then a session reset",
          body([0x40, 1, 1, 7] + asPath + nextHop + [0x80, 15, 3, 0, 2, 1, 0x80, 15, 3, 0, 2, 1], nlri: nlri),
          .reset(.malformedAttributeList)),
        c("IPv4 NLRI beside MP_REACH_NLRI (§5.1)",
          body(mandatory + mpReachV6, nlri: nlri), .accepted,
          check: {
              $0.mixedNLRI == .init(count: 1, nextHop: IPAddress("192.0.2.1")!)
                  && $0.attributes.nextHop == IPAddress("2001:db8::1")!
                  && $0.announced.map(\.prefix.description) == ["2001:db8::/32", "10.0.0.0/8"]
          }),
        c("a prefix both withdrawn and announced is announced (RFC 4271 §4.3)",
          body(withdrawn: [8, 10], mandatory, nlri: nlri), .accepted,
          check: { $0.withdrawn.isEmpty && $0.announced.count == 1 }),
        c("a prefix announced twice stays twice (applying it again changes nothing)",
          body(mandatory, nlri: nlri + nlri), .accepted, check: { $0.announced.count == 2 }),
        c("empty UPDATE: IPv4 End-of-RIB",
          body([]), .accepted, check: { $0.endOfRIB == .ipv4Unicast }),
        c("MP_UNREACH_NLRI alone and empty, with Extended Length: IPv6 End-of-RIB",
          body([0x90, 15, 0, 3, 0, 2, 1]), .accepted, check: { $0.endOfRIB == .ipv6Unicast }),
        c("empty MP_UNREACH_NLRI beside ORIGIN is not an End-of-RIB",
          body(origin + [0x80, 15, 3, 0, 2, 1]), .accepted, check: { $0.endOfRIB == nil }),
    ]

    @Test func corpusCoversTheRules() {
        #expect(Self.cases.count >= 40)
        // Every attribute type the decoder knows appears in some case, wrongly flagged or malformed.
        for type in AttributeType.all {
            #expect(Self.cases.contains { $0.name.contains(type.name) }, "\(type.name)")
        }
    }

    @Test(arguments: cases)
    func malformed(_ testCase: MalformedCase) {
        let buffer = ByteBuffer(bytes: testCase.body)
        switch testCase.outcome {
        case .reset(let subcode):
            do {
                let update = try Update.decode(buffer, context: testCase.context)
                Issue.record("decoded: \(update)")
            } catch let error as BGPError {
                #expect(error.code == 3 && error.subcode == subcode.rawValue, "\(error)")
            } catch {
                Issue.record("not a BGPError: \(error)")
            }
        case .withdraw(let reason):
            guard let update = try? Update.decode(buffer, context: testCase.context) else {
                Issue.record("threw")
                return
            }
            #expect(update.treatedAsWithdraw == reason)
            #expect(update.announced.isEmpty && !update.withdrawn.isEmpty)
            #expect(testCase.check(update), "\(update)")
        case .discard(let reasons):
            guard let update = try? Update.decode(buffer, context: testCase.context) else {
                Issue.record("threw")
                return
            }
            #expect(update.discarded == reasons)
            #expect(update.treatedAsWithdraw == nil)
            #expect(testCase.check(update), "\(update)")
        case .accepted:
            guard let update = try? Update.decode(buffer, context: testCase.context) else {
                Issue.record("threw")
                return
            }
            #expect(update.treatedAsWithdraw == nil && update.discarded.isEmpty, "\(update)")
            #expect(testCase.check(update), "\(update)")
        }
        // Whatever the outcome, the fuzz target's invariants hold on the case.
        let input = [UpdateFuzzInput.contextByte(testCase.context)] + testCase.body
        #expect(UpdateFuzzInput.check(input).problems == [])
    }

    /// Every prefix of every captured UPDATE body, under several sessions, decodes or throws a
    /// `BGPError`, and keeps the fuzz target's invariants; every prefix of the whole message waits
    /// for more bytes.
    @Test(arguments: BGPFixtures.speakers)
    func truncationSweep(speaker: String) throws {
        var decoded = 0, rejected = 0
        for message in try BGPFixtures.messages("\(speaker)-addpath.hex") where message[18] == 2 {
            let body = Array(message[19...])
            for length in 0...body.count {
                // ADD-PATH both families with 4-octet AS (as captured), none, 2-octet AS, external.
                for byte: UInt8 in [0x03, 0x00, 0x07, 0x0b] {
                    let (outcome, problems) = UpdateFuzzInput.check([byte] + body.prefix(length))
                    #expect(problems.isEmpty, "\(speaker) \(length)/\(body.count): \(problems)")
                    if case .rejected = outcome { rejected += 1 } else { decoded += 1 }
                }
            }
            for length in 0..<message.count {
                var partial = ByteBuffer(bytes: message.prefix(length))
                #expect(try BGPMessage.frame(&partial) == nil)
            }
        }
        #expect(decoded > 0 && rejected > 0)
    }
}
