/// An aggregation primitive: pmacct's name in `aggregate`. What it is (column, types, width,
/// source) is described once, in `PrimitiveSpec`.
public enum Primitive: String, CaseIterable, Sendable, Hashable {
    case srcHost = "src_host"
    case dstHost = "dst_host"
    case srcPort = "src_port"
    case dstPort = "dst_port"
    case proto = "proto"
    case tos = "tos"
    case tcpFlags = "tcpflags"
    case peerSrcIP = "peer_src_ip"
    case peerDstIP = "peer_dst_ip"
    case inIface = "in_iface"
    case outIface = "out_iface"
    case srcMask = "src_mask"
    case dstMask = "dst_mask"
    case srcNet = "src_net"
    case dstNet = "dst_net"
    case srcAS = "src_as"
    case dstAS = "dst_as"
    case samplingRate = "sampling_rate"
    case exportProtoVersion = "export_proto_version"
    case peerSrcAS = "peer_src_as"
    case peerDstAS = "peer_dst_as"
    case asPath = "as_path"
    case stdComm = "std_comm"
    case extComm = "ext_comm"
    case lrgComm = "lrg_comm"
    case localPref = "local_pref"
    case med = "med"
    case pathMatch = "path_match"

    /// The column pmacct's SQL plugins write this primitive to.
    public var column: String { spec.column }

    /// Order of columns in created tables and of fields in rows: pmacct's schema order.
    /// The BGP columns follow pmacct's `acct_bgp` table (as_src … med); `path_match` is ours.
    public static let tableOrder: [Primitive] = [
        .srcHost, .dstHost, .srcNet, .dstNet, .srcMask, .dstMask, .srcAS, .dstAS,
        .peerSrcAS, .peerDstAS, .peerSrcIP, .peerDstIP, .stdComm, .extComm, .lrgComm, .asPath,
        .localPref, .med, .inIface, .outIface, .srcPort, .dstPort, .tcpFlags, .proto, .tos,
        .samplingRate, .exportProtoVersion, .pathMatch,
    ]

    /// Primitives held as `TextPool` numbers in keys and written as text.
    public var isText: Bool { spec.kind == .text }

    /// Primitives whose values come from the BGP RIB only (no flow field carries them).
    public var needsBGP: Bool { spec.needsBGP }
}
