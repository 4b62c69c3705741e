import NIOCore
import NetCore

extension Update {
    /// RFC 7606's actions for a malformed attribute (§2), strongest last.
    enum Action {
        case discard, treatAsWithdraw
    }

    static func readAttributes(
        _ b: inout ByteBuffer, into update: inout Update, context: Context, mpFamilies: inout [AddressFamily]
    ) throws {
        var seen = Set<UInt8>()
        var as4Path: [PathAttributes.Segment]?
        defer {
            if let as4Path { update.attributes.asPath = mergeAS4Path(update.attributes.asPath, as4Path) }
        }
        func malformed(_ action: Action, _ reason: String) {
            switch action {
            case .discard: update.discarded.append(reason)
            case .treatAsWithdraw: if update.treatedAsWithdraw == nil { update.treatedAsWithdraw = reason }
            }
        }
        while b.readableBytes > 0 {
            guard let flags = b.readInteger(as: UInt8.self), let code = b.readInteger(as: UInt8.self) else {
                // §4: an attribute header cut short: the rest cannot be read, the NLRI can.
                malformed(.treatAsWithdraw, "truncated attribute header")
                return
            }
            let extended = flags & 0x10 != 0
            let lengthValue: Int? = extended ? b.readInteger(as: UInt16.self).map(Int.init) : b.readInteger(as: UInt8.self).map(Int.init)
            guard let length = lengthValue, var value = b.readSlice(length: length) else {
                malformed(.treatAsWithdraw, "attribute \(code) runs past the attributes")
                b.moveReaderIndex(forwardBy: b.readableBytes)
                return
            }
            // §3 (g): a repeated attribute other than MP_REACH/MP_UNREACH is discarded.
            if seen.contains(code) {
                if code == 14 || code == 15 {
                    throw BGPError(code: 3, subcode: 1, reason: "MP_REACH_NLRI or MP_UNREACH_NLRI twice")
                }
                malformed(.discard, "attribute \(code) repeated")
                continue
            }
            seen.insert(code)
            var a = update.attributes
            switch code {
            case 1:  // ORIGIN
                if length == 1, let v = value.readInteger(as: UInt8.self), let origin = PathAttributes.Origin(rawValue: v) {
                    a.origin = origin
                } else { malformed(.treatAsWithdraw, "ORIGIN malformed") }
            case 2:  // AS_PATH
                if let path = readASPath(&value, asnSize: context.fourOctetAS ? 4 : 2) {
                    a.asPath = path
                } else { malformed(.treatAsWithdraw, "AS_PATH malformed") }
            case 3:  // NEXT_HOP
                if length == 4, let v = value.readInteger(as: UInt32.self) { a.nextHop = IPAddress(v4: v) }
                else { malformed(.treatAsWithdraw, "NEXT_HOP length \(length)") }
            case 4:  // MULTI_EXIT_DISC
                if length == 4, let v = value.readInteger(as: UInt32.self) { a.med = v }
                else { malformed(.treatAsWithdraw, "MED length \(length)") }
            case 5:  // LOCAL_PREF
                if length == 4, let v = value.readInteger(as: UInt32.self) { a.localPref = v }
                else { malformed(.treatAsWithdraw, "LOCAL_PREF length \(length)") }
            case 6:  // ATOMIC_AGGREGATE
                if length == 0 { a.atomicAggregate = true } else { malformed(.discard, "ATOMIC_AGGREGATE length \(length)") }
            case 7:  // AGGREGATOR: not used by the enrichment; checked, then dropped.
                if length != (context.fourOctetAS ? 8 : 6) { malformed(.discard, "AGGREGATOR length \(length)") }
            case 8:  // COMMUNITIES
                if length % 4 == 0, length > 0 {
                    while let v = value.readInteger(as: UInt32.self) { a.communities.append(v) }
                } else { malformed(.treatAsWithdraw, "COMMUNITIES length \(length)") }
            case 9:  // ORIGINATOR_ID
                if length == 4, let v = value.readInteger(as: UInt32.self) { a.originatorID = v }
                else { malformed(.treatAsWithdraw, "ORIGINATOR_ID length \(length)") }
            case 10:  // CLUSTER_LIST
                if length % 4 == 0, length > 0 {
                    while let v = value.readInteger(as: UInt32.self) { a.clusterList.append(v) }
                } else { malformed(.treatAsWithdraw, "CLUSTER_LIST length \(length)") }
            case 14:  // MP_REACH_NLRI
                guard let (family, nextHop, routes) = try readMPReach(&value, context: context) else {
                    throw BGPError(code: 3, subcode: 9, reason: "MP_REACH_NLRI malformed")
                }
                mpFamilies.append(family)
                a.nextHop = nextHop
                update.announced += routes
            case 15:  // MP_UNREACH_NLRI
                guard let afi = value.readInteger(as: UInt16.self), let safi = value.readInteger(as: UInt8.self) else {
                    throw BGPError(code: 3, subcode: 9, reason: "MP_UNREACH_NLRI malformed")
                }
                let family = AddressFamily(afi: afi, safi: safi)
                mpFamilies.append(family)
                if family == .ipv4Unicast || family == .ipv6Unicast {
                    update.withdrawn += try readNLRI(&value, family: family, context: context)
                }
            case 16:  // EXTENDED_COMMUNITIES
                if length % 8 == 0, length > 0 {
                    while let v = value.readInteger(as: UInt64.self) { a.extendedCommunities.append(v) }
                } else { malformed(.treatAsWithdraw, "EXTENDED_COMMUNITIES length \(length)") }
            case 17:  // AS4_PATH (RFC 6793 §4.2.3): only from a 2-octet speaker; from a 4-octet one, discard.
                if context.fourOctetAS {
                    malformed(.discard, "AS4_PATH from a 4-octet AS speaker")
                } else if let path = readASPath(&value, asnSize: 4),
                          !path.contains(where: { $0.kind == .confedSequence || $0.kind == .confedSet }) {
                    as4Path = path
                } else {
                    malformed(.discard, "AS4_PATH malformed")
                }
            case 32:  // LARGE_COMMUNITY
                if length % 12 == 0, length > 0 {
                    while let g = value.readInteger(as: UInt32.self), let l1 = value.readInteger(as: UInt32.self),
                          let l2 = value.readInteger(as: UInt32.self) {
                        a.largeCommunities.append(.init(global: g, local1: l1, local2: l2))
                    }
                } else { malformed(.treatAsWithdraw, "LARGE_COMMUNITY length \(length)") }
            default:
                if flags & 0x80 == 0 {
                    // A well-known attribute we do not know (§7.1 of RFC 4271's list is closed).
                    malformed(.treatAsWithdraw, "unrecognized well-known attribute \(code)")
                } else if flags & 0x40 != 0 {
                    // Optional transitive: passed on as received (RFC 4271 §5).
                    a.opaque.append(.init(flags: flags, code: code, value: value.readBytes(length: value.readableBytes) ?? []))
                }
            }
            update.attributes = a
        }
    }

