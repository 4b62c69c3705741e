import Aggregation
import Foundation
import NetCore
import Storage

/// Databases written by the collector's own store that several test targets report on: the
/// reports' own tests and the console's, which must give the same tables.
public enum ReportFixtures {
    public static let bin = 300
    public static let start = 1_764_547_200  // 2025-12-01 00:00:00 UTC

    public static let whatIfPrimitives: [Primitive] = [.peerSrcIP, .dstNet, .dstMask, .peerDstIP, .peerDstAS]

    /// The rows of `whatIfDatabase`'s prefixes table.
    public static func whatIfRows() -> [BinnedKey: Counters] {
        func key(_ net: String, _ hop: String, _ asn: UInt32) -> FlowKey {
            var k = FlowKey()
            k.peerSrc = IPAddress("192.0.2.1")!
            k.dstNet = IPAddress(net)!
            k.dstMask = 24
            k.peerDst = IPAddress(hop)!
            k.peerDstAS = asn
            return k
        }
        var rows: [BinnedKey: Counters] = [:]
        for i in 0..<4 {
            let b = UInt32(start + i * bin)
            rows[BinnedKey(key: key("198.51.100.0", "10.0.0.1", 65001), bin: b)] = Counters(packets: 1, bytes: 1_000, flows: 1)
            rows[BinnedKey(key: key("203.0.113.0", "10.0.0.1", 65001), bin: b)] = Counters(packets: 1, bytes: 500, flows: 1)
            rows[BinnedKey(key: key("192.0.2.0", "10.0.0.2", 65002), bin: b)] = Counters(packets: 1, bytes: 200, flows: 1)
        }
        return rows
    }

    /// Table `prefixes` and the RIB snapshot: router 192.0.2.1 reaches 198.51.100.0/24 by
    /// 10.0.0.1 (best) or 10.0.0.2, 203.0.113.0/24 by 10.0.0.1 only, 192.0.2.0/24 by 10.0.0.2;
    /// four bins of traffic to each.
    public static func whatIfDatabase() throws -> String {
        let path = try directory("pathflow-whatif").appendingPathComponent("w.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "prefixes", primitives: whatIfPrimitives, tableVersion: nil, numericProtocols: false))
        let rows = whatIfRows()
        try store.write(table: "prefixes", rows: rows, now: start + 4 * bin, utc: true)
        let writer = try RIBSnapshotWriter(store: store, stamp: "2025-12-01 00:20:00")
        func snapshot(_ net: String, _ rank: Int, _ hop: String, _ asn: Int64) -> RIBSnapshotRow {
            RIBSnapshotRow(router: "192.0.2.1", bgpID: "192.0.2.1", net: net, mask: 24, pathID: Int64(rank + 1), rank: rank,
                           nextHop: hop, peerAS: asn, originAS: asn, asPath: "\(asn)", localPref: 100, med: 0)
        }
        try writer.append([snapshot("198.51.100.0", 1, "10.0.0.2", 65002), snapshot("198.51.100.0", 0, "10.0.0.1", 65001)])
        try writer.append([snapshot("203.0.113.0", 0, "10.0.0.1", 65001), snapshot("192.0.2.0", 0, "10.0.0.2", 65002)])
        try writer.commit()
        return path
    }

    public static let interfacePrimitives: [Primitive] = [.peerSrcIP, .inIface, .outIface]

    /// Twelve 5-minute bins. Agent 192.0.2.1 port 3 (1 Gbit/s): the counters show 30 MB in per
    /// minute (so 150 MB per bin), and 10 MB out per minute only in the first six bins; its
    /// flows, sampled 1 in 100 and not renormalised, carry 1.5 MB in per bin. Port 4 has
    /// counters but no speed.
    public static func interfaceRows() -> (flows: [BinnedKey: Counters], counters: [InterfaceCountersRow]) {
        var rows: [BinnedKey: Counters] = [:]
        var counters: [InterfaceCountersRow] = []
        for i in 0..<12 {
            var k = FlowKey()
            k.peerSrc = IPAddress("192.0.2.1")!
            k.inIface = 3
            k.outIface = 9
            rows[BinnedKey(key: k, bin: UInt32(start + i * bin))] = Counters(packets: 1_000, bytes: 1_500_000, flows: 10)
            for m in 0..<5 {
                var r = InterfaceCountersRow(agent: "192.0.2.1", ifIndex: 3, minute: start + i * bin + m * 60)
                r.ifSpeed = 1_000_000_000
                r.inBytes = 30_000_000
                r.outBytes = i < 6 ? 10_000_000 : 0
                r.samples = 2
                counters.append(r)
                var other = InterfaceCountersRow(agent: "192.0.2.1", ifIndex: 4, minute: start + i * bin + m * 60)
                other.inBytes = 1_000
                counters.append(other)
            }
        }
        return (rows, counters)
    }

    /// Table `flows` with `interfaceRows`' flows, and their interface counters.
    public static func interfaceDatabase() throws -> String {
        let path = try directory("pathflow-ifcap").appendingPathComponent("f.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "flows", primitives: interfacePrimitives, tableVersion: nil, numericProtocols: false))
        let (rows, counters) = interfaceRows()
        try store.write(table: "flows", rows: rows, now: start + 12 * bin, utc: true)
        try InterfaceCountersTable.write(counters, into: store, now: start + 12 * bin, utc: true)
        return path
    }

    /// A fresh directory for one test's files.
    public static func directory(_ prefix: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
