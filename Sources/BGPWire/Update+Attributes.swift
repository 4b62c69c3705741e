import NIOCore
import NetCore

extension Update {
    /// RFC 7606's approaches for a malformed attribute (§2), weakest first: the strongest wins (§3 h).
    enum Action: Int, Sendable {
        case discard, treatAsWithdraw, sessionReset
    }

    /// What reading the path attributes found besides the values in `PathAttributes`.
    struct AttributeScan {
        /// Type codes seen, one bit each.
        private var seenCodes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var attributeCount = 0
        var hasAttributesOtherThanMPUnreach = false
        /// The first error that calls for treat-as-withdraw, with the NOTIFICATION it becomes
        /// should RFC 7606 §5.2 turn it into a session reset.
        var withdrawError: BGPError?
        /// NEXT_HOP when it applies (RFC 4760 §3 has it ignored next to MP_REACH_NLRI alone).
        var nextHop: IPAddress?
        var nextHopRaw: [UInt8] = []
        /// MP_REACH_NLRI of a family we read.
        var mpReachFamily: AddressFamily?
        var mpReachRoutes: [Route] = []
        /// MP_REACH_NLRI of any family with bytes in its NLRI part.
        var mpReachHasNLRI = false
        var mpUnreachRoutes: [Route] = []
        /// The family of an MP_UNREACH_NLRI with nothing after AFI/SAFI.
        var emptyMPUnreach: AddressFamily?

        func seen(_ code: UInt8) -> Bool {
            let bit = UInt64(1) << UInt64(code & 63)
            switch code >> 6 {
            case 0: return seenCodes.0 & bit != 0
            case 1: return seenCodes.1 & bit != 0
            case 2: return seenCodes.2 & bit != 0
            default: return seenCodes.3 & bit != 0
            }
        }

        mutating func markSeen(_ code: UInt8) {
            let bit = UInt64(1) << UInt64(code & 63)
            switch code >> 6 {
            case 0: seenCodes.0 |= bit
            case 1: seenCodes.1 |= bit
            case 2: seenCodes.2 |= bit
            default: seenCodes.3 |= bit
            }
        }

        mutating func withdraw(_ subcode: BGPError.UpdateSubcode, _ reason: String, data: [UInt8]) {
            if withdrawError == nil { withdrawError = BGPError.update(subcode, reason, data: data) }
        }
    }

    static let asTrans: UInt32 = 23456

