import NetCore

/// Decodes NetFlow v5, v9 and IPFIX datagrams into `FlowRecord`s.
///
/// A value holding the state the protocols need between datagrams: templates per
/// (exporter, observation domain, template id), sampling announced in options data, and
/// the next expected sequence number per exporter and domain. No sockets, clocks or logs.
/// A rejected datagram appends no records and leaves other exporters' state alone.
public struct FlowDecoder: Sendable {
    public struct Limits: Sendable {
        /// Templates kept per exporter and observation domain.
        public var templatesPerDomain = 2048
        /// Templates kept across all exporters.
        public var templatesTotal = 262_144
        /// (exporter, observation domain) pairs whose sequence numbers are tracked; a sender
        /// cycling through domain ids cannot grow the state past it.
        public var domainsTotal = 65_536
        /// Sampler ids remembered per domain.
        public var samplersPerDomain = 4096
        /// Fields in one template.
        public var fieldsPerTemplate = 1024
        /// A forward sequence jump larger than this is a restart, not a loss.
        public var maximumSequenceGap: UInt32 = 1 << 24
        public init() {}
    }

    /// Where templates, options data and sequence numbers live: the transport session (the
    /// exporter's address and UDP port) and the observation domain / source id, per version
    /// (RFC 7011 §8, RFC 3954 §5.1). A template sent from another port of the same address is
    /// another session's and never replaces this one's.
    struct DomainKey: Hashable, Sendable {
        var exporter: IPAddress
        var port: UInt16
        var domain: UInt32
        var version: UInt8
    }

    struct TemplateKey: Hashable, Sendable {
        var domain: DomainKey
        var id: UInt16
    }

    struct DomainState: Sendable {
        var templateCount = 0
        var lastSequence: UInt32?
        var lastAdvance: [UInt32]?
        var defaultSamplingRate: UInt32 = 0
        var samplers: [UInt32: UInt32] = [:]
        var agent: IPAddress = .none
    }

    public var limits: Limits
    var templates: [TemplateKey: Template] = [:]
    var domains: [DomainKey: DomainState] = [:]

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Templates currently known, across exporters.
    public var templateCount: Int { templates.count }

    /// Forgets everything learned from one exporter (it went away or restarted).
    public mutating func forget(exporter: IPAddress) {
        templates = templates.filter { $0.key.domain.exporter != exporter }
        domains = domains.filter { $0.key.exporter != exporter }
    }

    /// Decodes one datagram from `exporter`'s UDP `port`, appending its flows to `records`.
    public mutating func decode(
        _ datagram: UnsafeRawBufferPointer,
        from exporter: IPAddress,
        port: UInt16 = 0,
        into records: inout [FlowRecord]
    ) -> DecodeOutcome {
        var outcome = DecodeOutcome()
        let start = records.count
        guard datagram.count >= 2, let base = datagram.baseAddress else {
            outcome.error = .truncatedHeader
            return outcome
        }
        let version = readU16(base, 0)
        outcome.version = UInt8(truncatingIfNeeded: version)
        do {
            switch version {
            case 5: try decodeV5(base, datagram.count, exporter, port, &records, &outcome)
            case 9: try decodeV9(base, datagram.count, exporter, port, &records, &outcome)
            case 10: try decodeIPFIX(base, datagram.count, exporter, port, &records, &outcome)
            default: throw FlowDecodeError.unsupportedVersion
            }
        } catch {
            records.removeSubrange(start...)
            outcome.records = 0
            outcome.error = error as? FlowDecodeError ?? .badSetHeader
            return outcome
        }
        outcome.records = records.count - start
        return outcome
    }

    // MARK: - Sequence numbers

    /// Checks `sequence` against what the previous datagram of this domain led us to expect.
    ///
    /// `advance` is what this datagram adds to the counter: its records (v5, IPFIX) or 1 (v9);
    /// nil when unknown. IPFIX exporters disagree on details, so two readings pass as in order:
    /// counting options records or not, and counting the message's own records before or after
    /// (softflowd 1.1.0 sends the count including the current message).
    mutating func track(sequence: UInt32, advance: [UInt32]?, key: DomainKey, outcome: inout DecodeOutcome) {
        guard domains[key] != nil || domains.count < limits.domainsTotal else { return }
        var state = domains[key, default: DomainState()]
        if let last = state.lastSequence, let lastAdvance = state.lastAdvance {
            let inOrder = lastAdvance.contains { last &+ $0 == sequence }
                || (advance?.contains { sequence &- $0 == last } ?? false)
            if !inOrder {
                let delta = sequence &- (last &+ (lastAdvance.first ?? 0))
                if delta <= limits.maximumSequenceGap {
                    outcome.sequenceLost = UInt64(delta)
                } else {
                    outcome.sequenceReset = true
                }
            }
        }
        state.lastSequence = sequence
        state.lastAdvance = advance
        domains[key] = state
    }

