import Foundation
import NetCore
import PathflowConfig
import Testing

/// The keys that steer BGP enrichment: nfacctd_as/nfacctd_net, bgp_agent_map,
/// bgp_peer_src_as_type, bgp_nexthop_mismatch, use_ip_next_hop and the BGP primitives.
struct EnrichmentConfigTests {
    @Test func bgpSourcesAndPrimitivesAreAccepted() throws {
        let (config, diagnostics) = Fixtures.make([
            "bgp_daemon: true", "nfacctd_as: bgp", "nfacctd_net: longest", "bgp_peer_src_as_type: bgp",
            "bgp_nexthop_mismatch: best", "use_ip_next_hop: true", "plugins: sqlite3[matrix]",
            "bgp_rib_snapshot_refresh_time: 3600", "bgp_rib_snapshot_db: /tmp/rib.db",
            "aggregate[matrix]: peer_src_ip, in_iface, peer_dst_ip, peer_dst_as, peer_src_as, as_path, std_comm, ext_comm, lrg_comm, local_pref, med, path_match",
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let c = try #require(config)
        #expect(c.asSource == .bgp && c.netSource == .longest)
        #expect(c.peerSrcASFromBGP && c.nexthopMismatchUsesBest && c.useIPNextHop)
        #expect(c.bgp.ribSnapshotRefreshTime == 3600 && c.bgp.ribSnapshotDB == "/tmp/rib.db")
        #expect(c.views.first?.aggregate.count == 12)
    }

    @Test func defaultsFollowPmacct() throws {
        let c = try #require(Fixtures.make(["plugins: sqlite3"]).0)
        #expect(c.asSource == .none && c.netSource == .netflow)
        #expect(!c.peerSrcASFromBGP && !c.nexthopMismatchUsesBest && !c.useIPNextHop && c.agentMap.isEmpty)
    }

    @Test(arguments: [
        ("bgp_peer_src_as_type: map", "2 bgp_peer_src_as_type fatal"),
        ("nfacctd_as: bmp", "2 nfacctd_as fatal"),
        ("bgp_nexthop_mismatch: maybe", "2 bgp_nexthop_mismatch skipped"),
        ("bgp_agent_map: /nonexistent/agent.map", "2 bgp_agent_map fatal"),
        ("bgp_rib_snapshot_refresh_time: 5", "2 bgp_rib_snapshot_refresh_time skipped"),
    ])
    func unsupportedOrBadValuesAreReported(line: String, summary: String) {
        let (_, diagnostics) = Fixtures.make(["plugins: sqlite3", line])
        #expect(diagnostics.map(\.summary) == [summary])
    }

    @Test func agentMapLoadsInPmacctSyntax() throws {
        let dir = try Fixtures.temporaryDirectory()
        let map = dir.appendingPathComponent("agent.map").path
        try """
        ! exporters to BGP peers
        bgp_ip=192.0.2.1    ip=198.51.100.7
        bgp_ip=192.0.2.1 ip=203.0.113.0/24 filter='ip'
        bgp_ip=2001:db8::1 ip=203.0.113.0/24 filter='ip6'
        bgp_ip=192.0.2.9 ip=198.51.100.8 in=100
        bgp_ip=nonsense ip=198.51.100.9
        ip=198.51.100.10
        bmp_ip=192.0.2.2 ip=0.0.0.0/0
        """.write(toFile: map, atomically: true, encoding: .utf8)
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", "bgp_agent_map: \(map)"])
        let entries = try #require(config).agentMap
        #expect(entries.map { "\($0.bgpIP) \($0.exporters) \($0.family)" } == [
            "192.0.2.1 198.51.100.7/32 any", "192.0.2.1 203.0.113.0/24 v4", "2001:db8::1 203.0.113.0/24 v6",
            "192.0.2.2 0.0.0.0/0 any",
        ])
        #expect(diagnostics.map { "\($0.line) \($0.severity)" } == ["5 skipped", "6 skipped", "7 skipped"])
        #expect(diagnostics.allSatisfy { $0.file == map && $0.key == "bgp_agent_map" })
    }
}
