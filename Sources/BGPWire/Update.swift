import NIOCore
import NetCore

/// A decoded UPDATE (RFC 4271 §4.3 with RFC 4760 multiprotocol and RFC 7911 path ids).
public struct Update: Sendable, Equatable {
    /// One NLRI: prefix and, with ADD-PATH, its path identifier.
    public struct Route: Sendable, Equatable, Hashable {
        public var prefix: IPPrefix
        public var pathID: UInt32
    }

    public var withdrawn: [Route] = []
    public var announced: [Route] = []
    public var attributes = PathAttributes()
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

        public init(addPath: Set<AddressFamily> = [], fourOctetAS: Bool = true) {
            self.addPath = addPath
            self.fourOctetAS = fourOctetAS
        }
    }

    /// Decodes an UPDATE body. Errors that RFC 7606 says reset the session throw (with the
    /// NOTIFICATION to send); errors it says to treat as withdraw or discard are recorded.
    public static func decode(_ body: ByteBuffer, context: Context) throws -> Update {
        var b = body
        var update = Update()
        guard let withdrawnLength = b.readInteger(as: UInt16.self),
              var withdrawn = b.readSlice(length: Int(withdrawnLength)),
              let attributesLength = b.readInteger(as: UInt16.self),
              var attributes = b.readSlice(length: Int(attributesLength)) else {
            throw BGPError(code: 3, subcode: 1, reason: "UPDATE lengths run past the message")
        }
        update.withdrawn = try readNLRI(&withdrawn, family: .ipv4Unicast, context: context)
        var mpFamilies: [AddressFamily] = []
        try readAttributes(&attributes, into: &update, context: context, mpFamilies: &mpFamilies)
        update.announced += try readNLRI(&b, family: .ipv4Unicast, context: context)
        if !update.announced.isEmpty && update.attributes.nextHop.isNone && !mpFamilies.contains(.ipv4Unicast) {
            update.treatedAsWithdraw = update.treatedAsWithdraw ?? "IPv4 NLRI without NEXT_HOP"
        }
        if update.announced.isEmpty && update.withdrawn.isEmpty {
            if withdrawnLength == 0 && attributesLength == 0 {
                update.endOfRIB = .ipv4Unicast
            } else if attributesLength > 0, let family = mpFamilies.first, update.attributes.origin == nil,
                      mpFamilies.count == 1 {
                update.endOfRIB = family
            }
        }
        if update.treatedAsWithdraw != nil {
            update.withdrawn += update.announced
            update.announced = []
        }
        return update
    }

    static func readNLRI(_ b: inout ByteBuffer, family: AddressFamily, context: Context) throws -> [Route] {
        var routes: [Route] = []
        let addPath = context.addPath.contains(family)
        let maxLength = family.afi == 2 ? 128 : 32
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
            guard let raw = b.readBytes(length: bytes) else { throw nlriError("truncated prefix") }
            var high: UInt64 = 0, low: UInt64 = 0
            for (i, byte) in raw.enumerated() {
                if i < 8 { high |= UInt64(byte) << UInt64(56 - 8 * i) } else { low |= UInt64(byte) << UInt64(56 - 8 * (i - 8)) }
            }
            let address = family.afi == 2
                ? IPAddress(v6High: high, low: low)
                : IPAddress(v4: UInt32(truncatingIfNeeded: high >> 32))
            routes.append(Route(prefix: IPPrefix(address: address, length: length), pathID: pathID))
        }
        return routes
    }

    /// RFC 7606 §5.3: NLRI that cannot be parsed leave no safe way on: reset the session.
    static func nlriError(_ reason: String) -> BGPError {
        BGPError(code: 3, subcode: 10, reason: "invalid NLRI: \(reason)")
    }
}
