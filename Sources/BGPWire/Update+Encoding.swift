import NIOCore
import NetCore

extension Update {
    /// The UPDATE body (no 19-byte header) for a session with `context`'s negotiated facts.
    ///
    /// - IPv4 withdrawals go in the Withdrawn Routes field, IPv6 ones in MP_UNREACH_NLRI.
    /// - IPv4 routes go in the NLRI field with NEXT_HOP, or in MP_REACH_NLRI when the next hop is
    ///   IPv6 (RFC 8950); IPv6 routes in MP_REACH_NLRI; `mixedNLRI` says which routes go where.
    /// - Path identifiers are written for the families in `context.addPath` (RFC 7911).
    /// - AS_PATH and AGGREGATOR carry 4-octet ASNs, or 2-octet ones with AS_TRANS plus AS4_PATH
    ///   and AS4_AGGREGATOR when an ASN does not fit (RFC 6793 §4.2.2).
    /// - Attributes come in type-code order with the flags their RFCs fix, Extended Length only
    ///   past 255 bytes. MP_REACH_NLRI and MP_UNREACH_NLRI come first (RFC 7606 §5.1) unless
    ///   `mpAttributesFirst` is false.
    /// - An End-of-RIB marker (RFC 4724 §2) is written as nothing else.
    ///
    /// What this writes decodes to an equal `Update` (RFC 7606 records aside) for any UPDATE the
    /// decoder produced without treat-as-withdraw, decoded and encoded with the same context.
    /// Values the wire cannot say are left out: an attribute longer than 65,535 bytes, routes of a
    /// family the UPDATE has no place for (IPv4 and IPv6 routes in one UPDATE without `mixedNLRI`
    /// and with an IPv6 next hop send the IPv4 ones in the NLRI field without NEXT_HOP), path ids
    /// outside ADD-PATH families. Segments longer than 255 ASNs are split.
    public func encode(
        context: Context, mpAttributesFirst: Bool = true, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        var out = allocator.buffer(capacity: 64 + 10 * (withdrawn.count + announced.count))
        if let family = endOfRIB {
            out.writeInteger(UInt16(0))
            if family == .ipv4Unicast {
                out.writeInteger(UInt16(0))
            } else {
                out.writeInteger(UInt16(6))
                out.writeInteger(AttributeType.mpUnreach.flags)
                out.writeInteger(AttributeType.mpUnreach.code)
                out.writeInteger(UInt8(3))
                out.writeInteger(family.afi)
                out.writeInteger(family.safi)
            }
            return out
        }

        let plan = Plan(self)
        let a = attributes

        let withdrawnStart = out.writerIndex
        out.writeInteger(UInt16(0))
        Self.writeNLRI(plan.withdrawnV4, family: .ipv4Unicast, context: context, into: &out)
        out.setInteger(UInt16(truncatingIfNeeded: out.writerIndex - withdrawnStart - 2), at: withdrawnStart)

        let attributesStart = out.writerIndex
        out.writeInteger(UInt16(0))
        var items: [(code: UInt8, opaque: Int)] = []
        func add(_ type: AttributeType, _ present: Bool) { if present { items.append((type.code, -1)) } }
        add(.origin, a.origin != nil)
        // ORIGIN and AS_PATH travel together: an empty AS_PATH is still sent with ORIGIN or routes.
        add(.asPath, !a.asPath.isEmpty || a.origin != nil || !announced.isEmpty)
        add(.nextHop, plan.nextHop != nil)
        add(.med, a.med != nil)
        add(.localPref, a.localPref != nil)
        add(.atomicAggregate, a.atomicAggregate)
        add(.aggregator, a.aggregator != nil)
        add(.communities, !a.communities.isEmpty)
        add(.originatorID, a.originatorID != nil)
        add(.clusterList, !a.clusterList.isEmpty)
        add(.mpReach, plan.mpReachFamily != nil)
        add(.mpUnreach, !plan.withdrawnV6.isEmpty)
        add(.extendedCommunities, !a.extendedCommunities.isEmpty)
        let as4Path = context.fourOctetAS ? [] : Self.as4Path(a.asPath)
        add(.as4Path, !as4Path.isEmpty)
        add(.as4Aggregator, !context.fourOctetAS && (a.aggregator?.asn ?? 0) > 0xffff)
        add(.largeCommunity, !a.largeCommunities.isEmpty)
        for (index, opaque) in a.opaque.enumerated() { items.append((opaque.code, index)) }
        items.sort { ($0.code, $0.opaque) < ($1.code, $1.opaque) }
        if mpAttributesFirst {
            let isMP = { (item: (code: UInt8, opaque: Int)) in item.opaque < 0 && (item.code == 14 || item.code == 15) }
            items = items.filter(isMP) + items.filter { !isMP($0) }
        }

        let asnSize = context.fourOctetAS ? 4 : 2
        for item in items {
            if item.opaque >= 0 {
                let opaque = a.opaque[item.opaque]
                Self.writeAttribute(flags: opaque.flags & ~(AttributeType.extendedLength | 0x0f), code: opaque.code,
                                    length: opaque.value.count, into: &out) { $0.writeBytes(opaque.value) }
                continue
            }
            let type = AttributeType.byCode[Int(item.code)]!
            func write(_ length: Int, _ body: (inout ByteBuffer) -> Void) {
                Self.writeAttribute(flags: type.flags, code: type.code, length: length, into: &out, body)
            }
            switch item.code {
            case 1: write(1) { $0.writeInteger(a.origin!.rawValue) }
            case 2: write(Self.pathLength(a.asPath, asnSize: asnSize)) { Self.writePath(a.asPath, asnSize: asnSize, into: &$0) }
            case 3: write(4) { $0.writeInteger(plan.nextHop!.v4Value) }
            case 4: write(4) { $0.writeInteger(a.med!) }
            case 5: write(4) { $0.writeInteger(a.localPref!) }
            case 6: write(0) { _ in }
            case 7:
                let aggregator = a.aggregator!
                write(asnSize + 4) {
                    if asnSize == 4 {
                        $0.writeInteger(aggregator.asn)
                    } else {
                        $0.writeInteger(UInt16(aggregator.asn > 0xffff ? Self.asTrans : aggregator.asn))
                    }
                    $0.writeInteger(aggregator.address.v4Value)
                }
            case 8: write(4 * a.communities.count) { for c in a.communities { $0.writeInteger(c) } }
            case 9: write(4) { $0.writeInteger(a.originatorID!) }
            case 10: write(4 * a.clusterList.count) { for c in a.clusterList { $0.writeInteger(c) } }
            case 14:
                let family = plan.mpReachFamily!
                let nextHop = Self.mpNextHop(a, family: family)
                let nlri = Self.nlriLength(plan.mpRoutes, family: family, context: context)
                write(5 + nextHop.count + nlri) {
                    $0.writeInteger(family.afi)
                    $0.writeInteger(family.safi)
                    $0.writeInteger(UInt8(nextHop.count))
                    $0.writeBytes(nextHop)
                    $0.writeInteger(UInt8(0))  // reserved (RFC 4760 §3)
                    Self.writeNLRI(plan.mpRoutes, family: family, context: context, into: &$0)
                }
            case 15:
                let nlri = Self.nlriLength(plan.withdrawnV6, family: .ipv6Unicast, context: context)
                write(3 + nlri) {
                    $0.writeInteger(AddressFamily.ipv6Unicast.afi)
                    $0.writeInteger(AddressFamily.ipv6Unicast.safi)
                    Self.writeNLRI(plan.withdrawnV6, family: .ipv6Unicast, context: context, into: &$0)
                }
            case 16: write(8 * a.extendedCommunities.count) { for c in a.extendedCommunities { $0.writeInteger(c) } }
            case 17: write(Self.pathLength(as4Path, asnSize: 4)) { Self.writePath(as4Path, asnSize: 4, into: &$0) }
            case 18:
                let aggregator = a.aggregator!
                write(8) {
                    $0.writeInteger(aggregator.asn)
                    $0.writeInteger(aggregator.address.v4Value)
                }
            case 32:
                write(12 * a.largeCommunities.count) {
                    for c in a.largeCommunities {
                        $0.writeInteger(c.global)
                        $0.writeInteger(c.local1)
                        $0.writeInteger(c.local2)
                    }
                }
            default:
                break
            }
        }
        out.setInteger(UInt16(truncatingIfNeeded: out.writerIndex - attributesStart - 2), at: attributesStart)
        Self.writeNLRI(plan.nlriRoutes, family: .ipv4Unicast, context: context, into: &out)
        return out
    }

