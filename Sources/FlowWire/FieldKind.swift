/// Where a template field's value goes in a `FlowRecord`.
@usableFromInline
enum FieldKind: UInt8, Sendable {
    case ignore
    case bytes, packets, flows
    case proto, tos, tcpFlags
    case srcPort, dstPort
    case srcV4, dstV4, srcV6, dstV6
    case srcMask, dstMask
    /// IE 9/13 (IPv4) and 29/30 (IPv6) as a template declares them; `Template` turns them into
    /// `srcMask`/`dstMask` for the template's own family, or into candidates (below).
    case srcMaskV4, dstMaskV4, srcMaskV6, dstMaskV6
    case inIface, outIface
    /// ingress/egressPhysicalInterface (IE 252/253): the interfaces when IE 10/14 are absent.
    case inPhysIface, outPhysIface
    case ipNextHopV4, ipNextHopV6, bgpNextHopV4, bgpNextHopV6
    /// ipVersion (IE 60): which address family a record of a two-family template carries.
    case ipVersion
    /// Fields of templates carrying both address families (IOS XR's MPLS and SRv6 templates,
    /// tunnels): read into `FamilyCandidates`, and the record's family chosen once all are read.
    case candSrcV4, candDstV4, candSrcV6, candDstV6
    case candSrcMaskV4, candDstMaskV4, candSrcMaskV6, candDstMaskV6
    case candIPNextHopV4, candIPNextHopV6, candBGPNextHopV4, candBGPNextHopV6
    case srcAS, dstAS, peerDstAS, peerSrcAS
    case startSysUp, endSysUp
    case startSeconds, endSeconds, startMillis, endMillis, startMicros, endMicros, startNanos, endNanos
    case systemInitMillis, startDeltaMicros, endDeltaMicros, observationMillis
    case icmpTypeCode, icmpType, icmpCode
    case samplingInterval, samplingSpace, samplerID
    case direction
    case agentV4, agentV6

    /// IANA IPFIX information element id (= NetFlow v9 field type below 128) → kind.
    /// Elements absent from the table are carried over by length and ignored.
    static let byElementID: [UInt16: FieldKind] = [
        1: .bytes, 2: .packets, 3: .flows,
        4: .proto, 5: .tos, 6: .tcpFlags,
        7: .srcPort, 8: .srcV4, 9: .srcMaskV4, 10: .inIface,
        11: .dstPort, 12: .dstV4, 13: .dstMaskV4, 14: .outIface,
        15: .ipNextHopV4, 16: .srcAS, 17: .dstAS, 18: .bgpNextHopV4,
        21: .endSysUp, 22: .startSysUp,
        27: .srcV6, 28: .dstV6, 29: .srcMaskV6, 30: .dstMaskV6,
        32: .icmpTypeCode,
        34: .samplingInterval, 48: .samplerID, 50: .samplingInterval,
        60: .ipVersion, 61: .direction,
        62: .ipNextHopV6, 63: .bgpNextHopV6,
        85: .bytes, 86: .packets,
        128: .peerDstAS, 129: .peerSrcAS,
        130: .agentV4, 131: .agentV6,
        139: .icmpTypeCode,
        150: .startSeconds, 151: .endSeconds,
        152: .startMillis, 153: .endMillis,
        154: .startMicros, 155: .endMicros,
        156: .startNanos, 157: .endNanos,
        158: .startDeltaMicros, 159: .endDeltaMicros,
        160: .systemInitMillis,
        323: .observationMillis,
        176: .icmpType, 177: .icmpCode, 178: .icmpType, 179: .icmpCode,
        252: .inPhysIface, 253: .outPhysIface,
        302: .samplerID, 305: .samplingInterval, 306: .samplingSpace,
    ]

    /// `byElementID` as an array indexed by element id (templates are compiled field by field).
    static let table: [FieldKind] = {
        var table = [FieldKind](repeating: .ignore, count: Int(byElementID.keys.max() ?? 0) + 1)
        for (id, kind) in byElementID { table[Int(id)] = kind }
        return table
    }()

    /// The lengths a field of this kind may have; other lengths make the field ignored.
    func accepts(length: Int) -> Bool {
        switch self {
        case .ignore: return true
        case .srcV4, .dstV4, .ipNextHopV4, .bgpNextHopV4, .agentV4,
             .candSrcV4, .candDstV4, .candIPNextHopV4, .candBGPNextHopV4: return length == 4
        case .srcV6, .dstV6, .ipNextHopV6, .bgpNextHopV6, .agentV6,
             .candSrcV6, .candDstV6, .candIPNextHopV6, .candBGPNextHopV6: return length == 16
        case .startMicros, .endMicros, .startNanos, .endNanos, .systemInitMillis,
             .startMillis, .endMillis, .observationMillis: return length == 8
        case .startDeltaMicros, .endDeltaMicros: return length == 4
        default: return length >= 1 && length <= 8
        }
    }
}
