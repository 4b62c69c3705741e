/// Where `src_net`, `dst_net`, the masks and `peer_dst_ip` come from (`nfacctd_net`).
public enum NetSource: String, Sendable, Hashable {
    /// The masks and next-hop the exporter put in the flow records; nfacctd's default.
    case netflow
}
