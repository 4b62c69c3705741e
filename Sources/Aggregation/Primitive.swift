/// An aggregation primitive: pmacct's name in `aggregate`, pmacct's column name in SQL.
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

    public enum ColumnType: Sendable {
        case address, integer, text
    }

    /// The column pmacct's SQL plugins write this primitive to.
    public var column: String {
        switch self {
        case .srcHost: return "ip_src"
        case .dstHost: return "ip_dst"
        case .srcPort: return "src_port"
        case .dstPort: return "dst_port"
        case .proto: return "ip_proto"
        case .tos: return "tos"
        case .tcpFlags: return "tcp_flags"
        case .peerSrcIP: return "peer_ip_src"
        case .peerDstIP: return "peer_ip_dst"
        case .inIface: return "iface_in"
        case .outIface: return "iface_out"
        case .srcMask: return "mask_src"
        case .dstMask: return "mask_dst"
        case .srcNet: return "net_src"
        case .dstNet: return "net_dst"
        case .srcAS: return "as_src"
        case .dstAS: return "as_dst"
        case .samplingRate: return "sampling_rate"
        case .exportProtoVersion: return "export_proto_version"
        case .peerSrcAS: return "peer_as_src"
        case .peerDstAS: return "peer_as_dst"
        case .asPath: return "as_path"
        case .stdComm: return "comms"
        case .extComm: return "ecomms"
        case .lrgComm: return "lcomms"
        case .localPref: return "local_pref"
        case .med: return "med"
        case .pathMatch: return "path_match"
        }
    }

    /// Order of columns in created tables and of fields in rows: pmacct's schema order.
    /// The BGP columns follow pmacct's `acct_bgp` table (as_src … med); `path_match` is ours.
    public static let tableOrder: [Primitive] = [
        .srcHost, .dstHost, .srcNet, .dstNet, .srcMask, .dstMask, .srcAS, .dstAS,
        .peerSrcAS, .peerDstAS, .peerSrcIP, .peerDstIP, .stdComm, .extComm, .lrgComm, .asPath,
        .localPref, .med, .inIface, .outIface, .srcPort, .dstPort, .tcpFlags, .proto, .tos,
        .samplingRate, .exportProtoVersion, .pathMatch,
    ]

    /// Primitives held as `TextPool` numbers in keys and written as text.
    public var isText: Bool {
        switch self {
        case .asPath, .stdComm, .extComm, .lrgComm: true
        default: false
        }
    }

    /// Primitives whose values come from the BGP RIB only (no flow field carries them).
    public var needsBGP: Bool {
        switch self {
        case .asPath, .stdComm, .extComm, .lrgComm, .localPref, .med, .pathMatch: true
        default: false
        }
    }
}
