import NetCore

/// One transport session and observation domain of an exporter (`FlowDecoder.DomainKey`): its
/// templates, the sampling its options data announced, its sequence numbers; and the decoding of
/// a NetFlow v9 or IPFIX datagram's sets with them.
struct Session: Sendable {
    struct Stored: Sendable {
        var template: Template
        /// What the template is charged in the exporter's budget.
        var bytes: Int
        /// Last refreshed or used (unix seconds).
        var lastActive: UInt32
    }

    var templates: [UInt16: Stored] = [:]
    /// Bytes charged for templates and samplers (the session's own cost aside).
    var bytes = 0
    var lastSeen: UInt32
    var lastSequence: UInt32?
    var lastAdvance: FlowDecoder.Advance?
    var defaultSamplingRate: UInt32 = 0
    var samplers: [UInt32: UInt32] = [:]
    var agent: IPAddress = .none

    init(lastSeen: UInt32) {
        self.lastSeen = lastSeen
    }

    // MARK: - Template state

    /// Removes the templates `drop` selects; returns how many and the bytes freed.
    mutating func dropTemplates(where drop: (Stored) -> Bool) -> (count: Int, bytes: Int) {
        var count = 0, freed = 0
        for (id, stored) in templates where drop(stored) {
            templates.removeValue(forKey: id)
            count += 1
            freed += stored.bytes
        }
        bytes -= freed
        return (count, freed)
    }

    func oldestTemplate() -> (id: UInt16, lastActive: UInt32)? {
        templates.min { $0.value.lastActive < $1.value.lastActive }.map { ($0.key, $0.value.lastActive) }
    }

    /// Removes one template; returns the bytes freed.
    mutating func removeTemplate(_ id: UInt16) -> Int {
        guard let stored = templates.removeValue(forKey: id) else { return 0 }
        bytes -= stored.bytes
        return stored.bytes
    }

    // MARK: - Sequence numbers

    /// Checks `sequence` against what the previous datagram of this session led us to expect.
    ///
    /// `advance` is what this datagram adds to the counter: its records (v5, IPFIX) or 1 (v9);
    /// nil when unknown. IPFIX exporters disagree on details, so two readings pass as in order:
    /// counting options records or not, and counting the message's own records before or after
    /// (softflowd 1.1.0 sends the count including the current message).
    mutating func track(
        sequence: UInt32, advance: FlowDecoder.Advance?, limits: FlowDecoder.Limits, outcome: inout DecodeOutcome
    ) {
        if let last = lastSequence, let lastAdvance {
            let inOrder = lastAdvance.contains { last &+ $0 == sequence }
                || (advance?.contains { sequence &- $0 == last } ?? false)
            if !inOrder {
                let delta = sequence &- (last &+ lastAdvance.first)
                if delta <= limits.maximumSequenceGap {
                    outcome.sequenceLost = UInt64(delta)
                } else {
                    outcome.sequenceReset = true
                }
            }
        }
        lastSequence = sequence
        lastAdvance = advance
    }

    // MARK: - Sets

    /// Decodes the sets of a v9 or IPFIX datagram (`end`: the message's end), then checks its
    /// sequence number.
    mutating func decode(
        _ base: UnsafeRawPointer, _ end: Int, _ header: FlowDecoder.ExportHeader, limits: FlowDecoder.Limits,
        budget: inout TemplateBudget, _ records: inout [FlowRecord], _ outcome: inout DecodeOutcome
    ) throws {
        lastSeen = header.now
        let before = records.count
        let optionsBefore = outcome.optionsRecords
        let ipfix = header.version == 10
        // v9: the header count is unreliable (softflowd leaves templates out): walk FlowSets by length.
        try walkSets(base, from: ipfix ? FlowDecoder.ipfixHeaderLength : FlowDecoder.v9HeaderLength, to: end,
                     header: header, templateSetID: ipfix ? 2 : 0, optionsSetID: ipfix ? 3 : 1,
                     limits: limits, budget: &budget, &records, &outcome)
        let advance: FlowDecoder.Advance?
        if ipfix {
            // RFC 7011 §10.3: the sequence counts data records; after a set we could not read, the
            // count is unknown.
            let flowRecords = UInt32(truncatingIfNeeded: records.count - before)
            let allRecords = flowRecords &+ UInt32(truncatingIfNeeded: outcome.optionsRecords - optionsBefore)
            advance = outcome.unknownTemplateSets == 0 ? FlowDecoder.Advance(first: allRecords, second: flowRecords) : nil
        } else {
            advance = .one(1)
        }
        track(sequence: header.sequence, advance: advance, limits: limits, outcome: &outcome)
    }

