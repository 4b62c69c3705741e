import NIOCore
import NetCore

/// A decoded UPDATE (RFC 4271 §4.3 with RFC 4760 multiprotocol and RFC 7911 path ids).
public struct Update: Sendable, Equatable {
    /// One NLRI: prefix and, with ADD-PATH, its path identifier.
    public struct Route: Sendable, Equatable, Hashable {
        public var prefix: IPPrefix
        public var pathID: UInt32

        public init(prefix: IPPrefix, pathID: UInt32 = 0) {
            self.prefix = prefix
            self.pathID = pathID
        }
    }

    /// RFC 7606 §5.1: a sender must not put IPv4 routes in the NLRI field and MP_REACH_NLRI in one
    /// UPDATE, but a receiver must accept it. Then `attributes.nextHop` is MP_REACH_NLRI's, and the
    /// last `count` routes of `announced` came from the NLRI field with NEXT_HOP `nextHop`.
    public struct MixedNLRI: Sendable, Equatable, Hashable {
        public var count: Int
        public var nextHop: IPAddress

        public init(count: Int, nextHop: IPAddress) {
            self.count = count
            self.nextHop = nextHop
        }
    }

    /// Withdrawn routes: the Withdrawn Routes field, then MP_UNREACH_NLRI's (RFC 4760 §4).
    public var withdrawn: [Route] = []
    /// Announced routes: MP_REACH_NLRI's, then the NLRI field's.
    public var announced: [Route] = []
    public var attributes = PathAttributes()
    /// Set only in RFC 7606 §5.1's mixed case; see `MixedNLRI` and `announcementGroups`.
    public var mixedNLRI: MixedNLRI?
    /// The family of an End-of-RIB marker (RFC 4724 §2), when this UPDATE is one.
    public var endOfRIB: AddressFamily?
    /// RFC 7606: attributes so malformed that the announced routes must be treated as withdrawn.
    /// The decoder then moves `announced` into `withdrawn` and says why here.
    public var treatedAsWithdraw: String?
    /// RFC 7606 attribute-discard events: attributes dropped, the rest of the UPDATE kept.
    public var discarded: [String] = []

    public init() {}

    /// What the session negotiated that changes how bodies read.
    public struct Context: Sendable {
        /// Families for which we receive path identifiers (ADD-PATH, RFC 7911).
        public var addPath: Set<AddressFamily>
        /// RFC 6793: false with a 2-octet-AS peer (AS_PATH of 2-octet ASNs, AS4_PATH merged).
        public var fourOctetAS: Bool
        /// An eBGP session: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are then discarded
        /// (RFC 7606 §7.5, §7.9, §7.10).
        public var externalPeer: Bool

        public init(addPath: Set<AddressFamily> = [], fourOctetAS: Bool = true, externalPeer: Bool = false) {
            self.addPath = addPath
            self.fourOctetAS = fourOctetAS
            self.externalPeer = externalPeer
        }
    }

    /// The families whose NLRI the codec reads; MP_REACH_NLRI and MP_UNREACH_NLRI of any other
    /// family are checked for shape and their NLRI ignored.
    public static let supportedFamilies: Set<AddressFamily> = [.ipv4Unicast, .ipv6Unicast]

    /// The announced routes with the attributes that apply to them: one group, or two in RFC 7606
    /// §5.1's mixed case (the NLRI field's routes carry their own NEXT_HOP).
    public var announcementGroups: [(attributes: PathAttributes, routes: ArraySlice<Route>)] {
        guard let mixed = mixedNLRI, mixed.count > 0, mixed.count <= announced.count else {
            return announced.isEmpty ? [] : [(attributes, announced[...])]
        }
        var legacy = attributes
        legacy.nextHop = mixed.nextHop
        legacy.linkLocalNextHop = .none
        let split = announced.count - mixed.count
        let mp = (attributes: attributes, routes: announced[..<split])
        return (split > 0 ? [mp] : []) + [(legacy, announced[split...])]
    }

