import NetCore

/// Each primitive described once: its names, its column types in every backend, its width in a
/// packed key, how its value is written (SQL, ClickHouse, pmacct's print formats), and where the
/// value comes from. Views, packed keys, table definitions for every backend, the print plugin
/// and the reports read this table; nothing else spells a primitive's column, type or title.
///
/// What stays code is the per-record copying of values (`View.key(for:)`, `KeyLayout.pack`,
/// `unpack`): one exhaustive switch each, on the hot path, so a new primitive does not compile
/// until each says where its value goes.
public struct PrimitiveSpec: Sendable {
    /// How a value is held and written.
    public enum Kind: Sendable, Equatable {
        /// An IPv4 or IPv6 address; written as text ("0.0.0.0" when there is none, as pmacct).
        case address
        /// An unsigned number of this many bits.
        case unsigned(bits: Int)
        /// The IP protocol: pmacct writes its name ("tcp") unless sql_num_protos/print_num_protos.
        case protocolNumber
        /// A `TextPool` number in keys, written as the text (AS path, community lists).
        case text
        /// A `PathMatchCode` in keys, written as its name.
        case pathMatch
    }

    public let primitive: Primitive
    /// The SQL column (pmacct's name).
    public let column: String
    public let kind: Kind
    /// Bytes in a `PackedKey`.
    public let packedWidth: Int
    /// Where the value comes from, for documentation and `check-config`.
    public let source: String
    /// Whether only the BGP RIB gives it (no flow field carries it).
    public let needsBGP: Bool
    /// How pmacct's print plugin writes it.
    public let print: Print

    /// pmacct's print plugin's names and layout: the csv/formatted column title and the
    /// formatted column width (print_plugin.c's header and purge functions), and the json key
    /// (plugin_cmn_json.c).
    public struct Print: Sendable {
        /// The column title in csv and formatted output.
        public let header: String
        /// The formatted column: the value left-justified in `width` characters, then `gap`
        /// spaces (the title is padded to `width + gap`). nil for the variable-length
        /// primitives, which pmacct refuses in formatted output.
        public let formatted: (width: Int, gap: Int)?
        /// The key in json output (the SQL column unless pmacct names it otherwise).
        public fileprivate(set) var jsonKey: String
        /// json writes it as a string even when it is a number: addresses and texts, the
        /// protocol (ip_proto_print(), "6" with print_num_protos) and the TCP flags (printed
        /// with "%u" into a string).
        public fileprivate(set) var jsonIsString: Bool

        init(_ header: String, json: String = "", jsonString: Bool = false) {
            self.header = header
            self.formatted = nil
            self.jsonKey = json
            self.jsonIsString = jsonString
        }

        init(_ header: String, _ width: Int, _ gap: Int, json: String = "", jsonString: Bool = false) {
            self.header = header
            self.formatted = (width, gap)
            self.jsonKey = json
            self.jsonIsString = jsonString
        }
    }

    /// The column's SQLite type (pmacct's SQL schemas).
    public func sqliteType(numericProtocols: Bool) -> String {
        switch kind {
        case .address: "CHAR(45) NOT NULL DEFAULT '0.0.0.0'"
        case .protocolNumber: numericProtocols ? "INT(2) NOT NULL DEFAULT 0" : "CHAR(6) NOT NULL DEFAULT 0"
        case .text, .pathMatch: "TEXT NOT NULL DEFAULT ''"
        case .unsigned: "INT NOT NULL DEFAULT 0"
        }
    }

    /// The column's ClickHouse type (available in 18.16: no IPv4/IPv6 types, so addresses are
    /// text, compared and grouped the way pmacct's SQL tables are).
    public func clickhouseType(numericProtocols: Bool) -> String {
        switch kind {
        case .address, .text, .pathMatch: "String"
        case .protocolNumber: numericProtocols ? "UInt8" : "String"
        case .unsigned(let bits): "UInt\(bits)"
        }
    }

