import FlowWire
import NetCore

/// A view's key and bin in one 64-byte cache line: only the view's primitives, packed.
///
/// Most views select a handful of primitives (the 5-tuple takes 38 bytes); hashing and
/// comparing 60 bytes instead of a full `FlowKey` keeps the per-flow work small, and a
/// million-row table four times smaller.
struct PackedKey: Hashable, Sendable {
    static let capacity = 56

    var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0
    var w4: UInt64 = 0, w5: UInt64 = 0, w6: UInt64 = 0
    var bin: UInt32 = 0

    @inline(__always)
    func hash(into hasher: inout Hasher) {
        @inline(__always) func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
            let x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            return x ^ (x >> 29)
        }
        var h = mix(0x243F_6A88_85A3_08D3, w0)
        h = mix(h, w1)
        h = mix(h, w2)
        h = mix(h, w3)
        h = mix(h, w4)
        h = mix(h, w5)
        h = mix(h, w6 ^ UInt64(bin) << 32)
        hasher.combine(h)
    }
}

/// Where each selected primitive sits in a `PackedKey`.
struct KeyLayout: Sendable {
    struct Slot: Sendable {
        var primitive: Primitive
        var offset: Int
        /// Bit of the families byte for address primitives (family: 2 bits each).
        var familyShift: Int
    }

    var slots: [Slot]
    var familiesOffset: Int

    /// nil when the primitives need more than `PackedKey.capacity` bytes.
    init?(_ primitives: [Primitive]) {
        var offset = 0
        var slots: [Slot] = []
        var addresses = 0
        for p in Primitive.tableOrder where primitives.contains(p) {
            let size = Self.size(p)
            var shift = -1
            if size == 16 {
                shift = addresses * 2
                addresses += 1
            }
            // Natural alignment keeps the loads and stores simple.
            offset = (offset + min(size, 8) - 1) / min(size, 8) * min(size, 8)
            slots.append(Slot(primitive: p, offset: offset, familyShift: shift))
            offset += size
        }
        familiesOffset = offset
        if addresses > 0 { offset += 2 }
        guard offset <= PackedKey.capacity, addresses <= 8 else { return nil }
        self.slots = slots
    }

    static func size(_ p: Primitive) -> Int {
        switch p {
        case .srcHost, .dstHost, .srcNet, .dstNet, .peerSrcIP, .peerDstIP: return 16
        case .inIface, .outIface, .srcAS, .dstAS, .samplingRate: return 4
        case .srcPort, .dstPort: return 2
        case .proto, .tos, .tcpFlags, .srcMask, .dstMask, .exportProtoVersion: return 1
        }
    }

    /// Packs a record's values for this view's primitives (what `View.key(for:)` selects).
    @inline(__always)
    func pack(_ r: FlowRecord, bin: UInt32, useIPNextHop: Bool) -> PackedKey {
        var packed = PackedKey()
        packed.bin = bin
        withUnsafeMutableBytes(of: &packed) { raw in
            var families: UInt16 = 0
            for slot in slots {
                let o = slot.offset
                switch slot.primitive {
                case .srcHost: families |= Self.store(r.srcAddr, raw, o, slot.familyShift)
                case .dstHost: families |= Self.store(r.dstAddr, raw, o, slot.familyShift)
                case .srcNet: families |= Self.store(r.srcAddr.masked(to: Int(r.srcMask)), raw, o, slot.familyShift)
                case .dstNet: families |= Self.store(r.dstAddr.masked(to: Int(r.dstMask)), raw, o, slot.familyShift)
                case .peerSrcIP: families |= Self.store(r.exporter, raw, o, slot.familyShift)
                case .peerDstIP:
                    let nextHop = r.bgpNextHop.isNone && useIPNextHop ? r.ipNextHop : r.bgpNextHop
                    families |= Self.store(nextHop, raw, o, slot.familyShift)
                case .inIface: raw.storeBytes(of: r.inIface, toByteOffset: o, as: UInt32.self)
                case .outIface: raw.storeBytes(of: r.outIface, toByteOffset: o, as: UInt32.self)
                case .srcAS: raw.storeBytes(of: r.srcAS, toByteOffset: o, as: UInt32.self)
                case .dstAS: raw.storeBytes(of: r.dstAS, toByteOffset: o, as: UInt32.self)
                case .samplingRate: raw.storeBytes(of: r.samplingRate, toByteOffset: o, as: UInt32.self)
                case .srcPort: raw.storeBytes(of: r.srcPort, toByteOffset: o, as: UInt16.self)
                case .dstPort: raw.storeBytes(of: r.dstPort, toByteOffset: o, as: UInt16.self)
                case .proto: raw[o] = r.proto
                case .tos: raw[o] = r.tos
                case .tcpFlags: raw[o] = r.tcpFlags
                case .srcMask: raw[o] = r.srcMask
                case .dstMask: raw[o] = r.dstMask
                case .exportProtoVersion: raw[o] = r.version
                }
            }
            if families != 0 {
                raw.storeBytes(of: families, toByteOffset: familiesOffset, as: UInt16.self)
            }
        }
        return packed
    }

    @inline(__always)
    static func store(_ a: IPAddress, _ raw: UnsafeMutableRawBufferPointer, _ o: Int, _ shift: Int) -> UInt16 {
        raw.storeBytes(of: a.high, toByteOffset: o, as: UInt64.self)
        raw.storeBytes(of: a.low, toByteOffset: o + 8, as: UInt64.self)
        let family: UInt16 = a.family == .v4 ? 1 : (a.family == .v6 ? 2 : 0)
        return family << UInt16(shift)
    }

    func unpack(_ packed: PackedKey) -> BinnedKey {
        var k = FlowKey()
        var copy = packed
        withUnsafeBytes(of: &copy) { raw in
            let families = raw.loadUnaligned(fromByteOffset: familiesOffset, as: UInt16.self)
            func address(_ o: Int, _ shift: Int) -> IPAddress {
                let high = raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)
                let low = raw.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self)
                switch (families >> UInt16(shift)) & 3 {
                case 1: return IPAddress(high: high, low: low, family: .v4)
                case 2: return IPAddress(high: high, low: low, family: .v6)
                default: return .none
                }
            }
            for slot in slots {
                let o = slot.offset
                switch slot.primitive {
                case .srcHost: k.srcAddr = address(o, slot.familyShift)
                case .dstHost: k.dstAddr = address(o, slot.familyShift)
                case .srcNet: k.srcNet = address(o, slot.familyShift)
                case .dstNet: k.dstNet = address(o, slot.familyShift)
                case .peerSrcIP: k.peerSrc = address(o, slot.familyShift)
                case .peerDstIP: k.peerDst = address(o, slot.familyShift)
                case .inIface: k.inIface = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .outIface: k.outIface = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .srcAS: k.srcAS = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .dstAS: k.dstAS = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .samplingRate: k.samplingRate = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .srcPort: k.srcPort = raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)
                case .dstPort: k.dstPort = raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)
                case .proto: k.proto = raw[o]
                case .tos: k.tos = raw[o]
                case .tcpFlags: k.tcpFlags = raw[o]
                case .srcMask: k.srcMask = raw[o]
                case .dstMask: k.dstMask = raw[o]
                case .exportProtoVersion: k.version = raw[o]
                }
            }
        }
        return BinnedKey(key: k, bin: packed.bin)
    }
}
