import NetCore

/// Path attributes as pmacct writes them as text, in its table dumps and in its SQL columns
/// (`as_path`, `comms`, `ecomms`, `lcomms`).
public enum PmacctText {
    /// Sequences space-separated (consecutive ones merged); sets `{a,b}` with members sorted and
    /// unique, as pmacct (Quagga's aspath code) normalises them on receipt.
    public static func asPath(_ segments: [PathAttributes.Segment]) -> String {
        var parts: [String] = []
        var previousWasSequence = false
        for segment in segments {
            switch segment.kind {
            case .sequence:
                let text = segment.asns.map(String.init).joined(separator: " ")
                if previousWasSequence, let last = parts.popLast() { parts.append(last + " " + text) } else { parts.append(text) }
            case .set:
                parts.append("{" + Array(Set(segment.asns)).sorted().map(String.init).joined(separator: ",") + "}")
            case .confedSequence:
                parts.append("(" + segment.asns.map(String.init).joined(separator: " ") + ")")
            case .confedSet:
                parts.append("[" + Array(Set(segment.asns)).sorted().map(String.init).joined(separator: ",") + "]")
            }
            previousWasSequence = segment.kind == .sequence
        }
        return parts.joined(separator: " ")
    }

    /// RFC 1997 communities as `AS:value`, the well-known ones by name.
    public static func communities(_ values: [UInt32]) -> String {
        Array(Set(values)).sorted().map { value -> String in
            switch value {
            case 0: return "internet"
            case 0xFFFF_FF01: return "no-export"
            case 0xFFFF_FF02: return "no-advertise"
            case 0xFFFF_FF03: return "local-AS"
            default: return "\(value >> 16):\(value & 0xFFFF)"
            }
        }.joined(separator: " ")
    }

    /// RFC 4360 route targets and sites of origin (`RT:`/`SoO:` with 2-octet AS, IPv4 or 4-octet
    /// AS administrators, RFC 5668); pmacct writes `?` for every other kind. Lists are written unique
    /// and sorted, as pmacct stores them.
    public static func extendedCommunities(_ values: [UInt64]) -> String {
        Array(Set(values)).sorted().map { value -> String in
            let type = UInt8(truncatingIfNeeded: value >> 56) & 0x3F
            let subtype = UInt8(truncatingIfNeeded: value >> 48)
            guard subtype == 2 || subtype == 3 else { return "?" }
            let prefix = subtype == 2 ? "RT:" : "SoO:"
            switch type {
            case 0:
                return prefix + "\((value >> 32) & 0xFFFF):\(value & 0xFFFF_FFFF)"
            case 1:
                return prefix + IPAddress(v4: UInt32(truncatingIfNeeded: value >> 16)).description + ":\(value & 0xFFFF)"
            case 2:
                return prefix + "\((value >> 16) & 0xFFFF_FFFF):\(value & 0xFFFF)"
            default:
                return "?"
            }
        }.joined(separator: " ")
    }

    public static func largeCommunities(_ values: [PathAttributes.LargeCommunity]) -> String {
        Array(Set(values)).sorted { ($0.global, $0.local1, $0.local2) < ($1.global, $1.local1, $1.local2) }
            .map { "\($0.global):\($0.local1):\($0.local2)" }.joined(separator: " ")
    }
}
