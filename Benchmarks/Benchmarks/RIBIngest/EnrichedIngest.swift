import Aggregation
import Benchmark
import Enrichment
import FlowWire
import Foundation
import IngestStream
import NetCore
import RIB

/// End-to-end enriched ingest on one core: IPFIX datagrams of 20 records from the router whose
/// RIB holds the `RIBTable` (1,000,000 prefixes × 4 paths) are decoded, mapped to their paths
/// (router selection, batched lookup, next-hop match, attribute texts) and aggregated into the
/// standard matrix [peer_src_ip, in_iface, peer_dst_ip, peer_dst_as] in 5-minute bins.
/// Destinations are random hosts of random announced prefixes; next-hops one of each prefix's
/// four, so every record is an exact match. One pass = 2,000,000 records.
let enrichedRecords = 2_000_000
let enrichedStream: IngestStream = {
    var random = SplitMix64(seed: 4242)
    return IngestStream(records: enrichedRecords) { n in
        let prefix = table.prefixes[Int(random.next() % UInt64(table.prefixes.count))]
        let host = UInt32(truncatingIfNeeded: random.next()) & ~(UInt32.max << (32 - UInt32(prefix.length)))
        var r = FlowRecord()
        r.srcAddr = IPAddress(v4: 0x6440_0000 | UInt32(n & 0xffff))
        r.dstAddr = IPAddress(v4: prefix.address | host)
        r.bgpNextHop = IPAddress(v4: 0x0a00_0000 | UInt32(1 + random.next() % 4))
        r.inIface = UInt32(1 + n % 48)
        r.srcPort = UInt16(1024 + n % 60_000)
        r.dstPort = 443
        r.proto = 6
        r.packets = UInt64(1 + n % 7)
        r.bytes = r.packets * UInt64(64 + n % 1400)
        r.startSeconds = 1_700_000_000
        r.endSeconds = 1_700_000_000
        return r
    }
}()

let matrix: [Primitive] = [.peerSrcIP, .inIface, .peerDstIP, .peerDstAS]

/// Decodes, enriches and aggregates the stream once; returns the seconds it took.
func enrichedPass(_ enricher: Enricher, _ decoder: inout FlowDecoder, _ view: inout View, _ out: inout [FlowRecord]) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    for datagram in enrichedStream.datagrams {
        out.removeAll(keepingCapacity: true)
        _ = datagram.withUnsafeBytes { decoder.decode($0, from: peer.address, into: &out) }
        enricher.enrich(&out)
        view.add(contentsOf: out, arrival: 1_700_000_000)
    }
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func enrichedBenchmarks() {
    let recordsPerSecond = BenchmarkMetric.custom("records/s", polarity: .prefersLarger, useScalingFactor: false)
    let writerPerSecond = BenchmarkMetric.custom("flap paths/s", polarity: .prefersLarger, useScalingFactor: false)

    for flapping in [false, true] {
        let name = flapping
            ? "Enriched ingest, 1M-prefix RIB, another router's full table flapping (2M records)"
            : "Enriched ingest: decode + BGP path + matrix, 1M-prefix RIB (2M records)"
        Benchmark(name, configuration: .init(
            metrics: [.wallClock, .cpuTotal, recordsPerSecond] + (flapping ? [writerPerSecond] : []), maxIterations: 5)
        ) { benchmark in
            let (rib, _) = loadedRIB()
            var settings = Enricher.Settings()
            settings.asSource = .bgp
            settings.netSource = .bgp
            let enricher = Enricher(rib: rib, texts: TextPool(), settings: settings)
            var decoder = FlowDecoder()
            let binning = TimeBinning(unit: .minutes, count: 5, roundoff: "m", now: 1_700_000_000)
            var view = View(ViewDefinition(name: "matrix", primitives: matrix, binning: binning))
            var out: [FlowRecord] = []
            out.reserveCapacity(64)
            // Warm up: the first pass sizes the view's table and the attribute-text cache.
            _ = enrichedPass(enricher, &decoder, &view, &out)
            precondition(enricher.matches[Int(PathMatchCode.exact.rawValue)] == UInt64(enrichedRecords))
            blackHole(view.drain().count)

            // The flap: a second router sends the whole table, then its session drops, again and
            // again (at most 20 times) until the pass ends.
            let control = WriterControl()
            let finished = DispatchSemaphore(value: 0)
            if flapping {
                let updates = decodedUpdates
                let other = PeerIdentity(address: IPAddress(v4: 0x0a00_00fd), bgpID: 0x0a00_00fd, asn: 65000)
                Thread {
                    var paths = 0
                    outer: for _ in 0..<20 {
                        let router = rib.addRouter(other)
                        for update in updates {
                            if control.stop.load(ordering: .relaxed) { rib.removeRouter(router); break outer }
                            paths += rib.apply(update, to: router).announced
                        }
                        rib.removeRouter(router)
                    }
                    control.applied.store(paths, ordering: .relaxed)
                    finished.signal()
                }.start()
            }
            benchmark.startMeasurement()
            let seconds = enrichedPass(enricher, &decoder, &view, &out)
            benchmark.stopMeasurement()
            if flapping {
                control.stop.store(true, ordering: .relaxed)
                finished.wait()
                benchmark.measurement(writerPerSecond, Int(Double(control.applied.load(ordering: .relaxed)) / seconds))
            }
            precondition(enricher.matches[Int(PathMatchCode.exact.rawValue)] == UInt64(2 * enrichedRecords))
            benchmark.measurement(recordsPerSecond, Int(Double(enrichedRecords) / seconds))
            blackHole(view.rowCount)
        }
    }
}
