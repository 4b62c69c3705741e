import NetCore
import Testing
@testable import BGPWire
@testable import RIB

/// Best-path changes recorded while UPDATEs apply: every reason, no change where the best path
/// stays, and random UPDATE sequences against the best paths read before and after each one.
@Suite struct BestPathChangeTests {
    static let prefix = "203.0.113.0/24"

    final class Router {
        let rib = RIB()
        let id: RouterID

        init(bgpID: String = "192.0.2.1") {
            id = rib.addRouter(PeerIdentity(address: Routes.address("192.0.2.1"), bgpID: Routes.v4(bgpID), asn: 65000))
        }

        @discardableResult
        func announce(_ pathID: UInt32, _ a: PathAttributes, prefix: String = BestPathChangeTests.prefix) -> [BestPathChange] {
            var changes: [BestPathChange] = []
            rib.apply(Routes.announce([(prefix, pathID)], a), to: id, changes: &changes)
            return changes
        }

        @discardableResult
        func withdraw(_ pathID: UInt32, prefix: String = BestPathChangeTests.prefix) -> [BestPathChange] {
            var changes: [BestPathChange] = []
            rib.apply(Routes.withdraw([(prefix, pathID)]), to: id, changes: &changes)
            return changes
        }
    }

    static func a(_ nextHop: String, lp: UInt32? = 100, asPath: [UInt32] = [65001], med: UInt32? = nil,
                  origin: PathAttributes.Origin = .igp, originator: String? = nil, clusters: [String] = [],
                  communities: [UInt32] = []) -> PathAttributes {
        Routes.attributes(nextHop: nextHop, asPath: asPath, localPref: lp, med: med, origin: origin,
                          originatorID: originator, clusterList: clusters, communities: communities)
    }

    @Test func localPrefLoweredOnTheBestPathMovesTheExit() throws {
        let r = Router()
        #expect(r.announce(1, Self.a("10.0.0.1", lp: 200)).map(\.reason) == [.newPrefix])
        #expect(r.announce(2, Self.a("10.0.0.2", lp: 100)).isEmpty, "a worse path changes nothing")
        let changes = r.announce(1, Self.a("10.0.0.1", lp: 50))
        let c = try #require(changes.first)
        #expect(changes.count == 1)
        #expect(c.reason == .localPref)
        #expect(c.prefix == Routes.prefix(Self.prefix))
        // The old side is the path as it was before the UPDATE.
        #expect(c.old?.pathID == 1 && c.old?.attributes.localPref == 200 && c.old?.attributes.nextHop == Routes.address("10.0.0.1"))
        #expect(c.new?.pathID == 2 && c.new?.attributes.nextHop == Routes.address("10.0.0.2"))
    }

    @Test func withdrawsOfTheBestPathAndOfTheLastPath() throws {
        let r = Router()
        r.announce(1, Self.a("10.0.0.1", lp: 200))
        r.announce(2, Self.a("10.0.0.2", lp: 100))
        #expect(r.withdraw(2).isEmpty, "withdrawing a path that is not the best changes nothing")
        r.announce(2, Self.a("10.0.0.2", lp: 100))
        let first = r.withdraw(1)
        #expect(first.map(\.reason) == [.withdraw])
        #expect(first.first?.old?.pathID == 1 && first.first?.new?.pathID == 2)
        // The last path: its attribute set is freed by the withdraw, the change still has it.
        let last = try #require(r.withdraw(2).first)
        #expect(last.reason == .withdraw && last.new == nil)
        #expect(last.old?.attributes.nextHop == Routes.address("10.0.0.2") && last.old?.attributes.localPref == 100)
        #expect(r.withdraw(2).isEmpty, "an unknown path changes nothing")
    }

