import Aggregation
@testable import BGPWire
@testable import Enrichment
import FlowWire
import NetCore
import RIB
import Testing

/// The mapping rules of DESIGN §3 on a small RIB: one router (session 192.0.2.1) holding nested
/// prefixes whose paths leave by different next-hops.
struct EnricherTests {
    static func address(_ text: String) -> IPAddress { IPAddress(text)! }

    static func attributes(_ nextHop: String, _ asPath: [UInt32], localPref: UInt32? = 100, med: UInt32? = nil,
                           communities: [UInt32] = [], large: [PathAttributes.LargeCommunity] = []) -> PathAttributes {
        var a = PathAttributes()
        a.origin = .igp
        a.nextHop = address(nextHop)
        a.asPath = [.init(kind: .sequence, asns: asPath)]
        a.localPref = localPref
        a.med = med
        a.communities = communities
        a.largeCommunities = large
        return a
    }

    static func announce(_ prefix: String, _ pathID: UInt32, _ a: PathAttributes) -> Update {
        var u = Update()
        u.attributes = a
        u.announced = [Update.Route(prefix: IPPrefix(prefix)!, pathID: pathID)]
        return u
    }

    static func withdraw(_ prefix: String, _ pathID: UInt32) -> Update {
        var u = Update()
        u.withdrawn = [Update.Route(prefix: IPPrefix(prefix)!, pathID: pathID)]
        return u
    }

    static let router = address("192.0.2.1")

    /// The RIB every test starts from.
    static func makeRIB() -> RIB {
        let rib = RIB()
        let id = rib.addRouter(PeerIdentity(address: router, bgpID: router.v4Value, asn: 65000))
        for u in [
            announce("10.0.0.0/8", 1, attributes("198.51.100.1", [65001, 64500])),
            announce("10.0.0.0/8", 2, attributes("198.51.100.2", [65002, 64500], localPref: 200, communities: [65000 << 16 | 1])),
            announce("10.1.0.0/16", 1, attributes("198.51.100.1", [65001, 64501])),
            announce("10.1.2.0/24", 1, attributes("198.51.100.3", [65003, 64502], med: 50,
                                                  large: [.init(global: 65000, local1: 7, local2: 8)])),
            announce("2001:db8::/32", 1, attributes("2001:db8:ffff::1", [65004, 4_200_000_000])),
        ] { rib.apply(u, to: id) }
        return rib
    }

    static func flow(_ dst: String, nextHop: String? = nil, src: String = "10.1.2.9", exporter: String = "192.0.2.1",
                     dstMask: UInt8 = 0) -> FlowRecord {
        var r = FlowRecord()
        r.srcAddr = address(src)
        r.dstAddr = address(dst)
        r.bgpNextHop = nextHop.map(address) ?? .none
        r.exporter = address(exporter)
        r.dstMask = dstMask
        r.dstAS = 99
        r.peerDstAS = 98
        return r
    }

    static func bgpSettings() -> Enricher.Settings {
        var s = Enricher.Settings()
        s.asSource = .bgp
        s.netSource = .bgp
        return s
    }