    // MARK: - NetFlow v5

    static let v5HeaderLength = 24
    static let v5RecordLength = 48

    mutating func decodeV5(
        _ base: UnsafeRawPointer, _ length: Int, _ exporter: IPAddress, _ port: UInt16,
        _ records: inout [FlowRecord], _ outcome: inout DecodeOutcome
    ) throws {
        guard length >= Self.v5HeaderLength else { throw FlowDecodeError.truncatedHeader }
        let count = Int(readU16(base, 2))
        guard count >= 1, count <= 30 else { throw FlowDecodeError.recordCountMismatch }
        guard length >= Self.v5HeaderLength + count * Self.v5RecordLength else { throw FlowDecodeError.lengthMismatch }
        let sysUptime = readU32(base, 4)
        let unixSeconds = readU32(base, 8)
        let sequence = readU32(base, 16)
        let engine = UInt32(readU16(base, 20))
        let sampling = UInt32(readU16(base, 22) & 0x3fff)
        records.reserveCapacity(records.count + count)
        for i in 0..<count {
            let o = Self.v5HeaderLength + i * Self.v5RecordLength
            var r = FlowRecord()
            r.version = 5
            r.exporter = exporter
            r.observationDomain = engine
            r.srcAddr = IPAddress(v4: readU32(base, o))
            r.dstAddr = IPAddress(v4: readU32(base, o + 4))
            r.ipNextHop = IPAddress(v4: readU32(base, o + 8))
            r.inIface = UInt32(readU16(base, o + 12))
            r.outIface = UInt32(readU16(base, o + 14))
            r.packets = UInt64(readU32(base, o + 16))
            r.bytes = UInt64(readU32(base, o + 20))
            r.startSeconds = Self.uptimeToUnix(unixSeconds, sysUptime, readU32(base, o + 24))
            r.endSeconds = Self.uptimeToUnix(unixSeconds, sysUptime, readU32(base, o + 28))
            r.srcPort = readU16(base, o + 32)
            r.dstPort = readU16(base, o + 34)
            r.tcpFlags = readU8(base, o + 37)
            r.proto = readU8(base, o + 38)
            r.tos = readU8(base, o + 39)
            r.srcAS = UInt32(readU16(base, o + 40))
            r.dstAS = UInt32(readU16(base, o + 42))
            r.srcMask = readU8(base, o + 44)
            r.dstMask = readU8(base, o + 45)
            r.samplingRate = sampling
            records.append(r)
        }
        track(sequence: sequence, advance: [UInt32(count)],
              key: DomainKey(exporter: exporter, port: port, domain: engine, version: 5), outcome: &outcome)
    }

    /// A sysUpTime in milliseconds as unix seconds, given the header's pair (pmacct's arithmetic).
    @inline(__always)
    static func uptimeToUnix(_ unixSeconds: UInt32, _ sysUptime: UInt32, _ at: UInt32) -> UInt32 {
        let delta = Int64(Int32(bitPattern: sysUptime &- at)) / 1000
        return UInt32(truncatingIfNeeded: Int64(unixSeconds) - delta)
    }

    // MARK: - NetFlow v9 (RFC 3954)

    static let v9HeaderLength = 20

    mutating func decodeV9(
        _ base: UnsafeRawPointer, _ length: Int, _ exporter: IPAddress, _ port: UInt16,
        _ records: inout [FlowRecord], _ outcome: inout DecodeOutcome
    ) throws {
        guard length >= Self.v9HeaderLength else { throw FlowDecodeError.truncatedHeader }
        let header = ExportHeader(
            version: 9, sysUptime: readU32(base, 4), unixSeconds: readU32(base, 8),
            domain: readU32(base, 16))
        let sequence = readU32(base, 12)
        let key = DomainKey(exporter: exporter, port: port, domain: header.domain, version: 9)
        // The header count is unreliable (softflowd leaves templates out): walk FlowSets by length.
        try walkSets(base, from: Self.v9HeaderLength, to: length, header: header, key: key,
                     templateSetID: 0, optionsSetID: 1, exporter: exporter, &records, &outcome)
        track(sequence: sequence, advance: [1], key: key, outcome: &outcome)
    }