    mutating func walkSets(
        _ base: UnsafeRawPointer, from start: Int, to end: Int, header: FlowDecoder.ExportHeader,
        templateSetID: UInt16, optionsSetID: UInt16, limits: FlowDecoder.Limits, budget: inout TemplateBudget,
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
            if setID == templateSetID || setID == optionsSetID {
                try readTemplates(base, body, bodyEnd, header: header, options: setID == optionsSetID,
                                  limits: limits, budget: &budget, &outcome)
            } else if setID >= 256 {
                if let index = templates.index(forKey: setID) {
                    templates.values[index].lastActive = header.now
                    try readData(base, body, bodyEnd, template: templates.values[index].template, header: header,
                                 limits: limits, budget: &budget, &records, &outcome)
                } else {
                    outcome.unknownTemplateSets += 1
                }
            } else {
                throw FlowDecodeError.badSetHeader
            }
            offset = bodyEnd
            // softflowd pads between FlowSets, outside their lengths, to 4-byte alignment.
            let pad = (4 - offset % 4) % 4
            if pad > 0 && end - offset >= pad && Self.allZero(base, offset, offset + pad) {
                offset += pad
            }
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

    // MARK: - Templates

    mutating func readTemplates(
        _ base: UnsafeRawPointer, _ start: Int, _ end: Int, header: FlowDecoder.ExportHeader, options: Bool,
        limits: FlowDecoder.Limits, budget: inout TemplateBudget, _ outcome: inout DecodeOutcome
    ) throws {
        var offset = start
        let ipfix = header.version == 10
        // Anything shorter than a template header, or zeros to the end, is set padding.
        while end - offset >= 4 {
            let id = readU16(base, offset)
            if id == 0 && Self.allZero(base, offset, end) { break }
            let fields: [Template.Field]
            if ipfix {
                let fieldCount = Int(readU16(base, offset + 2))
                offset += 4
                if fieldCount == 0 {
                    // §8.1: withdrawal; the id of the template set withdraws them all.
                    withdraw(id: id, exporter: header.exporter, budget: &budget, &outcome)
                    continue
                }
                fields = try Self.ipfixFields(base, &offset, end, count: fieldCount, options: options, limits: limits)
            } else if options {
                fields = try Self.v9OptionsFields(base, &offset, end, limits: limits)
            } else {
                fields = try Self.v9Fields(base, &offset, end, limits: limits)
            }
            guard id >= 256 else { throw FlowDecodeError.badTemplate }
            if !ipfix && fields.contains(where: { $0.length == 0xffff }) { throw FlowDecodeError.badTemplate }
            let template = Template(fields: fields, isOptions: options)
            // A record of zero bytes would make a data set an endless loop.
            guard template.minimumLength > 0 else { throw FlowDecodeError.badTemplate }
            store(template, id: id, header: header, limits: limits, budget: &budget, &outcome)
        }
    }

    static func ipfixFields(
        _ base: UnsafeRawPointer, _ offset: inout Int, _ end: Int, count: Int, options: Bool, limits: FlowDecoder.Limits
    ) throws -> [Template.Field] {
        if options {
            guard end - offset >= 2 else { throw FlowDecodeError.badTemplate }
            let scopeCount = Int(readU16(base, offset))
            offset += 2
            guard scopeCount >= 1, scopeCount <= count else { throw FlowDecodeError.badTemplate }
        }
        guard count <= limits.fieldsPerTemplate else { throw FlowDecodeError.badTemplate }
        var fields: [Template.Field] = []
        fields.reserveCapacity(count)
        for _ in 0..<count {
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
        return fields
    }

    /// RFC 3954 §6.1: scope and option lengths are in bytes; scope types are not IEs.
    static func v9OptionsFields(
        _ base: UnsafeRawPointer, _ offset: inout Int, _ end: Int, limits: FlowDecoder.Limits
    ) throws -> [Template.Field] {
        guard end - offset >= 6 else { throw FlowDecodeError.badTemplate }
        let scopeBytes = Int(readU16(base, offset + 2))
        let optionBytes = Int(readU16(base, offset + 4))
        offset += 6
        guard scopeBytes % 4 == 0, optionBytes % 4 == 0, scopeBytes + optionBytes > 0,
              end - offset >= scopeBytes + optionBytes,
              (scopeBytes + optionBytes) / 4 <= limits.fieldsPerTemplate
        else { throw FlowDecodeError.badTemplate }
        var fields: [Template.Field] = []
        for i in 0..<(scopeBytes + optionBytes) / 4 {
            let element = readU16(base, offset)
            let length = readU16(base, offset + 2)
            offset += 4
            let kind = i < scopeBytes / 4 ? .ignore : Template.kind(elementID: element, enterprise: 0, length: length)
            fields.append(Template.Field(elementID: element, enterprise: 0, length: length, kind: kind))
        }
        // Options template sets are padded to 4 bytes after each record only at the end.
        return fields
    }

    static func v9Fields(
        _ base: UnsafeRawPointer, _ offset: inout Int, _ end: Int, limits: FlowDecoder.Limits
    ) throws -> [Template.Field] {
        let fieldCount = Int(readU16(base, offset + 2))
        offset += 4
        guard fieldCount >= 1, fieldCount <= limits.fieldsPerTemplate, end - offset >= fieldCount * 4 else {
            throw FlowDecodeError.badTemplate
        }
        var fields: [Template.Field] = []
        fields.reserveCapacity(fieldCount)
        for _ in 0..<fieldCount {
            let element = readU16(base, offset)
            let length = readU16(base, offset + 2)
            offset += 4
            fields.append(Template.Field(
                elementID: element, enterprise: 0, length: length,
                kind: Template.kind(elementID: element, enterprise: 0, length: length)))
        }
        return fields
    }

    /// Keeps a template: a refresh dates it, a new or changed one is charged to the exporter.
    /// Past the session's or the exporter's limit it is refused (a changed one is then dropped,
    /// so its old layout never reads the new data).
    mutating func store(
        _ template: Template, id: UInt16, header: FlowDecoder.ExportHeader, limits: FlowDecoder.Limits,
        budget: inout TemplateBudget, _ outcome: inout DecodeOutcome
    ) {
        let cost = TemplateBudget.cost(of: template)
        var held = 0
        if let index = templates.index(forKey: id) {
            if templates.values[index].template == template {
                templates.values[index].lastActive = header.now
                return
            }
            held = templates.values[index].bytes
        } else if templates.count >= limits.templatesPerDomain {
            outcome.templatesRefused += 1
            return
        }
        guard budget.used(by: header.exporter) - held + cost <= limits.bytesPerExporter else {
            budget.release(header.exporter, bytes: removeTemplate(id))
            outcome.templatesRefused += 1
            return
        }
        budget.charge(header.exporter, bytes: cost - held)
        bytes += cost - held
        templates[id] = Stored(template: template, bytes: cost, lastActive: header.now)
        outcome.templatesLearned += 1
    }

    mutating func withdraw(id: UInt16, exporter: IPAddress, budget: inout TemplateBudget, _ outcome: inout DecodeOutcome) {
        if id == 2 || id == 3 {
            // The id of the template set withdraws every data (2) or options (3) template.
            let freed = dropTemplates { $0.template.isOptions == (id == 3) }
            outcome.templatesWithdrawn += freed.count
            budget.release(exporter, bytes: freed.bytes)
        } else if templates[id] != nil {
            budget.release(exporter, bytes: removeTemplate(id))
            outcome.templatesWithdrawn += 1
        }
    }

    // MARK: - Data records

    mutating func readData(
        _ base: UnsafeRawPointer, _ start: Int, _ end: Int, template: Template, header: FlowDecoder.ExportHeader,
        limits: FlowDecoder.Limits, budget: inout TemplateBudget, _ records: inout [FlowRecord],
        _ outcome: inout DecodeOutcome
    ) throws {
        var prototype = FlowRecord()
        prototype.version = header.version
        prototype.exporter = header.exporter
        prototype.observationDomain = header.domain
        var offset = start
        var family = FlowDecoder.FamilyCandidates()
        if let recordLength = template.fixedLength {
            var count = (end - start) / recordLength
            // Records of zero bytes at the end are padding, however long (PAN-OS pads a set
            // with more than a record's length): no exporter sends a flow of all zeros.
            while count > 0 && Self.allZero(base, start + (count - 1) * recordLength, start + count * recordLength) {
                count -= 1
            }
            if !template.isOptions { records.reserveCapacity(records.count + count) }
            for _ in 0..<count {
                var r = prototype
                var times = FlowDecoder.RecordTimes()
                if template.choosesFamily { family = FlowDecoder.FamilyCandidates() }
                for op in template.ops {
                    FlowDecoder.apply(op.kind, base, offset + op.offset, op.length, &r, &times, &family)
                }
                offset += recordLength
                finish(&r, &times, &family, template: template, header: header, limits: limits, budget: &budget,
                       records: &records, outcome: &outcome)
            }
        } else {
            // Records with variable-length fields (RFC 7011 §7): walk each field.
            while end - offset >= template.minimumLength && !Self.allZero(base, offset, end) {
                var r = prototype
                var times = FlowDecoder.RecordTimes()
                if template.choosesFamily { family = FlowDecoder.FamilyCandidates() }
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
                        FlowDecoder.applyOutOfLine(field.kind, base, offset, length, &r, &times, &family)
                    }
                    offset += length
                }
                finish(&r, &times, &family, template: template, header: header, limits: limits, budget: &budget,
                       records: &records, outcome: &outcome)
            }
        }
    }

