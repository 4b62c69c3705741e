import BGPWire
import Foundation
import NetCore
import Testing
@testable import Daemon

/// pathflow's dump lines against lines nfacctd 1.7.7 wrote itself for the same paths
/// (fixtures/bgp/pmacct-dump/nfacctd-gobgpd-changed.jsonl, provenance in its README).
struct PmacctDumpTests {
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/bgp/pmacct-dump/nfacctd-gobgpd-changed.jsonl")

    let lines: [String]
    let peer = PmacctDump.Peer(address: IPAddress("127.0.0.2")!, port: 51309)
    let stamp = "2026-11-23 22:58:00"

    init() throws {
        lines = try String(contentsOf: Self.fixture, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func line(_ prefix: String, _ pathID: Int) throws -> String {
        try #require(lines.first { $0.contains("\"ip_prefix\": \"\(prefix)\"") && $0.contains("\"as_path_id\": \(pathID),") })
    }

    func render(_ prefix: String, _ pathID: UInt32, _ a: PathAttributes) -> String {
        PmacctDump.pathLine(timestamp: stamp, peer: peer, seq: 1, prefix: IPPrefix(prefix)!, pathID: pathID, attributes: a)
    }

    @Test func everyAttributeInPmacctsFormat() throws {
        var a = PathAttributes()
        a.origin = .igp
        a.nextHop = IPAddress("10.0.0.1")!
        a.asPath = [.init(kind: .sequence, asns: [4_200_000_001]), .init(kind: .sequence, asns: [65010])]
        a.localPref = 200
        a.med = 10
        // As sent: out of order and repeated; pmacct stores them unique and sorted.
        a.communities = [65000 << 16 | 2, 65000 << 16 | 1, 65000 << 16 | 2]
        a.extendedCommunities = [0x0002_FDE8_0000_0064]  // 2-octet AS route target 65000:100
        a.largeCommunities = [.init(global: 4_200_000_001, local1: 1, local2: 2)]
        a.originatorID = IPAddress("127.0.0.2")!.v4Value  // never written by pmacct
        #expect(render("192.0.2.0/24", 1, a) == (try line("192.0.2.0/24", 1)))
    }

    @Test func asSetsAreSortedAndWellKnownCommunitiesNamed() throws {
        var set = PathAttributes()
        set.origin = .egp
        set.nextHop = IPAddress("10.0.0.3")!
        set.asPath = [.init(kind: .sequence, asns: [65030]), .init(kind: .set, asns: [4_200_000_003, 65031])]
        set.localPref = 150
        set.communities = [65000 << 16 | 30]
        set.extendedCommunities = [0x0002_FDE8_0000_012C]
        set.largeCommunities = [.init(global: 65000, local1: 3, local2: 3)]
        #expect(render("198.51.100.0/24", 3, set) == (try line("198.51.100.0/24", 3)))

        var named = PathAttributes()
        named.origin = .igp
        named.nextHop = IPAddress("10.0.0.1")!
        named.asPath = [.init(kind: .sequence, asns: [65010, 65011])]
        named.localPref = 100
        named.med = 0  // present: written even when zero
        named.communities = [0xFFFF_FF01, 65000 << 16 | 10]
        #expect(render("198.51.100.0/24", 1, named) == (try line("198.51.100.0/24", 1)))
    }

    @Test func incompleteOriginAndEmptyPath() throws {
        var a = PathAttributes()
        a.origin = .incomplete
        a.nextHop = IPAddress("10.0.0.3")!
        a.localPref = 100
        a.largeCommunities = [.init(global: 65000, local1: 0, local2: 1)]
        #expect(render("192.0.2.0/24", 3, a) == (try line("192.0.2.0/24", 3)))
    }

    @Test func initAndCloseLines() throws {
        #expect(PmacctDump.initLine(timestamp: stamp, peer: peer, period: 60, seq: 1) == lines.first)
        let entries = lines.filter { $0.contains("\"event_type\": \"dump\",") }.count
        #expect(PmacctDump.closeLine(timestamp: stamp, peer: peer, entries: entries, seq: 1) == lines.last)
    }

    @Test func extendedCommunityKinds() {
        // RFC 4360 IPv4-address-specific and RFC 5668 4-octet-AS route targets, a site of origin,
        // and a kind pmacct does not name.
        #expect(PmacctText.extendedCommunities([0x0102_C000_0201_0007]) == "RT:192.0.2.1:7")
        #expect(PmacctText.extendedCommunities([0x0202_FA56_EA01_0009]) == "RT:4200000001:9")
        #expect(PmacctText.extendedCommunities([0x0003_FDE8_0000_0001]) == "SoO:65000:1")
        #expect(PmacctText.extendedCommunities([0x0300_0000_0000_0000]) == "?")
    }
}
