import BGPWire
import NetCore

/// pmacct's `bgp_table_dump_file` JSON lines (nfacctd 1.7.7): per router `dump_init`, one
/// `dump` line per path, `dump_close`; keys in pmacct's order, attributes written only when the
/// path carries them, values formatted as pmacct formats them. fixtures/bgp/pmacct-dump has a
/// reference written by nfacctd itself.
enum PmacctDump {
    struct Peer {
        var address: IPAddress
        var port: Int
    }

    static func initLine(timestamp: String, peer: Peer, period: Int, seq: Int) -> String {
        var o = JSONLine()
        o.add("timestamp", timestamp)
        o.add("peer_ip_src", peer.address.description)
        o.add("peer_tcp_port", peer.port)
        o.add("event_type", "dump_init")
        o.add("dump_period", period)
        o.add("seq", seq)
        return o.line
    }

    static func closeLine(timestamp: String, peer: Peer, entries: Int, seq: Int) -> String {
        var o = JSONLine()
        o.add("timestamp", timestamp)
        o.add("peer_ip_src", peer.address.description)
        o.add("peer_tcp_port", peer.port)
        o.add("event_type", "dump_close")
        o.add("entries", entries)
        o.add("tables", 1)  // pmacct counts one table per peer
        o.add("seq", seq)
        return o.line
    }

    /// One path. `pathID` is written (as `as_path_id`) only when ADD-PATH was negotiated for its family.
    static func pathLine(
        timestamp: String, peer: Peer, seq: Int, prefix: IPPrefix, pathID: UInt32?, attributes a: PathAttributes
    ) -> String {
        var o = JSONLine()
        o.add("seq", seq)
        o.add("timestamp", timestamp)
        o.add("peer_ip_src", peer.address.description)
        o.add("peer_tcp_port", peer.port)
        o.add("event_type", "dump")
        o.add("afi", prefix.address.family == .v6 ? 2 : 1)
        o.add("safi", 1)
        o.add("ip_prefix", prefix.description)
        if let pathID { o.add("as_path_id", pathID) }
        o.add("bgp_nexthop", a.nextHop.isNone ? "0.0.0.0" : a.nextHop.description)
        o.add("as_path", asPath(a.asPath))
        if !a.communities.isEmpty { o.add("comms", communities(a.communities)) }
        if !a.extendedCommunities.isEmpty { o.add("ecomms", extendedCommunities(a.extendedCommunities)) }
        if !a.largeCommunities.isEmpty { o.add("lcomms", largeCommunities(a.largeCommunities)) }
        o.add("origin", origin(a.origin))
        if let localPref = a.localPref { o.add("local_pref", localPref) }
        if let med = a.med { o.add("med", med) }
        return o.line
    }

    /// Sequences space-separated (consecutive ones merged); sets `{a,b}` with members sorted and
    /// unique, as pmacct (Quagga's aspath code) normalises them on receipt.
    static func asPath(_ segments: [PathAttributes.Segment]) -> String {
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

    static func origin(_ origin: PathAttributes.Origin?) -> String {
        switch origin {
        case .igp: return "i"
        case .egp: return "e"
        case .incomplete, nil: return "u"
        }
    }

    /// RFC 1997 communities as `AS:value`, the well-known ones by name.
    static func communities(_ values: [UInt32]) -> String {
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
    static func extendedCommunities(_ values: [UInt64]) -> String {
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

    static func clusterList(_ ids: [UInt32]) -> String {
        ids.map { IPAddress(v4: $0).description }.joined(separator: " ")
    }

    static func largeCommunities(_ values: [PathAttributes.LargeCommunity]) -> String {
        Array(Set(values)).sorted { ($0.global, $0.local1, $0.local2) < ($1.global, $1.local1, $1.local2) }
            .map { "\($0.global):\($0.local1):\($0.local2)" }.joined(separator: " ")
    }
}
