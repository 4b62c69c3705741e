import BGPWire
import NetCore
import Testing
@testable import RIB

/// DESIGN §3 steps 3–5: every `PathMatch.Kind`, IPv4 and IPv6.
@Suite struct PathMatchTests {
    /// 10.0.0.0/8 via A (path 1); 10.1.0.0/16 via B (path 1) and C (path 2); 10.1.2.0/24 via D
    /// (path 1, LOCAL_PREF 90) and E (paths 2 and 3, path 3 preferred by LOCAL_PREF 200); and
    /// the same shape in IPv6 under 2001:db8::/32.
    static func table() -> (RIB, RouterID) {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        func add(_ prefix: String, _ id: UInt32, _ nextHop: String, localPref: UInt32 = 100) {
            rib.apply(Routes.announce([(prefix, id)], Routes.attributes(nextHop: nextHop, localPref: localPref)), to: router)
        }
        add("10.0.0.0/8", 1, "192.0.2.1")
        add("10.1.0.0/16", 1, "192.0.2.2")
        add("10.1.0.0/16", 2, "192.0.2.3")
        add("10.1.2.0/24", 1, "192.0.2.4", localPref: 90)
        add("10.1.2.0/24", 2, "192.0.2.5")
        add("10.1.2.0/24", 3, "192.0.2.5", localPref: 200)
        add("2001:db8::/32", 1, "2001:db8:ffff::1")
        add("2001:db8:1::/48", 1, "2001:db8:ffff::2")
        add("2001:db8:1:2::/64", 1, "2001:db8:ffff::4")
        add("2001:db8:1:2::/64", 2, "2001:db8:ffff::5")
        return (rib, router)
    }

    static func match(_ rib: RIB, _ router: RouterID, _ destination: String, _ nextHop: String?) -> (PathMatch.Kind, String?, UInt32?, String?) {
        rib.read { r in
            let m = r.match(destination: Routes.address(destination), nextHop: nextHop.map(Routes.address) ?? .none, router: router)
            return (m.kind, m.prefix?.description, m.path?.pathID, m.path.map { r.nextHop($0.attributes).description })
        }
    }

    @Test func ipv4Kinds() {
        let (rib, router) = Self.table()
        // exact: the /24 has the next-hop; of its two paths via E, the best one (path 3).
        #expect(Self.match(rib, router, "10.1.2.9", "192.0.2.5") == (.exact, "10.1.2.0/24", 3, "192.0.2.5"))
        // exact on a non-best path.
        #expect(Self.match(rib, router, "10.1.2.9", "192.0.2.4") == (.exact, "10.1.2.0/24", 1, "192.0.2.4"))
        // covering: only the /16 has C; only the /8 has A (walking past the /16).
        #expect(Self.match(rib, router, "10.1.2.9", "192.0.2.3") == (.covering, "10.1.0.0/16", 2, "192.0.2.3"))
        #expect(Self.match(rib, router, "10.1.2.9", "192.0.2.1") == (.covering, "10.0.0.0/8", 1, "192.0.2.1"))
        // best: no next-hop in the flow.
        #expect(Self.match(rib, router, "10.1.2.9", nil) == (.best, "10.1.2.0/24", 3, "192.0.2.5"))
        #expect(Self.match(rib, router, "10.1.9.9", nil) == (.best, "10.1.0.0/16", 1, "192.0.2.2"))
        // mismatch: nobody has the next-hop; the LPM and its best path come back.
        #expect(Self.match(rib, router, "10.1.2.9", "192.0.2.99") == (.mismatch, "10.1.2.0/24", 3, "192.0.2.5"))
        // A next-hop of the other family never matches.
        #expect(Self.match(rib, router, "10.1.2.9", "2001:db8:ffff::1").0 == .mismatch)
        // noRoute: nothing covers it.
        #expect(Self.match(rib, router, "11.0.0.1", "192.0.2.1") == (.noRoute, nil, nil, nil))
        #expect(Self.match(rib, router, "11.0.0.1", nil) == (.noRoute, nil, nil, nil))
        // An unknown router has no routes.
        #expect(Self.match(rib, RouterID(rawValue: 99), "10.1.2.9", nil).0 == .noRoute)
        // bestPath is the source side's name for the no-next-hop case.
        rib.read { r in
            let best = r.bestPath(for: Routes.address("10.200.0.1"), router: router)
            #expect(best.kind == .best && best.prefix == Routes.prefix("10.0.0.0/8") && best.path?.pathID == 1)
            #expect(r.bestPath(for: Routes.address("192.0.2.1"), router: router).kind == .noRoute)
        }
    }

