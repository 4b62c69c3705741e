import NIOCore
import NetCore

/// A BGP capability (RFC 5492) from an OPEN's optional parameters.
public enum Capability: Sendable, Equatable {
    /// ADD-PATH send/receive per family (RFC 7911 §4): 1 receive, 2 send, 3 both.
    public struct AddPath: Sendable, Equatable {
        public var family: AddressFamily
        public var mode: UInt8

        public init(family: AddressFamily, mode: UInt8) {
            self.family = family
            self.mode = mode
        }

        public var receives: Bool { mode & 1 != 0 }
        public var sends: Bool { mode & 2 != 0 }
    }

    /// RFC 8950: NLRI of `family` may carry next-hops of `nextHopAFI`.
    public struct ExtendedNextHop: Sendable, Equatable {
        public var family: AddressFamily
        public var nextHopAFI: UInt16
    }

    case multiprotocol(AddressFamily)          // code 1, RFC 4760
    case routeRefresh                          // code 2, RFC 2918
    case extendedNextHop([ExtendedNextHop])    // code 5, RFC 8950
    case extendedMessage                       // code 6, RFC 8654
    case fourOctetAS(UInt32)                   // code 65, RFC 6793
    case addPath([AddPath])                    // code 69, RFC 7911
    /// Anything else (graceful restart, FQDN, …), kept as received.
    case other(code: UInt8, value: [UInt8])

    public var code: UInt8 {
        switch self {
        case .multiprotocol: return 1
        case .routeRefresh: return 2
        case .extendedNextHop: return 5
        case .extendedMessage: return 6
        case .fourOctetAS: return 65
        case .addPath: return 69
        case .other(let code, _): return code
        }
    }

    /// Reads one capability's value; a value of the wrong shape is kept as `.other`,
    /// which keeps the session up (the capability is simply not understood).
    static func decode(code: UInt8, value v: [UInt8]) -> Capability {
        func u16(_ i: Int) -> UInt16 { UInt16(v[i]) << 8 | UInt16(v[i + 1]) }
        func family(_ i: Int, safiAt j: Int) -> AddressFamily { AddressFamily(afi: u16(i), safi: v[j]) }
        switch code {
        case 1 where v.count == 4:
            return .multiprotocol(family(0, safiAt: 3))
        case 2 where v.isEmpty:
            return .routeRefresh
        case 5 where v.count % 6 == 0 && !v.isEmpty:
            // AFI (2), SAFI (2), next-hop AFI (2).
            var entries: [ExtendedNextHop] = []
            for i in stride(from: 0, to: v.count, by: 6) {
                entries.append(ExtendedNextHop(family: family(i, safiAt: i + 3), nextHopAFI: u16(i + 4)))
            }
            return .extendedNextHop(entries)
        case 6 where v.isEmpty:
            return .extendedMessage
        case 65 where v.count == 4:
            return .fourOctetAS(UInt32(u16(0)) << 16 | UInt32(u16(2)))
        case 69 where v.count % 4 == 0 && !v.isEmpty:
            // AFI (2), SAFI (1), send/receive (1).
            var entries: [AddPath] = []
            for i in stride(from: 0, to: v.count, by: 4) {
                entries.append(AddPath(family: family(i, safiAt: i + 2), mode: v[i + 3]))
            }
            return .addPath(entries)
        default:
            return .other(code: code, value: v)
        }
    }

    var value: [UInt8] {
        switch self {
        case .multiprotocol(let f):
            return [UInt8(f.afi >> 8), UInt8(truncatingIfNeeded: f.afi), 0, f.safi]
        case .routeRefresh, .extendedMessage:
            return []
        case .extendedNextHop(let entries):
            return entries.flatMap { e in
                [UInt8(e.family.afi >> 8), UInt8(truncatingIfNeeded: e.family.afi), 0, e.family.safi,
                 UInt8(e.nextHopAFI >> 8), UInt8(truncatingIfNeeded: e.nextHopAFI)]
            }
        case .fourOctetAS(let asn):
            return [UInt8(asn >> 24), UInt8(truncatingIfNeeded: asn >> 16), UInt8(truncatingIfNeeded: asn >> 8), UInt8(truncatingIfNeeded: asn)]
        case .addPath(let entries):
            return entries.flatMap { e in
                [UInt8(e.family.afi >> 8), UInt8(truncatingIfNeeded: e.family.afi), e.family.safi, e.mode]
            }
        case .other(_, let value):
            return value
        }
    }
}
