import Aggregation
import NetCore

/// ClickHouse's RowBinary format: each row's columns one after another, little-endian numbers,
/// strings as a LEB128 length and the bytes, DateTime as UInt32 seconds.
public struct RowBinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inline(__always)
    public mutating func uint(_ v: UInt64, width: Int) {
        var v = v
        for _ in 0..<width {
            bytes.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            var n = UInt64(utf8.count)
            repeat {
                let low = UInt8(n & 0x7F)
                n >>= 7
                bytes.append(n == 0 ? low : low | 0x80)
            } while n != 0
            bytes.append(contentsOf: utf8)
        }
    }

    /// One row of `schema`: the key's values, the counters, the stamps and the batch id.
    mutating func row(
        _ key: FlowKey, bin: UInt32, counters: Counters, updated: UInt32, batch: UInt64,
        schema: ClickHouseSchema, texts: [String]
    ) {
        for (p, bytes) in zip(schema.primitives, schema.integerBytes) {
            switch key.value(of: p, texts: texts, numericProtocols: schema.numericProtocols) {
            case .address(let a): string(a.isNone ? "0.0.0.0" : a.description)
            case .text(let t): string(t)
            case .integer(let n): uint(n, width: bytes)
            }
        }
        uint(min(counters.packets, Counters.maximum), width: 8)
        uint(min(counters.bytes, Counters.maximum), width: 8)
        uint(min(counters.flows, Counters.maximum), width: 8)
        uint(UInt64(bin), width: 4)
        uint(UInt64(updated), width: 4)
        uint(batch, width: 8)
    }
}
