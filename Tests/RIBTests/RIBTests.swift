import BGPWire
import NetCore
import Testing
@testable import RIB

/// Table changes as UPDATEs make them (RFC 4271 §9.1, RFC 7911 path ids) and interning.
@Suite struct RIBTests {
    @Test func announceReplaceWithdraw() {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        let first = rib.apply(Routes.announce([("10.0.0.0/8", 1)], Routes.attributes(nextHop: "192.0.2.10")), to: router)
        #expect(first.announced == 1 && first.replaced == 0 && first.pathsHeld == 1 && first.prefixesHeld == 1)

        // Same prefix and path id again: an implicit replace, not a second path.
        let again = rib.apply(Routes.announce([("10.0.0.0/8", 1)], Routes.attributes(nextHop: "192.0.2.20")), to: router)
        #expect(again.announced == 0 && again.replaced == 1 && again.pathsHeld == 1)
        rib.read { r in
            let entry = r.paths(of: Routes.prefix("10.0.0.0/8"), router: router)
            #expect(entry?.paths.count == 1)
            #expect(entry.map { r.nextHop($0.best.attributes) } == Routes.address("192.0.2.20"))
            #expect(r.statistics.attributeSets == 1)
        }

        // A withdrawal of another path id of a held prefix, and of a prefix never held.
        let unknown = rib.apply(Routes.withdraw([("10.0.0.0/8", 2), ("10.0.0.0/9", 1)]), to: router)
        #expect(unknown.withdrawn == 0 && unknown.withdrawnUnknown == 2 && unknown.pathsHeld == 1)

        let gone = rib.apply(Routes.withdraw([("10.0.0.0/8", 1)]), to: router)
        #expect(gone.withdrawn == 1 && gone.pathsHeld == 0 && gone.prefixesHeld == 0)
        let twice = rib.apply(Routes.withdraw([("10.0.0.0/8", 1)]), to: router)
        #expect(twice.withdrawnUnknown == 1)
        rib.read { r in
            #expect(r.paths(of: Routes.prefix("10.0.0.0/8"), router: router) == nil)
            #expect(r.statistics.attributeSets == 0)
            #expect(r.match(destination: Routes.address("10.1.1.1"), nextHop: .none, router: router).kind == .noRoute)
        }
    }

    /// RFC 4271 §9.1: an UPDATE's withdrawals apply before its announcements.
    @Test func withdrawalsBeforeAnnouncements() {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        var update = Routes.announce([("198.51.100.0/24", 7)], Routes.attributes(nextHop: "192.0.2.10"))
        update.withdrawn = update.announced
        let result = rib.apply(update, to: router)
        #expect(result.withdrawnUnknown == 1 && result.announced == 1 && result.pathsHeld == 1)
    }

    /// ADD-PATH: paths live side by side, ordered by path id, past the four held inline.
    @Test func addPathKeepsEveryPath() throws {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        for id: UInt32 in [5, 3, 9, 1, 7, 2] {
            rib.apply(Routes.announce([("203.0.113.0/24", id)], Routes.attributes(nextHop: "10.0.0.\(id)", localPref: 100 + id)), to: router)
        }
        try rib.read { r in
            let held = r.paths(of: Routes.prefix("203.0.113.0/24"), router: router)
            let entry = try #require(held)
            #expect(entry.paths.map(\.pathID) == [1, 2, 3, 5, 7, 9])
            #expect(entry.paths.map { r.nextHop($0.attributes) } == [1, 2, 3, 5, 7, 9].map { Routes.address("10.0.0.\($0)") })
            #expect(entry.best.pathID == 9)  // highest LOCAL_PREF
            #expect(r.summary(of: router)?.paths == 6)
        }
        // Replace inside the overflow list, then withdraw back to the inline four and fewer.
        rib.apply(Routes.announce([("203.0.113.0/24", 9)], Routes.attributes(nextHop: "10.0.0.99", localPref: 50)), to: router)
        rib.apply(Routes.withdraw([("203.0.113.0/24", 1), ("203.0.113.0/24", 5)]), to: router)
        try rib.read { r in
            let held = r.paths(of: Routes.prefix("203.0.113.0/24"), router: router)
            let entry = try #require(held)
            #expect(entry.paths.map(\.pathID) == [2, 3, 7, 9])
            #expect(r.nextHop(entry.paths[3].attributes) == Routes.address("10.0.0.99"))
            #expect(entry.best.pathID == 7)
        }
        rib.apply(Routes.withdraw([("203.0.113.0/24", 7), ("203.0.113.0/24", 2)]), to: router)
        try rib.read { r in
            let held = r.paths(of: Routes.prefix("203.0.113.0/24"), router: router)
            let entry = try #require(held)
            #expect(entry.paths.map(\.pathID) == [3, 9])
            #expect(entry.best.pathID == 3)
        }
    }