    /// Reads the path attributes into `update.attributes`, recording RFC 7606 discards in
    /// `update.discarded`; throws for the errors that reset the session whatever else is in the UPDATE.
    static func readAttributes(
        _ b: inout ByteBuffer, nlriFieldPresent: Bool, into update: inout Update, context: Context
    ) throws -> AttributeScan {
        var scan = AttributeScan()
        var a = PathAttributes()
        var nextHopAttribute: (flags: UInt8, value: ByteBuffer, raw: Range<Int>)?
        var as4Path: [PathAttributes.Segment]?
        var as4Aggregator: PathAttributes.Aggregator?
        let asnSize = context.fourOctetAS ? 4 : 2

        while b.readableBytes > 0 {
            let start = b.readerIndex
            let headerLength = b.getInteger(at: start, as: UInt8.self)! & AttributeType.extendedLength != 0 ? 4 : 3
            guard b.readableBytes >= headerLength else {
                // RFC 7606 §4: a header cut short: the rest cannot be read, the NLRI still can.
                scan.withdraw(.malformedAttributeList, "truncated attribute header",
                              data: b.readBytes(length: b.readableBytes) ?? [])
                break
            }
            let flags = b.readInteger(as: UInt8.self)!
            let code = b.readInteger(as: UInt8.self)!
            let length = headerLength == 4 ? Int(b.readInteger(as: UInt16.self)!) : Int(b.readInteger(as: UInt8.self)!)
            var name: String { AttributeType.name(code) }  // for messages only: built when needed
            guard var value = b.readSlice(length: length) else {
                // RFC 7606 §4: the last attribute runs past the attributes; the Total Path Attribute
                // Length still locates the NLRI.
                b.moveReaderIndex(to: start)
                scan.withdraw(.attributeLengthError, "\(name) runs past the path attributes",
                              data: b.readBytes(length: b.readableBytes) ?? [])
                break
            }
            let end = b.readerIndex
            // The whole attribute: the NOTIFICATION data RFC 4271 §6.3 asks for.
            func raw() -> [UInt8] { b.getBytes(at: start, length: end - start) ?? [] }

            scan.attributeCount += 1
            if code != AttributeType.mpUnreach.code { scan.hasAttributesOtherThanMPUnreach = true }
            if scan.seen(code) {
                // RFC 7606 §3 g: MP_REACH_NLRI or MP_UNREACH_NLRI twice resets the session; any other
                // attribute after its first occurrence is discarded.
                if code == AttributeType.mpReach.code || code == AttributeType.mpUnreach.code {
                    throw BGPError.update(.malformedAttributeList, "\(name) twice")
                }
                update.discarded.append("\(name) repeated")
                continue
            }
            scan.markSeen(code)

            let type = AttributeType.byCode[Int(code)]
            func malformed(_ subcode: BGPError.UpdateSubcode, _ reason: String) throws {
                switch type?.malformed ?? .treatAsWithdraw {
                case .discard: update.discarded.append(reason)
                case .treatAsWithdraw: scan.withdraw(subcode, reason, data: raw())
                case .sessionReset: throw BGPError.update(subcode, reason, data: raw())
                }
            }

            if code == AttributeType.nextHop.code {
                // Judged once the whole list is read: it may not apply at all (RFC 4760 §3).
                nextHopAttribute = (flags, value, start..<end)
                continue
            }
            if context.externalPeer && (code == 5 || code == 9 || code == 10) {
                // RFC 7606 §7.5, §7.9, §7.10: meaningless from an external peer.
                update.discarded.append("\(name) from an external peer")
                continue
            }
            if let type, flags & (AttributeType.optional | AttributeType.transitive) != type.flags {
                // RFC 7606 §3 c: wrong Optional or Transitive bit: the attribute is malformed, with its
                // own approach (§3 e, §3 f). The Partial bit is not judged (§3 c names only O and T).
                try malformed(.attributeFlagsError, "\(name) flags 0x\(String(flags, radix: 16))")
                continue
            }

            switch code {
            case 1:  // ORIGIN
                if length != 1 {
                    try malformed(.attributeLengthError, "ORIGIN length \(length)")
                } else if let origin = PathAttributes.Origin(rawValue: value.readInteger(as: UInt8.self)!) {
                    a.origin = origin
                } else {
                    try malformed(.invalidOrigin, "ORIGIN malformed")
                }
            case 2:  // AS_PATH; zero length is valid (RFC 7606 §4), e.g. iBGP-originated routes.
                if let path = readASPath(&value, asnSize: asnSize) {
                    a.asPath = path
                } else {
                    try malformed(.malformedASPath, "AS_PATH malformed")
                }
            case 4:  // MULTI_EXIT_DISC
                if length == 4 { a.med = value.readInteger(as: UInt32.self)! }
                else { try malformed(.attributeLengthError, "MULTI_EXIT_DISC length \(length)") }
            case 5:  // LOCAL_PREF
                if length == 4 { a.localPref = value.readInteger(as: UInt32.self)! }
                else { try malformed(.attributeLengthError, "LOCAL_PREF length \(length)") }
            case 6:  // ATOMIC_AGGREGATE
                if length == 0 { a.atomicAggregate = true }
                else { try malformed(.attributeLengthError, "ATOMIC_AGGREGATE length \(length)") }
            case 7:  // AGGREGATOR: 6 bytes from a 2-octet speaker, 8 from a 4-octet one (RFC 7606 §7.7).
                if length == asnSize + 4 {
                    let asn = asnSize == 4 ? value.readInteger(as: UInt32.self)! : UInt32(value.readInteger(as: UInt16.self)!)
                    a.aggregator = .init(asn: asn, address: IPAddress(v4: value.readInteger(as: UInt32.self)!))
                } else {
                    try malformed(.attributeLengthError, "AGGREGATOR length \(length)")
                }
            case 8:  // COMMUNITIES
                if length % 4 == 0, length > 0 {
                    a.communities.reserveCapacity(length / 4)
                    while let v = value.readInteger(as: UInt32.self) { a.communities.append(v) }
                } else { try malformed(.attributeLengthError, "COMMUNITIES length \(length)") }
            case 9:  // ORIGINATOR_ID
                if length == 4 { a.originatorID = value.readInteger(as: UInt32.self)! }
                else { try malformed(.attributeLengthError, "ORIGINATOR_ID length \(length)") }
            case 10:  // CLUSTER_LIST
                if length % 4 == 0, length > 0 {
                    while let v = value.readInteger(as: UInt32.self) { a.clusterList.append(v) }
                } else { try malformed(.attributeLengthError, "CLUSTER_LIST length \(length)") }
            case 14:  // MP_REACH_NLRI
                do {
                    try readMPReach(&value, context: context, scan: &scan, attributes: &a)
                } catch let error as BGPError {
                    // RFC 4760 §7: Optional Attribute Error.
                    throw BGPError.update(.optionalAttributeError, "MP_REACH_NLRI: \(error.reason)", data: raw())
                }
            case 15:  // MP_UNREACH_NLRI
                do {
                    try readMPUnreach(&value, context: context, scan: &scan)
                } catch let error as BGPError {
                    throw BGPError.update(.optionalAttributeError, "MP_UNREACH_NLRI: \(error.reason)", data: raw())
                }
            case 16:  // EXTENDED_COMMUNITIES
                if length % 8 == 0, length > 0 {
                    while let v = value.readInteger(as: UInt64.self) { a.extendedCommunities.append(v) }
                } else { try malformed(.attributeLengthError, "EXTENDED_COMMUNITIES length \(length)") }
            case 17:  // AS4_PATH (RFC 6793 §4.1, §6): only from a 2-octet speaker.
                if context.fourOctetAS {
                    update.discarded.append("AS4_PATH from a 4-octet AS speaker")
                } else if length > 0, let path = readASPath(&value, asnSize: 4) {
                    // §6: confederation segments have no place here; they go, the rest stays.
                    let kept = path.filter { !$0.isConfederation }
                    if kept.count != path.count { update.discarded.append("AS4_PATH confederation segments") }
                    as4Path = kept.isEmpty ? nil : kept
                } else {
                    try malformed(.optionalAttributeError, "AS4_PATH malformed")
                }
            case 18:  // AS4_AGGREGATOR (RFC 6793 §4.2.3, §6)
                if context.fourOctetAS {
                    update.discarded.append("AS4_AGGREGATOR from a 4-octet AS speaker")
                } else if length == 8 {
                    let asn = value.readInteger(as: UInt32.self)!
                    as4Aggregator = .init(asn: asn, address: IPAddress(v4: value.readInteger(as: UInt32.self)!))
                } else {
                    try malformed(.attributeLengthError, "AS4_AGGREGATOR length \(length)")
                }
            case 32:  // LARGE_COMMUNITY
                if length % 12 == 0, length > 0 {
                    while let g = value.readInteger(as: UInt32.self), let l1 = value.readInteger(as: UInt32.self),
                          let l2 = value.readInteger(as: UInt32.self) {
                        a.largeCommunities.append(.init(global: g, local1: l1, local2: l2))
                    }
                } else { try malformed(.attributeLengthError, "LARGE_COMMUNITY length \(length)") }
            default:
                if flags & AttributeType.optional == 0 {
                    // RFC 4271 §6.3; RFC 7606 does not soften it: no well-known attribute is new to us.
                    throw BGPError.update(.unrecognizedWellKnownAttribute, "unrecognized well-known attribute \(code)",
                                          data: raw())
                } else if flags & AttributeType.transitive != 0 {
                    // Optional transitive: passed on as received (RFC 4271 §5), kept in code order so
                    // equal attribute sets compare equal whatever order they came in.
                    let opaque = PathAttributes.OpaqueAttribute(
                        flags: flags & ~(AttributeType.extendedLength | 0x0f), code: code,
                        value: value.readBytes(length: value.readableBytes) ?? [])
                    a.opaque.insert(opaque, at: a.opaque.firstIndex { $0.code > code } ?? a.opaque.endIndex)
                }
                // Optional non-transitive and unknown: quietly ignored (RFC 4271 §5).
            }
        }

        if let attribute = nextHopAttribute, nlriFieldPresent || !scan.seen(AttributeType.mpReach.code) {
            let raw = b.getBytes(at: attribute.raw.lowerBound, length: attribute.raw.count) ?? []
            if attribute.flags & (AttributeType.optional | AttributeType.transitive) != AttributeType.nextHop.flags {
                scan.withdraw(.attributeFlagsError, "NEXT_HOP flags 0x\(String(attribute.flags, radix: 16))", data: raw)
            } else if attribute.value.readableBytes == 4 {
                scan.nextHop = IPAddress(v4: attribute.value.getInteger(at: attribute.value.readerIndex, as: UInt32.self)!)
                scan.nextHopRaw = raw
            } else {
                // RFC 7606 §7.3.
                scan.withdraw(.attributeLengthError, "NEXT_HOP length \(attribute.value.readableBytes)", data: raw)
            }
        }

        if !context.fourOctetAS {
            // RFC 6793 §4.2.3: AS4_AGGREGATOR counts only behind an AGGREGATOR of AS_TRANS; behind any
            // other AGGREGATOR both AS4 attributes are ignored.
            var useAS4Path = true
            if let as4Aggregator, let aggregator = a.aggregator {
                if aggregator.asn == asTrans { a.aggregator = as4Aggregator } else { useAS4Path = false }
            }
            if useAS4Path, let as4Path { a.asPath = mergeAS4Path(a.asPath, as4Path) }
        }
        update.attributes = a
        return scan
    }

