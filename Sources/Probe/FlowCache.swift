import FlowWire
import PathflowConfig

/// One unidirectional flow leaving the cache: what every export format carries.
public struct ProbeFlow: Sendable, Equatable {
    public var srcHigh: UInt64 = 0
    public var srcLow: UInt64 = 0
    public var dstHigh: UInt64 = 0
    public var dstLow: UInt64 = 0
    public var isV6 = false
    public var srcPort: UInt16 = 0
    public var dstPort: UInt16 = 0
    public var proto: UInt8 = 0
    public var tos: UInt8 = 0
    public var tcpFlags: UInt8 = 0
    public var vlan: UInt16 = 0
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    /// Microseconds since the Unix epoch, from the packets' capture times.
    public var firstMicros: UInt64 = 0
    public var lastMicros: UInt64 = 0

    public init() {}
}

/// Why flows left the cache, as counted in metrics.
public enum ExpiryReason: Int, Sendable, CaseIterable {
    case tcp, tcpRST, tcpFIN, udp, icmp, general, maxLife, overBytes, cacheFull, final

    public var label: String {
        switch self {
        case .tcp: return "tcp"
        case .tcpRST: return "tcp_rst"
        case .tcpFIN: return "tcp_fin"
        case .udp: return "udp"
        case .icmp: return "icmp"
        case .general: return "general"
        case .maxLife: return "maxlife"
        case .overBytes: return "overbytes"
        case .cacheFull: return "cache_full"
        case .final: return "final"
        }
    }
}

/// nfprobe's flow cache: both directions of a conversation in one entry (so a TCP flow is
/// finished when each side has sent a FIN), keyed by the aggregate's fields, expired by
/// pmacct's timeouts, bounded by `maxFlows`. Exported as one record per direction that saw
/// packets. Time is the packets' capture time, so a pcap file replays as it was captured.
public struct FlowCache {
    struct Key: Equatable {
        var aHigh: UInt64
        var aLow: UInt64
        var bHigh: UInt64
        var bLow: UInt64
        /// Port of a (16) | port of b (16) | proto (8) | tos (8) | vlan (12) | v6 (1).
        var rest: UInt64

        @inline(__always)
        var hash: Int {
            var h = aLow &* 0x9E37_79B9_7F4A_7C15
            h ^= (bLow &+ 0x632B_E59B_D9B4_E019) &* 0xBF58_476D_1CE4_E5B9
            h ^= (aHigh ^ (bHigh &<< 1)) &* 0x94D0_49BB_1331_11EB
            h ^= rest &* 0xD6E8_FEB8_6659_FD93
            h ^= h >> 31
            h = h &* 0x9E37_79B9_7F4A_7C15
            return Int(truncatingIfNeeded: h ^ (h >> 29))
        }
    }

    struct Entry {
        var key: Key
        var packets: (UInt64, UInt64) = (0, 0)
        var bytes: (UInt64, UInt64) = (0, 0)
        var flags: (UInt8, UInt8) = (0, 0)
        var first: (UInt64, UInt64) = (0, 0)
        var last: (UInt64, UInt64) = (0, 0)
        /// Capture time of the first and the latest packet either way, microseconds.
        var start: UInt64
        var latest: UInt64
    }

    public let timeouts: ProbeConfig.Timeouts
    public let maxFlows: Int
    let fields: ProbeConfig.KeyFields
    /// A direction over this many bytes is exported at once (NetFlow v5's 32-bit counters).
    let byteLimit: UInt64

    private var entries: ContiguousArray<Entry> = []
    /// Open addressing, linear probing: index into `entries`, or -1.
    private var slots: [Int32]
    private var mask: Int

    /// Times the cache was full when a new flow arrived.
    public private(set) var fullEvents: UInt64 = 0
    public private(set) var expired = [UInt64](repeating: 0, count: ExpiryReason.allCases.count)

    public var count: Int { entries.count }

    public init(timeouts: ProbeConfig.Timeouts, maxFlows: Int, fields: ProbeConfig.KeyFields, byteLimit: UInt64) {
        self.timeouts = timeouts
        self.maxFlows = max(1, maxFlows)
        self.fields = fields
        self.byteLimit = byteLimit
        var capacity = 16
        while capacity < self.maxFlows * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        entries.reserveCapacity(min(self.maxFlows, 1 << 20))
    }

