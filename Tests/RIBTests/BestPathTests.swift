import NetCore
import Testing
@testable import BGPWire
@testable import RIB

/// Best path per RFC 4271 §9.1.1 and §9.1.2.2 with RFC 4456 §9, one step at a time: two or
/// three paths equal up to the step under test.
@Suite struct BestPathTests {
    /// The best path id of one prefix after announcing `paths` (path id → attributes) in order.
    static func best(_ paths: [(UInt32, PathAttributes)], peerBGPID: UInt32 = Routes.v4("192.0.2.1")) -> UInt32? {
        let rib = RIB()
        let router = rib.addRouter(PeerIdentity(address: Routes.address("192.0.2.1"), bgpID: peerBGPID, asn: 65000))
        for (id, attributes) in paths {
            rib.apply(Routes.announce([("203.0.113.0/24", id)], attributes), to: router)
        }
        return rib.read { r in r.paths(of: Routes.prefix("203.0.113.0/24"), router: router)?.best.pathID }
    }

    static func path(
        asPath: [PathAttributes.Segment] = [.init(kind: .sequence, asns: [65001])], localPref: UInt32? = 100,
        med: UInt32? = nil, origin: PathAttributes.Origin = .igp, originatorID: String? = "10.0.0.9", clusterList: [String] = ["10.0.0.1"]
    ) -> PathAttributes {
        var a = Routes.attributes(nextHop: "192.0.2.10", localPref: localPref, med: med, origin: origin, originatorID: originatorID, clusterList: clusterList)
        a.asPath = asPath
        return a
    }

    static func sequence(_ asns: UInt32...) -> PathAttributes.Segment { .init(kind: .sequence, asns: asns) }

    /// The order a router would fall back through: local-pref 300, then 200 (two of them, the
    /// shorter AS path first), then 100.
    @Test func rankingFallsBackStepByStep() throws {
        let rib = RIB()
        let router = rib.addRouter(PeerIdentity(address: Routes.address("192.0.2.1"), bgpID: Routes.v4("192.0.2.1"), asn: 65000))
        let announced: [(UInt32, PathAttributes)] = [
            (1, Self.path(localPref: 100)), (2, Self.path(asPath: [Self.sequence(65001, 65002)], localPref: 200)),
            (3, Self.path(localPref: 300)), (4, Self.path(localPref: 200)),
        ]
        for (id, a) in announced { rib.apply(Routes.announce([("203.0.113.0/24", id)], a), to: router) }
        let order = rib.read { r -> [UInt32] in
            let entry = r.paths(of: Routes.prefix("203.0.113.0/24"), router: router)!
            return r.rankByPreference(entry.paths, router: router).map { entry.paths[$0].pathID }
        }
        #expect(order == [3, 4, 2, 1])
    }

    @Test func highestLocalPrefWithMissingAs100() {
        #expect(Self.best([(1, Self.path(localPref: 100)), (2, Self.path(localPref: 150))]) == 2)
        #expect(Self.best([(1, Self.path(localPref: 99)), (2, Self.path(localPref: nil))]) == 2)
        // Missing and 100 tie; the later steps decide (here the path id).
        #expect(Self.best([(2, Self.path(localPref: nil)), (1, Self.path(localPref: 100))]) == 1)
        // LOCAL_PREF beats a shorter AS_PATH.
        #expect(Self.best([(1, Self.path(asPath: [Self.sequence(1)], localPref: 100)), (2, Self.path(asPath: [Self.sequence(1, 2, 3)], localPref: 110))]) == 2)
    }

    @Test func shortestASPathCountingSetsAsOneAndConfederationsAsNone() {
        #expect(Self.best([(1, Self.path(asPath: [Self.sequence(1, 2, 3)])), (2, Self.path(asPath: [Self.sequence(1, 2)]))]) == 2)
        // [1 {2 3 4 5}] has length 2 and beats [1 2 3].
        let withSet: [PathAttributes.Segment] = [Self.sequence(1), .init(kind: .set, asns: [2, 3, 4, 5])]
        #expect(Self.best([(1, Self.path(asPath: [Self.sequence(1, 2, 3)])), (2, Self.path(asPath: withSet))]) == 2)
        // (64512 64513 64514) 1 2 has length 2 and beats 1 2 3.
        let confed: [PathAttributes.Segment] = [.init(kind: .confedSequence, asns: [64512, 64513, 64514]), Self.sequence(1, 2)]
        #expect(Self.best([(1, Self.path(asPath: [Self.sequence(1, 2, 3)])), (2, Self.path(asPath: confed))]) == 2)
        // An empty AS_PATH (a route of our own AS) is the shortest.
        #expect(Self.best([(1, Self.path(asPath: [Self.sequence(1)])), (2, Self.path(asPath: []))]) == 2)
    }

