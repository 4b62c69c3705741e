import FlowWire
import NetCore

/// The IPFIX stream both benchmark programs replay: `records` records over `keys` 5-tuples,
/// 20 per message, as `flowgen` would send them (without the network).
public struct IngestStream: Sendable {
    public var datagrams: [[UInt8]]
    public var records: Int

    public init(keys: Int, records: Int, batch: Int = 20) {
        self.init(records: records, batch: batch) { n in
                let k = n % keys
                var r = FlowRecord()
                r.srcAddr = IPAddress(v4: 0x0a00_0000 | UInt32(truncatingIfNeeded: k & 0xff_ffff))
                r.dstAddr = IPAddress(v4: 0xc612_0000 | UInt32(truncatingIfNeeded: (k &* 7919) & 0xffff))
                r.srcPort = UInt16(1024 + k % 60_000)
                r.dstPort = [80, 443, 53, 123, 8080][k % 5]
                r.proto = k % 3 == 0 ? 17 : 6
                r.packets = UInt64(1 + n % 7)
                r.bytes = r.packets * UInt64(64 + n % 1400)
                r.startSeconds = 1_700_000_000
                r.endSeconds = 1_700_000_000
                return r
        }
    }

    /// `records` records made by `record(n)`, `batch` per message.
    public init(records: Int, batch: Int = 20, record: (Int) -> FlowRecord) {
        var writer = IPFIXWriter(observationDomain: 1)
        var datagrams = [writer.templateMessage(exportTime: 1_700_000_000)]
        var buffer: [FlowRecord] = []
        var n = 0
        while n < records {
            buffer.removeAll(keepingCapacity: true)
            for _ in 0..<min(batch, records - n) {
                buffer.append(record(n))
                n += 1
            }
            datagrams.append(writer.dataMessage(buffer, exportTime: 1_700_000_000))
        }
        self.datagrams = datagrams
        self.records = records
    }

    public static let exporter = IPAddress(v4: 0x7f00_0001)
}