    /// MP_REACH_NLRI (RFC 4760 §3): family, next hop (global, then link-local when 32 bytes),
    /// reserved byte, NLRI. Families we do not read keep only their shape checked.
    static func readMPReach(
        _ b: inout ByteBuffer, context: Context, scan: inout AttributeScan, attributes a: inout PathAttributes
    ) throws {
        guard let afi = b.readInteger(as: UInt16.self), let safi = b.readInteger(as: UInt8.self),
              let nextHopLength = b.readInteger(as: UInt8.self), var nextHop = b.readSlice(length: Int(nextHopLength)),
              b.readInteger(as: UInt8.self) != nil else {
            throw BGPError.update(.optionalAttributeError, "shorter than its next hop")
        }
        let family = AddressFamily(afi: afi, safi: safi)
        scan.mpReachHasNLRI = b.readableBytes > 0
        // RFC 4760 §7 has NLRI of other families ignored, not rejected.
        guard supportedFamilies.contains(family) else { return }
        // RFC 7606 §7.11: a next hop of the wrong length leaves the NLRI unlocatable. IPv4 NLRI may
        // have an IPv6 next hop (RFC 8950); IPv6 NLRI need one (RFC 2545 §3).
        switch (afi, nextHopLength) {
        case (1, 4):
            a.nextHop = IPAddress(v4: nextHop.readInteger(as: UInt32.self)!)
        case (_, 16), (_, 32):
            a.nextHop = IPAddress(v6High: nextHop.readInteger(as: UInt64.self)!, low: nextHop.readInteger(as: UInt64.self)!)
            if nextHopLength == 32 {
                a.linkLocalNextHop = IPAddress(v6High: nextHop.readInteger(as: UInt64.self)!,
                                               low: nextHop.readInteger(as: UInt64.self)!)
            }
        default:
            throw BGPError.update(.optionalAttributeError, "next-hop length \(nextHopLength) for family \(family)")
        }
        scan.mpReachFamily = family
        scan.mpReachRoutes = try readNLRI(&b, family: family, context: context)
    }