    /// RFC 6793 §4.2.3: the leading ASNs the AS4_PATH does not cover come from the AS_PATH;
    /// an AS4_PATH longer than the AS_PATH is ignored.
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
        for segment in asPath where remaining > 0 {
            switch segment.kind {
            case .sequence:
                let taken = Array(segment.asns.prefix(remaining))
                merged.append(.init(kind: .sequence, asns: taken))
                remaining -= taken.count
            case .set:
                merged.append(segment)
                remaining -= 1
            case .confedSequence, .confedSet:
                merged.append(segment)
            }
        }
        return merged + as4Path
    }

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

    /// MP_REACH_NLRI (RFC 4760 §3): family, next-hop (the global one of a global + link-local
    /// pair), reserved byte, NLRI. nil when its lengths do not hold together.
    static func readMPReach(_ b: inout ByteBuffer, context: Context) throws -> (AddressFamily, IPAddress, [Update.Route])? {
        guard let afi = b.readInteger(as: UInt16.self), let safi = b.readInteger(as: UInt8.self),
              let nextHopLength = b.readInteger(as: UInt8.self), var nextHopBytes = b.readSlice(length: Int(nextHopLength)),
              b.readInteger(as: UInt8.self) != nil else { return nil }
        let family = AddressFamily(afi: afi, safi: safi)
        var nextHop = IPAddress.none
        switch nextHopLength {
        case 4:
            nextHop = IPAddress(v4: nextHopBytes.readInteger(as: UInt32.self)!)
        case 16, 32:
            // RFC 2545 §3 for IPv6, RFC 8950 for IPv4 NLRI with an IPv6 next-hop.
            nextHop = IPAddress(v6High: nextHopBytes.readInteger(as: UInt64.self)!, low: nextHopBytes.readInteger(as: UInt64.self)!)
        default:
            return nil
        }
        guard family == .ipv4Unicast || family == .ipv6Unicast else { return (family, nextHop, []) }
        return (family, nextHop, try readNLRI(&b, family: family, context: context))
    }
}
