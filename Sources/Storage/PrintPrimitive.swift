import Aggregation

/// How pmacct's print plugin names and lays out each primitive (`PrimitiveSpec.print`) and the
/// order it writes them in.
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
    public var printHeader: String { spec.print.header }

    /// The key in json output.
    public var jsonKey: String { spec.print.jsonKey }

    /// json writes these as strings even when they are numbers.
    var jsonIsString: Bool { spec.print.jsonIsString }

    /// The formatted column's width and gap; nil for the primitives pmacct refuses there.
    var formattedColumn: (width: Int, gap: Int)? { spec.print.formatted }
}
