/// Where `src_net`, `dst_net`, the masks and `peer_dst_ip` come from (`nfacctd_net`).
public enum NetSource: String, Sendable, Hashable {
    /// The masks and next-hop the exporter put in the flow records; nfacctd's default.
    case netflow
    /// The prefix and next-hop of the path the flow took in its router's BGP RIB; empty when none.
    case bgp
    /// BGP when its prefix is at least as long as the exporter's mask, else the flow record's.
    case longest
}
