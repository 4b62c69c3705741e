import NetCore

/// One flow as an exporter reported it, whatever the export version.
///
/// Fields an exporter did not send keep their zero value; `IPAddress.none` for addresses.
public struct FlowRecord: Sendable, Equatable {
    public var srcAddr: IPAddress = .none
    public var dstAddr: IPAddress = .none
    public var ipNextHop: IPAddress = .none
    public var bgpNextHop: IPAddress = .none
    /// The UDP source the datagram came from: pmacct's peer_src_ip.
    public var exporter: IPAddress = .none
    /// IE 130/131 (exporterIPv4/IPv6Address) when the record or an options record carried it.
    public var agentAddress: IPAddress = .none
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    public var flows: UInt64 = 1
    public var inIface: UInt32 = 0
    public var outIface: UInt32 = 0
    public var srcAS: UInt32 = 0
    public var dstAS: UInt32 = 0
    public var peerDstAS: UInt32 = 0
    public var peerSrcAS: UInt32 = 0
    /// Unix seconds; 0 when the export gave no usable time.
    public var startSeconds: UInt32 = 0
    public var endSeconds: UInt32 = 0
    /// 1-in-N sampling in force for this record; 0 when unknown (unsampled or not announced).
    public var samplingRate: UInt32 = 0
    public var samplerID: UInt32 = 0
    public var observationDomain: UInt32 = 0
    public var srcPort: UInt16 = 0
    public var dstPort: UInt16 = 0
    public var icmpTypeCode: UInt16 = 0
    public var proto: UInt8 = 0
    public var tos: UInt8 = 0
    public var tcpFlags: UInt8 = 0
    public var srcMask: UInt8 = 0
    public var dstMask: UInt8 = 0
    public var direction: UInt8 = 0
    /// 5, 9 or 10.
    public var version: UInt8 = 0

    // Set by BGP enrichment, never by the decoder: what the path the flow took says beyond the
    // fields above (which enrichment may also set, per nfacctd_as and nfacctd_net).

    /// LOCAL_PREF and MULTI_EXIT_DISC of the path; 0 when absent, as pmacct writes them.
    public var localPref: UInt32 = 0
    public var med: UInt32 = 0
    /// The path's AS_PATH and communities as text, by their number in the collector's text pool
    /// (0: empty).
    public var asPathText: UInt32 = 0
    public var stdCommText: UInt32 = 0
    public var extCommText: UInt32 = 0
    public var lrgCommText: UInt32 = 0
    /// How the flow was mapped to its path (`PathMatchCode`); 0 when not enriched.
    public var pathMatch: UInt8 = 0

    public init() {}

    /// The largest packet, byte or flow count kept: SQLite's INTEGER is signed 64-bit.
    public static let maximumCounter = UInt64(Int64.max)

    /// The exporter as pmacct's peer_src_ip and BGP router selection see it: IE 130/131 when the
    /// record (or an options record) carried it, else the UDP source.
    @inline(__always)
    public var exporterAddress: IPAddress {
        agentAddress.isNone ? exporter : agentAddress
    }
}