    /// The table, in `Primitive`'s declaration order.
    static let all: [PrimitiveSpec] = [
        .init(.srcHost, "ip_src", .address, 16, "flow: source address (IE 8/27)",
              print: .init("SRC_IP", 45, 2)),
        .init(.dstHost, "ip_dst", .address, 16, "flow: destination address (IE 12/28)",
              print: .init("DST_IP", 45, 2)),
        .init(.srcPort, "src_port", .unsigned(bits: 16), 2, "flow: source port (IE 7)",
              print: .init("SRC_PORT", 5, 5, json: "port_src")),
        .init(.dstPort, "dst_port", .unsigned(bits: 16), 2, "flow: destination port (IE 11), or ICMP type and code",
              print: .init("DST_PORT", 5, 5, json: "port_dst")),
        .init(.proto, "ip_proto", .protocolNumber, 1, "flow: IP protocol (IE 4)",
              print: .init("PROTOCOL", 10, 2)),
        .init(.tos, "tos", .unsigned(bits: 8), 1, "flow: type of service (IE 5)",
              print: .init("TOS", 3, 4)),
        .init(.tcpFlags, "tcp_flags", .unsigned(bits: 8), 1, "flow: TCP flags (IE 6)",
              print: .init("TCP_FLAGS", 3, 8, jsonString: true)),
        .init(.peerSrcIP, "peer_ip_src", .address, 16, "the exporter's address (or bgp_agent_map's)",
              print: .init("PEER_SRC_IP", 45, 2)),
        .init(.peerDstIP, "peer_ip_dst", .address, 16, "flow: BGP next-hop (IE 18/63), or the matched path's with nfacctd_net bgp",
              print: .init("PEER_DST_IP", 45, 2)),
        .init(.inIface, "iface_in", .unsigned(bits: 32), 4, "flow: input interface (IE 10)",
              print: .init("IN_IFACE", 10, 2)),
        .init(.outIface, "iface_out", .unsigned(bits: 32), 4, "flow: output interface (IE 14)",
              print: .init("OUT_IFACE", 10, 2)),
        .init(.srcMask, "mask_src", .unsigned(bits: 8), 1, "flow: source mask (IE 9/29), or the RIB's by nfacctd_net",
              print: .init("SRC_MASK", 3, 7)),
        .init(.dstMask, "mask_dst", .unsigned(bits: 8), 1, "flow: destination mask (IE 13/30), or the RIB's by nfacctd_net",
              print: .init("DST_MASK", 3, 7)),
        .init(.srcNet, "net_src", .address, 16, "the source address under the source mask",
              print: .init("SRC_NET", 45, 2)),
        .init(.dstNet, "net_dst", .address, 16, "the destination address under the destination mask",
              print: .init("DST_NET", 45, 2)),
        .init(.srcAS, "as_src", .unsigned(bits: 32), 4, "flow: source AS (IE 16), or the RIB's by nfacctd_as",
              print: .init("SRC_AS", 10, 2)),
        .init(.dstAS, "as_dst", .unsigned(bits: 32), 4, "flow: destination AS (IE 17), or the RIB's by nfacctd_as",
              print: .init("DST_AS", 10, 2)),
        .init(.samplingRate, "sampling_rate", .unsigned(bits: 32), 4, "the exporter's sampling rate (or sampling_map's)",
              print: .init("SAMPLING_RATE", 7, 7)),
        .init(.exportProtoVersion, "export_proto_version", .unsigned(bits: 8), 1, "the export's version: 5, 9 or 10",
              print: .init("EXPORT_PROTO_VERSION", 20, 2)),
        .init(.peerSrcAS, "peer_as_src", .unsigned(bits: 32), 4, "the neighbour AS traffic came from (flow, RIB or maps)",
              print: .init("PEER_SRC_AS", 10, 2)),
        .init(.peerDstAS, "peer_as_dst", .unsigned(bits: 32), 4, "RIB: the first AS of the matched path",
              print: .init("PEER_DST_AS", 10, 2)),
        .init(.asPath, "as_path", .text, 4, "RIB: the matched path's AS path",
              print: .init("AS_PATH"), bgp: true),
        .init(.stdComm, "comms", .text, 4, "RIB: the matched path's standard communities",
              print: .init("COMMS"), bgp: true),
        .init(.extComm, "ecomms", .text, 4, "RIB: the matched path's extended communities",
              print: .init("ECOMMS"), bgp: true),
        .init(.lrgComm, "lcomms", .text, 4, "RIB: the matched path's large communities",
              print: .init("LCOMMS"), bgp: true),
        .init(.localPref, "local_pref", .unsigned(bits: 32), 4, "RIB: the matched path's LOCAL_PREF",
              print: .init("PREF", 7, 2), bgp: true),
        .init(.med, "med", .unsigned(bits: 32), 4, "RIB: the matched path's MED",
              print: .init("MED", 6, 2), bgp: true),
        .init(.pathMatch, "path_match", .pathMatch, 1, "how the flow was mapped to a path (pathflow's)",
              print: .init("PATH_MATCH", 10, 2), bgp: true),
    ]

