import BGPWire
import Foundation
import NIOCore
import NetCore
import Testing
import BGPFixtures
@testable import RIB

/// The four captured ADD-PATH sessions (fixtures/bgp/README.md) fed into the RIB end up as the
/// table an independent decoder says a receiver holds (`final_rib` in *.expected.json).
@Suite struct CapturedSessionTests {
    static let speakers = BGPFixtures.sessionAddress
    static let context = BGPFixtures.context

    static func messages(_ speaker: String) throws -> [BGPMessage] {
        try BGPFixtures.session(speaker)
    }

    /// One held path in the oracle's vocabulary.
    static func row(_ prefix: IPPrefix, _ path: Path, _ a: PathAttributes) -> [String: String] {
        BGPFixtures.fields(prefix, pathID: path.pathID, a)
    }

    static func finalRIB(_ speaker: String) throws -> [[String: String]] {
        try BGPFixtures.oracle(speaker, "final_rib")
    }

    static func sorted(_ rows: [[String: String]]) -> [[String: String]] {
        rows.sorted { ($0["prefix"]!, Int($0["path_id"]!)!) < ($1["prefix"]!, Int($1["path_id"]!)!) }
    }

    @Test(arguments: BGPFixtures.speakers)
    func sessionBuildsTheOraclesTable(speaker: String) throws {
        let messages = try Self.messages(speaker)
        let open = try Open.decode(try #require(messages.first { $0.kind == .open }).body)
        let rib = RIB()
        let router = rib.addRouter(PeerIdentity(
            address: Routes.address(try #require(Self.speakers[speaker])), bgpID: open.identifier, asn: open.autonomousSystem))
        var total = ApplyResult()
        for message in messages where message.kind == .update {
            let result = rib.apply(try Update.decode(message.body, context: Self.context), to: router)
            total.announced += result.announced
            total.replaced += result.replaced
            total.withdrawn += result.withdrawn
            total.withdrawnUnknown += result.withdrawnUnknown
            total.rejected += result.rejected
        }
        // 12 paths, one implicit replace, two withdrawals (fixtures/bgp/README.md).
        #expect(total.announced == 12 && total.replaced == 1 && total.withdrawn == 2)
        #expect(total.withdrawnUnknown == 0 && total.rejected == 0)

        let want = try Self.finalRIB(speaker)
        #expect(want.count == 10)
        try rib.read { r in
            var got: [[String: String]] = []
            r.forEachPath(router: router) { prefix, path, _ in got.append(Self.row(prefix, path, r.attributes(path.attributes))) }
            #expect(Self.sorted(got) == Self.sorted(want), "\(speaker)")
            #expect(r.routers == [RouterSummary(id: router, peer: r.routers[0].peer, prefixes: 5, paths: 10)])

            // Best paths of the route set: LOCAL_PREF 200 and 300, the /25's one path left,
            // LOCAL_PREF 120, and the shorter AS_PATH (65070 against 65070 {65071 4200000002}).
            let bestNextHops = [
                "192.0.2.0/24": "10.0.0.1", "198.51.100.0/24": "10.0.0.2", "203.0.113.0/25": "10.0.0.1",
                "2001:db8:1::/48": "2001:db8:ffff::2", "2001:db8:2::/48": "2001:db8:ffff::1",
            ]
            for (prefix, nextHop) in bestNextHops {
                let held = r.paths(of: Routes.prefix(prefix), router: router)
                let entry = try #require(held)
                #expect(r.nextHop(entry.best.attributes) == Routes.address(nextHop), "\(speaker) \(prefix)")
            }

            // Flows: next-hop on a non-best path; a withdrawn path's next-hop; outside the /25.
            let exact = r.match(destination: Routes.address("192.0.2.77"), nextHop: Routes.address("10.0.0.3"), router: router)
            #expect(exact.kind == .exact && exact.path.map { r.nextHop($0.attributes) } == Routes.address("10.0.0.3"))
            let mismatch = r.match(destination: Routes.address("203.0.113.5"), nextHop: Routes.address("10.0.0.3"), router: router)
            #expect(mismatch.kind == .mismatch && mismatch.path.map { r.nextHop($0.attributes) } == Routes.address("10.0.0.1"))
            #expect(r.match(destination: Routes.address("203.0.113.200"), nextHop: .none, router: router).kind == .noRoute)
            let v6 = r.match(destination: Routes.address("2001:db8:2::1"), nextHop: Routes.address("2001:db8:ffff::2"), router: router)
            #expect(v6.kind == .exact && v6.prefix == Routes.prefix("2001:db8:2::/48"))
            #expect(r.router(matching: Routes.address(Self.speakers[speaker]!)) == router)
            #expect(r.router(matching: IPAddress(v4: open.identifier)) == router)
        }
    }
}