    // MARK: - IPFIX (RFC 7011)

    static let ipfixHeaderLength = 16

    mutating func decodeIPFIX(
        _ base: UnsafeRawPointer, _ length: Int, _ exporter: IPAddress, _ port: UInt16,
        _ records: inout [FlowRecord], _ outcome: inout DecodeOutcome
    ) throws {
        guard length >= Self.ipfixHeaderLength else { throw FlowDecodeError.truncatedHeader }
        let messageLength = Int(readU16(base, 2))
        guard messageLength >= Self.ipfixHeaderLength, messageLength <= length else {
            throw FlowDecodeError.lengthMismatch
        }
        let header = ExportHeader(version: 10, sysUptime: 0, unixSeconds: readU32(base, 4), domain: readU32(base, 12))
        let sequence = readU32(base, 8)
        let key = DomainKey(exporter: exporter, port: port, domain: header.domain, version: 10)
        let before = records.count
        let optionsBefore = outcome.optionsRecords
        try walkSets(base, from: Self.ipfixHeaderLength, to: messageLength, header: header, key: key,
                     templateSetID: 2, optionsSetID: 3, exporter: exporter, &records, &outcome)
        // §10.3: the sequence counts data records; after a set we could not read, the count is unknown.
        let flowRecords = UInt32(truncatingIfNeeded: records.count - before)
        let allRecords = flowRecords &+ UInt32(truncatingIfNeeded: outcome.optionsRecords - optionsBefore)
        let advance = outcome.unknownTemplateSets == 0 ? [allRecords, flowRecords] : nil
        track(sequence: sequence, advance: advance, key: key, outcome: &outcome)
    }

    struct ExportHeader {
        var version: UInt8
        var sysUptime: UInt32
        var unixSeconds: UInt32
        var domain: UInt32
    }

    // MARK: - Sets

    mutating func walkSets(
        _ base: UnsafeRawPointer, from start: Int, to end: Int, header: ExportHeader, key: DomainKey,
        templateSetID: UInt16, optionsSetID: UInt16, exporter: IPAddress,
        _ records: inout [FlowRecord], _ outcome: inout DecodeOutcome
    ) throws {
        var offset = start
        // A v9 datagram may end with padding shorter than a FlowSet header.
        while end - offset >= 4 {
            let setID = readU16(base, offset)
            let setLength = Int(readU16(base, offset + 2))
            // Zero bytes after the last set are padding (RFC 7011 §3.3.1, RFC 3954 §5.3):
            // PAN-OS and Cisco ACI send them.
            if setLength == 0 && Self.allZero(base, offset, end) { break }
            guard setLength >= 4 else { throw FlowDecodeError.badSetHeader }
            guard offset + setLength <= end else { throw FlowDecodeError.setPastEnd }
            let body = offset + 4
            let bodyEnd = offset + setLength
            if setID == templateSetID {
                try readTemplates(base, body, bodyEnd, key: key, options: false, &outcome)
            } else if setID == optionsSetID {
                try readTemplates(base, body, bodyEnd, key: key, options: true, &outcome)
            } else if setID >= 256 {
                if let template = templates[TemplateKey(domain: key, id: setID)] {
                    try readData(base, body, bodyEnd, template: template, header: header, key: key,
                                 exporter: exporter, &records, &outcome)
                } else {
                    outcome.unknownTemplateSets += 1
                }
            } else {
                throw FlowDecodeError.badSetHeader
            }
            offset = bodyEnd
            // softflowd pads between FlowSets, outside their lengths, to 4-byte alignment.
            let pad = (4 - offset % 4) % 4
            if pad > 0 && end - offset >= pad && (0..<pad).allSatisfy({ readU8(base, offset + $0) == 0 }) {
                offset += pad
            }
        }
    }

