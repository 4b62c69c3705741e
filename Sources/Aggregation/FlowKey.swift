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

    public init() {}
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

    @inline(__always)
    public mutating func add(_ other: Counters) {
        packets &+= other.packets
        bytes &+= other.bytes
        flows &+= other.flows
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
}
