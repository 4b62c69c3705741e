/// Where `src_as`, `dst_as` and the peer ASNs come from (`nfacctd_as`).
public enum ASSource: String, Sendable, Hashable {
    /// pmacct's default when `nfacctd_as` is absent: the ASN primitives stay 0, even when the
    /// flow records carry ASNs (pmacct only keeps them with `nfacctd_as: netflow`).
    case none
    /// The ASNs the exporter put in the flow records.
    case netflow
    /// The path the flow took in its router's BGP RIB; 0 when none.
    case bgp
    /// BGP when its prefix is at least as long as the exporter's mask, else the flow record's.
    case longest
}