    mutating func readTemplates(
        _ base: UnsafeRawPointer, _ start: Int, _ end: Int, key: DomainKey, options: Bool,
        _ outcome: inout DecodeOutcome
    ) throws {
        var offset = start
        let ipfix = key.version == 10
        // Anything shorter than a template header, or zeros to the end, is set padding.
        while end - offset >= 4 {
            let id = readU16(base, offset)
            if id == 0 && Self.allZero(base, offset, end) { break }
            var fields: [Template.Field] = []
            if ipfix {
                let fieldCount = Int(readU16(base, offset + 2))
                offset += 4
                if fieldCount == 0 {
                    // §8.1: withdrawal; the id of the template set withdraws them all.
                    withdraw(id: id, key: key, outcome: &outcome)
                    continue
                }
                var scopeCount = 0
                if options {
                    guard end - offset >= 2 else { throw FlowDecodeError.badTemplate }
                    scopeCount = Int(readU16(base, offset))
                    offset += 2
                    guard scopeCount >= 1, scopeCount <= fieldCount else { throw FlowDecodeError.badTemplate }
                }
                guard fieldCount <= limits.fieldsPerTemplate else { throw FlowDecodeError.badTemplate }
                fields.reserveCapacity(fieldCount)
                for _ in 0..<fieldCount {
                    guard end - offset >= 4 else { throw FlowDecodeError.badTemplate }
                    var element = readU16(base, offset)
                    let length = readU16(base, offset + 2)
                    offset += 4
                    var enterprise: UInt32 = 0
                    if element & 0x8000 != 0 {
                        guard end - offset >= 4 else { throw FlowDecodeError.badTemplate }
                        element &= 0x7fff
                        enterprise = readU32(base, offset)
                        offset += 4
                    }
                    fields.append(Template.Field(
                        elementID: element, enterprise: enterprise, length: length,
                        kind: Template.kind(elementID: element, enterprise: enterprise, length: length)))
                }
            } else if options {
                // RFC 3954 §6.1: scope and option lengths are in bytes; scope types are not IEs.
                guard end - offset >= 6 else { throw FlowDecodeError.badTemplate }
                let scopeBytes = Int(readU16(base, offset + 2))
                let optionBytes = Int(readU16(base, offset + 4))
                offset += 6
                guard scopeBytes % 4 == 0, optionBytes % 4 == 0, scopeBytes + optionBytes > 0,
                      end - offset >= scopeBytes + optionBytes,
                      (scopeBytes + optionBytes) / 4 <= limits.fieldsPerTemplate
                else { throw FlowDecodeError.badTemplate }
                for i in 0..<(scopeBytes + optionBytes) / 4 {
                    let element = readU16(base, offset)
                    let length = readU16(base, offset + 2)
                    offset += 4
                    let kind = i < scopeBytes / 4 ? .ignore : Template.kind(elementID: element, enterprise: 0, length: length)
                    fields.append(Template.Field(elementID: element, enterprise: 0, length: length, kind: kind))
                }
                // Options template sets are padded to 4 bytes after each record only at the end.
            } else {
                let fieldCount = Int(readU16(base, offset + 2))
                offset += 4
                guard fieldCount >= 1, fieldCount <= limits.fieldsPerTemplate, end - offset >= fieldCount * 4 else {
                    throw FlowDecodeError.badTemplate
                }
                fields.reserveCapacity(fieldCount)
                for _ in 0..<fieldCount {
                    let element = readU16(base, offset)
                    let length = readU16(base, offset + 2)
                    offset += 4
                    fields.append(Template.Field(
                        elementID: element, enterprise: 0, length: length,
                        kind: Template.kind(elementID: element, enterprise: 0, length: length)))
                }
            }
            guard id >= 256 else { throw FlowDecodeError.badTemplate }
            if !ipfix && fields.contains(where: { $0.length == 0xffff }) { throw FlowDecodeError.badTemplate }
            let template = Template(fields: fields, isOptions: options)
            // A record of zero bytes would make a data set an endless loop.
            guard template.minimumLength > 0 else { throw FlowDecodeError.badTemplate }
            try store(template, id: id, key: key, outcome: &outcome)
        }
    }

    mutating func store(_ template: Template, id: UInt16, key: DomainKey, outcome: inout DecodeOutcome) throws {
        let templateKey = TemplateKey(domain: key, id: id)
        if templates[templateKey] == template { return }
        let isNew = templates[templateKey] == nil
        if isNew {
            let count = domains[key]?.templateCount ?? 0
            guard count < limits.templatesPerDomain, templates.count < limits.templatesTotal else {
                throw FlowDecodeError.templateLimit
            }
            domains[key, default: DomainState()].templateCount = count + 1
        }
        templates[templateKey] = template
        outcome.templatesLearned += 1
    }

