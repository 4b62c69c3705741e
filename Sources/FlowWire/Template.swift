/// A NetFlow v9 or IPFIX (options) template, compiled for decoding.
struct Template: Sendable, Equatable {
    struct Field: Sendable, Equatable {
        var elementID: UInt16
        var enterprise: UInt32
        /// 65535 marks an IPFIX variable-length field (RFC 7011 §7).
        var length: UInt16
        var kind: FieldKind
    }

    /// A field the decoder reads: its fixed offset in the record, length and target.
    struct Op: Sendable, Equatable {
        var offset: Int
        var length: Int
        var kind: FieldKind
    }

    var fields: [Field]
    var isOptions: Bool
    /// Record length when every field has a fixed length; nil with variable-length fields.
    var fixedLength: Int?
    /// Fields to read, for fixed-length templates.
    var ops: [Op]
    /// Smallest number of bytes one record can take: bounds the records in a set.
    var minimumLength: Int
    /// Addresses, masks and next-hops are chosen per record (`FamilyCandidates`): the template
    /// carries both address families, or next-hops of both.
    var choosesFamily: Bool
    /// Of a two-family template's address fields, the IPv6 ones come last: a tunnel's inner header.
    var innerIsV6: Bool
    /// ICMP type and code fields and no destination port field: ICMP records carry
    /// type×256+code in dst_port, as exporters that use the port field for it do.
    var icmpInDstPort: Bool
    /// A data template whose records are flows: it has packet or byte counters, or addresses.
    /// Records of other templates (events without traffic fields) are not flows.
    var carriesFlows: Bool

    init(fields declared: [Field], isOptions: Bool) {
        let plan = Plan(declared)
        let fields = declared.map { field -> Field in
            var field = field
            field.kind = plan.kind(for: field.kind)
            return field
        }
        self.fields = fields
        self.isOptions = isOptions
        self.choosesFamily = plan.choosesFamily
        self.innerIsV6 = plan.lastV6 > plan.lastV4
        self.icmpInDstPort = plan.has(.icmpTypeCode, .icmpType, .icmpCode) && !plan.has(.dstPort)
        self.carriesFlows = !isOptions && plan.has(.bytes, .packets, .srcV4, .dstV4, .srcV6, .dstV6)
        var offset = 0
        var variable = false
        var ops: [Op] = []
        var minimum = 0
        for field in fields {
            if field.length == 0xffff {
                variable = true
                minimum += 1
                continue
            }
            minimum += Int(field.length)
            if !variable && field.kind != .ignore {
                ops.append(Op(offset: offset, length: Int(field.length), kind: field.kind))
            }
            offset += Int(field.length)
        }
        self.fixedLength = variable ? nil : offset
        self.ops = variable ? [] : ops
        self.minimumLength = minimum
    }

    /// How a template's declared fields become what the decoder reads.
    struct Plan {
        /// The kinds present, one bit per raw value (a template may have a thousand fields).
        var kinds: (UInt64, UInt64) = (0, 0)
        var lastV4 = -1
        var lastV6 = -1

        init(_ fields: [Field]) {
            for (index, field) in fields.enumerated() {
                let bit = field.kind.rawValue
                if bit < 64 { kinds.0 |= 1 << UInt64(bit) } else { kinds.1 |= 1 << UInt64(bit - 64) }
                switch field.kind {
                case .srcV4, .dstV4: lastV4 = index
                case .srcV6, .dstV6: lastV6 = index
                default: break
                }
            }
        }

        func has(_ any: FieldKind...) -> Bool {
            any.contains { $0.rawValue < 64 ? kinds.0 & (1 << UInt64($0.rawValue)) != 0 : kinds.1 & (1 << UInt64($0.rawValue - 64)) != 0 }
        }

        var choosesFamily: Bool {
            (lastV4 >= 0 && lastV6 >= 0) || has(.ipNextHopV4) && has(.ipNextHopV6)
                || has(.bgpNextHopV4) && has(.bgpNextHopV6)
        }

        func kind(for kind: FieldKind) -> FieldKind {
            if choosesFamily {
                switch kind {
                case .srcV4: return .candSrcV4
                case .dstV4: return .candDstV4
                case .srcV6: return .candSrcV6
                case .dstV6: return .candDstV6
                case .srcMaskV4: return .candSrcMaskV4
                case .dstMaskV4: return .candDstMaskV4
                case .srcMaskV6: return .candSrcMaskV6
                case .dstMaskV6: return .candDstMaskV6
                case .ipNextHopV4: return .candIPNextHopV4
                case .ipNextHopV6: return .candIPNextHopV6
                case .bgpNextHopV4: return .candBGPNextHopV4
                case .bgpNextHopV6: return .candBGPNextHopV6
                default: break
                }
            }
            // One family: its own masks; the other family's say nothing about these records.
            let v6Only = lastV6 >= 0 && lastV4 < 0
            let v4Only = lastV4 >= 0 && lastV6 < 0
            switch kind {
            case .ipVersion: return choosesFamily ? .ipVersion : .ignore
            case .srcMaskV4: return v6Only ? .ignore : .srcMask
            case .dstMaskV4: return v6Only ? .ignore : .dstMask
            case .srcMaskV6: return v4Only ? .ignore : .srcMask
            case .dstMaskV6: return v4Only ? .ignore : .dstMask
            // Physical interfaces stand in for IE 10/14 only when those are absent (as nfacctd).
            case .inPhysIface: return has(.inIface) ? .ignore : .inIface
            case .outPhysIface: return has(.outIface) ? .ignore : .outIface
            default: return kind
            }
        }
    }

    static func kind(elementID: UInt16, enterprise: UInt32, length: UInt16) -> FieldKind {
        guard enterprise == 0, Int(elementID) < FieldKind.table.count else { return .ignore }
        let kind = FieldKind.table[Int(elementID)]
        return kind.accepts(length: Int(length)) ? kind : .ignore
    }
}