    init(
        _ primitive: Primitive, _ column: String, _ kind: Kind, _ width: Int, _ source: String, print: Print,
        bgp: Bool = false
    ) {
        self.primitive = primitive
        self.column = column
        self.kind = kind
        self.packedWidth = width
        self.source = source
        self.needsBGP = bgp
        var print = print
        if print.jsonKey.isEmpty { print.jsonKey = column }
        switch kind {
        case .address, .text, .protocolNumber, .pathMatch: print.jsonIsString = true
        case .unsigned: break
        }
        self.print = print
    }

    /// By `Primitive`: built once, checked against the declaration order.
    static let byPrimitive: [Primitive: PrimitiveSpec] = {
        var table: [Primitive: PrimitiveSpec] = [:]
        for spec in all { table[spec.primitive] = spec }
        precondition(table.count == Primitive.allCases.count, "every primitive is described once")
        return table
    }()
}

extension Primitive {
    /// This primitive's description.
    public var spec: PrimitiveSpec { PrimitiveSpec.byPrimitive[self]! }
}

/// A primitive's value in one row, ready for any backend.
public enum PrimitiveValue: Sendable, Equatable {
    case address(IPAddress)
    case integer(UInt64)
    case text(String)
}

extension FlowKey {
    /// The value of `p` in this key; `texts` resolves `TextPool` numbers, `numericProtocols`
    /// writes the protocol as a number instead of pmacct's name.
    @inline(__always)
    public func value(of p: Primitive, texts: [String], numericProtocols: Bool) -> PrimitiveValue {
        func text(_ n: UInt32) -> PrimitiveValue { .text(Int(n) < texts.count ? texts[Int(n)] : "") }
        switch p {
        case .srcHost: return .address(srcAddr)
        case .dstHost: return .address(dstAddr)
        case .srcNet: return .address(srcNet)
        case .dstNet: return .address(dstNet)
        case .peerSrcIP: return .address(peerSrc)
        case .peerDstIP: return .address(peerDst)
        case .srcPort: return .integer(UInt64(srcPort))
        case .dstPort: return .integer(UInt64(dstPort))
        case .proto: return numericProtocols ? .integer(UInt64(proto)) : .text(ProtocolName.name(proto))
        case .tos: return .integer(UInt64(tos))
        case .tcpFlags: return .integer(UInt64(tcpFlags))
        case .inIface: return .integer(UInt64(inIface))
        case .outIface: return .integer(UInt64(outIface))
        case .srcMask: return .integer(UInt64(srcMask))
        case .dstMask: return .integer(UInt64(dstMask))
        case .srcAS: return .integer(UInt64(srcAS))
        case .dstAS: return .integer(UInt64(dstAS))
        case .samplingRate: return .integer(UInt64(samplingRate))
        case .exportProtoVersion: return .integer(UInt64(version))
        case .peerSrcAS: return .integer(UInt64(peerSrcAS))
        case .peerDstAS: return .integer(UInt64(peerDstAS))
        case .localPref: return .integer(UInt64(localPref))
        case .med: return .integer(UInt64(med))
        case .asPath: return text(asPath)
        case .stdComm: return text(stdComm)
        case .extComm: return text(extComm)
        case .lrgComm: return text(lrgComm)
        case .pathMatch: return .text((PathMatchCode(rawValue: pathMatch) ?? .none).description)
        }
    }
}