    /// Accounts one packet; flows that must leave now (cache full, counter limit) are appended.
    public mutating func account(_ p: PacketSummary, micros: UInt64, expiredInto out: inout [ProbeFlow]) {
        var key = makeKey(p)
        let reversed = key.1
        let index = find(&key.0)
        if index >= 0 {
            update(index, p, micros, reversed, &out)
            return
        }
        if entries.count >= maxFlows {
            fullEvents &+= 1
            evict(&out)
        }
        entries.append(Entry(key: key.0, start: micros, latest: micros))
        insertSlot(key.0, Int32(entries.count - 1))
        update(entries.count - 1, p, micros, reversed, &out)
    }

    mutating func update(_ index: Int, _ p: PacketSummary, _ micros: UInt64, _ reversed: Bool, _ out: inout [ProbeFlow]) {
        let over: Bool = entries.withUnsafeMutableBufferPointer { buffer in
            let e = buffer.baseAddress! + index
            if micros > e.pointee.latest { e.pointee.latest = micros }
            if reversed {
                if e.pointee.packets.1 == 0 { e.pointee.first.1 = micros }
                e.pointee.packets.1 &+= 1
                e.pointee.bytes.1 &+= UInt64(p.ipLength)
                e.pointee.flags.1 |= p.tcpFlags
                e.pointee.last.1 = max(e.pointee.last.1, micros)
                return e.pointee.bytes.1 > byteLimit
            } else {
                if e.pointee.packets.0 == 0 { e.pointee.first.0 = micros }
                e.pointee.packets.0 &+= 1
                e.pointee.bytes.0 &+= UInt64(p.ipLength)
                e.pointee.flags.0 |= p.tcpFlags
                e.pointee.last.0 = max(e.pointee.last.0, micros)
                return e.pointee.bytes.0 > byteLimit
            }
        }
        if over { remove(index, .overBytes, &out) }
    }

    /// The canonical key (lower endpoint first) and whether the packet goes from b to a.
    func makeKey(_ p: PacketSummary) -> (Key, Bool) {
        let f = fields
        let srcHigh = f.contains(.srcHost) ? p.srcHigh : 0
        let srcLow = f.contains(.srcHost) ? p.srcLow : 0
        let dstHigh = f.contains(.dstHost) ? p.dstHigh : 0
        let dstLow = f.contains(.dstHost) ? p.dstLow : 0
        let srcPort = f.contains(.srcPort) ? p.srcPort : 0
        let dstPort = f.contains(.dstPort) ? p.dstPort : 0
        var tail = UInt64(f.contains(.proto) ? p.proto : 0) << 24
        tail |= UInt64(f.contains(.tos) ? p.tos : 0) << 16
        tail |= UInt64(f.contains(.vlan) ? p.vlan & 0x0fff : 0) << 1
        tail |= p.isV6 ? 1 : 0
        // ICMP's type/code is not a port pair: never swap it into the source side.
        let swap: Bool
        if p.proto == 1 || p.proto == 58 {
            swap = false
        } else if srcHigh != dstHigh {
            swap = srcHigh > dstHigh
        } else if srcLow != dstLow {
            swap = srcLow > dstLow
        } else {
            swap = srcPort > dstPort
        }
        if swap {
            return (Key(aHigh: dstHigh, aLow: dstLow, bHigh: srcHigh, bLow: srcLow,
                        rest: UInt64(dstPort) << 48 | UInt64(srcPort) << 32 | tail), true)
        }
        return (Key(aHigh: srcHigh, aLow: srcLow, bHigh: dstHigh, bLow: dstLow,
                    rest: UInt64(srcPort) << 48 | UInt64(dstPort) << 32 | tail), false)
    }