    @Test func destinationsMapByNextHop() {
        let texts = TextPool()
        let enricher = Enricher(rib: Self.makeRIB(), texts: texts, settings: Self.bgpSettings())
        var records = [
            Self.flow("10.1.2.5", nextHop: "198.51.100.3"),  // exact, on the /24
            Self.flow("10.1.2.5", nextHop: "198.51.100.1"),  // covering: the /16 carries .1
            Self.flow("10.1.2.5", nextHop: "198.51.100.2"),  // covering: path 2 of the /8
            Self.flow("10.1.2.5", nextHop: "198.51.100.9"),  // mismatch
            Self.flow("10.1.2.5", nextHop: "0.0.0.0"),        // no next-hop: best of the /24
            Self.flow("192.168.1.1", nextHop: "198.51.100.3"),  // no route
            Self.flow("10.1.2.5", nextHop: "198.51.100.3", exporter: "203.0.113.9"),  // no session
            Self.flow("2001:db8::1", nextHop: "2001:db8:ffff::1", src: "2001:db8::2"),  // IPv6, exact
        ]
        enricher.enrich(&records)
        let codes = records.map { PathMatchCode(rawValue: $0.pathMatch)! }
        #expect(codes == [.exact, .covering, .covering, .mismatch, .best, .noRoute, .noPeer, .exact])
        #expect(records.map(\.dstAS) == [64502, 64501, 64500, 0, 64502, 0, 0, 4_200_000_000])
        #expect(records.map(\.peerDstAS) == [65003, 65001, 65002, 0, 65003, 0, 0, 65004])
        #expect(records.map(\.dstMask) == [24, 16, 8, 0, 24, 0, 0, 32])
        #expect(records.map(\.bgpNextHop) == [
            "198.51.100.3", "198.51.100.1", "198.51.100.2", nil, "198.51.100.3", nil, nil, "2001:db8:ffff::1",
        ].map { $0.map(Self.address) ?? .none })
        #expect(records.map { texts.text($0.asPathText) } == [
            "65003 64502", "65001 64501", "65002 64500", "", "65003 64502", "", "", "65004 4200000000",
        ])
        #expect(records.map(\.localPref) == [100, 100, 200, 0, 100, 0, 0, 100])
        #expect(records.map(\.med) == [50, 0, 0, 0, 50, 0, 0, 0])
        #expect(texts.text(records[2].stdCommText) == "65000:1")
        #expect(texts.text(records[0].lrgCommText) == "65000:7:8")
        #expect(enricher.matches[Int(PathMatchCode.covering.rawValue)] == 2)
        #expect(enricher.matches[Int(PathMatchCode.noPeer.rawValue)] == 1)
        #expect(enricher.matches.reduce(0, +) == UInt64(records.count))
    }

    @Test func mismatchTakesTheBestPathWhenAsked() {
        var settings = Self.bgpSettings()
        settings.mismatchUsesBest = true
        let texts = TextPool()
        let enricher = Enricher(rib: Self.makeRIB(), texts: texts, settings: settings)
        var records = [Self.flow("10.1.2.5", nextHop: "198.51.100.9")]
        enricher.enrich(&records)
        #expect(PathMatchCode(rawValue: records[0].pathMatch) == .mismatch)
        #expect(records[0].dstAS == 64502 && records[0].dstMask == 24)
        #expect(texts.text(records[0].asPathText) == "65003 64502")
    }

    /// Mismatches are kept as examples: per exporter, flow next-hop and prefix, with the prefix's
    /// paths' next-hops and the flows and bytes; distinct ones past the limit are only counted.
    @Test func mismatchesKeptAsBoundedExamples() throws {
        let enricher = Enricher(rib: Self.makeRIB(), texts: TextPool(), settings: Self.bgpSettings())
        var records = [
            Self.flow("10.1.2.5", nextHop: "198.51.100.9"), Self.flow("10.1.2.6", nextHop: "198.51.100.9"),
            Self.flow("10.9.0.1", nextHop: "198.51.100.9"),   // the /8, two paths
            Self.flow("10.1.2.5", nextHop: "198.51.100.3"),   // exact: no example
        ]
        for i in records.indices { records[i].bytes = UInt64(100 * (i + 1)) }
        enricher.enrich(&records)
        let (samples, notSampled) = enricher.takeMismatches()
        #expect(notSampled == 0)
        let byPrefix = Dictionary(uniqueKeysWithValues: samples.map { ($0.prefix.description, $0) })
        #expect(byPrefix.count == 2)
        let slash24 = try #require(byPrefix["10.1.2.0/24"])
        #expect(slash24.flows == 2 && slash24.bytes == 300 && slash24.flowNextHop == Self.address("198.51.100.9"))
        #expect(slash24.pathNextHops == [Self.address("198.51.100.3")] && slash24.exporter == Self.router)
        #expect(byPrefix["10.0.0.0/8"]?.pathNextHops == [Self.address("198.51.100.1"), Self.address("198.51.100.2")])
        #expect(enricher.takeMismatches().samples.isEmpty, "taken once")
        // One flow per distinct next-hop: the limit keeps the first ones and counts the rest.
        var many = (0..<(Enricher.mismatchSampleLimit + 10)).map { i in
            Self.flow("10.1.2.5", nextHop: "203.0.\(i / 256).\(i % 256)")
        }
        enricher.enrich(&many)
        let bounded = enricher.takeMismatches()
        #expect(bounded.samples.count == Enricher.mismatchSampleLimit && bounded.notSampled == 10)
    }

    @Test func sourceSideUsesTheBestPath() {
        var settings = Self.bgpSettings()
        settings.peerSrcASFromBGP = true
        let enricher = Enricher(rib: Self.makeRIB(), texts: TextPool(), settings: settings)
        var records = [Self.flow("10.1.2.5", nextHop: "198.51.100.3", src: "10.200.0.1"),
                       Self.flow("10.1.2.5", nextHop: "198.51.100.3", src: "172.16.0.1")]
        records[1].srcAS = 7
        records[1].srcMask = 12
        enricher.enrich(&records)
        // 10.200.0.1 is only in the /8, whose best path is path 2 (local-pref 200).
        #expect(records[0].srcAS == 64500 && records[0].peerSrcAS == 65002 && records[0].srcMask == 8)
        #expect(records[1].srcAS == 0 && records[1].peerSrcAS == 0 && records[1].srcMask == 0)
    }

    @Test func longestKeepsTheLongerNetflowMask() {
        var settings = Enricher.Settings()
        settings.asSource = .longest
        settings.netSource = .longest
        let enricher = Enricher(rib: Self.makeRIB(), texts: TextPool(), settings: settings)
        // The exporter knows a /28 (longer than BGP's /24): its values stay.
        var records = [Self.flow("10.1.2.5", nextHop: "198.51.100.3", dstMask: 28),
                       Self.flow("10.1.2.5", nextHop: "198.51.100.3", dstMask: 24),
                       Self.flow("192.168.1.1", nextHop: "198.51.100.3", dstMask: 20)]
        enricher.enrich(&records)
        #expect(records[0].dstAS == 99 && records[0].dstMask == 28)
        #expect(records[1].dstAS == 64502 && records[1].dstMask == 24)
        #expect(records[2].dstAS == 99 && records[2].dstMask == 20)
    }

    @Test func agentMapSendsExportersToAnotherRouter() {
        var settings = Self.bgpSettings()
        settings.agentMap = [
            .init(exporters: IPPrefix("203.0.113.0/24")!, bgpIP: Self.router, v4: true, v6: false),
            .init(exporters: IPPrefix("0.0.0.0/0")!, bgpIP: Self.address("192.0.2.200"), v4: true, v6: true),
        ]
        let enricher = Enricher(rib: Self.makeRIB(), texts: TextPool(), settings: settings)
        var records = [
            Self.flow("10.1.2.5", nextHop: "198.51.100.3", exporter: "203.0.113.9"),  // mapped to 192.0.2.1
            Self.flow("2001:db8::1", nextHop: "2001:db8:ffff::1", src: "2001:db8::2", exporter: "203.0.113.9"),  // v6: catch-all, no session
            Self.flow("10.1.2.5", nextHop: "198.51.100.3", exporter: "198.18.0.1"),  // catch-all to a peer that is not up
        ]
        enricher.enrich(&records)
        #expect(records.map { PathMatchCode(rawValue: $0.pathMatch)! } == [.exact, .noPeer, .noPeer])
    }

    /// pmacct's reading of AS paths: peer_dst_as from the first segment (0 when it is a set),
    /// dst_as the last ASN of the last segment, the largest member of a set.
    @Test func asNumbersAsPmacctReadsThem() {
        typealias S = PathAttributes.Segment
        let cases: [([S], UInt32, UInt32)] = [
            ([S(kind: .sequence, asns: [65070]), S(kind: .set, asns: [4_200_000_002, 65071])], 65070, 4_200_000_002),
            ([S(kind: .set, asns: [65021, 65020])], 0, 65021),
            ([S(kind: .confedSequence, asns: [65001, 65002]), S(kind: .sequence, asns: [65010, 64500])], 65001, 64500),
            ([S(kind: .sequence, asns: [65001, 65001, 65001])], 65001, 65001),
            ([], 0, 0),
        ]
        for (path, first, last) in cases {
            let got = Enricher.asns(path)
            #expect(got.first == first && got.last == last, "\(path)")
        }
    }

    /// An attribute set freed and its slot reused for another must not keep the old texts.
    @Test func cachedTextsFollowAttributeChanges() {
        let rib = Self.makeRIB()
        let texts = TextPool()
        let enricher = Enricher(rib: rib, texts: texts, settings: Self.bgpSettings())
        var records = [Self.flow("10.1.2.5", nextHop: "198.51.100.3")]
        enricher.enrich(&records)
        #expect(texts.text(records[0].asPathText) == "65003 64502")
        let id = rib.read { $0.router(matching: Self.router)! }
        rib.apply(Self.withdraw("10.1.2.0/24", 1), to: id)
        rib.apply(Self.announce("10.1.2.0/24", 1, Self.attributes("198.51.100.3", [65009, 64509])), to: id)
        records = [Self.flow("10.1.2.5", nextHop: "198.51.100.3")]
        enricher.enrich(&records)
        #expect(texts.text(records[0].asPathText) == "65009 64509")
        #expect(records[0].dstAS == 64509 && records[0].med == 0)
    }
}
