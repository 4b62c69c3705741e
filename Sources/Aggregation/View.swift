import FlowWire
import NetCore

/// What a view aggregates: its primitives and how it bins time.
public struct ViewDefinition: Sendable {
    public var name: String
    public var primitives: [Primitive]
    /// nil: no sql_history, every row has stamp_inserted 0.
    public var binning: TimeBinning?
    /// nfacctd_time_new: bin by arrival time instead of flow start.
    public var timeNew: Bool
    /// peer_dst_ip from the IP next-hop when the export has no BGP next-hop (pmacct's use_ip_next_hop).
    public var useIPNextHop: Bool
    /// Rows kept between flushes; flows for new rows past it are dropped and counted.
    public var maximumEntries: Int

    public init(
        name: String, primitives: [Primitive], binning: TimeBinning?, timeNew: Bool = false,
        useIPNextHop: Bool = false, maximumEntries: Int = 20_000_000
    ) {
        self.name = name
        self.primitives = primitives
        self.binning = binning
        self.timeNew = timeNew
        self.useIPNextHop = useIPNextHop
        self.maximumEntries = maximumEntries
    }
}

/// Accumulates flows into one view's rows between flushes. Owned by one thread.
public struct View: Sendable {
    public let definition: ViewDefinition
    let select: Selection
    /// Set when the view's primitives fit a `PackedKey`: rows then live in `packedRows`
    /// (and in `rows` for the few flows whose addresses cannot be packed).
    let layout: KeyLayout?
    var rows: [BinnedKey: Counters] = [:]
    var packedRows = PackedTable()
    var cachedBinStart = 0
    var cachedBinEnd = 0
    /// Flows dropped because the table was full.
    public private(set) var droppedFlows: UInt64 = 0
    /// Additions that left a row's counter at its maximum (Int64.max; flows at 2^31-1 within
    /// one flush), in tables already handed over.
    var saturatedBefore: UInt64 = 0
    var saturatedRows: UInt64 = 0

    /// Additions that left a row's counter at its maximum, since the view began.
    public var saturatedCounters: UInt64 { saturatedBefore &+ saturatedRows &+ packedRows.saturated }

    struct Selection: Sendable {
        var srcHost = false, dstHost = false, srcNet = false, dstNet = false
        var srcPort = false, dstPort = false, proto = false, tos = false, tcpFlags = false
        var peerSrc = false, peerDst = false, inIface = false, outIface = false
        var srcMask = false, dstMask = false, srcAS = false, dstAS = false
        var samplingRate = false, version = false
        var peerSrcAS = false, peerDstAS = false, localPref = false, med = false
        var asPath = false, stdComm = false, extComm = false, lrgComm = false, pathMatch = false

        init(_ primitives: [Primitive]) {
            for p in primitives {
                switch p {
                case .srcHost: srcHost = true
                case .dstHost: dstHost = true
                case .srcNet: srcNet = true
                case .dstNet: dstNet = true
                case .srcPort: srcPort = true
                case .dstPort: dstPort = true
                case .proto: proto = true
                case .tos: tos = true
                case .tcpFlags: tcpFlags = true
                case .peerSrcIP: peerSrc = true
                case .peerDstIP: peerDst = true
                case .inIface: inIface = true
                case .outIface: outIface = true
                case .srcMask: srcMask = true
                case .dstMask: dstMask = true
                case .srcAS: srcAS = true
                case .dstAS: dstAS = true
                case .samplingRate: samplingRate = true
                case .exportProtoVersion: version = true
                case .peerSrcAS: peerSrcAS = true
                case .peerDstAS: peerDstAS = true
                case .localPref: localPref = true
                case .med: med = true
                case .asPath: asPath = true
                case .stdComm: stdComm = true
                case .extComm: extComm = true
                case .lrgComm: lrgComm = true
                case .pathMatch: pathMatch = true
                }
            }
        }
    }

    public init(_ definition: ViewDefinition) {
        self.definition = definition
        self.select = Selection(definition.primitives)
        self.layout = KeyLayout(definition.primitives)
    }

    /// Rows accumulated since the last drain.
    public var rowCount: Int { rows.count + packedRows.count }