    mutating func withdraw(id: UInt16, key: DomainKey, outcome: inout DecodeOutcome) {
        if id == 2 || id == 3 {
            let before = templates.count
            templates = templates.filter { $0.key.domain != key || ($0.value.isOptions != (id == 3)) }
            outcome.templatesWithdrawn += before - templates.count
            domains[key, default: DomainState()].templateCount -= before - templates.count
        } else if templates.removeValue(forKey: TemplateKey(domain: key, id: id)) != nil {
            outcome.templatesWithdrawn += 1
            domains[key, default: DomainState()].templateCount -= 1
        }
    }

    /// The bytes in `from..<to` are all zero.
    static func allZero(_ base: UnsafeRawPointer, _ from: Int, _ to: Int) -> Bool {
        var i = from
        while i < to {
            if readU8(base, i) != 0 { return false }
            i += 1
        }
        return true
    }

    // MARK: - Data records

    mutating func readData(
        _ base: UnsafeRawPointer, _ start: Int, _ end: Int, template: Template, header: ExportHeader,
        key: DomainKey, exporter: IPAddress, _ records: inout [FlowRecord], _ outcome: inout DecodeOutcome
    ) throws {
        var state = domains[key] ?? DomainState()
        var prototype = FlowRecord()
        prototype.version = header.version
        prototype.exporter = exporter
        prototype.observationDomain = header.domain
        var offset = start
        if let recordLength = template.fixedLength {
            var count = (end - start) / recordLength
            // Records of zero bytes at the end are padding, however long (PAN-OS pads a set
            // with more than a record's length): no exporter sends a flow of all zeros.
            while count > 0 && Self.allZero(base, start + (count - 1) * recordLength, start + count * recordLength) {
                count -= 1
            }
            if !template.isOptions { records.reserveCapacity(records.count + count) }
            var family = FamilyCandidates()
            for _ in 0..<count {
                var r = prototype
                var times = RecordTimes()
                if template.choosesFamily { family = FamilyCandidates() }
                for op in template.ops {
                    Self.apply(op.kind, base, offset + op.offset, op.length, &r, &times, &family)
                }
                offset += recordLength
                finish(&r, &times, &family, template: template, header: header, state: &state,
                       records: &records, outcome: &outcome)
            }
        } else {
            // Records with variable-length fields (RFC 7011 §7): walk each field.
            var family = FamilyCandidates()
            while end - offset >= template.minimumLength && !Self.allZero(base, offset, end) {
                var r = prototype
                var times = RecordTimes()
                if template.choosesFamily { family = FamilyCandidates() }
                for field in template.fields {
                    var length = Int(field.length)
                    if field.length == 0xffff {
                        guard end - offset >= 1 else { throw FlowDecodeError.truncatedRecord }
                        length = Int(readU8(base, offset))
                        offset += 1
                        if length == 255 {
                            guard end - offset >= 2 else { throw FlowDecodeError.truncatedRecord }
                            length = Int(readU16(base, offset))
                            offset += 2
                        }
                    }
                    guard end - offset >= length else { throw FlowDecodeError.truncatedRecord }
                    if field.kind != .ignore && field.kind.accepts(length: length) {
                        Self.applyOutOfLine(field.kind, base, offset, length, &r, &times, &family)
                    }
                    offset += length
                }
                finish(&r, &times, &family, template: template, header: header, state: &state,
                       records: &records, outcome: &outcome)
            }
        }
        domains[key] = state
    }

    /// Address, mask and next-hop fields of a two-family template's record, before the record's
    /// family is known.
    struct FamilyCandidates {
        var srcV4 = IPAddress.none, dstV4 = IPAddress.none
        var srcV6 = IPAddress.none, dstV6 = IPAddress.none
        var ipNextHopV4 = IPAddress.none, ipNextHopV6 = IPAddress.none
        var bgpNextHopV4 = IPAddress.none, bgpNextHopV6 = IPAddress.none
        var srcMaskV4: UInt8 = 0, dstMaskV4: UInt8 = 0, srcMaskV6: UInt8 = 0, dstMaskV6: UInt8 = 0
        var ipVersion: UInt8 = 0