    func find(_ key: inout Key) -> Int {
        var slot = key.hash & mask
        return slots.withUnsafeBufferPointer { s in
            entries.withUnsafeBufferPointer { e in
                while true {
                    let index = Int(s[slot])
                    if index < 0 { return -1 }
                    if e[index].key == key { return index }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    private mutating func insertSlot(_ key: Key, _ index: Int32) {
        var slot = key.hash & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = index
    }

    private func slotOf(index: Int) -> Int {
        var slot = entries[index].key.hash & mask
        while Int(slots[slot]) != index { slot = (slot + 1) & mask }
        return slot
    }

    /// Exports entry `index` and removes it: backward-shift deletion in the slots, and the last
    /// entry moved into its place.
    private mutating func remove(_ index: Int, _ reason: ExpiryReason, _ out: inout [ProbeFlow]) {
        emit(entries[index], &out)
        expired[reason.rawValue] &+= 1
        var hole = slotOf(index: index)
        var next = (hole + 1) & mask
        while slots[next] >= 0 {
            let home = entries[Int(slots[next])].key.hash & mask
            // Move the entry back into the hole unless its home lies cyclically in (hole, next].
            let distanceHole = (next - hole) & mask
            let distanceHome = (next - home) & mask
            if distanceHome >= distanceHole {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = -1
        let last = entries.count - 1
        if index != last {
            let movedSlot = slotOf(index: last)
            entries[index] = entries[last]
            slots[movedSlot] = Int32(index)
        }
        entries.removeLast()
    }

    /// The records of both directions that saw packets.
    private func emit(_ e: Entry, _ out: inout [ProbeFlow]) {
        var flow = ProbeFlow()
        flow.isV6 = e.key.rest & 1 == 1
        flow.proto = UInt8(truncatingIfNeeded: e.key.rest >> 24)
        flow.tos = UInt8(truncatingIfNeeded: e.key.rest >> 16)
        flow.vlan = UInt16(truncatingIfNeeded: e.key.rest >> 1) & 0x0fff
        let a = (e.key.aHigh, e.key.aLow, UInt16(truncatingIfNeeded: e.key.rest >> 48))
        let b = (e.key.bHigh, e.key.bLow, UInt16(truncatingIfNeeded: e.key.rest >> 32))
        let directions = [
            (a, b, e.packets.0, e.bytes.0, e.flags.0, e.first.0, e.last.0),
            (b, a, e.packets.1, e.bytes.1, e.flags.1, e.first.1, e.last.1),
        ]
        for (src, dst, packets, bytes, flags, first, last) in directions where packets > 0 {
            (flow.srcHigh, flow.srcLow, flow.srcPort) = src
            (flow.dstHigh, flow.dstLow, flow.dstPort) = dst
            flow.packets = packets
            flow.bytes = bytes
            flow.tcpFlags = flags
            flow.firstMicros = first
            flow.lastMicros = last
            out.append(flow)
        }
    }

    /// When an entry expires (seconds since the epoch) and why, by nfprobe's rules.
    func expiry(_ e: Entry) -> (UInt64, ExpiryReason) {
        let last = e.latest / 1_000_000
        let t = timeouts
        if t.maxLife != 0 && (e.latest - e.start) / 1_000_000 > UInt64(t.maxLife) { return (0, .maxLife) }
        let proto = UInt8(truncatingIfNeeded: e.key.rest >> 24)
        if proto == 6 {
            if t.tcpRST != 0 && (e.flags.0 | e.flags.1) & 0x04 != 0 { return (last + UInt64(t.tcpRST), .tcpRST) }
            if t.tcpFIN != 0 && e.flags.0 & e.flags.1 & 0x01 != 0 { return (last + UInt64(t.tcpFIN), .tcpFIN) }
            if t.tcp != 0 { return (last + UInt64(t.tcp), .tcp) }
        }
        if proto == 17 && t.udp != 0 { return (last + UInt64(t.udp), .udp) }
        if (proto == 1 || proto == 58) && t.icmp != 0 { return (last + UInt64(t.icmp), .icmp) }
        return (last + UInt64(t.general), .general)
    }

    /// Exports every flow whose timeout has passed at `nowSeconds`.
    public mutating func expire(nowSeconds: UInt64, into out: inout [ProbeFlow]) {
        var index = 0
        while index < entries.count {
            let (at, reason) = expiry(entries[index])
            if at <= nowSeconds {
                remove(index, reason, &out)  // the last entry moved into `index`: look at it next
            } else {
                index += 1
            }
        }
    }

    /// Makes room: the flows that would expire soonest leave first, a sixteenth of the cache
    /// at a time, as nfprobe's forced expiry does.
    private mutating func evict(_ out: inout [ProbeFlow]) {
        let batch = max(1, maxFlows / 16)
        var order = entries.indices.map { (expiry(entries[$0]).0, entries[$0].latest, $0) }
        order.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        // Remove from the highest index down so the indices still to remove stay valid.
        let chosen = order.prefix(batch).map(\.2).sorted(by: >)
        for index in chosen { remove(index, .cacheFull, &out) }
    }

    /// Exports everything (end of a pcap file, shutdown).
    public mutating func drain(into out: inout [ProbeFlow]) {
        for entry in entries { emit(entry, &out) }
        expired[ExpiryReason.final.rawValue] &+= UInt64(entries.count)
        entries.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = -1 }
    }
}