    @inline(__always)
    public func key(for r: FlowRecord) -> FlowKey {
        var k = FlowKey()
        let s = select
        if s.srcHost { k.srcAddr = r.srcAddr }
        if s.dstHost { k.dstAddr = r.dstAddr }
        if s.srcNet { k.srcNet = r.srcAddr.masked(to: Int(r.srcMask)) }
        if s.dstNet { k.dstNet = r.dstAddr.masked(to: Int(r.dstMask)) }
        if s.srcPort { k.srcPort = r.srcPort }
        if s.dstPort { k.dstPort = r.dstPort }
        if s.proto { k.proto = r.proto }
        if s.tos { k.tos = r.tos }
        if s.tcpFlags { k.tcpFlags = r.tcpFlags }
        if s.peerSrc { k.peerSrc = r.exporterAddress }
        if s.peerDst {
            k.peerDst = r.bgpNextHop.isNone && definition.useIPNextHop ? r.ipNextHop : r.bgpNextHop
        }
        if s.inIface { k.inIface = r.inIface }
        if s.outIface { k.outIface = r.outIface }
        if s.srcMask { k.srcMask = r.srcMask }
        if s.dstMask { k.dstMask = r.dstMask }
        if s.srcAS { k.srcAS = r.srcAS }
        if s.dstAS { k.dstAS = r.dstAS }
        if s.samplingRate { k.samplingRate = r.samplingRate }
        if s.version { k.version = r.version }
        if s.peerSrcAS { k.peerSrcAS = r.peerSrcAS }
        if s.peerDstAS { k.peerDstAS = r.peerDstAS }
        if s.localPref { k.localPref = r.localPref }
        if s.med { k.med = r.med }
        if s.asPath { k.asPath = r.asPathText }
        if s.stdComm { k.stdComm = r.stdCommText }
        if s.extComm { k.extComm = r.extCommText }
        if s.lrgComm { k.lrgComm = r.lrgCommText }
        if s.pathMatch { k.pathMatch = r.pathMatch }
        return k
    }

    /// Scratch space for `add(contentsOf:)`, kept between calls.
    var batchKeys: [PackedKey] = []
    var batchSlots: [Int] = []
    var batchRecords: [Int] = []

    /// Adds the flows of one datagram. Packed views first compute every row's slot and prefetch
    /// it, then add: the cache misses of a batch overlap instead of coming one after another.
    public mutating func add(contentsOf records: [FlowRecord], arrival: UInt32) {
        guard let layout, records.count > 1 else {
            for r in records { add(r, arrival: arrival) }
            return
        }
        // Records are read in place (a FlowRecord is a few hundred bytes: no copies per pass).
        records.withUnsafeBufferPointer { records in
            batchKeys.removeAll(keepingCapacity: true)
            batchSlots.removeAll(keepingCapacity: true)
            batchRecords.removeAll(keepingCapacity: true)
            for i in records.indices {
                let bin = bin(for: records[i], arrival: arrival)
                guard let key = layout.pack(records[i], bin: bin, useIPNextHop: definition.useIPNextHop) else {
                    addFull(records[i], bin: bin)
                    continue
                }
                let slot = packedRows.home(key)
                packedRows.prefetch(slot)
                batchKeys.append(key)
                batchSlots.append(slot)
                batchRecords.append(i)
            }
            let capacity = packedRows.capacity
            for (n, i) in batchRecords.enumerated() {
                let counters = Counters(packets: records[i].packets, bytes: records[i].bytes, flows: records[i].flows)
                // A table that grew during the batch has moved its slots: probe from the new home.
                let start = packedRows.capacity == capacity ? batchSlots[n] : packedRows.home(batchKeys[n])
                if !packedRows.add(batchKeys[n], counters, limit: definition.maximumEntries - rows.count, from: start) {
                    droppedFlows &+= 1
                }
            }
        }
    }

    /// Adds one flow. `arrival` is the unix second the datagram arrived.
    @inline(__always)
    public mutating func add(_ r: FlowRecord, arrival: UInt32) {
        let bin = bin(for: r, arrival: arrival)
        if let layout, let row = layout.pack(r, bin: bin, useIPNextHop: definition.useIPNextHop) {
            let counters = Counters(packets: r.packets, bytes: r.bytes, flows: r.flows)
            if !packedRows.add(row, counters, limit: definition.maximumEntries - rows.count) {
                droppedFlows &+= 1
            }
            return
        }
        addFull(r, bin: bin)
    }

    /// The full-key path: views too wide to pack, and the rare flows a packed key cannot hold.
    mutating func addFull(_ r: FlowRecord, bin: UInt32) {
        let counters = Counters(packets: r.packets, bytes: r.bytes, flows: r.flows)
        let row = BinnedKey(key: key(for: r), bin: bin)
        if let index = rows.index(forKey: row) {
            if !rows.values[index].add(counters) { saturatedRows &+= 1 }
        } else if rows.count + packedRows.count < definition.maximumEntries {
            rows[row] = counters
        } else {
            droppedFlows &+= 1
        }
    }