    /// Among several paths with the flow's next-hop and none of them the best: the lowest path id.
    @Test func lowestPathIDWhenBestDoesNotMatch() {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        rib.apply(Routes.announce([("10.0.0.0/8", 7)], Routes.attributes(nextHop: "192.0.2.1", localPref: 300)), to: router)
        rib.apply(Routes.announce([("10.0.0.0/8", 5)], Routes.attributes(nextHop: "192.0.2.2", localPref: 100)), to: router)
        rib.apply(Routes.announce([("10.0.0.0/8", 3)], Routes.attributes(nextHop: "192.0.2.2", localPref: 200)), to: router)
        rib.apply(Routes.announce([("10.0.0.0/8", 9)], Routes.attributes(nextHop: "192.0.2.2", localPref: 250)), to: router)
        #expect(Self.match(rib, router, "10.0.0.1", nil).2 == 7)
        #expect(Self.match(rib, router, "10.0.0.1", "192.0.2.2") == (.exact, "10.0.0.0/8", 3, "192.0.2.2"))
    }

    @Test func ipv6Kinds() {
        let (rib, router) = Self.table()
        #expect(Self.match(rib, router, "2001:db8:1:2::9", "2001:db8:ffff::5") == (.exact, "2001:db8:1:2::/64", 2, "2001:db8:ffff::5"))
        #expect(Self.match(rib, router, "2001:db8:1:2::9", "2001:db8:ffff::2") == (.covering, "2001:db8:1::/48", 1, "2001:db8:ffff::2"))
        #expect(Self.match(rib, router, "2001:db8:1:2::9", "2001:db8:ffff::1") == (.covering, "2001:db8::/32", 1, "2001:db8:ffff::1"))
        #expect(Self.match(rib, router, "2001:db8:1:2::9", nil) == (.best, "2001:db8:1:2::/64", 1, "2001:db8:ffff::4"))
        #expect(Self.match(rib, router, "2001:db8:1:2::9", "2001:db8:ffff::9") == (.mismatch, "2001:db8:1:2::/64", 1, "2001:db8:ffff::4"))
        #expect(Self.match(rib, router, "2001:db9::1", nil) == (.noRoute, nil, nil, nil))
        // IPv4 destinations stay in IPv4 (10.0.0.0/8 is there), IPv6 in IPv6.
        #expect(Self.match(rib, router, "::ffff:10.1.2.9", nil).0 == .noRoute)
    }

    /// The batched lookup answers exactly what one-at-a-time lookups answer, in order, for every
    /// kind, both families, other routers and groups of any length.
    @Test func batchAgreesWithSingleLookups() {
        let (rib, router) = Self.table()
        let other = rib.addRouter(PeerIdentity(address: Routes.address("192.0.2.200"), bgpID: 200, asn: 65000))
        rib.apply(Routes.announce([("10.1.2.0/24", 1), ("10.128.0.0/9", 1), ("10.1.2.200/29", 1)], Routes.attributes(nextHop: "192.0.2.4")), to: other)
        var generator = SplitMix(seed: 3)
        let nextHops = ["", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.99", "2001:db8:ffff::2", "2001:db8:ffff::5"]
        let routers = [router, other, RouterID(rawValue: 77)]
        var lookups: [FlowLookup] = []
        for _ in 0..<1000 {
            let r = generator.next()
            let destination = r % 4 == 0
                ? IPAddress(v6High: 0x2001_0db8_0001_0002 ^ (r >> 2 & 0x0000_0003_0000_0001), low: r >> 8 & 0xff)
                : IPAddress(v4: 0x0a00_0000 | UInt32(truncatingIfNeeded: r >> 8) & (r % 3 == 0 ? 0x00ff_ffff : 0x0001_03ff))
            let hop = nextHops[Int(r >> 40) % nextHops.count]
            lookups.append(FlowLookup(destination: destination, nextHop: hop.isEmpty ? .none : Routes.address(hop), router: routers[Int(r >> 50) % 3]))
        }
        rib.read { r in
            let single = lookups.map { r.match(destination: $0.destination, nextHop: $0.nextHop, router: $0.router) }
            #expect(Set(single.map(\.kind)) == [.exact, .covering, .best, .mismatch, .noRoute])
            for length in [0, 1, 15, 16, 17, 1000] {
                let batch = r.match(Array(lookups.prefix(length)))
                #expect(batch == Array(single.prefix(length)))
            }
        }
    }
}
