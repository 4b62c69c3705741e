import Aggregation
import Foundation
import NetCore
@testable import Reports
@testable import Storage
import Testing

/// `report demands`: each pair's own percentile, against a brute-force computation on a random
/// table, and the pyNTM and CSV forms.
@Suite struct DemandsTests {
    @Test(arguments: [7, 8, 9])
    func eachPairsOwnPercentile(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let bin = 300, bins = 30, start = ReportsTests.start
        var rows: [BinnedKey: Counters] = [:]
        // (router, interface, next-hop) -> bytes per bin
        var truth: [String: [Int64]] = [:]
        var truthByRouter: [String: [Int64]] = [:]
        for _ in 0..<200 {
            let router = "192.0.2.\(1 + random(3))", iface = 1 + random(2), hop = "10.0.0.\(1 + random(4))", b = random(bins)
            let bytes = Int64(1 + random(1_000_000))
            var k = FlowKey()
            k.peerSrc = IPAddress(router)!
            k.inIface = UInt32(iface)
            k.peerDst = IPAddress(hop)!
            k.peerDstAS = 65_000
            rows[BinnedKey(key: k, bin: UInt32(start + b * bin)), default: Counters()].add(Counters(packets: 1, bytes: UInt64(bytes), flows: 1))
            truth["\(router)/\(iface)|\(hop)", default: [Int64](repeating: 0, count: bins)][b] += bytes
            truthByRouter["\(router)|\(hop)", default: [Int64](repeating: 0, count: bins)][b] += bytes
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-demands-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("d.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(
            table: "m", primitives: [.peerSrcIP, .inIface, .peerDstIP, .peerDstAS], tableVersion: nil, numericProtocols: false))
        try store.write(table: "m", rows: rows, now: start + bins * bin, utc: true)
        // The range: every bin of the table, first to last with traffic.
        let source = try ReportSource(path: path, table: "m", binSeconds: bin, utc: true)
        func nearestRank(_ v: [Int64], _ p: Double, count: Int) -> Double {
            let sorted = (v + [Int64](repeating: 0, count: max(0, count - v.count))).sorted()
            let rank = Int((p * Double(count) / 100).rounded(.up))
            return Double(sorted[rank - 1]) * 8 / Double(bin)
        }
        for (columns, want) in [(["peer_ip_src"], truthByRouter), (["peer_ip_src", "iface_in"], truth)] {
            for p in [95.0, 50.0] {
                let (demands, b) = try Demands.compute(source, from: columns, to: "peer_ip_dst", percentile: p, query: ReportQuery())
                let count = b.grid.count
                #expect(demands.count == want.count)
                for d in demands {
                    let series = try #require(want["\(d.source)|\(d.destination)"])
                    // The bins with traffic, the rest of the range's bins as zeros.
                    #expect(d.percentileBitsPerSecond == nearestRank(series.filter { $0 != 0 }, p, count: count), "\(d.source) → \(d.destination)")
                    #expect(d.bytes == series.reduce(0, +))
                }
                #expect(demands.map(\.percentileBitsPerSecond) == demands.map(\.percentileBitsPerSecond).sorted(by: >))
            }
        }
        let (demands, b) = try Demands.compute(source, from: ["peer_ip_src"], to: "peer_ip_dst", percentile: 95, query: ReportQuery())
        // pyNTM: the section header, its columns, one tab-separated line per pair in Mbit/s.
        let model = Demands.pyNTM(demands, unit: 1e6).split(separator: "\n").map(String.init)
        #expect(model[0] == "DEMANDS_TABLE" && model[1] == "source\tdest\ttraffic\tname")
        #expect(model.count == demands.count + 2)
        let first = model[2].split(separator: "\t").map(String.init)
        #expect(first[0] == demands[0].source && first[1] == demands[0].destination && first[3] == "\(first[0])___\(first[1])")
        // Whole units, rounded up (pyNTM reads integers).
        #expect(first[2] == String(Int((demands[0].percentileBitsPerSecond / 1e6).rounded(.up))))
        let csv = Demands.table(demands, b, percentile: 95, sourceName: "peer_ip_src", destinationName: "peer_ip_dst").render(.csv)
        #expect(csv.hasPrefix("source,dest,p95_bps,avg_bps,peak_bps,bytes\n"))
        // HTML: a bar per pair, named by its source and destination, the p95 drawn.
        let html = Demands.table(demands, b, percentile: 95, sourceName: "peer_ip_src", destinationName: "peer_ip_dst").render(.html)
        #expect(html.contains("<svg") && html.contains("source=\(demands[0].source) · dest=\(demands[0].destination)"))
    }
}