        /// The record's family: ipVersion (IE 60) when it says 4 or 6; else the family whose
        /// source (then destination) address is non-zero, the inner header's when both are (a
        /// tunnel); else the family the template carries.
        func isV6(innerIsV6: Bool) -> Bool {
            if ipVersion == 4 || ipVersion == 6 { return ipVersion == 6 }
            if let v6 = Self.nonZeroIsV6(srcV4, srcV6, innerIsV6) ?? Self.nonZeroIsV6(dstV4, dstV6, innerIsV6) {
                return v6
            }
            return srcV4.isNone && dstV4.isNone && !(srcV6.isNone && dstV6.isNone)
        }

        static func nonZeroIsV6(_ v4: IPAddress, _ v6: IPAddress, _ innerIsV6: Bool) -> Bool? {
            let v4Set = v4.low != 0, v6Set = v6.high != 0 || v6.low != 0
            if v4Set && v6Set { return innerIsV6 }
            return v4Set || v6Set ? v6Set : nil
        }

        /// A next-hop: the record's family's when non-zero, else the other family's when
        /// non-zero (an IPv6 flow over an IPv4 core, 6PE), else whichever field there is.
        static func nextHop(own: IPAddress, other: IPAddress) -> IPAddress {
            if !own.isNone && (own.high != 0 || own.low != 0) { return own }
            if !other.isNone && (other.high != 0 || other.low != 0) { return other }
            return own.isNone ? other : own
        }

        func resolve(into r: inout FlowRecord, innerIsV6: Bool) {
            let v6 = isV6(innerIsV6: innerIsV6)
            r.srcAddr = v6 ? srcV6 : srcV4
            r.dstAddr = v6 ? dstV6 : dstV4
            r.srcMask = v6 ? srcMaskV6 : srcMaskV4
            r.dstMask = v6 ? dstMaskV6 : dstMaskV4
            r.ipNextHop = v6 ? Self.nextHop(own: ipNextHopV6, other: ipNextHopV4) : Self.nextHop(own: ipNextHopV4, other: ipNextHopV6)
            r.bgpNextHop = v6 ? Self.nextHop(own: bgpNextHopV6, other: bgpNextHopV4) : Self.nextHop(own: bgpNextHopV4, other: bgpNextHopV6)
        }
    }

    /// Time fields seen in one record, resolved once all fields are read.
    struct RecordTimes {
        var start: UInt64 = 0
        var end: UInt64 = 0
        var startKind: FieldKind = .ignore
        var endKind: FieldKind = .ignore
        var systemInit: UInt64 = 0
        var hasSystemInit = false
        var samplingSpace: UInt32 = 0
        var hasSamplingSpace = false
        var icmpType: UInt8 = 0
        var icmpCode: UInt8 = 0
        var hasICMPParts = false
    }

    /// The variable-length path calls this, leaving `apply` a single call site to inline into.
    @inline(never)
    static func applyOutOfLine(
        _ kind: FieldKind, _ base: UnsafeRawPointer, _ offset: Int, _ length: Int,
        _ r: inout FlowRecord, _ t: inout RecordTimes, _ c: inout FamilyCandidates
    ) {
        apply(kind, base, offset, length, &r, &t, &c)
    }