    @Test func lowestOrigin() {
        #expect(Self.best([(1, Self.path(origin: .incomplete)), (2, Self.path(origin: .egp))]) == 2)
        #expect(Self.best([(1, Self.path(origin: .egp)), (2, Self.path(origin: .igp))]) == 2)
        // ORIGIN beats MED.
        #expect(Self.best([(1, Self.path(med: 0, origin: .egp)), (2, Self.path(med: 50, origin: .igp))]) == 2)
    }

    @Test func lowestMEDBetweenPathsFromTheSameNeighbourAS() {
        // Same neighbour AS 65001: MED decides.
        #expect(Self.best([(1, Self.path(med: 20)), (2, Self.path(med: 10))]) == 2)
        // Missing MED counts as 0, the lowest.
        #expect(Self.best([(1, Self.path(med: 5)), (2, Self.path(med: nil))]) == 2)
        // Different neighbour ASes: MED is not compared; ORIGINATOR_ID decides (lower wins).
        let a = Self.path(asPath: [Self.sequence(65001, 9)], med: 5, originatorID: "10.0.0.9")
        let b = Self.path(asPath: [Self.sequence(65002, 9)], med: 50, originatorID: "10.0.0.8")
        #expect(Self.best([(1, a), (2, b)]) == 2)
    }

    /// MED is not transitive (RFC 4271 §9.1.2.2 c; RFC 4451 §7.4 describes the effect): with
    /// A (AS 65001, MED 100, originator .1), B (AS 65002, MED 50, originator .2) and C (AS 65001,
    /// MED 10, originator .3), elimination removes A (C has the same neighbour and a lower MED),
    /// then B beats C on ORIGINATOR_ID. Pairwise comparison in path-id order would pick C.
    @Test func medEliminationOverTheWholeSet() {
        let a = Self.path(asPath: [Self.sequence(65001, 7)], med: 100, originatorID: "10.0.0.1")
        let b = Self.path(asPath: [Self.sequence(65002, 7)], med: 50, originatorID: "10.0.0.2")
        let c = Self.path(asPath: [Self.sequence(65001, 7)], med: 10, originatorID: "10.0.0.3")
        #expect(Self.best([(1, a), (2, b), (3, c)]) == 2)
        // Arrival order does not matter.
        #expect(Self.best([(3, c), (1, a), (2, b)]) == 2)
        #expect(Self.best([(2, b), (3, c), (1, a)]) == 2)
        // Without C, A and B are from different ASes: A wins on ORIGINATOR_ID.
        #expect(Self.best([(1, a), (2, b)]) == 1)
    }

    @Test func lowestOriginatorIDElseThePeersBGPIdentifier() {
        #expect(Self.best([(1, Self.path(originatorID: "10.0.0.9")), (2, Self.path(originatorID: "10.0.0.2"))]) == 2)
        // No ORIGINATOR_ID: the peer's BGP identifier (192.0.2.1) stands in (RFC 4456 §9).
        #expect(Self.best([(1, Self.path(originatorID: "10.0.0.9")), (2, Self.path(originatorID: nil))], peerBGPID: Routes.v4("10.0.0.3")) == 2)
        #expect(Self.best([(1, Self.path(originatorID: "10.0.0.2")), (2, Self.path(originatorID: nil))], peerBGPID: Routes.v4("10.0.0.3")) == 1)
    }

    @Test func shortestClusterList() {
        #expect(Self.best([(1, Self.path(clusterList: ["10.0.0.1", "10.0.0.2"])), (2, Self.path(clusterList: ["10.0.0.7"]))]) == 2)
        #expect(Self.best([(1, Self.path(clusterList: ["10.0.0.1"])), (2, Self.path(clusterList: []))]) == 2)
    }

