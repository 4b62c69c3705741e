import NetCore

/// One generic interface counters record of an sFlow counter sample (sFlow v5, format 1:
/// RFC 2863's ifTable and ifXTable counters), with the agent that sent it.
public struct InterfaceCounters: Sendable, Equatable {
    /// The sFlow agent (its address in the datagram) and sub-agent.
    public var agent: IPAddress = .none
    public var subAgent: UInt32 = 0
    public var ifIndex: UInt32 = 0
    public var ifType: UInt32 = 0
    /// Bits per second.
    public var ifSpeed: UInt64 = 0
    /// 0 unknown, 1 full duplex, 2 half duplex, 3 in, 4 out.
    public var ifDirection: UInt32 = 0
    /// Bit 0 admin up, bit 1 oper up.
    public var ifStatus: UInt32 = 0
    public var inOctets: UInt64 = 0
    public var inUnicastPackets: UInt32 = 0
    public var inMulticastPackets: UInt32 = 0
    public var inBroadcastPackets: UInt32 = 0
    public var inDiscards: UInt32 = 0
    public var inErrors: UInt32 = 0
    public var inUnknownProtocols: UInt32 = 0
    public var outOctets: UInt64 = 0
    public var outUnicastPackets: UInt32 = 0
    public var outMulticastPackets: UInt32 = 0
    public var outBroadcastPackets: UInt32 = 0
    public var outDiscards: UInt32 = 0
    public var outErrors: UInt32 = 0
    public var promiscuous: UInt32 = 0
    /// The agent's uptime (milliseconds) when it sent the datagram.
    public var uptime: UInt32 = 0
    /// When the collector received it (unix seconds, as passed to the decoder).
    public var received: UInt32 = 0
    /// The datagram's sequence number, the counter sample's, and its source id's index.
    public var datagramSequence: UInt32 = 0
    public var sampleSequence: UInt32 = 0
    public var sourceIndex: UInt32 = 0

    public init() {}

    /// Encoded size of the record (sFlow v5 `if_counters`).
    static let size = 88
}

/// The AS path and communities of one flow's sFlow extended gateway record.
public struct SFlowGatewayPath: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        /// AS_SET (1); otherwise AS_SEQUENCE (2).
        public var isSet: Bool
        public var asns: [UInt32]
    }

    /// The flow's index in the records the decoder appended to.
    public var record = 0
    public var segments: [Segment] = []
    /// RFC 1997 communities.
    public var communities: [UInt32] = []
}

/// What decoding one sFlow datagram did beyond `DecodeOutcome`'s counts.
public struct SFlowOutcome: Sendable, Equatable {
    /// Flow samples and expanded flow samples read.
    public var flowSamples = 0
    /// Counter samples and expanded counter samples read.
    public var counterSamples = 0
    /// The samples' `drops` fields: packets the agent could not sample for lack of resources.
    public var samplesDropped: UInt64 = 0
    /// Samples of a format (or enterprise) not decoded, skipped by their length.
    public var unknownSamples = 0
    /// Flow or counter records of a format not decoded, skipped by their length.
    public var unknownRecords = 0
    /// Raw packet headers whose protocol is not Ethernet, IPv4 or IPv6, or that hold no IP
    /// packet (ARP, …) or a malformed one: the sample is not a flow.
    public var headersNotIP = 0
    /// Flow samples with no record that gives addresses: not a flow.
    public var samplesWithoutFlow = 0

    public init() {}

    public mutating func add(_ o: SFlowOutcome) {
        flowSamples += o.flowSamples
        counterSamples += o.counterSamples
        samplesDropped += o.samplesDropped
        unknownSamples += o.unknownSamples
        unknownRecords += o.unknownRecords
        headersNotIP += o.headersNotIP
        samplesWithoutFlow += o.samplesWithoutFlow
    }
}

