import NetCore

/// Reading one data record's fields into a `FlowRecord`, and what is resolved once all are read.
extension FlowDecoder {
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
    static func resolveTime(_ value: UInt64, _ kind: FieldKind, _ t: inout RecordTimes, _ header: ExportHeader) -> UInt32 {
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
