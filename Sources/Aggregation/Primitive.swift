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
        }
    }

    /// Order of columns in created tables and of fields in rows: pmacct's schema order.
    public static let tableOrder: [Primitive] = [
        .srcHost, .dstHost, .srcNet, .dstNet, .srcMask, .dstMask, .srcAS, .dstAS,
        .peerSrcIP, .peerDstIP, .inIface, .outIface, .srcPort, .dstPort, .tcpFlags, .proto, .tos,
        .samplingRate, .exportProtoVersion,
    ]
}