    /// The UPDATE as a message ready to frame.
    public func message(context: Context, mpAttributesFirst: Bool = true) -> BGPMessage {
        BGPMessage(kind: .update, body: encode(context: context, mpAttributesFirst: mpAttributesFirst))
    }

    /// Which routes go in which field.
    private struct Plan {
        var withdrawnV4: [Route] = []
        var withdrawnV6: [Route] = []
        var nlriRoutes: [Route] = []
        var mpRoutes: [Route] = []
        var mpReachFamily: AddressFamily?
        /// NEXT_HOP's value, when the UPDATE sends one.
        var nextHop: IPAddress?

        init(_ update: Update) {
            for route in update.withdrawn {
                switch route.prefix.address.family {
                case .v4: withdrawnV4.append(route)
                case .v6: withdrawnV6.append(route)
                case .none: break
                }
            }
            let a = update.attributes
            var nlriNextHop = a.nextHop
            if let mixed = update.mixedNLRI, mixed.count >= 0, mixed.count <= update.announced.count {
                let split = update.announced.count - mixed.count
                mpRoutes = Array(update.announced[..<split])
                nlriRoutes = Array(update.announced[split...])
                nlriRoutes.removeAll { $0.prefix.address.family != .v4 }
                nlriNextHop = mixed.nextHop
                // MP_REACH_NLRI is there even with no routes: it holds the next hop of its own.
                let first = mpRoutes.first?.prefix.address.family ?? (a.nextHop.family == .v6 ? .v6 : .v4)
                mpReachFamily = first == .v6 ? .ipv6Unicast : .ipv4Unicast
            } else {
                let v4 = update.announced.filter { $0.prefix.address.family == .v4 }
                let v6 = update.announced.filter { $0.prefix.address.family == .v6 }
                if a.nextHop.family == .v6 && v6.isEmpty && !v4.isEmpty {
                    mpRoutes = v4  // RFC 8950: IPv4 NLRI with an IPv6 next hop
                    mpReachFamily = .ipv4Unicast
                } else {
                    nlriRoutes = v4
                    mpRoutes = v6
                    // No IPv6 route but an IPv6 next hop: an MP_REACH_NLRI without NLRI keeps it.
                    if !v6.isEmpty || a.nextHop.family == .v6 { mpReachFamily = .ipv6Unicast }
                }
            }
            if let family = mpReachFamily {
                let wanted: IPAddress.Family = family.afi == 2 ? .v6 : .v4
                mpRoutes.removeAll { $0.prefix.address.family != wanted }
            }
            if !nlriRoutes.isEmpty || mpReachFamily == nil, nlriNextHop.family == .v4 {
                nextHop = nlriNextHop
            }
        }
    }

