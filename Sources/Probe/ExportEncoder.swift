/// Packs expired flows into NetFlow v5, v9 or IPFIX messages, with templates (and the sampling
/// options record when packets are sampled) at the start and again every `templateEvery`
/// messages or `templateSeconds` of capture time. Pure: flows and a clock in, bytes out.
public struct ExportEncoder {
    public enum Format: Int, Sendable {
        case v5 = 5, v9 = 9, ipfix = 10
    }

    public static let templateIDv4: UInt16 = 256
    public static let templateIDv6: UInt16 = 257
    public static let optionsTemplateID: UInt16 = 258
    /// Messages stay under this size so they fit an Ethernet MTU with IPv6 and UDP headers.
    public static let maximumMessage = 1400
    public static let v5RecordsPerMessage = 30

    public let format: Format
    let engineType: UInt8
    let engineID: UInt32
    let samplingRate: UInt32
    let vlan: Bool
    /// Capture time of the probe's start: sysUptime's zero for v5 and v9.
    let bootMicros: UInt64
    public var templateEvery = 18
    public var templateSeconds: UInt64 = 60

    /// v5: flows exported; v9: messages exported; IPFIX: data records exported.
    public private(set) var sequence: UInt32 = 0
    /// IPv6 flows NetFlow v5 cannot carry.
    public private(set) var v6Dropped: UInt64 = 0
    private var messagesSinceTemplate = Int.max
    private var lastTemplateSeconds: UInt64 = 0

    public init(format: Format, engineType: UInt8 = 0, engineID: UInt32 = 0, samplingRate: UInt32 = 1,
                vlan: Bool = false, bootMicros: UInt64) {
        self.format = format
        self.engineType = engineType
        self.engineID = engineID
        self.samplingRate = samplingRate
        self.vlan = vlan
        self.bootMicros = bootMicros
    }

    /// Messages carrying `flows`, in order.
    public mutating func encode(_ flows: [ProbeFlow], nowMicros: UInt64) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        switch format {
        case .v5:
            var batch: [ProbeFlow] = []
            batch.reserveCapacity(Self.v5RecordsPerMessage)
            for flow in flows {
                if flow.isV6 {
                    v6Dropped &+= 1
                    continue
                }
                batch.append(flow)
                if batch.count == Self.v5RecordsPerMessage {
                    messages.append(v5Message(batch, nowMicros))
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { messages.append(v5Message(batch, nowMicros)) }
        case .v9, .ipfix:
            var index = 0
            while index < flows.count || needsTemplates(nowMicros) {
                messages.append(templatedMessage(flows, &index, nowMicros))
            }
        }
        return messages
    }

    /// A message with templates only (sent at start, so collectors learn them before data).
    public mutating func templatesOnly(nowMicros: UInt64) -> [UInt8]? {
        guard format != .v5 else { return nil }
        messagesSinceTemplate = Int.max
        var index = 0
        return templatedMessage([], &index, nowMicros)
    }

    private func needsTemplates(_ nowMicros: UInt64) -> Bool {
        messagesSinceTemplate >= templateEvery || nowMicros / 1_000_000 >= lastTemplateSeconds + templateSeconds
    }

    // MARK: NetFlow v5

    private mutating func v5Message(_ flows: [ProbeFlow], _ now: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24 + 48 * flows.count)
        out.put16(5)
        out.put16(UInt16(flows.count))
        out.put32(uptime(now))
        out.put32(UInt32(truncatingIfNeeded: now / 1_000_000))
        out.put32(UInt32(truncatingIfNeeded: (now % 1_000_000) * 1000))
        out.put32(sequence)
        out.append(engineType)
        out.append(UInt8(truncatingIfNeeded: engineID))
        out.put16(samplingRate > 1 ? UInt16(0x4000) | UInt16(min(samplingRate, 0x3fff)) : 0)
        for f in flows {
            out.put32(UInt32(truncatingIfNeeded: f.srcLow))
            out.put32(UInt32(truncatingIfNeeded: f.dstLow))
            out.put32(0)  // next hop
            out.put16(0)  // input
            out.put16(0)  // output
            out.put32(UInt32(clamping: f.packets))
            out.put32(UInt32(clamping: f.bytes))
            out.put32(uptime(f.firstMicros))
            out.put32(uptime(f.lastMicros))
            out.put16(f.srcPort)
            out.put16(f.dstPort)
            out.append(0)
            out.append(f.tcpFlags)
            out.append(f.proto)
            out.append(f.tos)
            out.put32(0)  // src_as, dst_as
            out.put32(0)  // masks, pad
        }
        sequence &+= UInt32(flows.count)
        return out
    }

