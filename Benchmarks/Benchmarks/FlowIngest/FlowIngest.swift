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
            steadyState(benchmark, datagrams: stream.datagrams, keys: keys) { datagram, out in
                _ = datagram.withUnsafeBytes { decoder.decode($0, from: exporter, into: &out) }
            }
        }
    }

    // sFlow: flow samples with 128-byte raw headers, 8 per datagram, through the sFlow decoder
    // (the shared packet parser) and the same view. samples per second = 2,000,000 / seconds.
    for keys in [10_000, 1_000_000] {
        let samples = 2_000_000
        let stream = SFlowStream(keys: keys, samples: samples)
        Benchmark("sFlow decode + 5-tuple aggregate, \(keys) keys (2M samples)") { benchmark in
            var decoder = SFlowDecoder()
            var counters: [InterfaceCounters] = []
            var counts = SFlowOutcome()
            steadyState(benchmark, datagrams: stream.datagrams, keys: keys) { datagram, out in
                _ = datagram.withUnsafeBytes {
                    decoder.decode($0, from: SFlowStream.exporter, now: 1_700_000_000, into: &out, counters: &counters, sflow: &counts)
                }
            }
            precondition(counts.flowSamples == 2 * samples)
        }
    }
}

/// Decodes `datagrams` with `decode` into the 5-tuple view with 1-minute bins, in the steady
/// state: a first pass sizes the table, a drain empties it as a flush would, and the measured
/// pass fills a table of the same size again, as in a running collector.
func steadyState(
    _ benchmark: Benchmark, datagrams: [[UInt8]], keys: Int, decode: ([UInt8], inout [FlowRecord]) -> Void
) {
    let binning = TimeBinning(unit: .minutes, count: 1, roundoff: "m", now: 1_700_000_000)
    var view = View(ViewDefinition(name: "acct", primitives: fiveTuple, binning: binning))
    var out: [FlowRecord] = []
    out.reserveCapacity(64)
    func pass() {
        for datagram in datagrams {
            out.removeAll(keepingCapacity: true)
            decode(datagram, &out)
            view.add(contentsOf: out, arrival: 1_700_000_000)
        }
    }
    pass()
    blackHole(view.drain().count)
    benchmark.startMeasurement()
    pass()
    benchmark.stopMeasurement()
    precondition(view.rowCount == keys)
    blackHole(view.rowCount)
}
