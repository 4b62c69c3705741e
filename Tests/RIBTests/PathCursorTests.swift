import NetCore
import Testing
@testable import BGPWire
@testable import RIB

/// Paged walks (table dumps) give every path exactly once, IPv4 and IPv6, whatever the page size.
struct PathCursorTests {
    struct Seen: Hashable {
        var prefix: IPPrefix
        var pathID: UInt32
        var best: Bool
    }

    func table() -> (RIB, RouterID) {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        var v4: [(String, UInt32)] = []
        for i in 0..<50 { v4 += [("10.\(i).0.0/16", 1), ("10.\(i).0.0/16", 2)] }
        rib.apply(Routes.announce(v4, Routes.attributes(nextHop: "192.0.2.11")), to: router)
        var v6: [(String, UInt32)] = []
        for i in 0..<7 { v6.append(("2001:db8:\(i)::/48", 3)) }
        rib.apply(Routes.announce(v6, Routes.attributes(nextHop: "2001:db8:ffff::1")), to: router)
        // A hole in the middle of the entries.
        rib.apply(Routes.withdraw([("10.7.0.0/16", 1), ("10.7.0.0/16", 2)]), to: router)
        return (rib, router)
    }

    @Test(arguments: [1, 3, 49, 56, 4096])
    func pagesCoverTheTableOnce(limit: Int) {
        let (rib, router) = table()
        var whole: [Seen] = []
        rib.read { reader in reader.forEachPath(router: router) { whole.append(Seen(prefix: $0, pathID: $1.pathID, best: $2)) } }
        var paged: [Seen] = []
        var pages = 0
        var cursor: PathCursor? = .start
        while let from = cursor, pages < 1000 {
            cursor = rib.read { reader in
                reader.forEachPath(router: router, from: from, prefixes: limit) { paged.append(Seen(prefix: $0, pathID: $1.pathID, best: $2)) }
            }
            pages += 1
        }
        #expect(whole.count == 49 * 2 + 7)
        #expect(paged == whole)
        // One page per `limit` prefixes; at most one more, empty, when freed entries trail the last one.
        let full = (49 + 7 + limit - 1) / limit
        #expect(pages == full || pages == full + 1)
    }

    @Test func aRemovedRouterEndsTheWalk() {
        let (rib, router) = table()
        let next = rib.read { $0.forEachPath(router: router, from: .start, prefixes: 5) { _, _, _ in } }
        #expect(next != nil)
        rib.removeRouter(router)
        var more = 0
        let after = rib.read { reader in reader.forEachPath(router: router, from: next!, prefixes: 5) { _, _, _ in more += 1 } }
        #expect(after == nil)
        #expect(more == 0)
    }
}