    @Test func lowestPathIDLast() {
        #expect(Self.best([(9, Self.path()), (4, Self.path()), (6, Self.path())]) == 4)
        // Equal in every step but the community: still the path id.
        var other = Self.path()
        other.communities = [1]
        #expect(Self.best([(8, other), (5, Self.path())]) == 5)
        #expect(Self.best([(5, other), (8, Self.path())]) == 5)
    }

    /// The cached best path follows replaces and withdrawals.
    @Test func bestFollowsChanges() {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        func best() -> UInt32? { rib.read { r in r.paths(of: Routes.prefix("10.0.0.0/8"), router: router)?.best.pathID } }
        rib.apply(Routes.announce([("10.0.0.0/8", 1)], Self.path(localPref: 100)), to: router)
        rib.apply(Routes.announce([("10.0.0.0/8", 2)], Self.path(localPref: 200)), to: router)
        #expect(best() == 2)
        rib.apply(Routes.announce([("10.0.0.0/8", 1)], Self.path(localPref: 300)), to: router)
        #expect(best() == 1)
        rib.apply(Routes.withdraw([("10.0.0.0/8", 1)]), to: router)
        #expect(best() == 2)
    }

    /// RFC 4271 §9.1.2.2 and RFC 4456 §9 written out step by step over the attributes
    /// themselves, as an independent reference for the RIB's cached best path.
    static func reference(_ paths: [UInt32: PathAttributes], peerBGPID: UInt32) -> UInt32? {
        func length(_ a: PathAttributes) -> Int {
            a.asPath.reduce(0) { total, segment in
                switch segment.kind {
                case .sequence: total + segment.asns.count
                case .set: total + 1
                case .confedSequence, .confedSet: total
                }
            }
        }
        func neighbour(_ a: PathAttributes) -> UInt32 {
            a.asPath.first { $0.kind == .sequence || $0.kind == .set }?.asns.first ?? 0
        }
        var candidates = Array(paths)
        func keep(_ key: (PathAttributes) -> Int) {
            let best = candidates.map { key($0.value) }.min()
            candidates.removeAll { key($0.value) != best }
        }
        keep { -Int($0.localPref ?? 100) }
        keep(length)
        keep { Int($0.origin?.rawValue ?? 2) }
        let beforeMED = candidates
        candidates.removeAll { c in
            beforeMED.contains { neighbour($0.value) == neighbour(c.value) && ($0.value.med ?? 0) < (c.value.med ?? 0) }
        }
        keep { Int($0.originatorID ?? peerBGPID) }
        keep { $0.clusterList.count }
        return candidates.map(\.key).min()
    }

    /// Random announcements, replaces and withdrawals on one prefix; after each, the cached best
    /// path is the reference's.
    @Test func randomChangesAgainstReference() {
        var generator = SplitMix(seed: 11)
        let rib = RIB()
        let peerBGPID = Routes.v4("10.0.0.5")
        let router = rib.addRouter(PeerIdentity(address: Routes.address("192.0.2.1"), bgpID: peerBGPID, asn: 65000))
        var held: [UInt32: PathAttributes] = [:]
        func pick<T>(_ values: [T]) -> T { values[Int(generator.next() % UInt64(values.count))] }
        for step in 0..<3000 {
            let id = UInt32(1 + generator.next() % 7)
            if held[id] != nil && generator.next() % 3 == 0 {
                rib.apply(Routes.withdraw([("198.51.100.0/24", id)]), to: router)
                held[id] = nil
            } else {
                var a = Self.path(
                    asPath: pick([[Self.sequence(65001)], [Self.sequence(65001, 7)], [Self.sequence(65002, 7)], [Self.sequence(65002)],
                                  [Self.sequence(65001), .init(kind: .set, asns: [8, 9])]]),
                    localPref: pick([nil, 100, 100, 200]), med: pick([nil, 0, 5, 10]), origin: pick([.igp, .igp, .egp, .incomplete]),
                    originatorID: pick([nil, "10.0.0.3", "10.0.0.7"]), clusterList: pick([[], ["10.0.0.1"], ["10.0.0.1", "10.0.0.2"]]))
                a.communities = [id]
                rib.apply(Routes.announce([("198.51.100.0/24", id)], a), to: router)
                held[id] = a
            }
            let got = rib.read { r in r.paths(of: Routes.prefix("198.51.100.0/24"), router: router)?.best.pathID }
            #expect(got == Self.reference(held, peerBGPID: peerBGPID), "step \(step)")
        }
    }
}
