import FlowWire
import NetCore
import Storage

/// What a shard keeps of sFlow's interface counters: each interface's last sample, and what the
/// counters advanced by since, per minute, until the flush takes it.
///
/// A counter that went backwards (the agent restarted, or its uptime did) starts afresh: no
/// advance is credited for that sample. sFlow's 32-bit packet, error and discard counters wrap
/// and are read modulo 2^32; octets are 64-bit. Bounded: interfaces past `interfacesLimit` are
/// counted and not followed.
struct SFlowCounters {
    struct Interface: Hashable {
        var agent: IPAddress
        var subAgent: UInt32
        var ifIndex: UInt32
    }

    struct Minute: Hashable {
        var agent: IPAddress
        var ifIndex: UInt32
        var minute: Int
    }

    static let interfacesLimit = 65_536
    /// Counter records kept for sfacctd_counter_file between two writes.
    static let recordsLimit = 262_144

    var last: [Interface: InterfaceCounters] = [:]
    /// Every counter record since the last take, for sfacctd_counter_file (when it is set).
    let keepsRecords: Bool
    var records: [InterfaceCounters] = []
    /// Records not kept for the file: past `recordsLimit` between two writes.
    var recordsDropped: UInt64 = 0

    init(keepsRecords: Bool = false) {
        self.keepsRecords = keepsRecords
    }
    var pending: [Minute: InterfaceCountersRow] = [:]
    /// Counter records of interfaces past the limit.
    var refused: UInt64 = 0

    mutating func add(_ c: InterfaceCounters) {
        if keepsRecords {
            if records.count < Self.recordsLimit { records.append(c) } else { recordsDropped += 1 }
        }
        let key = Interface(agent: c.agent, subAgent: c.subAgent, ifIndex: c.ifIndex)
        let minute = Minute(agent: c.agent, ifIndex: c.ifIndex, minute: Int(c.received) / 60 * 60)
        guard let index = last.index(forKey: key) else {
            guard last.count < Self.interfacesLimit else {
                refused += 1
                return
            }
            last[key] = c
            record(minute) { $0.ifSpeed = c.ifSpeed }
            return
        }
        let before = last.values[index]
        last.values[index] = c
        let restarted = c.uptime < before.uptime || c.inOctets < before.inOctets || c.outOctets < before.outOctets
        record(minute) { row in
            row.ifSpeed = c.ifSpeed
            row.samples += 1
            guard !restarted else { return }
            func wrap(_ new: UInt32, _ old: UInt32) -> UInt64 { UInt64(new &- old) }
            row.inBytes &+= c.inOctets - before.inOctets
            row.outBytes &+= c.outOctets - before.outOctets
            row.inPackets &+= wrap(c.inUnicastPackets, before.inUnicastPackets)
                &+ wrap(c.inMulticastPackets, before.inMulticastPackets) &+ wrap(c.inBroadcastPackets, before.inBroadcastPackets)
            row.outPackets &+= wrap(c.outUnicastPackets, before.outUnicastPackets)
                &+ wrap(c.outMulticastPackets, before.outMulticastPackets) &+ wrap(c.outBroadcastPackets, before.outBroadcastPackets)
            row.inErrors &+= wrap(c.inErrors, before.inErrors)
            row.outErrors &+= wrap(c.outErrors, before.outErrors)
            row.inDiscards &+= wrap(c.inDiscards, before.inDiscards)
            row.outDiscards &+= wrap(c.outDiscards, before.outDiscards)
        }
    }

    mutating func record(_ minute: Minute, _ update: (inout InterfaceCountersRow) -> Void) {
        let index = pending.index(forKey: minute) ?? {
            pending[minute] = InterfaceCountersRow(agent: minute.agent.description, ifIndex: minute.ifIndex, minute: minute.minute)
            return pending.index(forKey: minute)!
        }()
        update(&pending.values[index])
    }

    /// The minutes, and the records (when kept), since the last take.
    mutating func take() -> (rows: [InterfaceCountersRow], records: [InterfaceCounters]) {
        defer {
            pending.removeAll(keepingCapacity: true)
            records.removeAll(keepingCapacity: true)
        }
        return (Array(pending.values), records)
    }
}