    @Test func sameBestPathNewNextHopIsAnUpdateOtherAttributesAreNot() {
        let r = Router()
        r.announce(1, Self.a("10.0.0.1"))
        #expect(r.announce(1, Self.a("10.0.0.1", communities: [0xFDE8_0001])).isEmpty)
        #expect(r.announce(1, Self.a("10.0.0.1", communities: [0xFDE8_0001])).isEmpty, "the same attributes again")
        let changes = r.announce(1, Self.a("10.0.0.9"))
        #expect(changes.map(\.reason) == [.update])
        #expect(changes.first?.old?.attributes.nextHop == Routes.address("10.0.0.1"))
        #expect(changes.first?.new?.attributes.nextHop == Routes.address("10.0.0.9"))
    }

    /// Each step of the selection decides once: path 2 is announced better than path 1 in exactly
    /// that step and equal in the steps before it.
    @Test(arguments: [
        (BestPathChange.Reason.localPref, Self.a("10.0.0.1", lp: 100), Self.a("10.0.0.2", lp: 120, asPath: [65001, 65002])),
        (.asPathLength, Self.a("10.0.0.1", asPath: [65001, 65003]), Self.a("10.0.0.2", asPath: [65001], origin: .incomplete)),
        (.origin, Self.a("10.0.0.1", origin: .egp), Self.a("10.0.0.2", med: 500, origin: .igp)),
        (.med, Self.a("10.0.0.1", med: 20), Self.a("10.0.0.2", med: 10, originator: "10.9.9.9")),
        (.routerID, Self.a("10.0.0.1", originator: "10.0.0.200"), Self.a("10.0.0.2", originator: "10.0.0.100", clusters: ["1.1.1.1", "2.2.2.2"])),
        (.clusterListLength, Self.a("10.0.0.1", originator: "10.0.0.100", clusters: ["1.1.1.1", "2.2.2.2"]),
         Self.a("10.0.0.2", originator: "10.0.0.100", clusters: ["1.1.1.1"])),
    ])
    func eachStepOfTheSelection(_ reason: BestPathChange.Reason, _ worse: PathAttributes, _ better: PathAttributes) {
        let r = Router()
        r.announce(1, worse)
        let changes = r.announce(2, better)
        #expect(changes.map(\.reason) == [reason])
        #expect(changes.first?.old?.pathID == 1 && changes.first?.new?.pathID == 2)
    }

    @Test func pathIDBreaksTheLastTieAndMEDOnlyWithinOneNeighbourAS() {
        let r = Router()
        r.announce(5, Self.a("10.0.0.1"))
        #expect(r.announce(3, Self.a("10.0.0.2")).map(\.reason) == [.pathID])
        // From another neighbour AS a lower MED does not count: the path id still decides.
        let other = Router()
        other.announce(5, Self.a("10.0.0.1", asPath: [65001], med: 50))
        #expect(other.announce(3, Self.a("10.0.0.2", asPath: [65002], med: 10)).map(\.reason) == [.pathID])
    }

    @Test func applyWithoutChangesRecordsNothingAndMatchesTheRecordingApply() {
        let plain = Router(), recording = Router()
        var changes: [BestPathChange] = []
        for (id, lp) in [(UInt32(1), UInt32(100)), (2, 300), (3, 200)] {
            plain.rib.apply(Routes.announce([(Self.prefix, id)], Self.a("10.0.0.\(id)", lp: lp)), to: plain.id)
            recording.rib.apply(Routes.announce([(Self.prefix, id)], Self.a("10.0.0.\(id)", lp: lp)), to: recording.id, changes: &changes)
        }
        let best = { (r: Router) in r.rib.read { $0.paths(of: Routes.prefix(Self.prefix), router: r.id)?.best.pathID } }
        #expect(best(plain) == 2 && best(recording) == 2)
        #expect(changes.map(\.reason) == [.newPrefix, .localPref])
    }

