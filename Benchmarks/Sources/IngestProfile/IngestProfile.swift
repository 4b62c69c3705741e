import Aggregation
import FlowWire
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
        var writer = IPFIXWriter(observationDomain: 1)
        var datagrams = [writer.templateMessage(exportTime: 1_700_000_000)]
        var batch: [FlowRecord] = []
        var n = 0
        while n < records {
            batch.removeAll(keepingCapacity: true)
            for _ in 0..<min(20, records - n) {
                let k = n % keys
                var r = FlowRecord()
                r.srcAddr = IPAddress(v4: 0x0a00_0000 | UInt32(truncatingIfNeeded: k & 0xff_ffff))
                r.dstAddr = IPAddress(v4: 0xc612_0000 | UInt32(truncatingIfNeeded: (k &* 7919) & 0xffff))
                r.srcPort = UInt16(1024 + k % 60_000)
                r.dstPort = [80, 443, 53, 123, 8080][k % 5]
                r.proto = k % 3 == 0 ? 17 : 6
                r.packets = UInt64(1 + n % 7)
                r.bytes = r.packets * UInt64(64 + n % 1400)
                r.startSeconds = 1_700_000_000 + UInt32(n / 100_000)
                r.endSeconds = r.startSeconds
                batch.append(r)
                n += 1
            }
            datagrams.append(writer.dataMessage(batch, exportTime: 1_700_000_000))
        }
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