    @inline(__always)
    static func apply(
        _ kind: FieldKind, _ base: UnsafeRawPointer, _ offset: Int, _ length: Int,
        _ r: inout FlowRecord, _ t: inout RecordTimes, _ c: inout FamilyCandidates
    ) {
        switch kind {
        case .ignore: break
        // `Template` turns these into the ones below before any record is read.
        case .srcMaskV4, .dstMaskV4, .srcMaskV6, .dstMaskV6, .inPhysIface, .outPhysIface: break
        case .ipVersion: c.ipVersion = Self.readU8Field(base, offset, length)
        case .candSrcV4: c.srcV4 = readV4(base, offset)
        case .candDstV4: c.dstV4 = readV4(base, offset)
        case .candSrcV6: c.srcV6 = readV6(base, offset)
        case .candDstV6: c.dstV6 = readV6(base, offset)
        case .candSrcMaskV4: c.srcMaskV4 = Self.readU8Field(base, offset, length)
        case .candDstMaskV4: c.dstMaskV4 = Self.readU8Field(base, offset, length)
        case .candSrcMaskV6: c.srcMaskV6 = Self.readU8Field(base, offset, length)
        case .candDstMaskV6: c.dstMaskV6 = Self.readU8Field(base, offset, length)
        case .candIPNextHopV4: c.ipNextHopV4 = readV4(base, offset)
        case .candIPNextHopV6: c.ipNextHopV6 = readV6(base, offset)
        case .candBGPNextHopV4: c.bgpNextHopV4 = readV4(base, offset)
        case .candBGPNextHopV6: c.bgpNextHopV6 = readV6(base, offset)
        case .bytes: r.bytes = readUInt(base, offset, length)
        case .packets: r.packets = readUInt(base, offset, length)
        case .flows: r.flows = readUInt(base, offset, length)
        case .proto: r.proto = Self.readU8Field(base, offset, length)
        case .tos: r.tos = Self.readU8Field(base, offset, length)
        case .tcpFlags: r.tcpFlags = Self.readU8Field(base, offset, length)
        case .srcPort: r.srcPort = UInt16(truncatingIfNeeded: readUInt(base, offset, length))
        case .dstPort: r.dstPort = UInt16(truncatingIfNeeded: readUInt(base, offset, length))
        case .srcV4: r.srcAddr = readV4(base, offset)
        case .dstV4: r.dstAddr = readV4(base, offset)
        case .srcV6: r.srcAddr = readV6(base, offset)
        case .dstV6: r.dstAddr = readV6(base, offset)
        case .srcMask: r.srcMask = Self.readU8Field(base, offset, length)
        case .dstMask: r.dstMask = Self.readU8Field(base, offset, length)
        case .inIface: r.inIface = UInt32(truncatingIfNeeded: readUInt(base, offset, length))
        case .outIface: r.outIface = UInt32(truncatingIfNeeded: readUInt(base, offset, length))
        case .ipNextHopV4: r.ipNextHop = readV4(base, offset)
        case .ipNextHopV6: r.ipNextHop = readV6(base, offset)
        case .bgpNextHopV4: r.bgpNextHop = readV4(base, offset)
        case .bgpNextHopV6: r.bgpNextHop = readV6(base, offset)
        case .agentV4: r.agentAddress = readV4(base, offset)
        case .agentV6: r.agentAddress = readV6(base, offset)
        case .srcAS: r.srcAS = UInt32(truncatingIfNeeded: readUInt(base, offset, length))
        case .dstAS: r.dstAS = UInt32(truncatingIfNeeded: readUInt(base, offset, length))
        case .peerDstAS: r.peerDstAS = UInt32(truncatingIfNeeded: readUInt(base, offset, length))
        case .peerSrcAS: r.peerSrcAS = UInt32(truncatingIfNeeded: readUInt(base, offset, length))
        case .startSysUp, .startSeconds, .startMillis, .startMicros, .startNanos, .startDeltaMicros, .observationMillis:
            // Several time fields: take pmacct's order of preference.
            if Self.timePriority(kind) > Self.timePriority(t.startKind) {
                t.start = readUInt(base, offset, length)
                t.startKind = kind
            }
        case .endSysUp, .endSeconds, .endMillis, .endMicros, .endNanos, .endDeltaMicros:
            if Self.timePriority(kind) > Self.timePriority(t.endKind) {
                t.end = readUInt(base, offset, length)
                t.endKind = kind
            }
        case .systemInitMillis:
            t.systemInit = readUInt(base, offset, length)
            t.hasSystemInit = true
        case .icmpTypeCode: r.icmpTypeCode = UInt16(truncatingIfNeeded: readUInt(base, offset, length))
        case .icmpType:
            t.icmpType = Self.readU8Field(base, offset, length)
            t.hasICMPParts = true
        case .icmpCode:
            t.icmpCode = Self.readU8Field(base, offset, length)
            t.hasICMPParts = true
        case .samplingInterval: r.samplingRate = UInt32(truncatingIfNeeded: readUInt(base, offset, length))
        case .samplingSpace:
            t.samplingSpace = UInt32(truncatingIfNeeded: readUInt(base, offset, length))
            t.hasSamplingSpace = true
        case .samplerID: r.samplerID = UInt32(truncatingIfNeeded: readUInt(base, offset, length))
        case .direction: r.direction = Self.readU8Field(base, offset, length)
        }
    }