    /// Random announcements and withdrawals over a few prefixes: after each UPDATE the recorded
    /// changes are exactly the prefixes whose best path (id or next-hop) differs from before it,
    /// with both sides as read from the RIB, and a step reason holds: the new best path beats
    /// the old path's current attributes at that step.
    @Test(arguments: [1, 2, 3])
    func randomUpdatesAgainstTheTableReadBeforeAndAfter(seed: UInt64) {
        var random = SplitMix(seed: seed)
        let r = Router()
        let prefixes = ["198.51.100.0/24", "198.51.100.0/25", "2001:db8::/48", "203.0.113.0/24"]
        func snapshot() -> [String: (UInt32, PathAttributes, [UInt32: PathAttributes])] {
            r.rib.read { reader in
                var out: [String: (UInt32, PathAttributes, [UInt32: PathAttributes])] = [:]
                for p in prefixes {
                    guard let e = reader.paths(of: Routes.prefix(p), router: r.id) else { continue }
                    var all: [UInt32: PathAttributes] = [:]
                    for path in e.paths { all[path.pathID] = reader.attributes(path.attributes) }
                    out[p] = (e.best.pathID, reader.attributes(e.best.attributes), all)
                }
                return out
            }
        }
        var total = 0
        for _ in 0..<400 {
            let p = prefixes[Int(random.next() % UInt64(prefixes.count))]
            let id = UInt32(random.next() % 6) + 1
            let before = snapshot()
            let changes: [BestPathChange]
            if random.next() % 3 == 0 {
                changes = r.withdraw(id, prefix: p)
            } else {
                let v6 = p.contains(":")
                let hop = v6 ? "2001:db8:ff::\(random.next() % 3 + 1)" : "10.0.0.\(random.next() % 3 + 1)"
                changes = r.announce(id, Self.a(hop, lp: [100, 200][Int(random.next() % 2)], asPath: Array([65001, 65002, 65003].prefix(Int(random.next() % 3) + 1)),
                                                med: UInt32(random.next() % 3), origin: random.next() % 4 == 0 ? .egp : .igp), prefix: p)
            }
            let after = snapshot()
            let old = before[p], new = after[p]
            let moved = old?.0 != new?.0 || old?.1.nextHop != new?.1.nextHop
            #expect(changes.count == (moved ? 1 : 0))
            guard let c = changes.first else { continue }
            total += 1
            #expect(c.prefix == Routes.prefix(p))
            #expect(c.old?.pathID == old?.0 && c.old?.attributes == old?.1)
            #expect(c.new?.pathID == new?.0 && c.new?.attributes == new?.1)
            switch c.reason {
            case .newPrefix: #expect(old == nil)
            case .withdraw: #expect(old != nil && (new == nil || new!.2[old!.0] == nil))
            case .update: #expect(old?.0 == new?.0)
            default:
                guard let old, let new, let oldNow = new.2[old.0] else {
                    Issue.record("step reason \(c.reason) without the old path")
                    continue
                }
                #expect(Self.beatsAt(new.1, oldNow, c.reason), "\(c.reason)")
            }
        }
        #expect(total > 20, "the sequence made too few changes to test anything")
    }

    /// Independent of `BestPath`: `w` and `l` equal in every step before `step`, `w` better in it.
    static func beatsAt(_ w: PathAttributes, _ l: PathAttributes, _ step: BestPathChange.Reason) -> Bool {
        let wl = w.localPref ?? 100, ll = l.localPref ?? 100
        let wa = w.asPath.reduce(0) { $0 + $1.asns.count }, la = l.asPath.reduce(0) { $0 + $1.asns.count }
        let wo = w.origin!.rawValue, lo = l.origin!.rawValue
        let sameAS = w.asPath.first?.asns.first == l.asPath.first?.asns.first
        switch step {
        case .localPref: return wl > ll
        case .asPathLength: return wl == ll && wa < la
        case .origin: return wl == ll && wa == la && wo < lo
        case .med: return wl == ll && wa == la && wo == lo && sameAS && (w.med ?? 0) < (l.med ?? 0)
        case .pathID: return wl == ll && wa == la && wo == lo && (!sameAS || w.med ?? 0 == l.med ?? 0)
        default: return false
        }
    }
}
