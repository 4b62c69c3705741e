import Aggregation
import Benchmark
import FlowWire
import IngestStream
import NetCore

/// Decode and aggregate throughput on one core: IPFIX datagrams of 20 records, as flowgen
/// sends them, through a decoder and the tutorial's 5-tuple view with 1-minute bins.
/// One benchmark iteration = one pass over a prepared stream of 2,000,000 records, so
/// records per second = 2,000,000 / (wall clock seconds of one iteration).

let fiveTuple: [Primitive] = [.srcHost, .dstHost, .srcPort, .dstPort, .proto]
let exporter = IngestStream.exporter

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        maxDuration: .seconds(4),
        maxIterations: 10
    )

    for keys in [10_000, 1_000_000] {
        let records = 2_000_000
        let stream = IngestStream(keys: keys, records: records)

        Benchmark("IPFIX decode, \(keys) keys (2M records)") { benchmark in
            var decoder = FlowDecoder()
            var out: [FlowRecord] = []
            out.reserveCapacity(64)
            var total = 0
            benchmark.startMeasurement()
            for datagram in stream.datagrams {
                out.removeAll(keepingCapacity: true)
                total += datagram.withUnsafeBytes { decoder.decode($0, from: exporter, into: &out) }.records
            }
            benchmark.stopMeasurement()
            precondition(total == records)
            blackHole(total)
        }

        Benchmark("IPFIX decode + 5-tuple aggregate, \(keys) keys (2M records)") { benchmark in
            var decoder = FlowDecoder()
            let binning = TimeBinning(unit: .minutes, count: 1, roundoff: "m", now: 1_700_000_000)
            var view = View(ViewDefinition(name: "acct", primitives: fiveTuple, binning: binning))
            var out: [FlowRecord] = []
            out.reserveCapacity(64)
            func pass() {
                for datagram in stream.datagrams {
                    out.removeAll(keepingCapacity: true)
                    _ = datagram.withUnsafeBytes { decoder.decode($0, from: exporter, into: &out) }
                    view.add(contentsOf: out, arrival: 1_700_000_000)
                }
            }
            // Steady state: a first interval sizes the table, a flush drains it, the
            // measured interval then fills a table of the same size, as in a running collector.
            pass()
            blackHole(view.drain().count)
            benchmark.startMeasurement()
            pass()
            benchmark.stopMeasurement()
            precondition(view.rowCount == keys)
            blackHole(view.rowCount)
        }
    }
}
