import NetCore

/// Writes IPFIX messages (RFC 7011) with one fixed IPv4 or IPv6 template: the encoder side,
/// for the flow generator, benchmarks and round-trip tests.
public struct IPFIXWriter: Sendable {
    public static let templateIDv4: UInt16 = 256
    public static let templateIDv6: UInt16 = 257

    /// (element id, length) of the IPv4 template; the IPv6 one swaps in 27/28 and 63.
    static let fieldsV4: [(UInt16, UInt16)] = [
        (8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (5, 1), (6, 1), (10, 4), (14, 4),
        (2, 8), (1, 8), (152, 8), (153, 8), (18, 4), (9, 1), (13, 1),
    ]
    static let fieldsV6: [(UInt16, UInt16)] = [
        (27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (5, 1), (6, 1), (10, 4), (14, 4),
        (2, 8), (1, 8), (152, 8), (153, 8), (63, 16), (29, 1), (30, 1),
    ]
    public static let recordLengthV4 = fieldsV4.reduce(0) { $0 + Int($1.1) }
    public static let recordLengthV6 = fieldsV6.reduce(0) { $0 + Int($1.1) }

    public var observationDomain: UInt32
    /// Data records sent so far: the next message's sequence number.
    public private(set) var sequence: UInt32 = 0

    public init(observationDomain: UInt32 = 0) {
        self.observationDomain = observationDomain
    }

    /// A message carrying both templates.
    public mutating func templateMessage(exportTime: UInt32) -> [UInt8] {
        var body: [UInt8] = []
        for (id, fields) in [(Self.templateIDv4, Self.fieldsV4), (Self.templateIDv6, Self.fieldsV6)] {
            var set: [UInt8] = []
            set.append16(2)
            set.append16(UInt16(4 + 4 + fields.count * 4))
            set.append16(id)
            set.append16(UInt16(fields.count))
            for (element, length) in fields {
                set.append16(element)
                set.append16(length)
            }
            body += set
        }
        return header(length: 16 + body.count, exportTime: exportTime) + body
    }

    /// A message with one data set of `records`, all of one address family.
    public mutating func dataMessage(_ records: [FlowRecord], exportTime: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        write(records, exportTime: exportTime, into: &out)
        return out
    }

    /// Appends one message with `records` to `out` (no allocation once `out` has capacity).
    public mutating func write(_ records: [FlowRecord], exportTime: UInt32, into out: inout [UInt8]) {
        let v6 = records.first?.srcAddr.family == .v6
        let recordLength = v6 ? Self.recordLengthV6 : Self.recordLengthV4
        let total = 16 + 4 + records.count * recordLength
        out += header(length: total, exportTime: exportTime)
        out.append16(v6 ? Self.templateIDv6 : Self.templateIDv4)
        out.append16(UInt16(4 + records.count * recordLength))
        for r in records {
            out.appendAddress(r.srcAddr, v6: v6)
            out.appendAddress(r.dstAddr, v6: v6)
            out.append16(r.srcPort)
            out.append16(r.dstPort)
            out.append(r.proto)
            out.append(r.tos)
            out.append(r.tcpFlags)
            out.append32(r.inIface)
            out.append32(r.outIface)
            out.append64(r.packets)
            out.append64(r.bytes)
            out.append64(UInt64(r.startSeconds) * 1000)
            out.append64(UInt64(r.endSeconds) * 1000)
            out.appendAddress(r.bgpNextHop, v6: v6)
            out.append(r.srcMask)
            out.append(r.dstMask)
        }
        sequence &+= UInt32(records.count)
    }

    func header(length: Int, exportTime: UInt32) -> [UInt8] {
        var h: [UInt8] = []
        h.reserveCapacity(16)
        h.append16(10)
        h.append16(UInt16(length))
        h.append32(exportTime)
        h.append32(sequence)
        h.append32(observationDomain)
        return h
    }
}

extension Array where Element == UInt8 {
    @inline(__always) mutating func append16(_ v: UInt16) {
        append(UInt8(v >> 8)); append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always) mutating func append32(_ v: UInt32) {
        append16(UInt16(v >> 16)); append16(UInt16(truncatingIfNeeded: v))
    }

    @inline(__always) mutating func append64(_ v: UInt64) {
        append32(UInt32(v >> 32)); append32(UInt32(truncatingIfNeeded: v))
    }

    @inline(__always) mutating func appendAddress(_ a: IPAddress, v6: Bool) {
        if v6 {
            let (high, low) = a.family == .v6 ? (a.high, a.low) : (0, 0)
            append64(high); append64(low)
        } else {
            append32(a.family == .v4 ? a.v4Value : 0)
        }
    }
}