    /// MP_UNREACH_NLRI (RFC 4760 §4): family, withdrawn NLRI.
    static func readMPUnreach(_ b: inout ByteBuffer, context: Context, scan: inout AttributeScan) throws {
        guard let afi = b.readInteger(as: UInt16.self), let safi = b.readInteger(as: UInt8.self) else {
            throw BGPError.update(.optionalAttributeError, "shorter than AFI and SAFI")
        }
        let family = AddressFamily(afi: afi, safi: safi)
        if b.readableBytes == 0 { scan.emptyMPUnreach = family }
        guard supportedFamilies.contains(family) else { return }
        scan.mpUnreachRoutes = try readNLRI(&b, family: family, context: context)
    }

    /// RFC 6793 §4.2.3: the leading ASNs the AS4_PATH does not cover come from the AS_PATH, with
    /// the confederation segments that lead it; an AS4_PATH longer than the AS_PATH is ignored.
    /// Where the two meet, two sequences become one (as a 4-octet speaker would have sent it).
    static func mergeAS4Path(_ asPath: [PathAttributes.Segment], _ as4Path: [PathAttributes.Segment]) -> [PathAttributes.Segment] {
        func count(_ path: [PathAttributes.Segment]) -> Int {
            path.reduce(0) { total, segment in
                switch segment.kind {
                case .sequence: return total + segment.asns.count
                case .set: return total + 1
                case .confedSequence, .confedSet: return total
                }
            }
        }
        let keep = count(asPath) - count(as4Path)
        guard keep >= 0 else { return asPath }
        var merged: [PathAttributes.Segment] = []
        var remaining = keep
        var leading = true
        for segment in asPath {
            if segment.isConfederation {
                if leading { merged.append(segment) }
                continue
            }
            leading = false
            guard remaining > 0 else { break }
            if segment.kind == .set {
                merged.append(segment)
                remaining -= 1
            } else {
                let taken = Array(segment.asns.prefix(remaining))
                merged.append(.init(kind: .sequence, asns: taken))
                remaining -= taken.count
            }
        }
        var tail = as4Path[...]
        if let last = merged.last, last.kind == .sequence, let first = tail.first, first.kind == .sequence,
           last.asns.count + first.asns.count <= 255 {
            merged[merged.count - 1].asns += first.asns
            tail = tail.dropFirst()
        }
        return merged + tail
    }

    /// RFC 7606 §7.2: nil for an unknown segment type, a segment past the end, a lone byte left
    /// over, or a segment of no ASNs.
    static func readASPath(_ b: inout ByteBuffer, asnSize: Int) -> [PathAttributes.Segment]? {
        var segments: [PathAttributes.Segment] = []
        while b.readableBytes > 0 {
            guard let type = b.readInteger(as: UInt8.self), let kind = PathAttributes.Segment.Kind(rawValue: type),
                  let count = b.readInteger(as: UInt8.self), count > 0,
                  b.readableBytes >= Int(count) * asnSize else { return nil }
            var asns: [UInt32] = []
            asns.reserveCapacity(Int(count))
            for _ in 0..<count {
                asns.append(asnSize == 4 ? b.readInteger(as: UInt32.self)! : UInt32(b.readInteger(as: UInt16.self)!))
            }
            segments.append(.init(kind: kind, asns: asns))
        }
        return segments
    }
}
