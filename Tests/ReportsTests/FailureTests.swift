import Aggregation
import Foundation
import NetCore
@testable import Reports
@testable import Storage
import TestServers
import Testing

/// `report failures`: every single failure at once, checked by hand on a small table and against
/// a brute-force computation (and `what-if`, failure by failure) on random ones.
@Suite struct FailureTests {
    /// ReportFixtures.whatIfDatabase: router 192.0.2.1 reaches 198.51.100.0/24 by 10.0.0.1 (best)
    /// or 10.0.0.2, 203.0.113.0/24 by 10.0.0.1 only, 192.0.2.0/24 by 10.0.0.2 only; four bins of
    /// 1,000 + 500 bytes by 10.0.0.1 and 200 by 10.0.0.2.
    @Test func byHand() throws {
        let source = try ReportSource(path: try ReportFixtures.whatIfDatabase(), table: "prefixes", binSeconds: nil, utc: true)
        let capacities = try CapacityEntry.parse("a peer_ip_dst=10.0.0.1 100\nb peer_ip_dst=10.0.0.2 50", file: "c")
        let t = try FailureAnalysis.report(
            source, kinds: [.nextHop], groups: [], by: "peer_ip_dst", query: ReportQuery(), capacities: capacities,
            threshold: 0.8, now: ReportsTests.start)
        #expect(t.columns == ["peer_ip_dst", "capacity", "p95_bps", "worst_p95_bps", "worst_failure", "worst_util",
                              "headroom_bps", "stranded_prefixes", "stranded_bytes", "runout", "runout_worst"])
        let bps = { (bytes: Double) in bytes * 8 / 300 }
        // Rows by worst p95, highest first. 10.0.0.2: 200 bytes a bin; with 10.0.0.1 down, 198.51.100.0/24's 1,000 join it.
        #expect(t.rows[1] == [
            .text("10.0.0.2"), .rate(50), .rate(bps(200)), .rate(bps(1_200)), .text("10.0.0.1"),
            .percent(bps(1_200) * 100 / 50), .rate(50 - bps(1_200)), .integer(1), .bytes(800), .text("-"), .text("-"),
        ])
        // 10.0.0.1: nothing moves to it (192.0.2.0/24 has no other path); its own failure strands
        // 203.0.113.0/24.
        #expect(t.rows[0] == [
            .text("10.0.0.1"), .rate(100), .rate(bps(1_500)), .rate(bps(1_500)), .text("-"),
            .percent(bps(1_500)), .rate(100 - bps(1_500)), .integer(1), .bytes(2_000), .text("-"), .text("-"),
        ])
        #expect(t.notes.contains { $0.contains("2 failure(s)") })
        // A group of both next-hops strands everything; the peer AS kind names its failures AS….
        let group = FailureAnalysis.Failure(name: "both", nextHops: ["10.0.0.1", "10.0.0.2"])
        let g = try FailureAnalysis.analyse(source, kinds: [.peerAS], groups: [group], by: "peer_as_dst", query: ReportQuery())
        #expect(g.failures == 3)
        let as2 = try #require(g.outcomes.first { $0.exit == "65002" })
        #expect(as2.worstFailure == "AS65001" && as2.worstP95 == bps(1_200) && as2.stranded == 1)
        // JSON and HTML render.
        #expect(t.render(.json).contains("\"worst_failure\""))
        #expect(t.render(.html).contains("<svg"))
    }

    @Test func groupsFile() throws {
        let groups = try FailureAnalysis.Failure.parseGroups("""
            # links in one duct
            duct-7 peer_ip_dst=10.0.0.1,peer_ip_dst=10.0.0.2   ! both
            transit peer_as_dst=AS65001,peer_dst_as=65002
            pe-3 exit_router=10.255.0.3
            """, file: "g")
        #expect(groups == [
            FailureAnalysis.Failure(name: "duct-7", nextHops: ["10.0.0.1", "10.0.0.2"]),
            FailureAnalysis.Failure(name: "transit", peerASes: ["65001", "65002"]),
            FailureAnalysis.Failure(name: "pe-3", exitRouters: ["10.255.0.3"]),
        ])
        for (bad, line) in [("a peer_ip_dst=1.2.3.4\nb", 2), ("a src_host=1", 1), ("a peer_as_dst=x", 1), ("a peer_ip_dst=1\na peer_ip_dst=2", 2)] {
            #expect {
                try FailureAnalysis.Failure.parseGroups(bad, file: "g")
            } throws: { ($0 as? FailureAnalysis.Error)?.description.hasPrefix("g:\(line): ") == true }
        }
    }

    /// Random tables: three routers, forty prefixes, five next-hops (peer AS 65000 + n), each
    /// prefix with one to four ranked paths per router, traffic on its best path in random bins
    /// of forty, some rows without a route. The worst p95 of every exit under every single
    /// next-hop failure, every peer AS failure and two groups, computed here by brute force; the
    /// single next-hop failures also through what-if.
    @Test(arguments: [1, 2, 3, 4])
    func againstBruteForce(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let bin = 300, bins = 40, start = ReportsTests.start
        let hops = (1...5).map { "10.0.0.\($0)" }
        // Exit routers: 10.0.0.1 and .2 leave at one router, .3 and .4 at another, .5 at a third.
        func exitRouter(_ hop: String) -> String { "10.255.0.\((Int(hop.split(separator: ".").last!)! + 1) / 2)" }
        struct Path { var hop: String; var asn: String }
        struct Prefix: Hashable { var router: String; var net: String }
        var ribs: [Prefix: [Path]] = [:]
        var rows: [BinnedKey: Counters] = [:]
        var snapshot: [RIBSnapshotRow] = []
        var flows: [(prefix: Prefix?, exit: String, asn: String, bin: Int, bytes: Int64)] = []
        for r in 1...3 {
            let router = "192.0.2.\(r)"
            for p in 0..<40 {
                let net = "198.\(18 + p / 20).\(p % 20).0"
                let count = 1 + random(4)
                var chosen: [String] = []
                while chosen.count < count {
                    let h = hops[random(hops.count)]
                    if !chosen.contains(h) { chosen.append(h) }
                }
                let paths = chosen.map { Path(hop: $0, asn: String(65000 + Int($0.split(separator: ".").last!)!)) }
                let prefix = Prefix(router: router, net: net)
                ribs[prefix] = paths
                for (rank, path) in paths.enumerated() {
                    snapshot.append(RIBSnapshotRow(
                        router: router, bgpID: router, net: net, mask: 24, pathID: Int64(rank + 1), rank: rank, nextHop: path.hop,
                        peerAS: Int64(path.asn)!, originAS: 64_999, asPath: path.asn, localPref: 100, med: 0,
                        exitRouter: exitRouter(path.hop)))
                }
                for _ in 0..<random(6) {
                    flows.append((prefix, paths[0].hop, paths[0].asn, random(bins), Int64(1 + random(100_000))))
                }
            }
            flows.append((nil, "0.0.0.0", "0", random(bins), 5_000))   // no route
        }
        for f in flows {
            var k = FlowKey()
            k.peerSrc = IPAddress(f.prefix?.router ?? "192.0.2.1")!
            k.dstNet = IPAddress(f.prefix?.net ?? "0.0.0.0")!
            k.dstMask = f.prefix == nil ? 0 : 24
            k.peerDst = IPAddress(f.exit)!
            k.peerDstAS = UInt32(f.asn)!
            rows[BinnedKey(key: k, bin: UInt32(start + f.bin * bin)), default: Counters()].add(Counters(packets: 1, bytes: UInt64(f.bytes), flows: 1))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-failures-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("f.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "prefixes", primitives: ReportFixtures.whatIfPrimitives, tableVersion: nil, numericProtocols: false))
        try store.write(table: "prefixes", rows: rows, now: start + bins * bin, utc: true)
        let writer = try RIBSnapshotWriter(store: store, stamp: "2025-12-01 00:00:00")
        try writer.append(snapshot)
        try writer.commit()
        let source = try ReportSource(path: path, table: "prefixes", binSeconds: bin, utc: true)

        // The brute force: per failure, every flow through a failed exit goes to its router's
        // first standing path, or nowhere.
        let groups = [
            FailureAnalysis.Failure(name: "g1", nextHops: ["10.0.0.1", "10.0.0.2"]),
            FailureAnalysis.Failure(name: "g2", nextHops: ["10.0.0.5"], peerASes: ["65003"]),
            FailureAnalysis.Failure(name: "g3", peerASes: ["65005"], exitRouters: ["10.255.0.1"]),
        ]
        var failures: [FailureAnalysis.Failure] = Set(flows.filter { $0.prefix != nil }.map(\.exit)).sorted().map {
            FailureAnalysis.Failure(name: $0, nextHops: [$0])
        }
        failures += Set(flows.filter { $0.prefix != nil }.map(\.asn)).sorted().map { FailureAnalysis.Failure(name: "AS\($0)", peerASes: [$0]) }
        failures += Set(flows.filter { $0.prefix != nil }.map { exitRouter($0.exit) }).sorted().map {
            FailureAnalysis.Failure(name: "router \($0)", exitRouters: [$0])
        }
        failures += groups
        func p95(_ perBin: [Int64]) -> Double {
            let sorted = perBin.sorted()
            return Double(sorted[Int((0.95 * Double(bins)).rounded(.up)) - 1]) * 8 / Double(bin)
        }
        func load(_ failure: FailureAnalysis.Failure?) -> [String: [Int64]] {
            var out: [String: [Int64]] = [:]
            for f in flows {
                var exit: String? = f.exit
                if let failure, let prefix = f.prefix,
                   failure.nextHops.contains(f.exit) || failure.peerASes.contains(f.asn) || failure.exitRouters.contains(exitRouter(f.exit)) {
                    exit = ribs[prefix]!.first {
                        !failure.nextHops.contains($0.hop) && !failure.peerASes.contains($0.asn) && !failure.exitRouters.contains(exitRouter($0.hop))
                    }?.hop
                }
                if let exit { out[exit, default: [Int64](repeating: 0, count: bins)][f.bin] += f.bytes }
            }
            return out
        }
        let normal = load(nil)
        var worst: [String: (Double, String?)] = normal.mapValues { (p95($0), nil) }
        for failure in failures {
            for (exit, series) in load(failure) where p95(series) > (worst[exit]?.0 ?? 0) {
                worst[exit] = (p95(series), failure.name)
            }
        }
        let got = try FailureAnalysis.analyse(
            source, kinds: [.nextHop, .peerAS, .exitRouter], groups: groups, by: "peer_ip_dst", query: ReportQuery())
        #expect(got.failures == failures.count)
        let gotWorst = Dictionary(uniqueKeysWithValues: got.outcomes.map { ($0.exit, ($0.worstP95, $0.worstFailure)) })
        for (exit, want) in worst {
            let have = try #require(gotWorst[exit], "\(exit)")
            #expect(have.0 == want.0, "\(exit): worst p95 \(have.0), want \(want.0)")
            // Ties between failures may name either; the p95 must be that failure's.
            if let name = have.1, name != want.1, let failure = failures.first(where: { $0.name == name }) {
                #expect(p95(load(failure)[exit]!) == want.0)
            } else {
                #expect(have.1 == want.1, "\(exit)")
            }
            #expect(got.outcomes.first { $0.exit == exit }?.p95 == p95(normal[exit] ?? [Int64](repeating: 0, count: bins)), "\(exit)")
        }
        // what-if, one next-hop at a time, agrees on each exit's p95 after.
        for hop in hops where normal[hop] != nil {
            let w = try WhatIfAnalysis.report(source, failure: .nextHop(hop), by: "peer_ip_dst", query: ReportQuery(), capacities: [])
            let after = load(FailureAnalysis.Failure(name: hop, nextHops: [hop]))
            for row in w.rows {
                guard case .text(let exit) = row[0], exit != "0.0.0.0" else { continue }
                #expect(row[4] == .rate(p95(after[exit] ?? [Int64](repeating: 0, count: bins))), "what-if \(hop): \(exit)")
            }
        }
    }
}
