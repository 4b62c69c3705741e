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
        o.add("as_path", PmacctText.asPath(a.asPath))
        if !a.communities.isEmpty { o.add("comms", PmacctText.communities(a.communities)) }
        if !a.extendedCommunities.isEmpty { o.add("ecomms", PmacctText.extendedCommunities(a.extendedCommunities)) }
        if !a.largeCommunities.isEmpty { o.add("lcomms", PmacctText.largeCommunities(a.largeCommunities)) }
        o.add("origin", origin(a.origin))
        if let localPref = a.localPref { o.add("local_pref", localPref) }
        if let med = a.med { o.add("med", med) }
        return o.line
    }

    static func origin(_ origin: PathAttributes.Origin?) -> String {
        switch origin {
        case .igp: return "i"
        case .egp: return "e"
        case .incomplete, nil: return "u"
        }
    }

    static func clusterList(_ ids: [UInt32]) -> String {
        ids.map { IPAddress(v4: $0).description }.joined(separator: " ")
    }
}
