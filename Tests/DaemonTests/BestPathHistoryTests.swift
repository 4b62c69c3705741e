import Aggregation
import BGPSpeaker
import BGPWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NetCore
import Prometheus
import RIB
import Storage
import Testing
@testable import Daemon

/// Best-path changes from the BGP loop: nothing before the router's End-of-RIB, then every
/// change with its reason counted; the pending list bounded; the shifted bytes of flushed rows.
struct BestPathHistoryTests {
    static let peer = PeerInfo(
        sessionID: 7, remoteAddress: IPAddress("192.0.2.1")!, remotePort: 51000, localAddress: IPAddress("192.0.2.10")!,
        bgpID: 0xc000_02fe, asn: 65000, holdTime: 90, addPath: [.ipv4Unicast], fourOctetAS: true, capabilities: [])

    static func announce(_ prefix: String, _ id: UInt32, _ hop: String, localPref: UInt32) -> Update {
        var u = Update()
        u.attributes.origin = .igp
        u.attributes.nextHop = IPAddress(hop)!
        u.attributes.asPath = [.init(kind: .sequence, asns: [65001 + id])]
        u.attributes.localPref = localPref
        u.announced = [Update.Route(prefix: IPPrefix(prefix)!, pathID: id)]
        return u
    }

    @Test func recordedFromEndOfRIBOn() throws {
        let registry = PrometheusCollectorRegistry()
        let history = BestPathHistory(limit: 100)
        let feeder = RIBFeeder(rib: RIB(), metrics: BGPMetrics(registry: registry), logger: Logger(label: "test"),
                               sessions: NIOLockedValueBox([:]), history: history)
        feeder.established(Self.peer)
        // The initial table: two paths, the second better; no change is recorded.
        _ = feeder.update(Self.announce("198.51.100.0/24", 1, "10.0.0.1", localPref: 100), session: 7)
        _ = feeder.update(Self.announce("198.51.100.0/24", 2, "10.0.0.2", localPref: 200), session: 7)
        #expect(history.take().entries.isEmpty)
        feeder.endOfRIB(.ipv4Unicast, session: 7)
        _ = feeder.update(Self.announce("198.51.100.0/24", 2, "10.0.0.2", localPref: 50), session: 7)
        let (entries, dropped) = history.take()
        #expect(dropped == 0)
        let e = try #require(entries.first)
        #expect(entries.count == 1 && e.change.reason == .localPref && e.router == Self.peer.remoteAddress && e.bgpID == 0xc000_02fe)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(abs(e.timeMilliseconds - now) < 60_000)
        let row = BestPathHistory.row(e, stamp: "2025-12-01 00:00:00")
        #expect(row.router == "192.0.2.1" && row.bgpID == "192.0.2.254" && row.net == "198.51.100.0" && row.mask == 24)
        #expect(row.reason == "local_pref")
        #expect(row.old == BestPathChangeRow.Side(pathID: 2, nextHop: "10.0.0.2", peerAS: 65003, asPath: "65003", localPref: 200, med: 0))
        #expect(row.new == BestPathChangeRow.Side(pathID: 1, nextHop: "10.0.0.1", peerAS: 65002, asPath: "65002", localPref: 100, med: 0))
        let text = registry.emitToString()
        #expect(text.contains("pathflow_bgp_best_path_changes_total{peer=\"192.0.2.1\",reason=\"local_pref\"} 1"), "\(text)")
    }

    @Test func pendingChangesAreBounded() {
        let history = BestPathHistory(limit: 3)
        let change = BestPathChange(prefix: IPPrefix("198.51.100.0/24")!, old: nil, new: nil, reason: .withdraw)
        for i in 0..<5 {
            history.record([change], router: IPAddress("192.0.2.1")!, bgpID: 1, timeMilliseconds: Int64(i))
        }
        let (entries, dropped) = history.take()
        #expect(entries.map(\.timeMilliseconds) == [2, 3, 4] && dropped == 2)
        history.putBack(entries)
        history.record([change], router: IPAddress("192.0.2.1")!, bgpID: 1, timeMilliseconds: 9)
        let again = history.take()
        #expect(again.entries.map(\.timeMilliseconds) == [3, 4, 9] && again.dropped == 1)
    }

    /// Rows of a prefix whose best path changed count in the change's bin and the 600 s after
    /// it, under the router's session address or its BGP identifier; other rows do not.
    @Test func shiftedBytesOfFlushedRows() {
        let history = BestPathHistory(limit: 100)
        let t = 1_764_547_200 + 90  // in the bin starting at +60
        let change = BestPathChange(prefix: IPPrefix("198.51.100.0/24")!, old: nil, new: nil, reason: .withdraw)
        history.record([change], router: IPAddress("192.0.2.1")!, bgpID: 0xc000_02fe, timeMilliseconds: Int64(t) * 1000)
        var rows: [BinnedKey: Counters] = [:]
        func add(_ exporter: String, _ prefix: String, _ binStart: Int, _ bytes: UInt64) {
            var k = FlowKey()
            k.peerSrc = IPAddress(exporter)!
            let p = IPPrefix(prefix)!
            k.dstNet = p.address
            k.dstMask = p.length
            rows[BinnedKey(key: k, bin: UInt32(binStart)), default: Counters()].add(Counters(packets: 1, bytes: bytes, flows: 1))
        }
        let s = 1_764_547_200
        add("192.0.2.1", "198.51.100.0/24", s, 1)             // the bin before the change's: no
        add("192.0.2.1", "198.51.100.0/24", s + 60, 10)       // the change's bin
        add("192.0.2.254", "198.51.100.0/24", s + 120, 100)   // by BGP identifier
        add("192.0.2.1", "198.51.100.0/24", s + 660, 1_000)   // starts 570 s after the change
        add("192.0.2.1", "198.51.100.0/24", s + 720, 10_000)  // 630 s after: no
        add("192.0.2.1", "198.51.0.0/16", s + 60, 100_000)    // another prefix: no
        add("192.0.2.2", "198.51.100.0/24", s + 60, 1_000_000) // another router: no
        #expect(history.shiftedBytes([DrainedRows(rows: rows)], binSeconds: 60, now: t + 30) == 1_110)
        // Long after, the change is forgotten.
        #expect(history.shiftedBytes([DrainedRows(rows: rows)], binSeconds: 60, now: t + 5_000) == 0)
        #expect(history.state.withLockedValue { $0.recent.isEmpty })
    }
}
