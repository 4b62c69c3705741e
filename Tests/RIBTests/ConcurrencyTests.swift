import BGPWire
import Dispatch
import Foundation
import NetCore
import Synchronization
import Testing
@testable import RIB

/// Readers on another thread while the writer applies UPDATEs and removes and re-adds the
/// router: nothing crashes and every answer is consistent with itself.
@Suite struct ConcurrencyTests {
    final class Shared: Sendable {
        let stop = Atomic<Bool>(false)
        let lookups = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let firstFailure = Mutex<String?>(nil)

        func fail(_ message: String) {
            failures.add(1, ordering: .relaxed)
            firstFailure.withLock { if $0 == nil { $0 = message } }
        }
    }

    static let peer = PeerIdentity(address: IPAddress(v4: 0xc000_0201), bgpID: 0xc000_0201, asn: 65000)
    static let blocks = 1024

    /// 10.b.b.0/24 (b < 1024 over the second and third octets) with paths 1 and 2 via
    /// 192.0.2.1 and .2, and 10.0.0.0/12 via 192.0.2.9. Every path's first community names its
    /// prefix, so a reader can tell a path from the wrong prefix; the second is its version.
    static func prefix(_ block: Int) -> String { "10.\(block >> 8).\(block & 0xff).0/24" }

    static func attributes(block: Int, pathID: UInt32, version: UInt32) -> PathAttributes {
        var a = Routes.attributes(nextHop: "192.0.2.\(pathID)", localPref: 100 + (version % 3) * 50, communities: [UInt32(block), version])
        a.med = version
        return a
    }

    static func fill(_ rib: RIB, _ router: RouterID, version: UInt32) {
        rib.apply(Routes.announce([("10.0.0.0/12", 1)], Routes.attributes(nextHop: "192.0.2.9", communities: [0xffff_ffff])), to: router)
        for start in stride(from: 0, to: blocks, by: 8) {
            for pathID: UInt32 in [1, 2] {
                for block in start..<(start + 8) {
                    rib.apply(Routes.announce([(prefix(block), pathID)], attributes(block: block, pathID: pathID, version: version)), to: router)
                }
            }
        }
    }

    /// One batch of lookups under one read lock, checking each answer.
    static func check(_ rib: RIB, _ shared: Shared, _ generator: inout SplitMix) {
        var destinations: [(IPAddress, IPAddress)] = []
        for _ in 0..<64 {
            let r = generator.next()
            let address = IPAddress(v4: 0x0a00_0000 | UInt32(truncatingIfNeeded: r) & 0x000f_ffff)
            let nextHop = [IPAddress.none, IPAddress(v4: 0xc000_0201), IPAddress(v4: 0xc000_0202), IPAddress(v4: 0xc000_0209), IPAddress(v4: 0xc000_0263)][Int(r >> 60) % 5]
            destinations.append((address, nextHop))
        }
        rib.read { r in
            guard let router = r.router(matching: peer.address) else { return }
            for (destination, nextHop) in destinations {
                let m = r.match(destination: destination, nextHop: nextHop, router: router)
                shared.lookups.add(1, ordering: .relaxed)
                guard let path = m.path, let prefix = m.prefix else {
                    if m.kind != .noRoute { shared.fail("\(m.kind) without a path") }
                    continue
                }
                if !prefix.contains(destination) { shared.fail("\(prefix) does not cover \(destination)") }
                let communities = r.attributes(path.attributes).communities
                let block = Int((destination.v4Value >> 8) & 0xfff)
                let expected: UInt32 = prefix.length == 12 ? 0xffff_ffff : UInt32(block)
                if communities.first != expected { shared.fail("path of \(communities) on \(prefix)") }
                switch m.kind {
                case .exact, .covering:
                    if r.nextHop(path.attributes) != nextHop { shared.fail("\(m.kind) with next-hop \(r.nextHop(path.attributes))") }
                case .best, .mismatch:
                    let held = r.paths(of: prefix, router: router)
                    if held?.best != path { shared.fail("\(m.kind) path is not the best of \(prefix)") }
                case .noRoute:
                    shared.fail("noRoute with a path")
                }
            }
            let summary = r.summary(of: router)
            var counted = 0
            if generator.next() % 16 == 0 {
                r.forEachPath(router: router) { _, _, _ in counted += 1 }
                if counted != summary?.paths { shared.fail("forEachPath saw \(counted) of \(summary?.paths ?? -1)") }
            }
        }
    }

    @Test func readersWhileTheWriterChurns() async throws {
        let rib = RIB()
        var router = rib.addRouter(Self.peer)
        Self.fill(rib, router, version: 0)
        let shared = Shared()
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            var generator = SplitMix(seed: 42)
            // Bounded: stops when told, or after this many batches at the latest.
            for _ in 0..<200_000 where !shared.stop.load(ordering: .relaxed) {
                Self.check(rib, shared, &generator)
            }
            done.signal()
        }
        reader.start()

        var generator = SplitMix(seed: 9)
        for round in 1...12 {
            // Implicit replaces, withdrawals and re-announcements in UPDATEs of eight prefixes.
            for start in stride(from: 0, to: Self.blocks, by: 8) {
                let pathID = UInt32(1 + generator.next() % 2)
                let blocks = start..<(start + 8)
                if generator.next() % 4 == 0 {
                    rib.apply(Routes.withdraw(blocks.map { (Self.prefix($0), pathID) }), to: router)
                } else {
                    for block in blocks {
                        rib.apply(Routes.announce([(Self.prefix(block), pathID)], Self.attributes(block: block, pathID: pathID, version: UInt32(round))), to: router)
                    }
                }
            }
            if round % 4 == 0 {
                // The session drops with a full table and comes back.
                rib.removeRouter(router)
                router = rib.addRouter(Self.peer)
                Self.fill(rib, router, version: UInt32(round))
            }
        }
        shared.stop.store(true, ordering: .relaxed)
        let finished = done.wait(timeout: .now() + 60)
        #expect(finished == .success)
        #expect(shared.failures.load(ordering: .relaxed) == 0, "\(shared.firstFailure.withLock { $0 } ?? "")")
        #expect(shared.lookups.load(ordering: .relaxed) > 0)
        rib.read { r in
            #expect(r.routers.count == 1)
            #expect(r.statistics.paths == r.summary(of: router)?.paths)
        }
    }
}