/// Decodes sFlow version 5 datagrams (sflow.org's "sFlow Version 5", July 2004) into
/// `FlowRecord`s, one per flow sample, and `InterfaceCounters`.
///
/// Raw packet headers are read with the probe's `PacketParser`, so sFlow and captured packets
/// give the same fields. Holds one piece of state: the last datagram sequence number per agent
/// and sub-agent (bounded in number), to count lost datagrams. A rejected datagram appends
/// nothing.
public struct SFlowDecoder: Sendable {
    public struct Limits: Sendable {
        /// Agents × sub-agents whose sequence numbers are followed.
        public var agents = 65_536
        /// A forward sequence jump larger than this is a restart, not a loss.
        public var maximumSequenceGap: UInt32 = 1 << 24
        /// Samples and records in one datagram or sample (an sFlow datagram fits in a UDP
        /// datagram; these only bound work on lying counts).
        public var samplesPerDatagram = 4096
        public var recordsPerSample = 256
        public init() {}
    }

    struct AgentKey: Hashable, Sendable {
        var agent: IPAddress
        var subAgent: UInt32
    }

    public var limits: Limits
    var sequences: [AgentKey: UInt32] = [:]
    /// The extended gateway's AS path and communities of the last datagram's flows that had one
    /// (their text is the collector's business).
    public private(set) var gatewayPaths: [SFlowGatewayPath] = []

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Agents and sub-agents whose sequence numbers are followed.
    public var agentCount: Int { sequences.count }

    /// Whether a datagram is sFlow v5 (a 32-bit version 5; NetFlow and IPFIX start with a
    /// 16-bit version, never 0).
    public static func isSFlow(_ datagram: UnsafeRawBufferPointer) -> Bool {
        datagram.count >= 4 && datagram.baseAddress.map { readU32($0, 0) == 5 } == true
    }

    /// Decodes one datagram from `exporter` (the UDP source), appending a record per flow sample
    /// and the interface counters of counter samples. `now` (unix seconds) dates both: sFlow
    /// carries no flow times.
    public mutating func decode(
        _ datagram: UnsafeRawBufferPointer,
        from exporter: IPAddress,
        now: UInt32,
        into records: inout [FlowRecord],
        counters: inout [InterfaceCounters],
        sflow: inout SFlowOutcome
    ) -> DecodeOutcome {
        var outcome = DecodeOutcome()
        outcome.version = 5
        let (recordStart, counterStart) = (records.count, counters.count)
        let before = sflow
        gatewayPaths.removeAll(keepingCapacity: true)
        guard let base = datagram.baseAddress, datagram.count >= 28 else {
            outcome.error = .truncatedHeader
            return outcome
        }
        do {
            var reader = Reader(base: base, end: datagram.count)
            guard try reader.u32() == 5 else { throw FlowDecodeError.unsupportedVersion }
            let agent = try reader.address()
            let subAgent = try reader.u32()
            let sequence = try reader.u32()
            let uptime = try reader.u32()
            let samples = try reader.u32()
            guard samples <= limits.samplesPerDatagram else { throw FlowDecodeError.recordCountMismatch }
            var context = Context(exporter: exporter, agent: agent, subAgent: subAgent, uptime: uptime, now: now, sequence: sequence)
            for _ in 0..<samples {
                let format = try reader.u32()
                let length = Int(try reader.u32())
                guard length <= reader.end - reader.offset else { throw FlowDecodeError.setPastEnd }
                var sample = Reader(base: base, offset: reader.offset, end: reader.offset + length)
                reader.offset += length
                guard format >> 12 == 0 else {
                    sflow.unknownSamples += 1
                    continue
                }
                switch format & 0xfff {
                case 1: try flowSample(&sample, expanded: false, &context, &records, &sflow)
                case 3: try flowSample(&sample, expanded: true, &context, &records, &sflow)
                case 2: try counterSample(&sample, expanded: false, &context, &counters, &sflow)
                case 4: try counterSample(&sample, expanded: true, &context, &counters, &sflow)
                default: sflow.unknownSamples += 1
                }
            }
            guard reader.offset == reader.end else { throw FlowDecodeError.lengthMismatch }
            track(AgentKey(agent: agent, subAgent: subAgent), sequence, &outcome)
        } catch {
            records.removeSubrange(recordStart...)
            counters.removeSubrange(counterStart...)
            sflow = before
            gatewayPaths.removeAll(keepingCapacity: true)
            outcome.error = error as? FlowDecodeError ?? .truncatedRecord
            return outcome
        }
        outcome.records = records.count - recordStart
        return outcome
    }