    private func uptime(_ micros: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (micros &- min(micros, bootMicros)) / 1000)
    }

    // MARK: v9 and IPFIX

    private var fieldsV4: [(UInt16, UInt16)] {
        var fields: [(UInt16, UInt16)] = [(8, 4), (12, 4)]
        fields += commonFields
        return fields
    }

    private var fieldsV6: [(UInt16, UInt16)] {
        var fields: [(UInt16, UInt16)] = [(27, 16), (28, 16)]
        fields += commonFields
        return fields
    }

    /// Ports, protocol, TOS, TCP flags, IP version, counters, times, then the optional fields.
    private var commonFields: [(UInt16, UInt16)] {
        var fields: [(UInt16, UInt16)] = [(7, 2), (11, 2), (4, 1), (5, 1), (6, 1), (60, 1), (1, 8), (2, 8)]
        fields += format == .ipfix ? [(152, 8), (153, 8)] : [(22, 4), (21, 4)]
        if vlan { fields.append((58, 2)) }
        if samplingRate > 1 { fields.append((48, 1)) }
        return fields
    }

    private func recordLength(v6: Bool) -> Int {
        (v6 ? fieldsV6 : fieldsV4).reduce(0) { $0 + Int($1.1) }
    }

    private mutating func templatedMessage(_ flows: [ProbeFlow], _ index: inout Int, _ now: UInt64) -> [UInt8] {
        var body: [UInt8] = []
        var records = 0      // v9's count: template, options and data records
        var dataRecords = 0  // IPFIX's sequence advance
        if needsTemplates(now) {
            appendTemplates(&body, &records)
            if samplingRate > 1 {
                appendSamplingOptions(&body)
                records += 1
                dataRecords += 1
            }
            messagesSinceTemplate = 0
            lastTemplateSeconds = now / 1_000_000
        }
        let headerLength = format == .ipfix ? 16 : 20
        // Data sets: consecutive flows of one family share a set.
        while index < flows.count {
            let v6 = flows[index].isV6
            let length = recordLength(v6: v6)
            let room = Self.maximumMessage - headerLength - body.count - 4
            guard room >= length else { break }
            let setStart = body.count
            body.put16(v6 ? Self.templateIDv6 : Self.templateIDv4)
            body.put16(0)
            var used = 0
            while index < flows.count && flows[index].isV6 == v6 && used + length <= room {
                appendRecord(flows[index], &body)
                used += length
                index += 1
                records += 1
                dataRecords += 1
            }
            while (body.count - setStart) % 4 != 0 { body.append(0) }
            body.set16(at: setStart + 2, UInt16(body.count - setStart))
        }
        messagesSinceTemplate += 1
        var out: [UInt8] = []
        out.reserveCapacity(headerLength + body.count)
        if format == .ipfix {
            out.put16(10)
            out.put16(UInt16(16 + body.count))
            out.put32(UInt32(truncatingIfNeeded: now / 1_000_000))
            out.put32(sequence)
            out.put32(engineID)
            sequence &+= UInt32(dataRecords)
        } else {
            out.put16(9)
            out.put16(UInt16(records))
            out.put32(uptime(now))
            out.put32(UInt32(truncatingIfNeeded: now / 1_000_000))
            out.put32(sequence)
            out.put32(engineID)
            sequence &+= 1
        }
        out += body
        return out
    }

    private func appendTemplates(_ body: inout [UInt8], _ records: inout Int) {
        let start = body.count
        body.put16(format == .ipfix ? 2 : 0)
        body.put16(0)
        for (id, fields) in [(Self.templateIDv4, fieldsV4), (Self.templateIDv6, fieldsV6)] {
            body.put16(id)
            body.put16(UInt16(fields.count))
            for (element, length) in fields {
                body.put16(element)
                body.put16(length)
            }
            records += 1
        }
        body.set16(at: start + 2, UInt16(body.count - start))
    }

    /// The sampler: id 1, deterministic 1-in-N (flowSamplerID 48, flowSamplerMode 49,
    /// flowSamplerRandomInterval 50), scoped to the system (v9) or observation domain (IPFIX).
    private func appendSamplingOptions(_ body: inout [UInt8]) {
        let options: [(UInt16, UInt16)] = [(48, 1), (49, 1), (50, 4)]
        var start = body.count
        if format == .ipfix {
            body.put16(3)
            body.put16(0)
            body.put16(Self.optionsTemplateID)
            body.put16(UInt16(1 + options.count))
            body.put16(1)      // scope field count
            body.put16(149)    // observationDomainId
            body.put16(4)
        } else {
            body.put16(1)
            body.put16(0)
            body.put16(Self.optionsTemplateID)
            body.put16(4)      // scope length: one (type, length) pair
            body.put16(UInt16(options.count * 4))
            body.put16(1)      // scope: System
            body.put16(4)
        }
        for (element, length) in options {
            body.put16(element)
            body.put16(length)
        }
        while (body.count - start) % 4 != 0 { body.append(0) }
        body.set16(at: start + 2, UInt16(body.count - start))
        start = body.count
        body.put16(Self.optionsTemplateID)
        body.put16(0)
        body.put32(engineID)
        body.append(1)
        body.append(1)
        body.put32(samplingRate)
        while (body.count - start) % 4 != 0 { body.append(0) }
        body.set16(at: start + 2, UInt16(body.count - start))
    }

    private func appendRecord(_ f: ProbeFlow, _ body: inout [UInt8]) {
        if f.isV6 {
            body.put64(f.srcHigh)
            body.put64(f.srcLow)
            body.put64(f.dstHigh)
            body.put64(f.dstLow)
        } else {
            body.put32(UInt32(truncatingIfNeeded: f.srcLow))
            body.put32(UInt32(truncatingIfNeeded: f.dstLow))
        }
        body.put16(f.srcPort)
        body.put16(f.dstPort)
        body.append(f.proto)
        body.append(f.tos)
        body.append(f.tcpFlags)
        body.append(f.isV6 ? 6 : 4)
        body.put64(f.bytes)
        body.put64(f.packets)
        if format == .ipfix {
            body.put64(f.firstMicros / 1000)
            body.put64(f.lastMicros / 1000)
        } else {
            body.put32(uptime(f.firstMicros))
            body.put32(uptime(f.lastMicros))
        }
        if vlan { body.put16(f.vlan) }
        if samplingRate > 1 { body.append(1) }
    }
}

extension [UInt8] {
    mutating func put16(_ v: UInt16) {
        append(UInt8(v >> 8))
        append(UInt8(truncatingIfNeeded: v))
    }

    mutating func put32(_ v: UInt32) {
        put16(UInt16(v >> 16))
        put16(UInt16(truncatingIfNeeded: v))
    }

    mutating func put64(_ v: UInt64) {
        put32(UInt32(v >> 32))
        put32(UInt32(truncatingIfNeeded: v))
    }

    mutating func set16(at offset: Int, _ v: UInt16) {
        self[offset] = UInt8(v >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: v)
    }
}
