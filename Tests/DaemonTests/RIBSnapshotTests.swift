import BGPSpeaker
import BGPWire
import Foundation
import GRDB
import Logging
import NetCore
import PathflowConfig
import Prometheus
import RIB
import Storage
import Testing
@testable import Daemon

/// The RIB snapshot `report what-if` reads: every path of every prefix per router, ranked.
struct RIBSnapshotTests {
    @Test func everyPathWithItsRank() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-snapshot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("s.db").path
        let store = try SQLiteStore(path: path)
        var config = CollectorConfig()
        config.bgp.enabled = true
        config.bgp.ribSnapshotRefreshTime = 3600
        let service = BGPService(config: config, registry: PrometheusCollectorRegistry(), logger: Logger(label: "test"), snapshotStore: store)
        let address = IPAddress("192.0.2.1")!
        let router = service.rib.addRouter(PeerIdentity(address: address, bgpID: 0xc000_0201, asn: 65000))
        let peer = PeerInfo(sessionID: 1, remoteAddress: address, remotePort: 51000, localAddress: IPAddress("192.0.2.10")!,
                            bgpID: 0xc000_0201, asn: 65000, holdTime: 90, addPath: [.ipv4Unicast], fourOctetAS: true, capabilities: [])
        service.sessions.withLockedValue { $0[1] = RouterSession(router: router, peer: peer) }
        func announce(_ prefix: String, _ id: UInt32, _ hop: String, _ asPath: [UInt32], _ localPref: UInt32, originator: UInt32? = nil) {
            var u = Update()
            u.attributes.originatorID = originator
            u.attributes.origin = .igp
            u.attributes.nextHop = IPAddress(hop)!
            u.attributes.asPath = [.init(kind: .sequence, asns: asPath)]
            u.attributes.localPref = localPref
            u.announced = [Update.Route(prefix: IPPrefix(prefix)!, pathID: id)]
            service.rib.apply(u, to: router)
        }
        announce("198.51.100.0/24", 1, "10.0.0.1", [65001, 64500], 100)
        announce("198.51.100.0/24", 2, "10.0.0.2", [65002, 64500], 200)
        announce("198.51.100.0/24", 3, "10.0.0.3", [65003, 65033, 64500], 200, originator: 0x0aff_0003)
        announce("2001:db8::/32", 1, "2001:db8:ffff::1", [65004], 100)
        // More prefixes than one page of the walk.
        for i in 0..<5000 { announce("10.\(i / 256).\(i % 256).0/24", 1, "10.0.0.1", [65001], 100) }
        #expect(try service.writeSnapshot(store, at: 1_764_547_200) == 5004)

        let rows = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM rib_paths WHERE net_dst = '198.51.100.0' ORDER BY rank")
        }
        #expect(rows.map { $0["peer_ip_dst"] as String } == ["10.0.0.2", "10.0.0.3", "10.0.0.1"])
        #expect(rows.map { $0["path_id"] as Int } == [2, 3, 1])
        // The exit router: the ORIGINATOR_ID of a reflected path, else the sender's BGP identifier.
        #expect(rows.map { $0["exit_router"] as String } == ["192.0.2.1", "10.255.0.3", "192.0.2.1"])
        #expect(rows.first?["peer_ip_src"] as String? == "192.0.2.1")
        #expect(rows.first?["peer_as_dst"] as Int? == 65002 && rows.first?["as_dst"] as Int? == 64500)
        #expect(rows.first?["as_path"] as String? == "65002 64500" && rows.first?["local_pref"] as Int? == 200)
        let v6 = try DatabaseQueue(path: path).read { db in
            try Row.fetchOne(db, sql: "SELECT net_dst, mask_dst FROM rib_paths WHERE peer_ip_dst = '2001:db8:ffff::1'")
        }
        #expect(v6?["net_dst"] as String? == "2001:db8::" && v6?["mask_dst"] as Int? == 32)
        // A second snapshot replaces the first.
        #expect(try service.writeSnapshot(store, at: 1_764_550_800) == 5004)
        let count = try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rib_paths") }
        #expect(count == 5004)
    }
}