    /// Datagrams lost between this one and the agent's last, by its sequence number.
    mutating func track(_ key: AgentKey, _ sequence: UInt32, _ outcome: inout DecodeOutcome) {
        guard let index = sequences.index(forKey: key) else {
            if sequences.count < limits.agents {
                sequences[key] = sequence
            } else {
                outcome.sessionsRefused += 1
            }
            return
        }
        let last = sequences.values[index]
        let gap = sequence &- last
        if gap == 0 || gap > limits.maximumSequenceGap {
            outcome.sequenceReset = true
        } else if gap > 1 {
            outcome.sequenceLost = UInt64(gap - 1)
        }
        sequences.values[index] = sequence
    }

    /// What every sample of a datagram shares.
    struct Context {
        var exporter: IPAddress
        var agent: IPAddress
        var subAgent: UInt32
        var uptime: UInt32
        var now: UInt32
        var sequence: UInt32
    }

    mutating func flowSample(
        _ r: inout Reader, expanded: Bool, _ c: inout Context, _ records: inout [FlowRecord], _ sflow: inout SFlowOutcome
    ) throws {
        sflow.flowSamples += 1
        _ = try r.u32()  // sample sequence number
        if expanded {
            _ = try r.u32()  // source id type
            _ = try r.u32()  // source id index
        } else {
            _ = try r.u32()  // source id (type << 24 | index)
        }
        let samplingRate = try r.u32()
        _ = try r.u32()  // sample pool
        let drops = try r.u32()
        sflow.samplesDropped += UInt64(drops)
        // Interfaces: format 0 is one ifIndex; 1 (packet discarded) and 2 (several
        // interfaces) name no single port.
        let input: UInt32, output: UInt32
        if expanded {
            let inFormat = try r.u32(), inValue = try r.u32()
            let outFormat = try r.u32(), outValue = try r.u32()
            input = inFormat == 0 ? inValue : 0
            output = outFormat == 0 ? outValue : 0
        } else {
            let inWord = try r.u32(), outWord = try r.u32()
            input = inWord >> 30 == 0 ? inWord & 0x3fff_ffff : 0
            output = outWord >> 30 == 0 ? outWord & 0x3fff_ffff : 0
        }
        let count = try r.u32()
        guard count <= limits.recordsPerSample else { throw FlowDecodeError.recordCountMismatch }
        var flow = FlowRecord()
        flow.exporter = c.exporter
        flow.agentAddress = c.agent
        flow.version = 5
        flow.samplingRate = samplingRate
        flow.inIface = input
        flow.outIface = output
        flow.packets = 1
        flow.startSeconds = c.now
        flow.endSeconds = c.now
        var hasFlow = false
        var notIP = false
        var path: SFlowGatewayPath?
        for _ in 0..<count {
            var (format, record) = try r.record()
            guard format >> 12 == 0 else {
                sflow.unknownRecords += 1
                continue
            }
            switch format & 0xfff {
            case 1:
                // A raw packet header is the best source; it wins over sampled IPv4/IPv6.
                if try rawHeader(&record, &flow) {
                    hasFlow = true
                } else {
                    notIP = true
                }
            case 3 where !hasFlow:
                try sampledIP(&record, v6: false, &flow)
                hasFlow = true
            case 4 where !hasFlow:
                try sampledIP(&record, v6: true, &flow)
                hasFlow = true
            case 3, 4:
                break
            case 1001:
                break  // extended switch: VLANs and priorities, no primitive of ours
            case 1002:
                flow.ipNextHop = try record.address()
                flow.srcMask = UInt8(truncatingIfNeeded: try record.u32())
                flow.dstMask = UInt8(truncatingIfNeeded: try record.u32())
            case 1003:
                path = try gateway(&record, &flow)
            default:
                sflow.unknownRecords += 1
            }
        }
        guard r.offset == r.end else { throw FlowDecodeError.lengthMismatch }
        if hasFlow {
            if var path {
                path.record = records.count
                gatewayPaths.append(path)
            }
            records.append(flow)
        } else if notIP {
            sflow.headersNotIP += 1
        } else {
            sflow.samplesWithoutFlow += 1
        }
    }