    /// Decodes an UPDATE body. Errors that RFC 7606 says reset the session throw (with the
    /// NOTIFICATION to send); errors it says to treat as withdraw or discard are recorded.
    public static func decode(_ body: ByteBuffer, context: Context) throws -> Update {
        var b = body
        guard let withdrawnLength = b.readInteger(as: UInt16.self),
              var withdrawnField = b.readSlice(length: Int(withdrawnLength)),
              let attributesLength = b.readInteger(as: UInt16.self),
              var attributeField = b.readSlice(length: Int(attributesLength)) else {
            // RFC 7606 §3 b.
            throw BGPError.update(.malformedAttributeList, "UPDATE lengths run past the message")
        }
        var update = Update()
        // RFC 7606 §3 i, §5.3: a Withdrawn Routes field that does not parse resets the session.
        update.withdrawn = try readNLRI(&withdrawnField, family: .ipv4Unicast, context: context)
        var scan = try readAttributes(&attributeField, nlriFieldPresent: b.readableBytes > 0,
                                      into: &update, context: context)
        let nlri = try readNLRI(&b, family: .ipv4Unicast, context: context)

        if scan.mpReachFamily != nil {
            update.announced = scan.mpReachRoutes + nlri
            if !nlri.isEmpty { update.mixedNLRI = MixedNLRI(count: nlri.count, nextHop: scan.nextHop ?? .none) }
        } else {
            update.announced = nlri
            if let nextHop = scan.nextHop { update.attributes.nextHop = nextHop }
        }
        update.withdrawn += scan.mpUnreachRoutes

        // RFC 7606 §3 d: well-known mandatory attributes, when there are routes to carry them.
        let reachable = !nlri.isEmpty || scan.mpReachHasNLRI
        if reachable {
            if !scan.seen(1) {
                scan.withdraw(.missingWellKnownAttribute, "missing ORIGIN", data: [1])
            }
            if !scan.seen(2) {
                scan.withdraw(.missingWellKnownAttribute, "missing AS_PATH", data: [2])
            }
        }
        if !nlri.isEmpty {
            // RFC 4760 §3 leaves NEXT_HOP mandatory for the NLRI field only.
            if !scan.seen(3) {
                scan.withdraw(.missingWellKnownAttribute, "IPv4 NLRI without NEXT_HOP", data: [3])
            } else if let nextHop = scan.nextHop, !isUsableNextHop(nextHop) {
                // RFC 4271 §6.3: a semantically incorrect NEXT_HOP makes the routes unusable, no
                // NOTIFICATION; RFC 7606 §7.3: treat-as-withdraw.
                scan.withdraw(.invalidNextHop, "NEXT_HOP \(nextHop) is not a unicast address", data: scan.nextHopRaw)
            }
        }

        if let error = scan.withdrawError {
            // RFC 7606 §5.2: path attributes but no reachable NLRI: we cannot tell the NLRI were
            // parsed right, so anything stronger than attribute discard resets the session.
            guard reachable || !scan.hasAttributesOtherThanMPUnreach else { throw error }
            update.treatedAsWithdraw = error.reason
        }

        if !update.withdrawn.isEmpty && !update.announced.isEmpty {
            // RFC 4271 §4.3: a prefix both withdrawn and announced counts as announced only.
            let announced = Set(update.announced)
            update.withdrawn.removeAll { announced.contains($0) }
        }
        if update.treatedAsWithdraw != nil {
            update.withdrawn += update.announced
            update.announced = []
            update.mixedNLRI = nil
        }
        if update.announced.isEmpty && update.withdrawn.isEmpty {
            if withdrawnLength == 0 && attributesLength == 0 && nlri.isEmpty {
                update.endOfRIB = .ipv4Unicast
            } else if withdrawnLength == 0 && nlri.isEmpty, scan.attributeCount == 1, let family = scan.emptyMPUnreach {
                // RFC 4724 §2: an UPDATE holding only an MP_UNREACH_NLRI with no withdrawn routes.
                update.endOfRIB = family
            }
        }
        return update
    }

    /// RFC 4271 §6.3, RFC 7606 §7.3: 0.0.0.0 and multicast addresses cannot be next hops.
    static func isUsableNextHop(_ address: IPAddress) -> Bool {
        let v = address.v4Value
        return v != 0 && v >> 28 != 0xe
    }

    static func readNLRI(_ b: inout ByteBuffer, family: AddressFamily, context: Context) throws -> [Route] {
        var routes: [Route] = []
        let addPath = context.addPath.contains(family)
        let isV6 = family.afi == 2
        let maxLength = isV6 ? 128 : 32
        while b.readableBytes > 0 {
            var pathID: UInt32 = 0
            if addPath {
                guard let id = b.readInteger(as: UInt32.self) else { throw nlriError("truncated path identifier") }
                pathID = id
            }
            guard let length = b.readInteger(as: UInt8.self), Int(length) <= maxLength else {
                throw nlriError("prefix length past \(maxLength)")
            }
            let bytes = (Int(length) + 7) / 8
            guard b.readableBytes >= bytes else { throw nlriError("truncated prefix") }
            var high: UInt64 = 0, low: UInt64 = 0
            for i in 0..<bytes {
                let byte = UInt64(b.readInteger(as: UInt8.self)!)
                if i < 8 { high |= byte << UInt64(56 - 8 * i) } else { low |= byte << UInt64(56 - 8 * (i - 8)) }
            }
            let address = isV6 ? IPAddress(v6High: high, low: low) : IPAddress(v4: UInt32(truncatingIfNeeded: high >> 32))
            routes.append(Route(prefix: IPPrefix(address: address, length: length), pathID: pathID))
        }
        return routes
    }

    /// RFC 7606 §5.3: NLRI that cannot be parsed leave no safe way on: reset the session.
    static func nlriError(_ reason: String) -> BGPError {
        BGPError.update(.invalidNetworkField, "invalid NLRI: \(reason)")
    }
}
