import Aggregation
import Foundation
import NetCore
@testable import Reports
@testable import Storage
import TestServers
import Testing

/// `report capacity --counters`: ports' speeds and utilisation from sFlow interface counters,
/// beside the flows of the same port.
@Suite struct InterfaceCapacityTests {
    static let bin = 300
    static let start = 1_764_547_200  // 2025-12-01 00:00:00 UTC

    @Test func speedsAndUtilisationFromTheCounters() throws {
        let source = try ReportSource(path: try ReportFixtures.interfaceDatabase(), table: "flows", binSeconds: nil, utc: true)
        let table = try Reports.interfaceCapacity(source, query: ReportQuery(), threshold: 0.8, now: Self.start)
        let csv = table.render(.csv).split(separator: "\n").map(String.init)
        #expect(table.rows.count == 4, "\(csv)")
        let json = table.render(.json)
        #expect(csv[0] == "name,capacity,avg_util,p95_util,peak_util,p95_bps,trend_bps_per_day,runout,flow_p95_bps,flow_coverage")
        // In: 150 MB in every 300 s bin: 4 Mbit/s, 0.4 % of 1 Gbit/s throughout, flat. The flows:
        // 1.5 MB per bin, 40 kbit/s, 1 % of the counters' bytes.
        #expect(csv[1] == "192.0.2.1 ifIndex 3 in,1000000000,0.40,0.40,0.40,4000000,0,-,40000,1.00", "\(csv[1])")
        // Out: 50 MB in each of the first 6 of 12 bins (1,333,333 bit/s); the p95 (the 12th of 12
        // by nearest rank) is that rate, the average half of it; falling; no flow has iface_out 3.
        #expect(csv[2].hasPrefix("192.0.2.1 ifIndex 3 out,1000000000,0.07,0.13,0.13,1333333,-"), "\(csv[2])")
        #expect(csv[2].hasSuffix(",-,0,0.00"), "\(csv[2])")
        // No speed: no capacity, no utilisation.
        #expect(csv[3].hasPrefix("192.0.2.1 ifIndex 4 in,-,-,-,-,"), "\(csv[3])")
        #expect(json.contains("\"flow_coverage\""))
    }

    @Test func aFileWithoutCountersSaysSo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-ifcap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("n.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "flows", primitives: [.peerSrcIP], tableVersion: nil, numericProtocols: false))
        var k = FlowKey()
        k.peerSrc = IPAddress("192.0.2.1")!
        try store.write(table: "flows", rows: [BinnedKey(key: k, bin: UInt32(Self.start)): Counters(packets: 1, bytes: 1, flows: 1)],
                        now: Self.start, utc: true)
        let source = try ReportSource(path: path, table: "flows", binSeconds: 300, utc: true)
        #expect(throws: ReportSource.Error.self) { try Reports.interfaceCapacity(source, query: ReportQuery(), threshold: 0.8, now: 0) }
    }
}
