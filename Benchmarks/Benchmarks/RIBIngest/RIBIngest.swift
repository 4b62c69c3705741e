import BGPWire
import Benchmark
import Foundation
import NetCore
import NIOCore
import RIB
import Synchronization

/// RIB ingest, memory and lookups on the table described in `RIBTable` (1,000,000 IPv4 prefixes
/// × 4 ADD-PATH paths, one router).
///
/// - ingest: `apply()` of the pre-decoded UPDATEs into an empty RIB on one core; the custom
///   metric is paths per second.
/// - memory: the table built from wire bytes (each UPDATE decoded, applied and dropped), so what
///   stays allocated is the RIB. `memoryLeakedBytes` is the net of bytes requested from malloc
///   during the build (divide by 4,000,000 for bytes per path); the custom metrics divide the
///   RSS growth and the RIB's own count of its tables by the paths.
/// - lookups: 1,000,000 flows (`makeLookups`) looked up ten times over, 1,000 per `read` (64
///   in the run with a writer, as enrichment reads per datagram rather than per thousand): the
///   source side's best path (no next-hop, LPM only) and `match()` with next-hops, through the
///   batched `match(_:into:)`; `match()` one call per flow for comparison; and batched
///   `match()` while another thread applies a stream of UPDATEs as fast as it can (implicit
///   replaces: 200,000 of the table's UPDATEs with LOCAL_PREF raised by one, then as sent).

let table = RIBTable()
/// Decoded once, on first use, by the ingest benchmark only.
let decodedUpdates = table.decodedUpdates()
let peer = PeerIdentity(address: IPAddress(v4: 0x0a00_00fe), bgpID: 0x0a00_00fe, asn: 65000)

/// A RIB holding the whole table, built from wire bytes.
func loadedRIB() -> (RIB, RouterID) {
    let rib = RIB()
    let router = rib.addRouter(peer)
    for body in table.updates { rib.apply(RIBTable.decode(body), to: router) }
    return (rib, router)
}

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
          let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func perSecond(_ count: Int, _ elapsed: Duration) -> Int {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Int(Double(count) / seconds)
}

final class WriterControl: Sendable {
    let stop = Atomic<Bool>(false)
    let applied = Atomic<Int>(0)
}

/// 1,000,000 flows: each destination inside a random announced prefix, each next-hop one of
/// the four (so every lookup is an exact match, on the best path a quarter of the time); with
/// `nextHop: false` the flows carry none (the source side's best-path lookup).
func makeLookups(count: Int, router: RouterID, nextHop: Bool) -> [FlowLookup] {
    var random = SplitMix64(seed: 77)
    return (0..<count).map { _ in
        let prefix = table.prefixes[Int(random.next() % UInt64(table.prefixes.count))]
        let host = UInt32(truncatingIfNeeded: random.next()) & ~(UInt32.max << (32 - UInt32(prefix.length)))
        let hop = IPAddress(v4: 0x0a00_0000 | UInt32(1 + random.next() % 4))
        return FlowLookup(destination: IPAddress(v4: prefix.address | host), nextHop: nextHop ? hop : IPAddress(high: 0, low: 0, family: .none), router: router)
    }
}

