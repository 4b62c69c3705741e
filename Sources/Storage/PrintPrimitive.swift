import Aggregation

/// How pmacct's print plugin names and lays out each primitive: the csv/formatted column title
/// and the formatted column width (print_plugin.c, P_write_stats_header_*, P_cache_purge), and
/// the json key (plugin_cmn_json.c).
extension Primitive {
    /// Order of columns in csv and formatted output and of keys in json output: the order
    /// pmacct's print plugin writes them in, whatever order `aggregate` lists them in.
    /// `path_match` is pathflow's own and comes last, before the counters.
    public static let printOrder: [Primitive] = [
        .srcAS, .dstAS, .stdComm, .extComm, .lrgComm, .asPath, .localPref, .med, .peerSrcAS, .peerDstAS,
        .peerSrcIP, .peerDstIP, .inIface, .outIface, .srcHost, .srcNet, .dstHost, .dstNet, .srcMask, .dstMask,
        .srcPort, .dstPort, .tcpFlags, .proto, .tos, .samplingRate, .exportProtoVersion, .pathMatch,
    ]

    /// The column title in csv and formatted output.
    public var printHeader: String {
        switch self {
        case .srcAS: "SRC_AS"
        case .dstAS: "DST_AS"
        case .stdComm: "COMMS"
        case .extComm: "ECOMMS"
        case .lrgComm: "LCOMMS"
        case .asPath: "AS_PATH"
        case .localPref: "PREF"
        case .med: "MED"
        case .peerSrcAS: "PEER_SRC_AS"
        case .peerDstAS: "PEER_DST_AS"
        case .peerSrcIP: "PEER_SRC_IP"
        case .peerDstIP: "PEER_DST_IP"
        case .inIface: "IN_IFACE"
        case .outIface: "OUT_IFACE"
        case .srcHost: "SRC_IP"
        case .srcNet: "SRC_NET"
        case .dstHost: "DST_IP"
        case .dstNet: "DST_NET"
        case .srcMask: "SRC_MASK"
        case .dstMask: "DST_MASK"
        case .srcPort: "SRC_PORT"
        case .dstPort: "DST_PORT"
        case .tcpFlags: "TCP_FLAGS"
        case .proto: "PROTOCOL"
        case .tos: "TOS"
        case .samplingRate: "SAMPLING_RATE"
        case .exportProtoVersion: "EXPORT_PROTO_VERSION"
        case .pathMatch: "PATH_MATCH"
        }
    }

    /// The key in json output.
    public var jsonKey: String {
        switch self {
        case .srcAS: "as_src"
        case .dstAS: "as_dst"
        case .stdComm: "comms"
        case .extComm: "ecomms"
        case .lrgComm: "lcomms"
        case .asPath: "as_path"
        case .localPref: "local_pref"
        case .med: "med"
        case .peerSrcAS: "peer_as_src"
        case .peerDstAS: "peer_as_dst"
        case .peerSrcIP: "peer_ip_src"
        case .peerDstIP: "peer_ip_dst"
        case .inIface: "iface_in"
        case .outIface: "iface_out"
        case .srcHost: "ip_src"
        case .srcNet: "net_src"
        case .dstHost: "ip_dst"
        case .dstNet: "net_dst"
        case .srcMask: "mask_src"
        case .dstMask: "mask_dst"
        case .srcPort: "port_src"
        case .dstPort: "port_dst"
        case .tcpFlags: "tcp_flags"
        case .proto: "ip_proto"
        case .tos: "tos"
        case .samplingRate: "sampling_rate"
        case .exportProtoVersion: "export_proto_version"
        case .pathMatch: "path_match"
        }
    }

    /// json writes these as strings even when they are numbers: pmacct prints the TCP flags
    /// with "%u" into a string and the protocol through ip_proto_print() ("6" with
    /// print_num_protos).
    var jsonIsString: Bool {
        switch self {
        case .srcHost, .dstHost, .srcNet, .dstNet, .peerSrcIP, .peerDstIP: true
        case .asPath, .stdComm, .extComm, .lrgComm, .pathMatch: true
        case .proto, .tcpFlags: true
        default: false
        }
    }

    /// The formatted column: the value left-justified in `width` characters, then `gap` spaces
    /// (the title is padded to `width + gap`). nil for the variable-length primitives, which
    /// pmacct refuses in formatted output.
    var formattedColumn: (width: Int, gap: Int)? {
        switch self {
        case .stdComm, .extComm, .lrgComm, .asPath: nil
        case .srcAS, .dstAS, .peerSrcAS, .peerDstAS, .inIface, .outIface: (10, 2)
        case .localPref: (7, 2)
        case .med: (6, 2)
        case .peerSrcIP, .peerDstIP, .srcHost, .srcNet, .dstHost, .dstNet: (45, 2)
        case .srcMask, .dstMask: (3, 7)
        case .srcPort, .dstPort: (5, 5)
        case .tcpFlags: (3, 8)
        case .proto: (10, 2)
        case .tos: (3, 4)
        case .samplingRate: (7, 7)
        case .exportProtoVersion: (20, 2)
        case .pathMatch: (10, 2)
        }
    }
}
