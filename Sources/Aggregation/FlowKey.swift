import NetCore

/// The values of a view's primitives for one flow; unselected primitives stay zero.
public struct FlowKey: Hashable, Sendable {
    public var srcAddr: IPAddress = .none
    public var dstAddr: IPAddress = .none
    public var srcNet: IPAddress = .none
    public var dstNet: IPAddress = .none
    public var peerSrc: IPAddress = .none
    public var peerDst: IPAddress = .none
    public var inIface: UInt32 = 0
    public var outIface: UInt32 = 0
    public var srcAS: UInt32 = 0
    public var dstAS: UInt32 = 0
    public var samplingRate: UInt32 = 0
    public var srcPort: UInt16 = 0
    public var dstPort: UInt16 = 0
    public var proto: UInt8 = 0
    public var tos: UInt8 = 0
    public var tcpFlags: UInt8 = 0
    public var srcMask: UInt8 = 0
    public var dstMask: UInt8 = 0
    public var version: UInt8 = 0
    public var peerSrcAS: UInt32 = 0
    public var peerDstAS: UInt32 = 0
    public var localPref: UInt32 = 0
    public var med: UInt32 = 0
    /// `TextPool` numbers.
    public var asPath: UInt32 = 0
    public var stdComm: UInt32 = 0
    public var extComm: UInt32 = 0
    public var lrgComm: UInt32 = 0
    /// A `PathMatchCode`.
    public var pathMatch: UInt8 = 0

    public init() {}

    /// All fields folded into one word with a multiply-xor mix; the dictionary's seeded
    /// hasher then sees a single UInt64. Feeding ~30 fields to the hasher one by one cost
    /// more than the rest of the per-flow work together.
    @inline(__always)
    public var mixed: UInt64 {
        @inline(__always) func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
            let x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            return x ^ (x >> 29)
        }
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        h = mix(h, srcAddr.high)
        h = mix(h, srcAddr.low)
        h = mix(h, dstAddr.high)
        h = mix(h, dstAddr.low)
        h = mix(h, srcNet.high ^ (srcNet.low &* 31))
        h = mix(h, dstNet.high ^ (dstNet.low &* 31))
        h = mix(h, peerSrc.high ^ (peerSrc.low &* 31))
        h = mix(h, peerDst.high ^ (peerDst.low &* 31))
        h = mix(h, UInt64(inIface) << 32 | UInt64(outIface))
        h = mix(h, UInt64(srcAS) << 32 | UInt64(dstAS))
        h = mix(h, UInt64(samplingRate) << 32 | UInt64(srcPort) << 16 | UInt64(dstPort))
        let families = UInt64(srcAddr.family.rawValue) | UInt64(dstAddr.family.rawValue) << 4
            | UInt64(srcNet.family.rawValue) << 8 | UInt64(dstNet.family.rawValue) << 12
            | UInt64(peerSrc.family.rawValue) << 16 | UInt64(peerDst.family.rawValue) << 20
        let small = UInt64(proto) | UInt64(tos) << 8 | UInt64(tcpFlags) << 16 | UInt64(srcMask) << 24
            | UInt64(dstMask) << 32 | UInt64(version) << 40
        h = mix(h, families << 24 ^ small)
        h = mix(h, UInt64(peerSrcAS) << 32 | UInt64(peerDstAS))
        h = mix(h, UInt64(localPref) << 32 | UInt64(med))
        h = mix(h, UInt64(asPath) << 32 | UInt64(stdComm))
        h = mix(h, UInt64(extComm) << 32 | UInt64(lrgComm) ^ UInt64(pathMatch) << 56)
        return h
    }

    @inline(__always)
    public func hash(into hasher: inout Hasher) {
        hasher.combine(mixed)
    }
}

/// Counters accumulated for one key in one time bin.
public struct Counters: Sendable, Equatable {
    public var packets: UInt64
    public var bytes: UInt64
    public var flows: UInt64

    public init(packets: UInt64 = 0, bytes: UInt64 = 0, flows: UInt64 = 0) {
        self.packets = packets
        self.bytes = bytes
        self.flows = flows
    }

    /// The largest counter a table can hold (SQLite's INTEGER is signed 64-bit): sums stop there.
    public static let maximum = UInt64(Int64.max)

    /// Adds, saturating at `maximum`; returns false when a counter saturated.
    @inline(__always) @discardableResult
    public mutating func add(_ other: Counters) -> Bool {
        packets = Self.sum(packets, other.packets)
        bytes = Self.sum(bytes, other.bytes)
        flows = Self.sum(flows, other.flows)
        return packets < Self.maximum && bytes < Self.maximum && flows < Self.maximum
    }

    /// `a + b` for counters at most `maximum` each (their sum fits in UInt64), capped at `maximum`.
    @inline(__always)
    public static func sum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        min(a &+ b, maximum)
    }

    /// Each counter capped at `maximum`; false when one was above it.
    @inline(__always)
    public mutating func clamp() -> Bool {
        guard (packets | bytes | flows) > Self.maximum else { return true }
        packets = min(packets, Self.maximum)
        bytes = min(bytes, Self.maximum)
        flows = min(flows, Self.maximum)
        return false
    }
}

/// A key within a time bin: one future table row.
public struct BinnedKey: Hashable, Sendable {
    public var key: FlowKey
    /// Unix seconds of the bin's start (stamp_inserted); 0 without sql_history.
    public var bin: UInt32

    public init(key: FlowKey, bin: UInt32) {
        self.key = key
        self.bin = bin
    }

    @inline(__always)
    public func hash(into hasher: inout Hasher) {
        hasher.combine(key.mixed ^ (UInt64(bin) &* 0xFF51_AFD7_ED55_8CCD))
    }
}