    /// sFlow raw packet header (format 1): returns false when it holds no IP packet.
    func rawHeader(_ r: inout Reader, _ flow: inout FlowRecord) throws -> Bool {
        let proto = try r.u32()
        let frameLength = try r.u32()
        _ = try r.u32()  // stripped: the frame length counts it (FCS), as sfacctd does
        let headerLength = Int(try r.u32())
        guard headerLength <= r.end - r.offset else { throw FlowDecodeError.truncatedRecord }
        let link: PacketParser.LinkType
        switch proto {
        case 1: link = .ethernet
        case 11: link = .ipv4
        case 12: link = .ipv6
        default: return false
        }
        var s = PacketSummary()
        guard PacketParser.parse(r.base + r.offset, length: headerLength, linkType: link, into: &s) == nil else {
            return false
        }
        if s.isV6 {
            flow.srcAddr = IPAddress(v6High: s.srcHigh, low: s.srcLow)
            flow.dstAddr = IPAddress(v6High: s.dstHigh, low: s.dstLow)
        } else {
            flow.srcAddr = IPAddress(v4: UInt32(truncatingIfNeeded: s.srcLow))
            flow.dstAddr = IPAddress(v4: UInt32(truncatingIfNeeded: s.dstLow))
        }
        flow.proto = s.proto
        flow.tos = s.tos
        flow.tcpFlags = s.tcpFlags
        flow.srcPort = s.srcPort
        flow.dstPort = s.dstPort
        flow.bytes = UInt64(frameLength)
        return true
    }

    /// sFlow sampled IPv4 (format 3) and IPv6 (format 4).
    func sampledIP(_ r: inout Reader, v6: Bool, _ flow: inout FlowRecord) throws {
        let length = try r.u32()
        let proto = try r.u32()
        if v6 {
            flow.srcAddr = try r.v6()
            flow.dstAddr = try r.v6()
        } else {
            flow.srcAddr = IPAddress(v4: try r.u32())
            flow.dstAddr = IPAddress(v4: try r.u32())
        }
        flow.srcPort = UInt16(truncatingIfNeeded: try r.u32())
        flow.dstPort = UInt16(truncatingIfNeeded: try r.u32())
        flow.tcpFlags = UInt8(truncatingIfNeeded: try r.u32())
        flow.tos = UInt8(truncatingIfNeeded: try r.u32())
        flow.proto = UInt8(truncatingIfNeeded: proto)
        flow.bytes = UInt64(length)
    }

    /// sFlow extended gateway (format 1003): the BGP next hop, the router's view of the source
    /// and destination ASes, the destination AS path (its first AS is the peer's, its last the
    /// destination's), the communities and LOCAL_PREF.
    func gateway(_ r: inout Reader, _ flow: inout FlowRecord) throws -> SFlowGatewayPath {
        flow.bgpNextHop = try r.address()
        _ = try r.u32()  // the router's own AS
        flow.srcAS = try r.u32()
        flow.peerSrcAS = try r.u32()
        var path = SFlowGatewayPath()
        let segments = try r.u32()
        guard segments <= 64 else { throw FlowDecodeError.truncatedRecord }
        for _ in 0..<segments {
            let type = try r.u32()
            let count = try r.u32()
            guard Int(count) <= (r.end - r.offset) / 4 else { throw FlowDecodeError.truncatedRecord }
            var asns: [UInt32] = []
            asns.reserveCapacity(Int(count))
            for _ in 0..<count { asns.append(try r.u32()) }
            path.segments.append(SFlowGatewayPath.Segment(isSet: type == 1, asns: asns))
        }
        let asns = path.segments.lazy.flatMap(\.asns)
        flow.peerDstAS = asns.first ?? 0
        flow.dstAS = asns.last ?? 0
        let communities = try r.u32()
        guard Int(communities) <= (r.end - r.offset) / 4 else { throw FlowDecodeError.truncatedRecord }
        for _ in 0..<communities { path.communities.append(try r.u32()) }
        flow.localPref = try r.u32()
        return path
    }