    @inline(__always)
    mutating func finish(
        _ r: inout FlowRecord, _ t: inout FlowDecoder.RecordTimes, _ c: inout FlowDecoder.FamilyCandidates,
        template: Template, header: FlowDecoder.ExportHeader, limits: FlowDecoder.Limits,
        budget: inout TemplateBudget, records: inout [FlowRecord], outcome: inout DecodeOutcome
    ) {
        if t.hasSamplingSpace && r.samplingRate != 0 {
            // RFC 5477: interval packets in (interval + space) are selected; a space of 0 selects
            // them all. The sum of two 32-bit fields can overflow: add in 64 bits, clamp the rate.
            let period = UInt64(r.samplingRate) + UInt64(t.samplingSpace)
            r.samplingRate = UInt32(clamping: period / UInt64(r.samplingRate))
        }
        if template.isOptions {
            learnOptions(r, header: header, limits: limits, budget: &budget)
            outcome.optionsRecords += 1
            return
        }
        if r.samplingRate == 0 {
            if r.samplerID != 0, let rate = samplers[r.samplerID] {
                r.samplingRate = rate
            } else {
                r.samplingRate = defaultSamplingRate
            }
        }
        guard template.carriesFlows else {
            outcome.recordsWithoutFlowFields += 1
            return
        }
        if r.agentAddress.isNone { r.agentAddress = agent }
        if template.choosesFamily { c.resolve(into: &r, innerIsV6: template.innerIsV6) }
        // pmacct counts a record as one flow when IE 3 is absent or 0 (Ubiquiti sends 0).
        if r.flows == 0 { r.flows = 1 }
        // Tables hold signed 64-bit counters: a value above Int64.max is held at it, and counted.
        if (r.packets | r.bytes | r.flows) > FlowRecord.maximumCounter {
            r.packets = min(r.packets, FlowRecord.maximumCounter)
            r.bytes = min(r.bytes, FlowRecord.maximumCounter)
            r.flows = min(r.flows, FlowRecord.maximumCounter)
            outcome.countersSaturated += 1
        }
        if r.icmpTypeCode == 0 && t.hasICMPParts {
            r.icmpTypeCode = UInt16(t.icmpType) << 8 | UInt16(t.icmpCode)
        }
        // Without a destination port field, an ICMP record's type and code go in dst_port, where
        // exporters that have the field put them.
        if template.icmpInDstPort && (r.proto == 1 || r.proto == 58) {
            r.dstPort = r.icmpTypeCode
        }
        r.startSeconds = FlowDecoder.resolveTime(t.start, t.startKind, &t, header)
        r.endSeconds = FlowDecoder.resolveTime(t.end, t.endKind, &t, header)
        if r.startSeconds == 0 { r.startSeconds = r.endSeconds != 0 ? r.endSeconds : header.unixSeconds }
        if r.endSeconds == 0 { r.endSeconds = r.startSeconds }
        records.append(r)
    }

    /// Options data: sampler tables, the session's sampling rate, the exporter's address. A new
    /// sampler id is charged to the exporter.
    mutating func learnOptions(
        _ r: FlowRecord, header: FlowDecoder.ExportHeader, limits: FlowDecoder.Limits, budget: inout TemplateBudget
    ) {
        if r.samplingRate != 0 {
            if r.samplerID == 0 {
                defaultSamplingRate = r.samplingRate
            } else if samplers[r.samplerID] != nil {
                samplers[r.samplerID] = r.samplingRate
            } else if samplers.count < limits.samplersPerDomain,
                      budget.used(by: header.exporter) + TemplateBudget.samplerBytes <= limits.bytesPerExporter {
                samplers[r.samplerID] = r.samplingRate
                bytes += TemplateBudget.samplerBytes
                budget.charge(header.exporter, bytes: TemplateBudget.samplerBytes)
            }
        }
        if !r.agentAddress.isNone { agent = r.agentAddress }
    }
}
