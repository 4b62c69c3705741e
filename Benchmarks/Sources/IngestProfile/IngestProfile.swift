import Aggregation
import FlowWire
import IngestStream
import NetCore

#if canImport(Glibc)
import Glibc
#endif

/// Decodes and aggregates a generated IPFIX stream in a loop and prints records per second.
/// Usage: IngestProfile [keys] [records] [passes] [decode-only]
@main
struct IngestProfile {
    static func main() {
        let args = CommandLine.arguments
        let keys = args.count > 1 ? Int(args[1]) ?? 10_000 : 10_000
        let records = args.count > 2 ? Int(args[2]) ?? 2_000_000 : 2_000_000
        let passes = args.count > 3 ? Int(args[3]) ?? 5 : 5
        let decodeOnly = args.count > 4 && args[4] == "decode-only"
        let datagrams = IngestStream(keys: keys, records: records).datagrams
        let exporter = IPAddress(v4: 0x7f00_0001)
        var decoder = FlowDecoder()
        let binning = TimeBinning(unit: .minutes, count: 1, roundoff: "m", now: 1_700_000_000)
        var view = View(ViewDefinition(
            name: "acct", primitives: [.srcHost, .dstHost, .srcPort, .dstPort, .proto], binning: binning))
        var out: [FlowRecord] = []
        out.reserveCapacity(64)
        for pass in 0..<passes {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let start = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
            var total = 0
            for datagram in datagrams {
                out.removeAll(keepingCapacity: true)
                total += datagram.withUnsafeBytes { decoder.decode($0, from: exporter, into: &out) }.records
                if !decodeOnly {
                    view.add(contentsOf: out, arrival: 1_700_000_000)
                }
            }
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let seconds = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 - start
            print("pass \(pass): \(total) records in \(seconds) s = \(Int(Double(total) / seconds)) records/s, rows \(view.rowCount)")
            if !decodeOnly { _ = view.drain() }
        }
    }
}