    /// One attribute set per distinct value, shared by prefixes and routers, freed with its last path.
    @Test func interningIsSharedAndReleased() throws {
        let rib = RIB()
        let a = rib.addRouter(Routes.peer)
        let b = rib.addRouter(PeerIdentity(address: Routes.address("192.0.2.2"), bgpID: 2, asn: 65000))
        let shared = Routes.attributes(nextHop: "10.0.0.1", communities: [0xfde8_0001])
        rib.apply(Routes.announce([("10.1.0.0/16", 1), ("10.2.0.0/16", 1), ("10.3.0.0/16", 1)], shared), to: a)
        rib.apply(Routes.announce([("10.9.0.0/16", 4)], shared), to: b)
        let ref = try rib.read { r in
            #expect(r.statistics.attributeSets == 1)
            let refs = ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"].compactMap {
                r.paths(of: Routes.prefix($0), router: a)?.best.attributes
            }
            #expect(refs.count == 3 && Set(refs).count == 1)
            let ref = try #require(refs.first)
            #expect(r.paths(of: Routes.prefix("10.9.0.0/16"), router: b)?.best.attributes == ref)
            #expect(r.references(ref) == 4)
            #expect(r.attributes(ref) == shared)
            return ref
        }
        // A different set for one prefix: two sets; then the shared one loses its paths one by one.
        rib.apply(Routes.announce([("10.1.0.0/16", 1)], Routes.attributes(nextHop: "10.0.0.2")), to: a)
        rib.read { r in
            #expect(r.statistics.attributeSets == 2)
            #expect(r.references(ref) == 3)
        }
        rib.apply(Routes.withdraw([("10.2.0.0/16", 1), ("10.3.0.0/16", 1)]), to: a)
        rib.read { r in #expect(r.references(ref) == 1) }
        rib.removeRouter(b)
        rib.read { r in #expect(r.statistics.attributeSets == 1) }
        rib.apply(Routes.withdraw([("10.1.0.0/16", 1)]), to: a)
        rib.read { r in
            #expect(r.statistics.attributeSets == 0)
            #expect(r.statistics.paths == 0)
        }
    }

    /// Many sets interned and freed in a mixed order: the index stays consistent (found again,
    /// never duplicated) through growth and backward-shift deletions.
    @Test func interningIndexSurvivesChurn() {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        var generator = SplitMix(seed: 7)
        var held: [UInt32: UInt32] = [:]  // prefix index → community
        for _ in 0..<6000 {
            let index = UInt32(generator.next() % 700)
            let prefix = "10.\(index / 256).\(index % 256).0/24"
            if held[index] != nil && generator.next() % 3 == 0 {
                rib.apply(Routes.withdraw([(prefix, 1)]), to: router)
                held[index] = nil
            } else {
                let community = UInt32(generator.next() % 300)
                rib.apply(Routes.announce([(prefix, 1)], Routes.attributes(nextHop: "10.0.0.1", communities: [community])), to: router)
                held[index] = community
            }
        }
        rib.read { r in
            #expect(r.statistics.attributeSets == Set(held.values).count)
            for (index, community) in held {
                let entry = r.paths(of: Routes.prefix("10.\(index / 256).\(index % 256).0/24"), router: router)
                #expect(entry.map { r.attributes($0.best.attributes).communities } == [community])
            }
        }
    }

    @Test func removeRouterDropsItsTable() {
        let rib = RIB()
        let a = rib.addRouter(Routes.peer)
        let b = rib.addRouter(PeerIdentity(address: Routes.address("2001:db8::2"), bgpID: Routes.v4("192.0.2.2"), asn: 65000))
        rib.apply(Routes.announce([("10.0.0.0/8", 1), ("2001:db8::/32", 1)], Routes.attributes(nextHop: "10.0.0.1")), to: a)
        rib.apply(Routes.announce([("10.0.0.0/8", 1)], Routes.attributes(nextHop: "10.0.0.2")), to: b)
        rib.removeRouter(a)
        rib.read { r in
            #expect(r.routers.map(\.id) == [b])
            #expect(r.routers.first?.prefixes == 1 && r.routers.first?.paths == 1)
            #expect(r.summary(of: a) == nil)
            #expect(r.match(destination: Routes.address("10.1.1.1"), nextHop: .none, router: a).kind == .noRoute)
            #expect(r.match(destination: Routes.address("10.1.1.1"), nextHop: .none, router: b).kind == .best)
            let s = r.statistics
            #expect(s.routers == 1 && s.prefixes == 1 && s.paths == 1 && s.attributeSets == 1)
        }
        // A late UPDATE for the removed router changes nothing; removing it again is harmless.
        let late = rib.apply(Routes.announce([("10.0.0.0/8", 1)], Routes.attributes(nextHop: "10.0.0.1")), to: a)
        #expect(late == ApplyResult())
        rib.removeRouter(a)
        rib.read { r in #expect(r.statistics.attributeSets == 1 && r.statistics.paths == 1) }
    }

    /// DESIGN §3 step 1: the session address first, then the BGP identifier.
    @Test func routerMatching() {
        let rib = RIB()
        let a = rib.addRouter(PeerIdentity(address: Routes.address("192.0.2.1"), bgpID: Routes.v4("198.51.100.1"), asn: 65000))
        let b = rib.addRouter(PeerIdentity(address: Routes.address("2001:db8::2"), bgpID: Routes.v4("198.51.100.2"), asn: 65000))
        rib.read { r in
            #expect(r.router(matching: Routes.address("192.0.2.1")) == a)
            #expect(r.router(matching: Routes.address("198.51.100.1")) == a)
            #expect(r.router(matching: Routes.address("2001:db8::2")) == b)
            #expect(r.router(matching: Routes.address("198.51.100.2")) == b)
            #expect(r.router(matching: Routes.address("192.0.2.99")) == nil)
            #expect(r.router(matching: Routes.address("::ffff:198.51.100.1")) == nil)
        }
        // The same router reconnects before its old session is removed: the newest session wins,
        // and removing the old one leaves the new one found.
        let a2 = rib.addRouter(PeerIdentity(address: Routes.address("192.0.2.1"), bgpID: Routes.v4("198.51.100.1"), asn: 65000))
        rib.read { r in #expect(r.router(matching: Routes.address("192.0.2.1")) == a2) }
        rib.removeRouter(a2)
        rib.read { r in
            #expect(r.router(matching: Routes.address("192.0.2.1")) == a)
            #expect(r.router(matching: Routes.address("198.51.100.1")) == a)
        }
        rib.removeRouter(a)
        rib.read { r in
            #expect(r.router(matching: Routes.address("192.0.2.1")) == nil)
            #expect(r.router(matching: Routes.address("198.51.100.1")) == nil)
            #expect(r.router(matching: Routes.address("2001:db8::2")) == b)
        }
    }

    @Test func forEachPathListsEveryPathOnce() {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        rib.apply(Routes.announce([("10.0.0.0/8", 1), ("10.0.0.0/16", 1), ("2001:db8::/32", 1)], Routes.attributes(nextHop: "10.0.0.1", localPref: 200)), to: router)
        rib.apply(Routes.announce([("10.0.0.0/8", 2)], Routes.attributes(nextHop: "10.0.0.2")), to: router)
        var seen: [String] = []
        rib.read { r in
            r.forEachPath(router: router) { prefix, path, isBest in
                seen.append("\(prefix) \(path.pathID) \(isBest)")
            }
        }
        #expect(seen.sorted() == ["10.0.0.0/16 1 true", "10.0.0.0/8 1 true", "10.0.0.0/8 2 false", "2001:db8::/32 1 true"])
    }
}

/// A small deterministic generator (SplitMix64) so randomised tests repeat exactly.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
