import NetCore

/// An sFlow v5 stream as a switch sends it: `samples` flow samples over `keys` 5-tuples, `batch`
/// per datagram, each with a raw Ethernet/IPv4/TCP-or-UDP header of 128 bytes (a frame of 64 to
/// 1,518 bytes), an extended switch record, and 1-in-`rate` sampling; one IPv4 agent.
public struct SFlowStream: Sendable {
    public var datagrams: [[UInt8]]
    public var samples: Int

    public init(keys: Int, samples: Int, batch: Int = 8, rate: UInt32 = 1_000) {
        var datagrams: [[UInt8]] = []
        var n = 0
        var sequence: UInt32 = 0
        while n < samples {
            let count = min(batch, samples - n)
            sequence += 1
            var d: [UInt8] = []
            d.reserveCapacity(64 + count * 200)
            Self.u32(5, &d)
            Self.u32(1, &d)
            Self.u32(0xc000_020a, &d)  // agent 192.0.2.10
            Self.u32(0, &d)  // sub-agent
            Self.u32(sequence, &d)
            Self.u32(sequence &* 1_000, &d)  // uptime, ms
            Self.u32(UInt32(count), &d)
            for _ in 0..<count {
                let k = n % keys
                n += 1
                var sample: [UInt8] = []
                Self.u32(UInt32(n), &sample)  // sample sequence
                Self.u32(3, &sample)  // source id: ifIndex 3
                Self.u32(rate, &sample)
                Self.u32(UInt32(n) &* rate, &sample)  // sample pool
                Self.u32(0, &sample)  // drops
                Self.u32(3, &sample)  // input
                Self.u32(UInt32(10 + k % 4), &sample)  // output
                Self.u32(2, &sample)  // records
                // Raw packet header.
                let header = Self.frame(k, n)
                var raw: [UInt8] = []
                Self.u32(1, &raw)  // Ethernet
                Self.u32(UInt32(64 + n % 1_455), &raw)  // frame length
                Self.u32(4, &raw)  // stripped (FCS)
                Self.u32(UInt32(header.count), &raw)
                raw += header
                Self.record(1, raw, &sample)
                // Extended switch.
                var sw: [UInt8] = []
                for v: UInt32 in [100, 0, 100, 0] { Self.u32(v, &sw) }
                Self.record(1001, sw, &sample)
                Self.u32(1, &d)  // flow sample
                Self.u32(UInt32(sample.count), &d)
                d += sample
            }
            datagrams.append(d)
        }
        self.datagrams = datagrams
        self.samples = samples
    }

    public static let exporter = IPAddress(v4: 0xc000_020a)

    static func u32(_ v: UInt32, _ out: inout [UInt8]) {
        out += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    static func record(_ format: UInt32, _ data: [UInt8], _ out: inout [UInt8]) {
        u32(format, &out)
        u32(UInt32(data.count), &out)
        out += data
    }

    /// The first 128 bytes of an Ethernet frame: IPv4, TCP or UDP, the key's 5-tuple.
    static func frame(_ k: Int, _ n: Int) -> [UInt8] {
        var f = [UInt8](repeating: 0, count: 128)
        f[12] = 0x08  // IPv4
        let tcp = k % 3 != 0
        f[14] = 0x45
        let total = 1_000
        f[16] = UInt8(total >> 8)
        f[17] = UInt8(total & 0xff)
        f[22] = 64
        f[23] = tcp ? 6 : 17
        let src = 0x0a00_0000 | UInt32(truncatingIfNeeded: k & 0xff_ffff)
        let dst = 0xc612_0000 | UInt32(truncatingIfNeeded: (k &* 7919) & 0xffff)
        for i in 0..<4 {
            f[26 + i] = UInt8(truncatingIfNeeded: src >> (24 - 8 * i))
            f[30 + i] = UInt8(truncatingIfNeeded: dst >> (24 - 8 * i))
        }
        let sport = UInt16(1024 + k % 60_000), dport: UInt16 = [80, 443, 53, 123, 8080][k % 5]
        f[34] = UInt8(sport >> 8)
        f[35] = UInt8(sport & 0xff)
        f[36] = UInt8(dport >> 8)
        f[37] = UInt8(dport & 0xff)
        if tcp { f[47] = 0x10 }
        return f
    }
}