    static func writeAttribute(
        flags: UInt8, code: UInt8, length: Int, into out: inout ByteBuffer, _ body: (inout ByteBuffer) -> Void
    ) {
        guard length <= 0xffff else { return }
        if length > 0xff {
            out.writeInteger(flags | AttributeType.extendedLength)
            out.writeInteger(code)
            out.writeInteger(UInt16(length))
        } else {
            out.writeInteger(flags)
            out.writeInteger(code)
            out.writeInteger(UInt8(length))
        }
        let before = out.writerIndex
        body(&out)
        assert(out.writerIndex - before == length, "attribute \(code): wrote \(out.writerIndex - before), said \(length)")
    }

    /// MP_REACH_NLRI's next hop for `family`: 4 bytes for IPv4 with an IPv4 next hop, else 16, or
    /// 32 with a link-local address (RFC 2545 §3); an IPv4 next hop for IPv6 NLRI is IPv4-mapped.
    static func mpNextHop(_ a: PathAttributes, family: AddressFamily) -> [UInt8] {
        func bytes(_ address: IPAddress) -> [UInt8] {
            var high = address.high, low = address.low
            if address.family == .v4 { high = 0; low = 0xffff_0000_0000 | UInt64(address.v4Value) }
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * $0)) }
        }
        if family.afi == 1 && a.nextHop.family != .v6 {
            let v = a.nextHop.v4Value
            return [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
        }
        let global = a.nextHop.family == .none ? [UInt8](repeating: 0, count: 16) : bytes(a.nextHop)
        return a.linkLocalNextHop.family == .v6 ? global + bytes(a.linkLocalNextHop) : global
    }

    /// Segments of at most 255 ASNs, none empty.
    static func chunks(_ path: [PathAttributes.Segment]) -> [(kind: PathAttributes.Segment.Kind, asns: ArraySlice<UInt32>)] {
        var out: [(kind: PathAttributes.Segment.Kind, asns: ArraySlice<UInt32>)] = []
        for segment in path {
            var rest = segment.asns[...]
            while !rest.isEmpty {
                out.append((segment.kind, rest.prefix(255)))
                rest = rest.dropFirst(255)
            }
        }
        return out
    }

    static func pathLength(_ path: [PathAttributes.Segment], asnSize: Int) -> Int {
        chunks(path).reduce(0) { $0 + 2 + $1.asns.count * asnSize }
    }

    static func writePath(_ path: [PathAttributes.Segment], asnSize: Int, into out: inout ByteBuffer) {
        for chunk in chunks(path) {
            out.writeInteger(chunk.kind.rawValue)
            out.writeInteger(UInt8(chunk.asns.count))
            for asn in chunk.asns {
                if asnSize == 4 { out.writeInteger(asn) } else { out.writeInteger(UInt16(asn > 0xffff ? asTrans : asn)) }
            }
        }
    }

    /// RFC 6793 §4.2.2: the AS4_PATH for a 2-octet peer: the path without confederation segments,
    /// and only when some ASN needs 4 octets.
    static func as4Path(_ path: [PathAttributes.Segment]) -> [PathAttributes.Segment] {
        let kept = path.filter { !$0.isConfederation }
        return kept.contains { $0.asns.contains { $0 > 0xffff } } ? kept : []
    }

    static func nlriLength(_ routes: [Route], family: AddressFamily, context: Context) -> Int {
        let idLength = context.addPath.contains(family) ? 4 : 0
        let maxLength = family.afi == 2 ? 128 : 32
        return routes.reduce(0) { $0 + idLength + 1 + (min(Int($1.prefix.length), maxLength) + 7) / 8 }
    }

    static func writeNLRI(_ routes: [Route], family: AddressFamily, context: Context, into out: inout ByteBuffer) {
        let addPath = context.addPath.contains(family)
        let maxLength = family.afi == 2 ? 128 : 32
        for route in routes {
            if addPath { out.writeInteger(route.pathID) }
            let length = min(Int(route.prefix.length), maxLength)
            out.writeInteger(UInt8(length))
            let address = route.prefix.address.masked(to: length)
            let high = address.family == .v6 ? address.high : UInt64(address.v4Value) << 32
            for i in 0..<(length + 7) / 8 {
                let word = i < 8 ? high : address.low
                out.writeInteger(UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * (i % 8))))
            }
        }
    }
}
