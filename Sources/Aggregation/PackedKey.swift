import FlowWire
import NetCore

/// A view's key in 40 bytes: only the view's primitives, packed; with its bin it fills the
/// first 44 bytes of a 64-byte table entry whose other 20 hold the counters.
///
/// Addresses take 16 bytes and say their family in-band: no address is all zeros, an IPv4
/// address is stored IPv4-mapped, any other value is IPv6. The two IPv6 ranges that would read
/// back differently (`::` itself and `::ffff:0:0/96`) are not packed: such flows take the
/// view's full-key path, so nothing is lost or altered.
struct PackedKey: Hashable, Sendable {
    static let capacity = 40

    var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0, w4: UInt64 = 0
    var bin: UInt32 = 0
}

/// Where each selected primitive sits in a `PackedKey`.
struct KeyLayout: Sendable {
    struct Slot: Sendable {
        var primitive: Primitive
        var offset: Int
    }

    var slots: [Slot]

    /// nil when the primitives need more than `PackedKey.capacity` bytes.
    init?(_ primitives: [Primitive]) {
        var offset = 0
        var slots: [Slot] = []
        for p in Primitive.tableOrder where primitives.contains(p) {
            let size = Self.size(p)
            // Natural alignment keeps the loads and stores simple.
            let align = min(size, 8)
            offset = (offset + align - 1) / align * align
            slots.append(Slot(primitive: p, offset: offset))
            offset += size
        }
        guard offset <= PackedKey.capacity else { return nil }
        self.slots = slots
    }

    static func size(_ p: Primitive) -> Int { p.spec.packedWidth }

    /// Packs a record's values for this view's primitives (what `View.key(for:)` selects);
    /// nil when an address cannot be told apart in-band (see `PackedKey`).
    @inline(__always)
    func pack(_ r: FlowRecord, bin: UInt32, useIPNextHop: Bool) -> PackedKey? {
        var packed = PackedKey()
        packed.bin = bin
        let fits = withUnsafeMutableBytes(of: &packed) { raw -> Bool in
            var fits = true
            for slot in slots {
                let o = slot.offset
                switch slot.primitive {
                case .srcHost: fits = Self.store(r.srcAddr, raw, o) && fits
                case .dstHost: fits = Self.store(r.dstAddr, raw, o) && fits
                case .srcNet: fits = Self.store(r.srcAddr.masked(to: Int(r.srcMask)), raw, o) && fits
                case .dstNet: fits = Self.store(r.dstAddr.masked(to: Int(r.dstMask)), raw, o) && fits
                case .peerSrcIP: fits = Self.store(r.exporterAddress, raw, o) && fits
                case .peerDstIP:
                    let nextHop = r.bgpNextHop.isNone && useIPNextHop ? r.ipNextHop : r.bgpNextHop
                    fits = Self.store(nextHop, raw, o) && fits
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
                case .peerSrcAS: raw.storeBytes(of: r.peerSrcAS, toByteOffset: o, as: UInt32.self)
                case .peerDstAS: raw.storeBytes(of: r.peerDstAS, toByteOffset: o, as: UInt32.self)
                case .localPref: raw.storeBytes(of: r.localPref, toByteOffset: o, as: UInt32.self)
                case .med: raw.storeBytes(of: r.med, toByteOffset: o, as: UInt32.self)
                case .asPath: raw.storeBytes(of: r.asPathText, toByteOffset: o, as: UInt32.self)
                case .stdComm: raw.storeBytes(of: r.stdCommText, toByteOffset: o, as: UInt32.self)
                case .extComm: raw.storeBytes(of: r.extCommText, toByteOffset: o, as: UInt32.self)
                case .lrgComm: raw.storeBytes(of: r.lrgCommText, toByteOffset: o, as: UInt32.self)
                case .pathMatch: raw[o] = r.pathMatch
                }
            }
            return fits
        }
        return fits ? packed : nil
    }

    static let mappedPrefix: UInt64 = 0xffff << 32

    /// Stores an address with its family in-band; false for the IPv6 values that cannot be.
    @inline(__always)
    static func store(_ a: IPAddress, _ raw: UnsafeMutableRawBufferPointer, _ o: Int) -> Bool {
        var high: UInt64 = 0, low: UInt64 = 0
        switch a.family {
        case .none:
            break
        case .v4:
            low = mappedPrefix | UInt64(a.v4Value)
        case .v6:
            if a.high == 0 && (a.low == 0 || a.low >> 32 == 0xffff) { return false }
            high = a.high
            low = a.low
        }
        raw.storeBytes(of: high, toByteOffset: o, as: UInt64.self)
        raw.storeBytes(of: low, toByteOffset: o + 8, as: UInt64.self)
        return true
    }

    func unpack(_ packed: PackedKey) -> BinnedKey {
        var k = FlowKey()
        var copy = packed
        withUnsafeBytes(of: &copy) { raw in
            func address(_ o: Int) -> IPAddress {
                let high = raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)
                let low = raw.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self)
                if high == 0 && low == 0 { return .none }
                if high == 0 && low >> 32 == 0xffff { return IPAddress(v4: UInt32(truncatingIfNeeded: low)) }
                return IPAddress(v6High: high, low: low)
            }
            for slot in slots {
                let o = slot.offset
                switch slot.primitive {
                case .srcHost: k.srcAddr = address(o)
                case .dstHost: k.dstAddr = address(o)
                case .srcNet: k.srcNet = address(o)
                case .dstNet: k.dstNet = address(o)
                case .peerSrcIP: k.peerSrc = address(o)
                case .peerDstIP: k.peerDst = address(o)
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
                case .peerSrcAS: k.peerSrcAS = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .peerDstAS: k.peerDstAS = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .localPref: k.localPref = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .med: k.med = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .asPath: k.asPath = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .stdComm: k.stdComm = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .extComm: k.extComm = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .lrgComm: k.lrgComm = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
                case .pathMatch: k.pathMatch = raw[o]
                }
            }
        }
        return BinnedKey(key: k, bin: packed.bin)
    }
}