/// Looks every flow up `rounds` times, one read lock per `batch`; returns lookups per second.
/// `batched`: through `match(_:into:)`; otherwise one `match(destination:nextHop:router:)` each.
func lookups(_ rib: RIB, _ flows: [FlowLookup], rounds: Int, batched: Bool, batch: Int = 1_000) -> Int {
    var sink: UInt32 = 0
    let results = UnsafeMutableBufferPointer<PathMatch>.allocate(capacity: batch)
    defer { results.deallocate() }
    let clock = ContinuousClock()
    let start = clock.now
    flows.withUnsafeBufferPointer { all in
        for _ in 0..<rounds {
            var i = 0
            while i < all.count {
                let end = min(all.count, i + batch)
                let part = UnsafeBufferPointer(rebasing: all[i..<end])
                sink &+= rib.read { r in
                    var s: UInt32 = 0
                    if batched {
                        r.match(part, into: results)
                        for j in 0..<part.count { s &+= results[j].path?.pathID ?? 0 }
                    } else {
                        for q in part { s &+= r.match(destination: q.destination, nextHop: q.nextHop, router: q.router).path?.pathID ?? 0 }
                    }
                    return s
                }
                i = end
            }
        }
    }
    let elapsed = clock.now - start
    blackHole(sink)
    return perSecond(flows.count * rounds, elapsed)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        warmupIterations: 0,
        maxDuration: .seconds(30),
        maxIterations: 5
    )
    enrichedBenchmarks()
    let pathsPerSecond = BenchmarkMetric.custom("paths/s", polarity: .prefersLarger, useScalingFactor: false)
    let updatesPerSecond = BenchmarkMetric.custom("UPDATEs/s", polarity: .prefersLarger, useScalingFactor: false)
    let lookupsPerSecond = BenchmarkMetric.custom("lookups/s", polarity: .prefersLarger, useScalingFactor: false)
    let writerPerSecond = BenchmarkMetric.custom("writer paths/s", polarity: .prefersLarger, useScalingFactor: false)

    Benchmark("UPDATE decode, 1M prefixes x 4 paths", configuration: .init(
        metrics: [.wallClock, .cpuTotal, pathsPerSecond, updatesPerSecond], warmupIterations: 1)
    ) { benchmark in
        // As the speaker has them: message bodies in ByteBuffers, framed off the socket.
        let bodies = table.updates.map { ByteBuffer(bytes: $0) }
        let clock = ContinuousClock()
        var paths = 0
        benchmark.startMeasurement()
        let start = clock.now
        for body in bodies { paths += (try! Update.decode(body, context: RIBTable.context)).announced.count }
        let elapsed = clock.now - start
        benchmark.stopMeasurement()
        precondition(paths == table.pathCount)
        benchmark.measurement(pathsPerSecond, perSecond(paths, elapsed))
        benchmark.measurement(updatesPerSecond, perSecond(bodies.count, elapsed))
    }

    Benchmark("RIB ingest, 1M prefixes x 4 paths", configuration: .init(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident, pathsPerSecond], warmupIterations: 1)
    ) { benchmark in
        let updates = decodedUpdates
        let rib = RIB()
        let router = rib.addRouter(peer)
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        for update in updates { rib.apply(update, to: router) }
        let elapsed = clock.now - start
        benchmark.stopMeasurement()
        let held = rib.read { r in r.statistics.paths }
        precondition(held == table.pathCount)
        benchmark.measurement(pathsPerSecond, perSecond(held, elapsed))
    }

    // Churn on a full table: the table announced again (every route an implicit replace, no
    // best path changing), then every path of one path id withdrawn (best paths move), with and
    // without recording best-path changes (what a router past its End-of-RIB costs).
    let changesRecorded = BenchmarkMetric.custom("changes", useScalingFactor: false)
    for recording in [false, true] {
        Benchmark("RIB churn on a full table, 1M prefixes x 4 paths, \(recording ? "recording" : "not recording") best-path changes",
                  configuration: .init(metrics: [.wallClock, .cpuTotal, pathsPerSecond, changesRecorded], warmupIterations: 0,
                                       maxIterations: 3)
        ) { benchmark in
            let updates = decodedUpdates
            let rib = RIB()
            let router = rib.addRouter(peer)
            for update in updates { rib.apply(update, to: router) }
            let withdrawnID = updates[0].announced[0].pathID
            let withdrawals = updates.map { u -> Update in
                var w = Update()
                w.withdrawn = u.announced.filter { $0.pathID == withdrawnID }
                return w
            }
            var changes: [BestPathChange] = []
            var recorded = 0
            let clock = ContinuousClock()
            benchmark.startMeasurement()
            let start = clock.now
            for batch in [updates, withdrawals] {
                for update in batch {
                    if recording {
                        changes.removeAll(keepingCapacity: true)
                        rib.apply(update, to: router, changes: &changes)
                        recorded += changes.count
                    } else {
                        rib.apply(update, to: router)
                    }
                }
            }
            let elapsed = clock.now - start
            benchmark.stopMeasurement()
            let routes = updates.reduce(0) { $0 + $1.announced.count } + withdrawals.reduce(0) { $0 + $1.withdrawn.count }
            benchmark.measurement(pathsPerSecond, perSecond(routes, elapsed))
            benchmark.measurement(changesRecorded, recorded)
        }
    }

    let bytesPerPathRSS = BenchmarkMetric.custom("bytes/path (RSS)", useScalingFactor: false)
    let bytesPerPathTables = BenchmarkMetric.custom("bytes/path (RIB tables)", useScalingFactor: false)
    let attributeSets = BenchmarkMetric.custom("attribute sets", useScalingFactor: false)

    Benchmark("RIB memory, 1M prefixes x 4 paths", configuration: .init(
        metrics: [.wallClock, .memoryLeakedBytes, .peakMemoryResidentDelta, bytesPerPathRSS, bytesPerPathTables, attributeSets],
        maxIterations: 1)
    ) { benchmark in
        _ = table.updates.count
        let before = residentBytes()
        benchmark.startMeasurement()
        let (rib, _) = loadedRIB()
        benchmark.stopMeasurement()
        let grown = residentBytes() - before
        let stats = rib.read { r in r.statistics }
        precondition(stats.paths == table.pathCount)
        benchmark.measurement(bytesPerPathRSS, grown / stats.paths)
        benchmark.measurement(bytesPerPathTables, stats.tableBytes / stats.paths)
        benchmark.measurement(attributeSets, stats.attributeSets)
        blackHole(rib)
    }

    let flowCount = 1_000_000
    let rounds = 10
    let lookupVariants: [(String, Bool, Bool)] = [
        ("best path of the LPM, batched", false, true),
        ("match() with next-hops, batched", true, true),
        ("match() with next-hops, one at a time", true, false),
    ]
    for (name, nextHop, batched) in lookupVariants {
        Benchmark("RIB lookups, \(name) (10M)", configuration: .init(
            metrics: [.wallClock, .cpuTotal, lookupsPerSecond])
        ) { benchmark in
            let (rib, router) = loadedRIB()
            let flows = makeLookups(count: flowCount, router: router, nextHop: nextHop)
            let kinds = rib.read { r in Set(r.match(Array(flows.prefix(10_000))).map(\.kind)) }
            precondition(kinds == [nextHop ? .exact : .best])
            benchmark.startMeasurement()
            let rate = lookups(rib, flows, rounds: rounds, batched: batched)
            benchmark.stopMeasurement()
            benchmark.measurement(lookupsPerSecond, rate)
        }
    }

    Benchmark("RIB lookups, longest-prefix match only, batched (10M)", configuration: .init(
        metrics: [.wallClock, .cpuTotal, lookupsPerSecond])
    ) { benchmark in
        let (rib, router) = loadedRIB()
        let addresses = makeLookups(count: flowCount, router: router, nextHop: false).map(\.destination.v4Value)
        let batch = 1_000
        let lengths = UnsafeMutableBufferPointer<Int8>.allocate(capacity: batch)
        defer { lengths.deallocate() }
        // Every address lies in an announced prefix: check a sample against the table.
        rib.read { r in
            addresses.withUnsafeBufferPointer { r.longestPrefixLengths(UnsafeBufferPointer(rebasing: $0[0..<batch]), router: router, into: lengths) }
            for j in 0..<batch {
                precondition(r.longestMatch(IPAddress(v4: addresses[j]), router: router)?.prefix.length == UInt8(lengths[j]))
            }
        }
        var sink = 0
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        addresses.withUnsafeBufferPointer { all in
            for _ in 0..<rounds {
                var i = 0
                while i < all.count {
                    let end = min(all.count, i + batch)
                    sink &+= rib.read { r in
                        r.longestPrefixLengths(UnsafeBufferPointer(rebasing: all[i..<end]), router: router, into: lengths)
                        var s = 0
                        for j in 0..<(end - i) { s &+= Int(lengths[j]) }
                        return s
                    }
                    i = end
                }
            }
        }
        let elapsed = clock.now - start
        benchmark.stopMeasurement()
        blackHole(sink)
        benchmark.measurement(lookupsPerSecond, perSecond(addresses.count * rounds, elapsed))
    }

    Benchmark("RIB lookups, match() batched, writer streaming UPDATEs (10M)", configuration: .init(
        metrics: [.wallClock, .cpuTotal, lookupsPerSecond, writerPerSecond])
    ) { benchmark in
        let (rib, router) = loadedRIB()
        let flows = makeLookups(count: flowCount, router: router, nextHop: true)
        // The stream: 200,000 of the table's UPDATEs with LOCAL_PREF raised by one, so each is an
        // implicit replace of its paths with a new attribute set; then the originals back.
        let originals = Array(table.updates.prefix(200_000))
        let changed = originals.map { body -> Update in
            var update = RIBTable.decode(body)
            update.attributes.localPref = (update.attributes.localPref ?? 100) + 1
            return update
        }
        let stream = changed + originals.map(RIBTable.decode)
        let control = WriterControl()
        let finished = DispatchSemaphore(value: 0)
        let writer = Thread {
            var paths = 0
            // Bounded: 50 passes over the stream at most.
            outer: for _ in 0..<50 {
                for update in stream {
                    if control.stop.load(ordering: .relaxed) { break outer }
                    paths += rib.apply(update, to: router).replaced
                }
            }
            control.applied.store(paths, ordering: .relaxed)
            finished.signal()
        }
        let clock = ContinuousClock()
        writer.start()
        benchmark.startMeasurement()
        let start = clock.now
        // 64 flows per read, about what two IPFIX datagrams carry: the writer waits for at most
        // one such read section per UPDATE.
        let rate = lookups(rib, flows, rounds: rounds, batched: true, batch: 64)
        control.stop.store(true, ordering: .relaxed)
        finished.wait()
        let elapsed = clock.now - start
        benchmark.stopMeasurement()
        benchmark.measurement(lookupsPerSecond, rate)
        benchmark.measurement(writerPerSecond, perSecond(control.applied.load(ordering: .relaxed), elapsed))
    }
}
