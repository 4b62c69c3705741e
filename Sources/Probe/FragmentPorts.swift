import FlowWire

/// Remembers the ports (or ICMP type/code) of first fragments so the fragments after them,
/// which carry no transport header, count under the same flow, as nfprobe does. Direct-mapped
/// and bounded: a newer datagram takes the slot of an older one.
struct FragmentPorts {
    struct Slot {
        var srcHigh: UInt64 = 0
        var srcLow: UInt64 = 0
        var dstHigh: UInt64 = 0
        var dstLow: UInt64 = 0
        var id: UInt32 = 0
        var proto: UInt8 = 0
        var used = false
        var srcPort: UInt16 = 0
        var dstPort: UInt16 = 0
        var seconds: UInt64 = 0
    }

    private var slots: [Slot]
    private let mask: Int
    /// How long a first fragment's ports stay usable (IPv4 reassembly gives up after 30 s or so).
    static let lifetime: UInt64 = 60
    /// Later fragments whose first fragment was not seen (or was pushed out): ports stay 0.
    private(set) var unmatched: UInt64 = 0

    init(slots count: Int = 4096) {
        var size = 1
        while size < count { size <<= 1 }
        slots = Array(repeating: Slot(), count: size)
        mask = size - 1
    }

    private func index(_ p: PacketSummary) -> Int {
        var h = p.srcLow &* 0x9E37_79B9_7F4A_7C15 ^ p.dstLow &* 0xBF58_476D_1CE4_E5B9
        h ^= (p.srcHigh ^ p.dstHigh) &* 0x94D0_49BB_1331_11EB
        h ^= UInt64(p.fragmentID) << 8 | UInt64(p.proto)
        h = (h ^ (h >> 31)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h >> 20) & mask
    }

    /// Notes a first fragment's ports, or gives a later fragment the ports of its first.
    mutating func resolve(_ p: inout PacketSummary, seconds: UInt64) {
        switch p.fragment {
        case .none:
            return
        case .first:
            slots[index(p)] = Slot(
                srcHigh: p.srcHigh, srcLow: p.srcLow, dstHigh: p.dstHigh, dstLow: p.dstLow, id: p.fragmentID,
                proto: p.proto, used: true, srcPort: p.srcPort, dstPort: p.dstPort, seconds: seconds)
        case .later:
            let s = slots[index(p)]
            if s.used && s.id == p.fragmentID && s.proto == p.proto && s.srcLow == p.srcLow && s.dstLow == p.dstLow
                && s.srcHigh == p.srcHigh && s.dstHigh == p.dstHigh && seconds &- s.seconds <= Self.lifetime {
                p.srcPort = s.srcPort
                p.dstPort = s.dstPort
            } else {
                unmatched &+= 1
            }
        }
    }
}
