import Aggregation
import Benchmark
import Foundation
import NetCore
import Storage

/// The cost of a flush into SQLite with and without the daily rollup: a matrix view
/// (peer_src_ip, in_iface, peer_dst_as), every key in every 5-minute bin. Each iteration writes
/// the next bin of the same day, so the rollup's rows (one per key and day) already exist and
/// their bin lists grow, as in a running collector. Early: 100,000 keys, the setup writes the
/// day's first bin. Late: 10,000 keys, the setup writes the day's first 270 bins, so each
/// rollup row's list (270+ bins, 3.2 KB) is rewritten by every flush. Flush time per row = one
/// iteration's wall clock / keys.

let matrix: [Primitive] = [.peerSrcIP, .inIface, .peerDstAS]
let day = 1_793_491_200  // 2026-11-01 00:00:00 UTC

func rows(bin: Int, routers: Int) -> [BinnedKey: Counters] {
    var rows: [BinnedKey: Counters] = [:]
    rows.reserveCapacity(routers * 1_000)
    for router in 0..<routers {
        for iface in 0..<20 {
            for asn in 0..<50 {
                var k = FlowKey()
                k.peerSrc = IPAddress("10.1.\(router / 250).\(router % 250 + 1)")!
                k.inIface = UInt32(500 + iface * 37)
                k.peerDstAS = UInt32(64_500 + asn)
                rows[BinnedKey(key: k, bin: UInt32(bin))] = Counters(packets: 10, bytes: UInt64(9_000 + router + asn), flows: 2)
            }
        }
    }
    return rows
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        maxDuration: .seconds(30),
        maxIterations: 8
    )
    for (routers, setupBins) in [(100, 1), (10, 270)] {
      for rollup in [false, true] {
        let name = setupBins == 1 ? "early in the day" : "late in the day"
        // The late setup takes tens of seconds: give it room for several measured flushes.
        let configuration = Benchmark.Configuration(maxDuration: .seconds(setupBins == 1 ? 30 : 120), maxIterations: setupBins == 1 ? 8 : 5)
        Benchmark("Flush of \(routers)k matrix rows, \(name), rollup \(rollup ? "on" : "off")", configuration: configuration) { benchmark in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-flush-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let store = try SQLiteStore(path: dir.appendingPathComponent("flush.db").path)
            try store.prepare(try TableSchema(table: "matrix", primitives: matrix, tableVersion: nil, numericProtocols: false),
                              rollup: rollup, utc: true)
            for b in 0..<setupBins {
                try store.write(table: "matrix", rows: rows(bin: day + b * 300, routers: routers), now: day + b * 300 + 300, utc: true)
            }
            for i in benchmark.scaledIterations {
                let bin = day + (setupBins + i) * 300
                let batch = rows(bin: bin, routers: routers)
                benchmark.startMeasurement()
                let result = try store.write(table: "matrix", rows: batch, now: bin + 300, utc: true)
                benchmark.stopMeasurement()
                blackHole(result.rows)
            }
        }
      }
    }
}