    /// The start of the bin `r` falls in (0 without sql_history).
    @inline(__always)
    mutating func bin(for r: FlowRecord, arrival: UInt32) -> UInt32 {
        guard let binning = definition.binning else { return 0 }
        let time = Int(definition.timeNew || r.startSeconds == 0 ? arrival : r.startSeconds)
        // Consecutive flows mostly fall in the bin of the flow before.
        if time >= cachedBinStart && time < cachedBinEnd {
            return UInt32(truncatingIfNeeded: cachedBinStart)
        }
        let start = binning.bin(time)
        if binning.slot > 0 {
            cachedBinStart = start
            cachedBinEnd = start + binning.slot
        }
        return UInt32(truncatingIfNeeded: start)
    }

    /// Hands over the rows accumulated since the last drain, as they are stored: O(1), so the
    /// shard's thread goes straight back to reading datagrams. `DrainedRows.merged()` unpacks
    /// them, on the writer's thread.
    public mutating func take() -> DrainedRows {
        let taken = DrainedRows(packed: layout == nil ? nil : packedRows, layout: layout, rows: rows)
        saturatedBefore &+= packedRows.saturated
        // The next interval likely has as many rows: avoid growing the tables again.
        if layout != nil { packedRows = PackedTable(minimumCapacity: packedRows.count) }
        rows = Dictionary(minimumCapacity: rows.count)
        return taken
    }

    /// Hands over the rows accumulated since the last drain, unpacked.
    public mutating func drain() -> [BinnedKey: Counters] {
        take().merged()
    }

    /// Adds drained rows from another shard of the same view.
    public static func merge(_ other: [BinnedKey: Counters], into rows: inout [BinnedKey: Counters]) {
        if rows.isEmpty {
            rows = other
            return
        }
        for (key, counters) in other {
            rows[key, default: Counters()].add(counters)
        }
    }
}

/// A view's rows handed over at a flush, from one shard.
public struct DrainedRows: Sendable {
    let packed: PackedTable?
    let layout: KeyLayout?
    let rows: [BinnedKey: Counters]

    /// Rows already unpacked (a batch built outside a view: tools, tests, replays).
    public init(rows: [BinnedKey: Counters]) {
        self.init(packed: nil, layout: nil, rows: rows)
    }

    init(packed: PackedTable?, layout: KeyLayout?, rows: [BinnedKey: Counters]) {
        self.packed = packed
        self.layout = layout
        self.rows = rows
    }

    public var count: Int { (packed?.count ?? 0) + rows.count }

    /// Every row, unpacked one at a time.
    public func forEach(_ body: (BinnedKey, Counters) throws -> Void) rethrows {
        if let packed, let layout {
            try packed.forEach { key, counters in try body(layout.unpack(key), counters) }
        }
        for (key, counters) in rows { try body(key, counters) }
    }

    /// Adds these rows to `rows`.
    public func merge(into all: inout [BinnedKey: Counters]) {
        if let packed, let layout {
            all.reserveCapacity(all.count + packed.count)
            packed.forEach { key, counters in
                all[layout.unpack(key), default: Counters()].add(counters)
            }
        }
        View.merge(rows, into: &all)
    }

    /// The rows, unpacked.
    public func merged() -> [BinnedKey: Counters] {
        if packed == nil { return rows }
        var all: [BinnedKey: Counters] = [:]
        merge(into: &all)
        return all
    }

    /// Rows of several shards of one view, summed.
    public static func merged(_ parts: [DrainedRows]) -> [BinnedKey: Counters] {
        var rows: [BinnedKey: Counters] = Dictionary(minimumCapacity: parts.map(\.count).max() ?? 0)
        for part in parts { part.merge(into: &rows) }
        return rows
    }
}

/// pmacct's nfacctd_renormalize: scale sampled counters up by the sampling rate, saturating at
/// the largest counter a table holds. Returns false when a counter saturated.
@inline(__always) @discardableResult
public func renormalize(_ r: inout FlowRecord) -> Bool {
    guard r.samplingRate > 1 else { return true }
    let (packets, packetsOverflow) = r.packets.multipliedReportingOverflow(by: UInt64(r.samplingRate))
    let (bytes, bytesOverflow) = r.bytes.multipliedReportingOverflow(by: UInt64(r.samplingRate))
    r.packets = packetsOverflow ? Counters.maximum : min(packets, Counters.maximum)
    r.bytes = bytesOverflow ? Counters.maximum : min(bytes, Counters.maximum)
    return r.packets < Counters.maximum && r.bytes < Counters.maximum
}