    func counterSample(
        _ r: inout Reader, expanded: Bool, _ c: inout Context, _ counters: inout [InterfaceCounters], _ sflow: inout SFlowOutcome
    ) throws {
        sflow.counterSamples += 1
        let sampleSequence = try r.u32()
        let sourceIndex: UInt32
        if expanded {
            _ = try r.u32()  // source id type
            sourceIndex = try r.u32()
        } else {
            sourceIndex = try r.u32() & 0x00ff_ffff
        }
        let count = try r.u32()
        guard count <= limits.recordsPerSample else { throw FlowDecodeError.recordCountMismatch }
        for _ in 0..<count {
            var (format, record) = try r.record()
            guard format == 1 else {
                sflow.unknownRecords += 1
                continue
            }
            guard record.end - record.offset >= InterfaceCounters.size else { throw FlowDecodeError.truncatedRecord }
            var i = InterfaceCounters()
            i.agent = c.agent
            i.subAgent = c.subAgent
            i.uptime = c.uptime
            i.received = c.now
            i.datagramSequence = c.sequence
            i.sampleSequence = sampleSequence
            i.sourceIndex = sourceIndex
            i.ifIndex = try record.u32()
            i.ifType = try record.u32()
            i.ifSpeed = try record.u64()
            i.ifDirection = try record.u32()
            i.ifStatus = try record.u32()
            i.inOctets = try record.u64()
            i.inUnicastPackets = try record.u32()
            i.inMulticastPackets = try record.u32()
            i.inBroadcastPackets = try record.u32()
            i.inDiscards = try record.u32()
            i.inErrors = try record.u32()
            i.inUnknownProtocols = try record.u32()
            i.outOctets = try record.u64()
            i.outUnicastPackets = try record.u32()
            i.outMulticastPackets = try record.u32()
            i.outBroadcastPackets = try record.u32()
            i.outDiscards = try record.u32()
            i.outErrors = try record.u32()
            i.promiscuous = try record.u32()
            counters.append(i)
        }
        guard r.offset == r.end else { throw FlowDecodeError.lengthMismatch }
    }

    /// Bounds-checked big-endian reads inside one structure.
    struct Reader {
        let base: UnsafeRawPointer
        var offset: Int
        let end: Int

        init(base: UnsafeRawPointer, offset: Int = 0, end: Int) {
            self.base = base
            self.offset = offset
            self.end = end
        }

        @inline(__always)
        mutating func u32() throws -> UInt32 {
            guard end - offset >= 4 else { throw FlowDecodeError.truncatedRecord }
            defer { offset += 4 }
            return readU32(base, offset)
        }

        @inline(__always)
        mutating func u64() throws -> UInt64 {
            guard end - offset >= 8 else { throw FlowDecodeError.truncatedRecord }
            defer { offset += 8 }
            return readU64(base, offset)
        }

        mutating func v6() throws -> IPAddress {
            guard end - offset >= 16 else { throw FlowDecodeError.truncatedRecord }
            defer { offset += 16 }
            return readV6(base, offset)
        }

        /// A flow or counter record: its format word and a reader over its data, which this
        /// reader moves past.
        mutating func record() throws -> (format: UInt32, data: Reader) {
            let format = try u32()
            let length = Int(try u32())
            guard length <= end - offset else { throw FlowDecodeError.truncatedRecord }
            defer { offset += length }
            return (format, Reader(base: base, offset: offset, end: offset + length))
        }

        /// An sFlow address: a type (1 IPv4, 2 IPv6, 0 unknown) and the address.
        mutating func address() throws -> IPAddress {
            switch try u32() {
            case 0: return .none
            case 1: return IPAddress(v4: try u32())
            case 2: return try v6()
            default: throw FlowDecodeError.badSetHeader
            }
        }
    }
}
