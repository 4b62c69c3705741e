import BGPWire
import NetCore

/// What best-path selection and flow enrichment read of an attribute set, flattened into plain
/// fields so neither touches the set's arrays. The next-hop comes first: the flow path's exact
/// match reads only the first cache line.
struct AttributeSummary: BitwiseCopyable {
    var nextHopHigh: UInt64
    var nextHopLow: UInt64
    var nextHopFamily: UInt8
    /// ORIGIN: IGP 0 < EGP 1 < INCOMPLETE 2; a set without one ranks as INCOMPLETE.
    var origin: UInt8
    var hasOriginatorID: Bool
    /// RFC 4271 §9.1.2.2 a): AS_SET counts 1, confederation segments 0 (RFC 5065 §5.3).
    var asPathLength: UInt16
    var clusterListLength: UInt16
    /// LOCAL_PREF, 100 when absent (the usual default; RFC 4271 §5.1.5 leaves it to policy).
    var localPref: UInt32
    /// MULTI_EXIT_DISC, 0 when absent (RFC 4271 §9.1.2.2 c).
    var med: UInt32
    /// The neighbouring AS: first ASN of the AS_PATH after confederation segments, 0 if none.
    var firstASN: UInt32
    /// The origin AS: last ASN of the AS_PATH, 0 if none (a route of our own AS).
    var lastASN: UInt32
    var originatorID: UInt32
    /// The set's hash (for the interning index), kept so the index can move entries without
    /// hashing the set again.
    var hash: Int
    /// Which interned set this is (see `AttributeStore`): a slot reused for another set gets a
    /// new serial.
    var serial: UInt32

    init(_ a: PathAttributes, hash: Int, serial: UInt32) {
        self.serial = serial
        nextHopHigh = a.nextHop.high
        nextHopLow = a.nextHop.low
        nextHopFamily = a.nextHop.family.rawValue
        origin = a.origin?.rawValue ?? PathAttributes.Origin.incomplete.rawValue
        hasOriginatorID = a.originatorID != nil
        originatorID = a.originatorID ?? 0
        localPref = a.localPref ?? 100
        med = a.med ?? 0
        clusterListLength = UInt16(clamping: a.clusterList.count)
        var length = 0
        var first: UInt32?
        var last: UInt32 = 0
        for segment in a.asPath {
            switch segment.kind {
            case .sequence: length += segment.asns.count
            case .set: length += 1
            case .confedSequence, .confedSet: continue
            }
            if first == nil { first = segment.asns.first }
            last = segment.asns.last ?? last
        }
        asPathLength = UInt16(clamping: length)
        firstASN = first ?? 0
        lastASN = last
        self.hash = hash
    }

    @inline(__always)
    func hasNextHop(_ address: IPAddress) -> Bool {
        nextHopLow == address.low && nextHopHigh == address.high && nextHopFamily == address.family.rawValue
    }

    var nextHop: IPAddress {
        IPAddress(high: nextHopHigh, low: nextHopLow, family: IPAddress.Family(rawValue: nextHopFamily) ?? .none)
    }
}
