/// Where a template field's value goes in a `FlowRecord`.
@usableFromInline
enum FieldKind: UInt8, Sendable {
    case ignore
    case bytes, packets, flows
    case proto, tos, tcpFlags
    case srcPort, dstPort
    case srcV4, dstV4, srcV6, dstV6
    case srcMask, dstMask
    case inIface, outIface
    case ipNextHopV4, ipNextHopV6, bgpNextHopV4, bgpNextHopV6
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
        7: .srcPort, 8: .srcV4, 9: .srcMask, 10: .inIface,
        11: .dstPort, 12: .dstV4, 13: .dstMask, 14: .outIface,
        15: .ipNextHopV4, 16: .srcAS, 17: .dstAS, 18: .bgpNextHopV4,
        21: .endSysUp, 22: .startSysUp,
        27: .srcV6, 28: .dstV6, 29: .srcMask, 30: .dstMask,
        32: .icmpTypeCode,
        34: .samplingInterval, 48: .samplerID, 50: .samplingInterval,
        61: .direction,
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
        302: .samplerID, 305: .samplingInterval, 306: .samplingSpace,
    ]

    /// The lengths a field of this kind may have; other lengths make the field ignored.
    func accepts(length: Int) -> Bool {
        switch self {
        case .ignore: return true
        case .srcV4, .dstV4, .ipNextHopV4, .bgpNextHopV4, .agentV4: return length == 4
        case .srcV6, .dstV6, .ipNextHopV6, .bgpNextHopV6, .agentV6: return length == 16
        case .startMicros, .endMicros, .startNanos, .endNanos, .systemInitMillis,
             .startMillis, .endMillis, .observationMillis: return length == 8
        case .startDeltaMicros, .endDeltaMicros: return length == 4
        default: return length >= 1 && length <= 8
        }
    }
}