    @inline(__always)
    static func readU8Field(_ base: UnsafeRawPointer, _ offset: Int, _ length: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: readUInt(base, offset, length))
    }

    static func timePriority(_ kind: FieldKind) -> Int {
        switch kind {
        case .startSysUp, .endSysUp: return 6
        case .startMillis, .endMillis: return 5
        case .startMicros, .endMicros, .startNanos, .endNanos: return 4
        case .observationMillis: return 3
        case .startSeconds, .endSeconds: return 2
        case .startDeltaMicros, .endDeltaMicros: return 1
        default: return 0
        }
    }

    @inline(__always)
    func finish(
        _ r: inout FlowRecord, _ t: inout RecordTimes, _ c: inout FamilyCandidates, template: Template,
        header: ExportHeader, state: inout DomainState, records: inout [FlowRecord], outcome: inout DecodeOutcome
    ) {
        if t.hasSamplingSpace && r.samplingRate != 0 {
            // RFC 5477: interval packets in (interval + space) are selected; a space of 0 selects
            // them all. The sum of two 32-bit fields can overflow: add in 64 bits, clamp the rate.
            let period = UInt64(r.samplingRate) + UInt64(t.samplingSpace)
            r.samplingRate = UInt32(clamping: period / UInt64(r.samplingRate))
        }
        if template.isOptions {
            // Options data: sampler tables, the domain's sampling rate, the exporter's address.
            outcome.optionsRecords += 1
            if r.samplingRate != 0 {
                if r.samplerID != 0 {
                    if state.samplers[r.samplerID] != nil || state.samplers.count < limits.samplersPerDomain {
                        state.samplers[r.samplerID] = r.samplingRate
                    }
                } else {
                    state.defaultSamplingRate = r.samplingRate
                }
            }
            if !r.agentAddress.isNone { state.agent = r.agentAddress }
            return
        }
        if r.samplingRate == 0 {
            if r.samplerID != 0, let rate = state.samplers[r.samplerID] {
                r.samplingRate = rate
            } else {
                r.samplingRate = state.defaultSamplingRate
            }
        }
        guard template.carriesFlows else {
            outcome.recordsWithoutFlowFields += 1
            return
        }
        if r.agentAddress.isNone { r.agentAddress = state.agent }
        if template.choosesFamily { c.resolve(into: &r, innerIsV6: template.innerIsV6) }
        // pmacct counts a record as one flow when IE 3 is absent or 0 (Ubiquiti sends 0).
        if r.flows == 0 { r.flows = 1 }
        if r.icmpTypeCode == 0 && t.hasICMPParts {
            r.icmpTypeCode = UInt16(t.icmpType) << 8 | UInt16(t.icmpCode)
        }
        // Without a destination port field, an ICMP record's type and code go in dst_port, where
        // exporters that have the field put them.
        if template.icmpInDstPort && (r.proto == 1 || r.proto == 58) {
            r.dstPort = r.icmpTypeCode
        }
        r.startSeconds = resolve(t.start, t.startKind, &t, header)
        r.endSeconds = resolve(t.end, t.endKind, &t, header)
        if r.startSeconds == 0 { r.startSeconds = r.endSeconds != 0 ? r.endSeconds : header.unixSeconds }
        if r.endSeconds == 0 { r.endSeconds = r.startSeconds }
        records.append(r)
    }

    @inline(__always)
    func resolve(_ value: UInt64, _ kind: FieldKind, _ t: inout RecordTimes, _ header: ExportHeader) -> UInt32 {
        switch kind {
        case .startSysUp, .endSysUp:
            if header.version == 9 {
                return Self.uptimeToUnix(header.unixSeconds, header.sysUptime, UInt32(truncatingIfNeeded: value))
            }
            // IPFIX: relative to systemInitTimeMilliseconds (IE 160) when the record has it.
            return t.hasSystemInit ? UInt32(truncatingIfNeeded: t.systemInit / 1000 + value / 1000) : 0
        case .startSeconds, .endSeconds: return UInt32(truncatingIfNeeded: value)
        case .startMillis, .endMillis, .observationMillis: return UInt32(truncatingIfNeeded: value / 1000)
        case .startMicros, .endMicros, .startNanos, .endNanos:
            // NTP format (RFC 7011 §6.1.9): seconds since 1900 in the high 32 bits.
            let ntpSeconds = value >> 32
            return ntpSeconds >= 2_208_988_800 ? UInt32(truncatingIfNeeded: ntpSeconds - 2_208_988_800) : 0
        case .startDeltaMicros, .endDeltaMicros:
            return UInt32(truncatingIfNeeded: (UInt64(header.unixSeconds) * 1_000_000 &- value) / 1_000_000)
        default:
            return 0
        }
    }
}
