import Testing
import NetCore
@testable import FlowWire

// Malformed and edge-case datagrams for NetFlow v5, v9 and IPFIX. Every byte array is written
// out field by field, like the protocol diagrams of RFC 3954 and RFC 7011, and every case
// names the exact `FlowDecodeError` or the exact outcome counters it must produce.

/// Annotated pieces the cases are assembled from, and small encoders for valid messages.
enum Wire {
    static let exporter = Fixtures.exporter
    static let otherExporter = IPAddress("127.0.0.2")!
    static let exportTime: UInt32 = 1_700_000_000

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func be32(_ v: UInt32) -> [UInt8] { be16(UInt16(v >> 16)) + be16(UInt16(truncatingIfNeeded: v)) }
    static func be64(_ v: UInt64) -> [UInt8] { be32(UInt32(v >> 32)) + be32(UInt32(truncatingIfNeeded: v)) }

    /// NetFlow v5 header, 24 bytes.
    static func v5Header(count: UInt16, sequence: UInt32 = 7) -> [UInt8] {
        var h: [UInt8] = [0x00, 0x05]       // version 5
        h += be16(count)                    // count: records in this datagram (1...30)
        h += [0x00, 0x00, 0x0f, 0xa0]       // sysUptime 4000 ms
        h += [0x65, 0x53, 0xf1, 0x00]       // unix_secs 1700000000
        h += [0x00, 0x00, 0x00, 0x00]       // unix_nsecs
        h += be32(sequence)                 // flow_sequence: flows sent before this datagram
        h += [0x00,                         // engine_type
              0x00,                         // engine_id
              0x00, 0x00]                   // sampling: mode (2 bits), interval (14 bits)
        return h
    }

    /// One NetFlow v5 record, 48 bytes: 192.0.2.1:12345 -> 198.51.100.2:80 TCP, 3 packets, 300 bytes.
    static let v5Record: [UInt8] = [
        0xc0, 0x00, 0x02, 0x01,             // srcaddr 192.0.2.1
        0xc6, 0x33, 0x64, 0x02,             // dstaddr 198.51.100.2
        0x00, 0x00, 0x00, 0x00,             // nexthop 0.0.0.0
        0x00, 0x01,                         // input ifIndex 1
        0x00, 0x02,                         // output ifIndex 2
        0x00, 0x00, 0x00, 0x03,             // dPkts 3
        0x00, 0x00, 0x01, 0x2c,             // dOctets 300
        0x00, 0x00, 0x0b, 0xb8,             // first: sysUptime 3000 ms
        0x00, 0x00, 0x0f, 0xa0,             // last: sysUptime 4000 ms
        0x30, 0x39,                         // srcport 12345
        0x00, 0x50,                         // dstport 80
        0x00,                               // pad1
        0x1b,                               // tcp_flags FIN SYN PSH ACK
        0x06,                               // prot 6 (TCP)
        0x00,                               // tos
        0x00, 0x00,                         // src_as
        0x00, 0x00,                         // dst_as
        0x18,                               // src_mask /24
        0x18,                               // dst_mask /24
        0x00, 0x00,                         // pad2
    ]

    /// NetFlow v9 header, 20 bytes.
    static func v9Header(sequence: UInt32 = 1, sourceID: UInt32 = 0) -> [UInt8] {
        var h: [UInt8] = [0x00, 0x09]       // version 9
        h += [0x00, 0x01]                   // count: records (exporters disagree; not used)
        h += [0x00, 0x00, 0x0f, 0xa0]       // sysUptime 4000 ms
        h += [0x65, 0x53, 0xf1, 0x00]       // unix_secs 1700000000
        h += be32(sequence)                 // package sequence: datagrams sent
        h += be32(sourceID)                 // source id (observation domain)
        return h
    }

    /// IPFIX message header, 16 bytes.
    static func ipfixHeader(length: UInt16, sequence: UInt32 = 0, domain: UInt32 = 1) -> [UInt8] {
        var h: [UInt8] = [0x00, 0x0a]       // version 10
        h += be16(length)                   // message length, header included
        h += [0x65, 0x53, 0xf1, 0x00]       // export time 1700000000
        h += be32(sequence)                 // sequence: data records sent before this message
        h += be32(domain)                   // observation domain id
        return h
    }

    /// A set (or v9 FlowSet) with its header: id, then length including the 4 header bytes.
    static func set(_ id: UInt16, _ body: [UInt8]) -> [UInt8] {
        be16(id) + be16(UInt16(4 + body.count)) + body
    }

    /// An IPFIX message of `sets`, with the right length field.
    static func ipfix(sequence: UInt32 = 0, domain: UInt32 = 1, _ sets: [UInt8]...) -> [UInt8] {
        let body = sets.flatMap { $0 }
        return ipfixHeader(length: UInt16(16 + body.count), sequence: sequence, domain: domain) + body
    }

    /// A NetFlow v9 datagram of `sets`.
    static func v9(sequence: UInt32 = 1, sourceID: UInt32 = 0, _ sets: [UInt8]...) -> [UInt8] {
        v9Header(sequence: sequence, sourceID: sourceID) + sets.flatMap { $0 }
    }

    /// One template field: information element (or v9 field type) and length.
    static func field(_ element: UInt16, _ length: UInt16) -> [UInt8] { be16(element) + be16(length) }

    /// A flow every IPFIXWriter test sends; what the decoder must give back.
    static var flow: FlowRecord {
        var r = FlowRecord()
        r.srcAddr = IPAddress("192.0.2.1")!
        r.dstAddr = IPAddress("198.51.100.2")!
        r.srcPort = 12345
        r.dstPort = 443
        r.proto = 6
        r.tos = 0x10
        r.tcpFlags = 0x1b
        r.inIface = 3
        r.outIface = 4
        r.packets = 10
        r.bytes = 1500
        r.startSeconds = 1_699_999_990
        r.endSeconds = 1_700_000_000
        r.bgpNextHop = IPAddress("203.0.113.1")!
        r.srcMask = 24
        r.dstMask = 25
        return r
    }

    static var flowV6: FlowRecord {
        var r = flow
        r.srcAddr = IPAddress("2001:db8::1")!
        r.dstAddr = IPAddress("2001:db8::2")!
        r.bgpNextHop = IPAddress("2001:db8::ff")!
        return r
    }

    /// `flow` as the decoder reports it from `exporter` and `domain`.
    static func decoded(_ r: FlowRecord, from exporter: IPAddress = exporter, domain: UInt32) -> FlowRecord {
        var r = r
        r.version = 10
        r.exporter = exporter
        r.observationDomain = domain
        return r
    }
}

/// A datagram and exactly what decoding it on a fresh decoder must give.
struct WireCase: Sendable, CustomTestStringConvertible {
    enum Expected: Sendable, Equatable {
        case rejected(FlowDecodeError)
        case accepted(records: Int, unknownTemplateSets: Int = 0, templatesLearned: Int = 0, templatesWithdrawn: Int = 0)
    }

    let name: String
    let expected: Expected
    let bytes: [UInt8]

    init(_ name: String, _ expected: Expected, _ bytes: [UInt8]) {
        self.name = name
        self.expected = expected
        self.bytes = bytes
    }

    var testDescription: String { name }
}

enum MalformedCorpus {
    static let anyVersion: [WireCase] = [
        WireCase("empty datagram", .rejected(.truncatedHeader), []),
        WireCase("one byte", .rejected(.truncatedHeader), [0x00]),
        WireCase("version 1", .rejected(.unsupportedVersion), [
            0x00, 0x01,                     // version 1
            0x00, 0x01,                     // count 1
            0x00, 0x00, 0x00, 0x00,         // sysUptime
            0x00, 0x00, 0x00, 0x00,         // unix_secs
        ]),
        WireCase("version 10 in little-endian", .rejected(.unsupportedVersion), [
            0x0a, 0x00,                     // version 0x0a00
            0x00, 0x10,                     // length 16
            0x00, 0x00, 0x00, 0x00,         // export time
            0x00, 0x00, 0x00, 0x00,         // sequence
            0x00, 0x00, 0x00, 0x00,         // observation domain
        ]),
        WireCase("version 0xffff", .rejected(.unsupportedVersion), [0xff, 0xff]),
    ]

    static let v5: [WireCase] = [
        WireCase("v5 count 0", .rejected(.recordCountMismatch),
                 Wire.v5Header(count: 0) + Wire.v5Record),
        WireCase("v5 count 31 with 31 records", .rejected(.recordCountMismatch),
                 Wire.v5Header(count: 31) + Array([[UInt8]](repeating: Wire.v5Record, count: 31).joined())),
        WireCase("v5 count 65535", .rejected(.recordCountMismatch),
                 Wire.v5Header(count: 0xffff) + Wire.v5Record),
        WireCase("v5 header only, count 1", .rejected(.lengthMismatch), Wire.v5Header(count: 1)),
        WireCase("v5 count 2, one record", .rejected(.lengthMismatch),
                 Wire.v5Header(count: 2) + Wire.v5Record),
        WireCase("v5 count 1, record cut to 47 bytes", .rejected(.lengthMismatch),
                 Wire.v5Header(count: 1) + Wire.v5Record.dropLast()),
        WireCase("v5 count 30, 29 records", .rejected(.lengthMismatch),
                 Wire.v5Header(count: 30) + Array([[UInt8]](repeating: Wire.v5Record, count: 29).joined())),
        WireCase("v5 one record and trailing bytes", .accepted(records: 1),
                 Wire.v5Header(count: 1) + Wire.v5Record + [0xde, 0xad]),
    ]

    static let v9: [WireCase] = [
        WireCase("v9 FlowSet length 0", .rejected(.badSetHeader), Wire.v9Header() + [
            0x01, 0x00,                     // FlowSet id 256
            0x00, 0x00,                     // length 0
        ]),
        WireCase("v9 FlowSet length 3", .rejected(.badSetHeader), Wire.v9Header() + [
            0x01, 0x00,                     // FlowSet id 256
            0x00, 0x03,                     // length 3: shorter than its own header
        ]),
        WireCase("v9 FlowSet past the datagram end", .rejected(.setPastEnd), Wire.v9Header() + [
            0x01, 0x00,                     // FlowSet id 256
            0x00, 0x40,                     // length 64
            0x00, 0x00, 0x00, 0x00,         // 4 of the 60 body bytes
        ]),
        WireCase("v9 reserved FlowSet id 2", .rejected(.badSetHeader), Wire.v9Header() + [
            0x00, 0x02,                     // FlowSet id 2 (IPFIX's template set, reserved in v9)
            0x00, 0x04,                     // length 4
        ]),
        WireCase("v9 reserved FlowSet id 255", .rejected(.badSetHeader), Wire.v9Header() + [
            0x00, 0xff,                     // FlowSet id 255
            0x00, 0x04,                     // length 4
        ]),
        WireCase("v9 template with 0 fields", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x00,                     // FlowSet id 0: templates
            0x00, 0x08,                     // length 8
            0x01, 0x00,                     // template id 256
            0x00, 0x00,                     // field count 0
        ]),
        WireCase("v9 template id 255", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x00,                     // FlowSet id 0: templates
            0x00, 0x0c,                     // length 12
            0x00, 0xff,                     // template id 255: below 256
            0x00, 0x01,                     // field count 1
            0x00, 0x08, 0x00, 0x04,         // IPV4_SRC_ADDR, 4 bytes
        ]),
        WireCase("v9 template id 0", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x00,                     // FlowSet id 0: templates
            0x00, 0x0c,                     // length 12
            0x00, 0x00,                     // template id 0
            0x00, 0x01,                     // field count 1
            0x00, 0x08, 0x00, 0x04,         // IPV4_SRC_ADDR, 4 bytes
        ]),
        WireCase("v9 template field count 2, one field", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x00,                     // FlowSet id 0: templates
            0x00, 0x0c,                     // length 12
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x04,         // IPV4_SRC_ADDR, 4 bytes; the second field is missing
        ]),
        WireCase("v9 template field count 65535", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x00,                     // FlowSet id 0: templates
            0x00, 0x0c,                     // length 12
            0x01, 0x00,                     // template id 256
            0xff, 0xff,                     // field count 65535
            0x00, 0x08, 0x00, 0x04,         // IPV4_SRC_ADDR, 4 bytes
        ]),
        WireCase("v9 template of zero-length fields", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x00,                     // FlowSet id 0: templates
            0x00, 0x10,                     // length 16
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x00,         // IPV4_SRC_ADDR, 0 bytes
            0x00, 0x0c, 0x00, 0x00,         // IPV4_DST_ADDR, 0 bytes: records of 0 bytes
        ]),
        WireCase("v9 template field length 65535", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x00,                     // FlowSet id 0: templates
            0x00, 0x0c,                     // length 12
            0x01, 0x00,                     // template id 256
            0x00, 0x01,                     // field count 1
            0x00, 0x52, 0xff, 0xff,         // IF_NAME, 65535 (variable length is IPFIX only)
        ]),
        WireCase("v9 options template scope length 3", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x01,                     // FlowSet id 1: options templates
            0x00, 0x12,                     // length 18
            0x01, 0x00,                     // template id 256
            0x00, 0x03,                     // option scope length 3: not a multiple of 4
            0x00, 0x04,                     // option length 4
            0x00, 0x01, 0x00, 0x04,         // scope System, 4 bytes
            0x00, 0x22, 0x00, 0x04,         // SAMPLING_INTERVAL, 4 bytes
        ]),
        WireCase("v9 options template scope length 2", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x01,                     // FlowSet id 1: options templates
            0x00, 0x10,                     // length 16
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // option scope length 2: half a field
            0x00, 0x04,                     // option length 4
            0x00, 0x01,                     // the 2 scope bytes (scope type System)
            0x00, 0x22, 0x00, 0x04,         // SAMPLING_INTERVAL, 4 bytes
        ]),
        WireCase("v9 options template option length 6", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x01,                     // FlowSet id 1: options templates
            0x00, 0x14,                     // length 20
            0x01, 0x00,                     // template id 256
            0x00, 0x04,                     // option scope length 4
            0x00, 0x06,                     // option length 6: not a multiple of 4
            0x00, 0x01, 0x00, 0x04,         // scope System, 4 bytes
            0x00, 0x22, 0x00, 0x04,         // SAMPLING_INTERVAL, 4 bytes
            0x00, 0x23,                     // half a field (SAMPLING_ALGORITHM)
        ]),
        WireCase("v9 options template without fields", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x01,                     // FlowSet id 1: options templates
            0x00, 0x0a,                     // length 10
            0x01, 0x00,                     // template id 256
            0x00, 0x00,                     // option scope length 0
            0x00, 0x00,                     // option length 0
        ]),
        WireCase("v9 options template longer than its FlowSet", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x01,                     // FlowSet id 1: options templates
            0x00, 0x12,                     // length 18
            0x01, 0x00,                     // template id 256
            0x00, 0x04,                     // option scope length 4
            0x00, 0x08,                     // option length 8: 4 bytes more than the FlowSet has
            0x00, 0x01, 0x00, 0x04,         // scope System, 4 bytes
            0x00, 0x22, 0x00, 0x04,         // SAMPLING_INTERVAL, 4 bytes
        ]),
        WireCase("v9 options template of zero-length fields", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x01,                     // FlowSet id 1: options templates
            0x00, 0x12,                     // length 18
            0x01, 0x00,                     // template id 256
            0x00, 0x04,                     // option scope length 4
            0x00, 0x04,                     // option length 4
            0x00, 0x01, 0x00, 0x00,         // scope System, 0 bytes
            0x00, 0x22, 0x00, 0x00,         // SAMPLING_INTERVAL, 0 bytes
        ]),
        WireCase("v9 options template id 255", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x01,                     // FlowSet id 1: options templates
            0x00, 0x12,                     // length 18
            0x00, 0xff,                     // template id 255
            0x00, 0x04,                     // option scope length 4
            0x00, 0x04,                     // option length 4
            0x00, 0x01, 0x00, 0x04,         // scope System, 4 bytes
            0x00, 0x22, 0x00, 0x04,         // SAMPLING_INTERVAL, 4 bytes
        ]),
        WireCase("v9 options template cut in its header", .rejected(.badTemplate), Wire.v9Header() + [
            0x00, 0x01,                     // FlowSet id 1: options templates
            0x00, 0x08,                     // length 8
            0x01, 0x00,                     // template id 256
            0x00, 0x04,                     // option scope length 4; option length missing
        ]),
        WireCase("v9 header only", .accepted(records: 0), Wire.v9Header()),
        WireCase("v9 header and 3 bytes of padding", .accepted(records: 0), Wire.v9Header() + [0x00, 0x00, 0x00]),
        WireCase("v9 data before its template", .accepted(records: 0, unknownTemplateSets: 1), Wire.v9Header() + [
            0x01, 0x00,                     // FlowSet id 256: data
            0x00, 0x0c,                     // length 12
            0xc0, 0x00, 0x02, 0x01,         // a record for a template not seen
            0xc6, 0x33, 0x64, 0x02,
        ]),
        WireCase("v9 data shorter than one record is padding", .accepted(records: 0, templatesLearned: 1), Wire.v9Header() + [
            0x00, 0x00,                     // FlowSet id 0: templates
            0x00, 0x10,                     // length 16
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x04,         // IPV4_SRC_ADDR, 4 bytes
            0x00, 0x0c, 0x00, 0x04,         // IPV4_DST_ADDR, 4 bytes: records of 8 bytes
            0x01, 0x00,                     // FlowSet id 256: data
            0x00, 0x0b,                     // length 11
            0xc0, 0x00, 0x02, 0x01,         // srcaddr 192.0.2.1
            0xc6, 0x33, 0x64,               // 3 bytes: no room for a record
        ]),
    ]

    static let ipfix: [WireCase] = [
        WireCase("IPFIX length field larger than the datagram", .rejected(.lengthMismatch),
                 Wire.ipfixHeader(length: 17)),
        WireCase("IPFIX length field 65535", .rejected(.lengthMismatch), Wire.ipfixHeader(length: 0xffff) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x04,                     // length 4
        ]),
        WireCase("IPFIX length field 15", .rejected(.lengthMismatch), Wire.ipfixHeader(length: 15)),
        WireCase("IPFIX length field 0", .rejected(.lengthMismatch), Wire.ipfixHeader(length: 0)),
        WireCase("IPFIX set length 0", .rejected(.badSetHeader), Wire.ipfixHeader(length: 20) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x00,                     // length 0
        ]),
        WireCase("IPFIX set length 3", .rejected(.badSetHeader), Wire.ipfixHeader(length: 20) + [
            0x01, 0x00,                     // set id 256: data
            0x00, 0x03,                     // length 3: shorter than its own header
        ]),
        WireCase("IPFIX set past the message end", .rejected(.setPastEnd), Wire.ipfixHeader(length: 24) + [
            0x01, 0x00,                     // set id 256: data
            0x00, 0x0c,                     // length 12: 4 bytes past the message's 24
            0x00, 0x00, 0x00, 0x00,         // message ends here
            0x00, 0x00, 0x00, 0x00,         // in the datagram, not in the message
        ]),
        WireCase("IPFIX set past the datagram end", .rejected(.setPastEnd), Wire.ipfixHeader(length: 28) + [
            0x01, 0x00,                     // set id 256: data
            0x00, 0x40,                     // length 64
            0x00, 0x00, 0x00, 0x00,         // 8 of the 60 body bytes
            0x00, 0x00, 0x00, 0x00,
        ]),
        WireCase("IPFIX set id 0", .rejected(.badSetHeader), Wire.ipfixHeader(length: 20) + [
            0x00, 0x00,                     // set id 0: v9's template FlowSet, not used in IPFIX
            0x00, 0x04,                     // length 4
        ]),
        WireCase("IPFIX set id 1", .rejected(.badSetHeader), Wire.ipfixHeader(length: 20) + [
            0x00, 0x01,                     // set id 1: not used in IPFIX
            0x00, 0x04,                     // length 4
        ]),
        WireCase("IPFIX set id 4", .rejected(.badSetHeader), Wire.ipfixHeader(length: 20) + [
            0x00, 0x04,                     // set id 4: reserved
            0x00, 0x04,                     // length 4
        ]),
        WireCase("IPFIX set id 255", .rejected(.badSetHeader), Wire.ipfixHeader(length: 20) + [
            0x00, 0xff,                     // set id 255: reserved
            0x00, 0x04,                     // length 4
        ]),
        WireCase("IPFIX template id 255", .rejected(.badTemplate), Wire.ipfixHeader(length: 28) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x0c,                     // length 12
            0x00, 0xff,                     // template id 255: below 256
            0x00, 0x01,                     // field count 1
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
        ]),
        WireCase("IPFIX template id 2 with fields", .rejected(.badTemplate), Wire.ipfixHeader(length: 28) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x0c,                     // length 12
            0x00, 0x02,                     // template id 2: withdraws all only with field count 0
            0x00, 0x01,                     // field count 1
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
        ]),
        WireCase("IPFIX template field count 65535, one field", .rejected(.badTemplate), Wire.ipfixHeader(length: 28) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x0c,                     // length 12
            0x01, 0x00,                     // template id 256
            0xff, 0xff,                     // field count 65535
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes; nothing more
        ]),
        WireCase("IPFIX template field count 2, one field", .rejected(.badTemplate), Wire.ipfixHeader(length: 28) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x0c,                     // length 12
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes; the second is missing
        ]),
        WireCase("IPFIX enterprise field without its PEN", .rejected(.badTemplate), Wire.ipfixHeader(length: 28) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x0c,                     // length 12
            0x01, 0x00,                     // template id 256
            0x00, 0x01,                     // field count 1
            0x80, 0x01, 0x00, 0x04,         // enterprise bit, element 1, 4 bytes; the PEN is missing
        ]),
        WireCase("IPFIX template of zero-length fields, then data", .rejected(.badTemplate), Wire.ipfixHeader(length: 40) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x10,                     // length 16
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x00,         // sourceIPv4Address, 0 bytes
            0x00, 0x0c, 0x00, 0x00,         // destinationIPv4Address, 0 bytes: records of 0 bytes
            0x01, 0x00,                     // set id 256: data for it, which would never end
            0x00, 0x08,                     // length 8
            0x00, 0x00, 0x00, 0x00,         // 4 bytes of zero-length records
        ]),
        WireCase("IPFIX options template scope count 0", .rejected(.badTemplate), Wire.ipfixHeader(length: 34) + [
            0x00, 0x03,                     // set id 3: options templates
            0x00, 0x12,                     // length 18
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x00,                     // scope field count 0: must be at least 1
            0x00, 0x95, 0x00, 0x04,         // observationDomainId, 4 bytes
            0x00, 0x22, 0x00, 0x04,         // samplingInterval, 4 bytes
        ]),
        WireCase("IPFIX options template scope count above field count", .rejected(.badTemplate), Wire.ipfixHeader(length: 34) + [
            0x00, 0x03,                     // set id 3: options templates
            0x00, 0x12,                     // length 18
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x03,                     // scope field count 3
            0x00, 0x95, 0x00, 0x04,         // observationDomainId, 4 bytes
            0x00, 0x22, 0x00, 0x04,         // samplingInterval, 4 bytes
        ]),
        WireCase("IPFIX options template cut before its scope count", .rejected(.badTemplate), Wire.ipfixHeader(length: 24) + [
            0x00, 0x03,                     // set id 3: options templates
            0x00, 0x08,                     // length 8
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2; the scope field count is missing
        ]),
        WireCase("IPFIX options template of zero-length fields", .rejected(.badTemplate), Wire.ipfixHeader(length: 34) + [
            0x00, 0x03,                     // set id 3: options templates
            0x00, 0x12,                     // length 18
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x01,                     // scope field count 1
            0x00, 0x95, 0x00, 0x00,         // observationDomainId, 0 bytes
            0x00, 0x22, 0x00, 0x00,         // samplingInterval, 0 bytes
        ]),
        WireCase("IPFIX options template id 255", .rejected(.badTemplate), Wire.ipfixHeader(length: 34) + [
            0x00, 0x03,                     // set id 3: options templates
            0x00, 0x12,                     // length 18
            0x00, 0xff,                     // template id 255
            0x00, 0x02,                     // field count 2
            0x00, 0x01,                     // scope field count 1
            0x00, 0x95, 0x00, 0x04,         // observationDomainId, 4 bytes
            0x00, 0x22, 0x00, 0x04,         // samplingInterval, 4 bytes
        ]),
        WireCase("IPFIX variable-length field past the set end", .rejected(.truncatedRecord), Wire.ipfixHeader(length: 43) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x10,                     // length 16
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x00, 0x52, 0xff, 0xff,         // interfaceName, variable length
            0x01, 0x00,                     // set id 256: data
            0x00, 0x0b,                     // length 11
            0xc0, 0x00, 0x02, 0x01,         // sourceIPv4Address 192.0.2.1
            0x0a,                           // interfaceName length 10
            0x65, 0x74,                     // "et": 8 bytes short
        ]),
        WireCase("IPFIX 3-byte length form cut after 255", .rejected(.truncatedRecord), Wire.ipfixHeader(length: 42) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x10,                     // length 16
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x00, 0x52, 0xff, 0xff,         // interfaceName, variable length
            0x01, 0x00,                     // set id 256: data
            0x00, 0x0a,                     // length 10
            0xc0, 0x00, 0x02, 0x01,         // sourceIPv4Address 192.0.2.1
            0xff,                           // 255: a 2-byte length follows
            0x00,                           // one byte of it
        ]),
        WireCase("IPFIX 3-byte length form past the set end", .rejected(.truncatedRecord), Wire.ipfixHeader(length: 46) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x10,                     // length 16
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x00, 0x52, 0xff, 0xff,         // interfaceName, variable length
            0x01, 0x00,                     // set id 256: data
            0x00, 0x0e,                     // length 14
            0xc0, 0x00, 0x02, 0x01,         // sourceIPv4Address 192.0.2.1
            0xff, 0x01, 0x00,               // interfaceName length 256 (3-byte form)
            0x65, 0x74, 0x68,               // "eth": 253 bytes short
        ]),
        WireCase("IPFIX fixed field after a variable one cut", .rejected(.truncatedRecord), Wire.ipfixHeader(length: 41) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x10,                     // length 16
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x52, 0xff, 0xff,         // interfaceName, variable length
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x01, 0x00,                     // set id 256: data
            0x00, 0x09,                     // length 9
            0x02, 0x65, 0x74,               // interfaceName "et"
            0xc0, 0x00,                     // half of sourceIPv4Address
        ]),
        WireCase("IPFIX header only", .accepted(records: 0), Wire.ipfixHeader(length: 16)),
        WireCase("IPFIX bytes after the message are not read", .accepted(records: 0), Wire.ipfixHeader(length: 16) + [
            0xde, 0xad, 0xbe, 0xef,         // past the length field: not part of the message
        ]),
        WireCase("IPFIX data before its template", .accepted(records: 0, unknownTemplateSets: 1), Wire.ipfixHeader(length: 28) + [
            0x01, 0x00,                     // set id 256: data
            0x00, 0x0c,                     // length 12
            0xc0, 0x00, 0x02, 0x01,         // a record for a template not seen
            0xc6, 0x33, 0x64, 0x02,
        ]),
        WireCase("IPFIX empty data set before its template", .accepted(records: 0, unknownTemplateSets: 1), Wire.ipfixHeader(length: 20) + [
            0x01, 0x00,                     // set id 256: data
            0x00, 0x04,                     // length 4: no records
        ]),
        WireCase("IPFIX data shorter than one record is padding", .accepted(records: 0, templatesLearned: 1), Wire.ipfixHeader(length: 43) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x10,                     // length 16
            0x01, 0x00,                     // template id 256
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x00, 0x0c, 0x00, 0x04,         // destinationIPv4Address, 4 bytes: records of 8 bytes
            0x01, 0x00,                     // set id 256: data
            0x00, 0x0b,                     // length 11
            0xc0, 0x00, 0x02, 0x01,         // sourceIPv4Address 192.0.2.1
            0xc6, 0x33, 0x64,               // 3 bytes: no room for a record
        ]),
        WireCase("IPFIX withdrawal of an unknown template", .accepted(records: 0), Wire.ipfixHeader(length: 24) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x08,                     // length 8
            0x01, 0x00,                     // template id 256
            0x00, 0x00,                     // field count 0: withdrawal
        ]),
        WireCase("IPFIX template set with 2 bytes of padding", .accepted(records: 0, templatesLearned: 1), Wire.ipfixHeader(length: 30) + [
            0x00, 0x02,                     // set id 2: templates
            0x00, 0x0e,                     // length 14
            0x01, 0x00,                     // template id 256
            0x00, 0x01,                     // field count 1
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x00, 0x00,                     // padding
        ]),
    ]

    static let all = anyVersion + v5 + v9 + ipfix
}

@Suite struct MalformedTests {
    // MARK: - The corpus

    @Test(arguments: MalformedCorpus.all)
    func corpusCase(_ wire: WireCase) {
        var decoder = FlowDecoder()
        var sentinel = FlowRecord()
        sentinel.bytes = 4242
        var records = [sentinel]
        let outcome = decoder.decode(wire.bytes, into: &records)
        #expect(outcome.version == (wire.bytes.count >= 2 ? wire.bytes[1] : 0))
        switch wire.expected {
        case .rejected(let error):
            #expect(outcome.error == error)
            #expect(outcome.records == 0)
            #expect(records == [sentinel], "a rejected datagram must leave the records alone")
        case let .accepted(count, unknown, learned, withdrawn):
            #expect(outcome.error == nil)
            #expect(outcome.records == count)
            #expect(records.count == 1 + count)
            #expect(outcome.unknownTemplateSets == unknown)
            #expect(outcome.templatesLearned == learned)
            #expect(outcome.templatesWithdrawn == withdrawn)
        }
        // Whatever came before, a valid export from the same exporter decodes.
        var writer = IPFIXWriter(observationDomain: 1)
        var after: [FlowRecord] = []
        #expect(decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &after).error == nil)
        let data = decoder.decode(writer.dataMessage([Wire.flow], exportTime: Wire.exportTime), into: &after)
        #expect(data.error == nil)
        #expect(after == [Wire.decoded(Wire.flow, domain: 1)])
    }

    @Test func v5DecodesTheAnnotatedRecord() {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let outcome = decoder.decode(Wire.v5Header(count: 1) + Wire.v5Record, into: &records)
        #expect(outcome.error == nil)
        var expected = FlowRecord()
        expected.version = 5
        expected.exporter = Wire.exporter
        expected.srcAddr = IPAddress("192.0.2.1")!
        expected.dstAddr = IPAddress("198.51.100.2")!
        expected.ipNextHop = IPAddress("0.0.0.0")!
        expected.inIface = 1
        expected.outIface = 2
        expected.packets = 3
        expected.bytes = 300
        expected.startSeconds = 1_699_999_999
        expected.endSeconds = 1_700_000_000
        expected.srcPort = 12345
        expected.dstPort = 80
        expected.tcpFlags = 0x1b
        expected.proto = 6
        expected.srcMask = 24
        expected.dstMask = 24
        #expect(records == [expected])
    }

    // MARK: - Truncated headers

    @Test(arguments: [
        (Wire.v5Header(count: 1) + Wire.v5Record, 24),
        (Wire.v9(Wire.set(0, Wire.be16(256) + Wire.be16(1) + Wire.field(8, 4))), 20),
        (Wire.ipfix(Wire.set(2, Wire.be16(256) + Wire.be16(1) + Wire.field(8, 4))), 16),
    ])
    func everyShortHeaderIsTruncated(datagram: [UInt8], headerLength: Int) {
        let version = datagram[1]
        for length in 0..<headerLength {
            var decoder = FlowDecoder()
            var records: [FlowRecord] = []
            let outcome = decoder.decode(Array(datagram.prefix(length)), into: &records)
            #expect(outcome.error == .truncatedHeader, "length \(length)")
            #expect(outcome.version == (length >= 2 ? version : 0), "length \(length)")
            #expect(records.isEmpty)
        }
        // The header alone: v5 still wants its record; v9 and IPFIX messages may be empty
        // (the IPFIX length field still says more follows).
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let header = decoder.decode(Array(datagram.prefix(headerLength)), into: &records)
        #expect(header.error == (version == 9 ? nil : .lengthMismatch))
        let whole = decoder.decode(datagram, into: &records)
        #expect(whole.error == nil)
        #expect(whole.records == (version == 5 ? 1 : 0))
        #expect(whole.templatesLearned == (version == 5 ? 0 : 1))
    }

    @Test func ipfixFieldCount65535WithRaisedLimitStillNeedsTheBytes() {
        var limits = FlowDecoder.Limits()
        limits.fieldsPerTemplate = 65535
        var decoder = FlowDecoder(limits: limits)
        var records: [FlowRecord] = []
        var body: [UInt8] = [
            0x01, 0x00,                     // template id 256
            0xff, 0xff,                     // field count 65535
        ]
        for _ in 0..<1000 {
            body += [0x00, 0x08, 0x00, 0x04] // sourceIPv4Address, 4 bytes: 1000 of 65535
        }
        let outcome = decoder.decode(Wire.ipfix(Wire.set(2, body)), into: &records)
        #expect(outcome.error == .badTemplate)
        #expect(decoder.templateCount == 0)
    }

    // MARK: - Template limits

    /// A template set announcing `ids`, each with one field (sourceIPv4Address, 4 bytes).
    static func templates(_ ids: some Sequence<Int>, fields: [UInt8] = Wire.field(8, 4)) -> [UInt8] {
        var body: [UInt8] = []
        for id in ids {
            body += Wire.be16(UInt16(id))   // template id
            body += Wire.be16(UInt16(fields.count / 4)) // field count
            body += fields
        }
        return Wire.set(2, body)
    }

    @Test func templateFloodFromOneExporterLeavesOthersAlone() {
        var limits = FlowDecoder.Limits()
        limits.templatesPerDomain = 4
        var decoder = FlowDecoder(limits: limits)
        let a = Wire.otherExporter
        var records: [FlowRecord] = []

        // Exporter A announces 8 templates in one message: the first 4 fit, the rest are refused;
        // the message itself is not an error.
        let flood = decoder.decode(Wire.ipfix(Self.templates(256..<264)), from: a, into: &records)
        #expect(flood.error == nil)
        #expect(flood.templatesLearned == 4 && flood.templatesRefused == 4)
        #expect(decoder.templateCount == 4)
        // 100 more messages with one new template each: all refused.
        for id in 300..<400 {
            let more = decoder.decode(Wire.ipfix(Self.templates([id])), from: a, into: &records)
            #expect(more.templatesRefused == 1)
        }
        #expect(decoder.templateCount == 4)
        // Known ids may still be re-announced (no change) or redefined.
        let same = decoder.decode(Wire.ipfix(Self.templates([256])), from: a, into: &records)
        #expect(same.error == nil)
        #expect(same.templatesLearned == 0)
        let redefined = decoder.decode(Wire.ipfix(Self.templates([256], fields: Wire.field(12, 4))), from: a, into: &records)
        #expect(redefined.error == nil)
        #expect(redefined.templatesLearned == 1)
        // Another observation domain of A has its own allowance.
        let otherDomain = decoder.decode(Wire.ipfix(domain: 2, Self.templates([256])), from: a, into: &records)
        #expect(otherDomain.error == nil)
        #expect(otherDomain.templatesLearned == 1)

        // Exporter B, same domain 1: templates and data decode.
        var writer = IPFIXWriter(observationDomain: 1)
        let t = decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &records)
        #expect(t.error == nil)
        #expect(t.templatesLearned == 2)
        let d = decoder.decode(writer.dataMessage([Wire.flow, Wire.flow], exportTime: Wire.exportTime), into: &records)
        #expect(d.error == nil)
        #expect(d.records == 2)
        #expect(records == [Wire.decoded(Wire.flow, domain: 1), Wire.decoded(Wire.flow, domain: 1)])
        #expect(decoder.templateCount == 7)

        // A withdrawal frees room for exactly one new template.
        let withdraw = decoder.decode(Wire.ipfix(Wire.set(2, [
            0x01, 0x01,                     // template id 257
            0x00, 0x00,                     // field count 0: withdrawal
        ])), from: a, into: &records)
        #expect(withdraw.templatesWithdrawn == 1)
        #expect(decoder.decode(Wire.ipfix(Self.templates([500])), from: a, into: &records).templatesLearned == 1)
        #expect(decoder.decode(Wire.ipfix(Self.templates([501])), from: a, into: &records).templatesRefused == 1)
        #expect(records.count == 2)
    }

    @Test func oneMessageWithThousandsOfTemplatesStopsAtTheDefaultLimit() {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        // 8189 templates of 8 bytes fill a 65532-byte message.
        let message = Wire.ipfix(Self.templates(256..<(256 + 8189)))
        #expect(message.count == 65532)
        let outcome = decoder.decode(message, from: Wire.otherExporter, into: &records)
        #expect(outcome.error == nil)
        #expect(outcome.templatesRefused == 8189 - FlowDecoder.Limits().templatesPerDomain)
        #expect(decoder.templateCount == FlowDecoder.Limits().templatesPerDomain)
        var writer = IPFIXWriter(observationDomain: 1)
        #expect(decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &records).error == nil)
        #expect(decoder.decode(writer.dataMessage([Wire.flow], exportTime: Wire.exportTime), into: &records).records == 1)
    }

    @Test func anExporterPastItsMemoryIsRefusedAndOthersKeepTheirs() {
        var limits = FlowDecoder.Limits()
        limits.bytesPerExporter = 64 << 10
        var decoder = FlowDecoder(limits: limits)
        var records: [FlowRecord] = []
        // Templates of 200 fields from A: about 8 KiB each, so only a handful fit in 64 KiB.
        let wide = Array((0..<200).map { _ in Wire.field(8, 4) }.joined())
        var refused = 0
        for id in 256..<356 {
            refused += decoder.decode(Wire.ipfix(Self.templates([id], fields: wide)), from: Wire.otherExporter, into: &records).templatesRefused
        }
        #expect(refused > 90)
        #expect(decoder.stateBytes(of: Wire.otherExporter) <= limits.bytesPerExporter)
        var writer = IPFIXWriter(observationDomain: 1)
        #expect(decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &records).templatesLearned == 2)
        #expect(decoder.decode(writer.dataMessage([Wire.flow], exportTime: Wire.exportTime), into: &records).records == 1)
    }

    @Test func theTotalEvictsFromTheExporterHoldingTheMost() {
        var limits = FlowDecoder.Limits()
        limits.bytesTotal = 256 << 10
        limits.bytesPerExporter = 200 << 10
        var decoder = FlowDecoder(limits: limits)
        var records: [FlowRecord] = []
        // B's two templates first, then a flood from 20 other addresses, each filling its share.
        var writer = IPFIXWriter(observationDomain: 1)
        #expect(decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &records).templatesLearned == 2)
        let wide = Array((0..<200).map { _ in Wire.field(8, 4) }.joined())
        var evicted = 0
        for n in 0..<20 {
            let sender = IPAddress(v4: 0x0a00_0000 + UInt32(n))
            for id in 256..<300 {
                evicted += decoder.decode(Wire.ipfix(Self.templates([id], fields: wide)), from: sender, into: &records).templatesEvicted
            }
        }
        #expect(evicted > 0)
        #expect(decoder.stateBytes <= limits.bytesTotal)
        // B's templates, the smallest holding, survived: its data decodes.
        #expect(decoder.decode(writer.dataMessage([Wire.flow], exportTime: Wire.exportTime), into: &records).records == 1)
    }

    @Test func templatesNeitherRefreshedNorUsedExpire() {
        var limits = FlowDecoder.Limits()
        limits.templateLifetime = 600
        var decoder = FlowDecoder(limits: limits)
        var records: [FlowRecord] = []
        var writer = IPFIXWriter(observationDomain: 1)
        let start: UInt32 = 1_700_000_000
        func decode(_ bytes: [UInt8], from exporter: IPAddress = Wire.exporter, at now: UInt32) -> DecodeOutcome {
            bytes.withUnsafeBytes { decoder.decode($0, from: exporter, now: now, into: &records) }
        }
        _ = decode(writer.templateMessage(exportTime: Wire.exportTime), at: start)
        _ = decode(Wire.ipfix(Self.templates([300])), from: Wire.otherExporter, at: start)
        // The first exporter keeps using its templates; the second goes quiet.
        for minute in 1...20 {
            let d = decode(writer.dataMessage([Wire.flow], exportTime: Wire.exportTime), at: start + UInt32(minute * 60))
            #expect(d.records == 1)
        }
        // The data template in use stays; the writer's options template, announced once and never
        // used, went with the quiet exporter's.
        #expect(decoder.templateCount == 1)
        #expect(decoder.stateBytes(of: Wire.otherExporter) == 0)
    }

    @Test func forgettingAnExporterFreesItsState() {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        #expect(decoder.decode(Wire.ipfix(Self.templates(256..<261)), from: Wire.otherExporter, into: &records).error == nil)
        #expect(decoder.templateCount == 5)
        decoder.forget(exporter: Wire.otherExporter)
        #expect(decoder.templateCount == 0)
        #expect(decoder.stateBytes == 0)
        #expect(decoder.sessionCount == 0)
    }

    // MARK: - Data before its template

    @Test func ipfixDataBeforeTemplateIsCountedThenDecodes() {
        var writer = IPFIXWriter(observationDomain: 1)
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let early = writer.dataMessage([Wire.flow], exportTime: Wire.exportTime)
        let first = decoder.decode(early, into: &records)
        #expect(first.error == nil)
        #expect(first.unknownTemplateSets == 1)
        #expect(first.records == 0)
        let templates = decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &records)
        #expect(templates.templatesLearned == 2)
        let again = decoder.decode(early, into: &records)
        #expect(again.unknownTemplateSets == 0)
        #expect(again.records == 1)
        #expect(records == [Wire.decoded(Wire.flow, domain: 1)])
    }

    @Test func v9DataBeforeTemplateIsCountedThenDecodes() {
        let data = Wire.set(256, [
            0xc0, 0x00, 0x02, 0x01,         // IPV4_SRC_ADDR 192.0.2.1
            0xc6, 0x33, 0x64, 0x02,         // IPV4_DST_ADDR 198.51.100.2
            0x00, 0x00, 0x05, 0xdc,         // IN_BYTES 1500
        ])
        let template = Wire.set(0, [
            0x01, 0x00,                     // template id 256
            0x00, 0x03,                     // field count 3
            0x00, 0x08, 0x00, 0x04,         // IPV4_SRC_ADDR, 4 bytes
            0x00, 0x0c, 0x00, 0x04,         // IPV4_DST_ADDR, 4 bytes
            0x00, 0x01, 0x00, 0x04,         // IN_BYTES, 4 bytes
        ])
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let first = decoder.decode(Wire.v9(sequence: 1, data), into: &records)
        #expect(first.unknownTemplateSets == 1)
        #expect(first.records == 0)
        let second = decoder.decode(Wire.v9(sequence: 2, template, data), into: &records)
        #expect(second.templatesLearned == 1)
        #expect(second.records == 1)
        let third = decoder.decode(Wire.v9(sequence: 3, data), into: &records)
        #expect(third.records == 1)
        #expect(records.count == 2)
        #expect(records.allSatisfy {
            $0.srcAddr == IPAddress("192.0.2.1")! && $0.dstAddr == IPAddress("198.51.100.2")! && $0.bytes == 1500
                && $0.version == 9 && $0.startSeconds == 1_700_000_000
        })
    }

    // MARK: - Isolation

    /// Datagrams exporter A sends between B's: every corpus case, B's datagram cut in half,
    /// with a byte flipped, and withdrawals of all templates of B's observation domain.
    static func garbage(around datagram: [UInt8], index: Int) -> [[UInt8]] {
        var out = MalformedCorpus.all.map(\.bytes)
        out.append(Array(datagram.prefix(datagram.count / 2)))
        var flipped = datagram
        flipped[index % datagram.count] ^= 0xff
        out.append(flipped)
        out.append(datagram)                // B's datagram itself, from A: A's own state
        for domain: UInt32 in [0, 1] {
            out.append(Wire.ipfix(domain: domain, Wire.set(2, [
                0x00, 0x02,                 // template id 2: withdraw all templates
                0x00, 0x00,                 // field count 0
            ])))
            out.append(Wire.ipfix(domain: domain, Wire.set(3, [
                0x00, 0x03,                 // template id 3: withdraw all options templates
                0x00, 0x00,                 // field count 0
            ])))
        }
        return out
    }

    @Test(arguments: Fixtures.captures)
    func garbageFromOneExporterDoesNotDisturbAnother(capture: String) throws {
        var clean = FlowDecoder()
        let (expected, expectedOutcomes) = try Fixtures.decode(capture, decoder: &clean)
        let datagrams = try Fixtures.datagrams(capture)
        var decoder = FlowDecoder()
        var fromB: [FlowRecord] = []
        var fromA: [FlowRecord] = []
        var rejectedFromA = 0
        for (index, datagram) in datagrams.enumerated() {
            for junk in Self.garbage(around: datagram, index: index) {
                let before = fromA.count
                let outcome = decoder.decode(junk, from: Wire.otherExporter, into: &fromA)
                if outcome.error != nil {
                    rejectedFromA += 1
                    #expect(fromA.count == before)
                }
            }
            if index == datagrams.count / 2 { decoder.forget(exporter: Wire.otherExporter) }
            let outcome = decoder.decode(datagram, from: Fixtures.exporter, into: &fromB)
            #expect(outcome == expectedOutcomes[index], "\(capture) datagram \(index)")
        }
        #expect(rejectedFromA >= datagrams.count * MalformedCorpus.all.filter {
            if case .rejected = $0.expected { return true } else { return false }
        }.count)
        #expect(fromB == expected)
        #expect(fromA.allSatisfy { $0.exporter == Wire.otherExporter })
    }

    // MARK: - Truncation sweep

    /// The error a prefix of `length` bytes of a real datagram must get; nil where v9 may
    /// accept it (the cut falls between FlowSets).
    static func prefixError(version: UInt8, length: Int) -> FlowDecodeError? {
        let header = [5: 24, 9: 20, 10: 16][Int(version)]!
        if length < header { return .truncatedHeader }
        return version == 9 ? .setPastEnd : .lengthMismatch
    }

    @Test(arguments: Fixtures.captures)
    func everyPrefixOfEveryDatagram(capture: String) throws {
        let datagrams = try Fixtures.datagrams(capture)
        var state = FlowDecoder()
        var sentinel = FlowRecord()
        sentinel.bytes = 4242
        var problems: [String] = []
        var acceptedPrefixes = 0
        for (index, datagram) in datagrams.enumerated() {
            var probe = state
            var full: [FlowRecord] = []
            #expect(probe.decode(datagram, into: &full).error == nil)
            for length in 0..<datagram.count {
                var copy = state
                var records = [sentinel]
                let outcome = datagram.withUnsafeBytes {
                    copy.decode(UnsafeRawBufferPointer(rebasing: $0.prefix(length)), from: Fixtures.exporter, into: &records)
                }
                let want = Self.prefixError(version: datagram[1], length: length)
                if let error = outcome.error {
                    if error != want { problems.append("#\(index) [..<\(length)]: \(error), want \(String(describing: want))") }
                    if records != [sentinel] || outcome.records != 0 {
                        problems.append("#\(index) [..<\(length)]: rejected but records changed")
                    }
                } else {
                    acceptedPrefixes += 1
                    if want != .setPastEnd { problems.append("#\(index) [..<\(length)]: accepted, want \(String(describing: want))") }
                    if records.first != sentinel || records.count != 1 + outcome.records
                        || Array(records.dropFirst()) != Array(full.prefix(outcome.records)) {
                        problems.append("#\(index) [..<\(length)]: accepted records are not a prefix of the full decode")
                    }
                }
                // Whatever the prefix did to the state, the whole datagram still decodes the same.
                // (A prefix that learned, withdrew or read nothing left the state as it was.)
                let touched = outcome.error == nil || outcome.templatesLearned > 0
                    || outcome.templatesWithdrawn > 0 || outcome.optionsRecords > 0
                if !touched { continue }
                var rest: [FlowRecord] = []
                let whole = copy.decode(datagram, into: &rest)
                if whole.error != nil || rest != full {
                    problems.append("#\(index) [..<\(length)]: the whole datagram decodes differently afterwards")
                }
            }
            var sink: [FlowRecord] = []
            _ = state.decode(datagram, into: &sink)
        }
        let problemCount = problems.count
        #expect(problemCount == 0, "\(capture): \(problems.prefix(10))")
        if !capture.hasSuffix("-v9") { #expect(acceptedPrefixes == 0) }
    }

    // MARK: - Templates: withdrawal, redefinition

    @Test func ipfixWithdrawalOfOneAndOfAllTemplates() {
        var writer = IPFIXWriter(observationDomain: 1)
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        #expect(decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &records).templatesLearned == 2)
        let options = Wire.set(3, [
            0x01, 0x2c,                     // template id 300
            0x00, 0x02,                     // field count 2
            0x00, 0x01,                     // scope field count 1
            0x00, 0x95, 0x00, 0x04,         // observationDomainId, 4 bytes (scope)
            0x00, 0x22, 0x00, 0x04,         // samplingInterval, 4 bytes
        ])
        let optionsData = Wire.set(300, [
            0x00, 0x00, 0x00, 0x01,         // observationDomainId 1
            0x00, 0x00, 0x00, 0x00,         // samplingInterval 0 (unknown: leaves the rate alone)
        ])
        #expect(decoder.decode(Wire.ipfix(options), into: &records).templatesLearned == 1)
        #expect(decoder.templateCount == 3)

        let one = decoder.decode(Wire.ipfix(Wire.set(2, [
            0x01, 0x00,                     // template id 256
            0x00, 0x00,                     // field count 0: withdraw it
        ])), into: &records)
        #expect(one.error == nil)
        #expect(one.templatesWithdrawn == 1)
        #expect(decoder.templateCount == 2)
        let v4 = decoder.decode(writer.dataMessage([Wire.flow], exportTime: Wire.exportTime), into: &records)
        #expect(v4.error == nil)
        #expect(v4.unknownTemplateSets == 1)
        #expect(v4.records == 0)
        #expect(decoder.decode(writer.dataMessage([Wire.flowV6], exportTime: Wire.exportTime), into: &records).records == 1)

        let all = decoder.decode(Wire.ipfix(Wire.set(2, [
            0x00, 0x02,                     // template id 2: all templates of the domain
            0x00, 0x00,                     // field count 0
        ])), into: &records)
        #expect(all.templatesWithdrawn == 1)
        #expect(decoder.templateCount == 1)
        let v6 = decoder.decode(writer.dataMessage([Wire.flowV6], exportTime: Wire.exportTime), into: &records)
        #expect(v6.unknownTemplateSets == 1)
        #expect(v6.records == 0)
        // Options templates are not data templates: they stay.
        let kept = decoder.decode(Wire.ipfix(optionsData), into: &records)
        #expect(kept.optionsRecords == 1)
        #expect(kept.unknownTemplateSets == 0)

        let allOptions = decoder.decode(Wire.ipfix(Wire.set(3, [
            0x00, 0x03,                     // template id 3: all options templates
            0x00, 0x00,                     // field count 0
        ])), into: &records)
        #expect(allOptions.templatesWithdrawn == 1)
        #expect(decoder.templateCount == 0)
        let gone = decoder.decode(Wire.ipfix(optionsData), into: &records)
        #expect(gone.optionsRecords == 0)
        #expect(gone.unknownTemplateSets == 1)

        // Announced again, they work again.
        #expect(decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &records).templatesLearned == 2)
        #expect(decoder.decode(writer.dataMessage([Wire.flow], exportTime: Wire.exportTime), into: &records).records == 1)
        #expect(records == [Wire.decoded(Wire.flowV6, domain: 1), Wire.decoded(Wire.flow, domain: 1)])
    }

    @Test func templateRedefinitionAppliesToLaterData() {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let first = Wire.set(2, [
            0x01, 0x00,                     // template id 256
            0x00, 0x03,                     // field count 3
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x00, 0x0c, 0x00, 0x04,         // destinationIPv4Address, 4 bytes
            0x00, 0x01, 0x00, 0x04,         // octetDeltaCount, 4 bytes
        ])
        let second = Wire.set(2, [
            0x01, 0x00,                     // template id 256, again
            0x00, 0x03,                     // field count 3
            0x00, 0x01, 0x00, 0x08,         // octetDeltaCount, 8 bytes
            0x00, 0x02, 0x00, 0x04,         // packetDeltaCount, 4 bytes
            0x00, 0x0c, 0x00, 0x04,         // destinationIPv4Address, 4 bytes
        ])
        let data = Wire.set(256, [
            0xc0, 0x00, 0x02, 0x01,         // sourceIPv4Address 192.0.2.1
            0xc6, 0x33, 0x64, 0x02,         // destinationIPv4Address 198.51.100.2
            0x00, 0x00, 0x03, 0xe8,         // octetDeltaCount 1000
        ])
        let redefinedData = Wire.set(256, [
            0x00, 0x00, 0x00, 0x00,         // octetDeltaCount 5000
            0x00, 0x00, 0x13, 0x88,
            0x00, 0x00, 0x00, 0x07,         // packetDeltaCount 7
            0xcb, 0x00, 0x71, 0x05,         // destinationIPv4Address 203.0.113.5
        ])
        let a = decoder.decode(Wire.ipfix(first, data), into: &records)
        #expect(a.templatesLearned == 1)
        #expect(a.records == 1)
        let same = decoder.decode(Wire.ipfix(first), into: &records)
        #expect(same.templatesLearned == 0)
        let b = decoder.decode(Wire.ipfix(second, redefinedData), into: &records)
        #expect(b.templatesLearned == 1)
        #expect(b.records == 1)
        #expect(decoder.templateCount == 1)
        #expect(records.count == 2)
        #expect(records[0].srcAddr == IPAddress("192.0.2.1")!)
        #expect(records[0].dstAddr == IPAddress("198.51.100.2")!)
        #expect(records[0].bytes == 1000)
        #expect(records[0].packets == 0)
        #expect(records[1].srcAddr == .none)
        #expect(records[1].dstAddr == IPAddress("203.0.113.5")!)
        #expect(records[1].bytes == 5000)
        #expect(records[1].packets == 7)
    }

    // MARK: - Field encodings

    @Test func enterpriseFieldsAreSkippedAtTheirLength() {
        let templates = Wire.set(2, [
            0x01, 0x00,                     // template id 256
            0x00, 0x04,                     // field count 4
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x80, 0x01, 0x00, 0x08,         // enterprise element 1, 8 bytes (not octetDeltaCount)
            0x00, 0x00, 0x72, 0x79,         //   PEN 29305
            0x00, 0x0c, 0x00, 0x04,         // destinationIPv4Address, 4 bytes
            0x00, 0x02, 0x00, 0x04,         // packetDeltaCount, 4 bytes
            0x01, 0x01,                     // template id 257
            0x00, 0x04,                     // field count 4
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x80, 0x64, 0xff, 0xff,         // enterprise element 100, variable length
            0x00, 0x00, 0x00, 0x09,         //   PEN 9
            0x00, 0x0c, 0x00, 0x04,         // destinationIPv4Address, 4 bytes
            0x00, 0x01, 0x00, 0x08,         // octetDeltaCount, 8 bytes
        ])
        let fixed = Wire.set(256, [
            0xc0, 0x00, 0x02, 0x01,         // sourceIPv4Address 192.0.2.1
            0x00, 0x00, 0x00, 0x00,         // enterprise value 999
            0x00, 0x00, 0x03, 0xe7,
            0xc6, 0x33, 0x64, 0x02,         // destinationIPv4Address 198.51.100.2
            0x00, 0x00, 0x00, 0x05,         // packetDeltaCount 5
        ])
        let variable = Wire.set(257, [
            0xc0, 0x00, 0x02, 0x03,         // sourceIPv4Address 192.0.2.3
            0x03, 0x78, 0x79, 0x7a,         // enterprise value: length 3, "xyz"
            0xc6, 0x33, 0x64, 0x04,         // destinationIPv4Address 198.51.100.4
            0x00, 0x00, 0x00, 0x00,         // octetDeltaCount 777
            0x00, 0x00, 0x03, 0x09,
        ])
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let outcome = decoder.decode(Wire.ipfix(templates, fixed, variable), into: &records)
        #expect(outcome.error == nil)
        #expect(outcome.templatesLearned == 2)
        #expect(records.count == 2)
        #expect(records[0].srcAddr == IPAddress("192.0.2.1")!)
        #expect(records[0].dstAddr == IPAddress("198.51.100.2")!)
        #expect(records[0].packets == 5)
        #expect(records[0].bytes == 0)
        #expect(records[1].srcAddr == IPAddress("192.0.2.3")!)
        #expect(records[1].dstAddr == IPAddress("198.51.100.4")!)
        #expect(records[1].bytes == 777)
    }

    @Test func variableLengthFieldsInBothLengthForms() {
        let template = Wire.set(2, [
            0x01, 0x02,                     // template id 258
            0x00, 0x05,                     // field count 5
            0x00, 0x52, 0xff, 0xff,         // interfaceName, variable length
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x00, 0x53, 0xff, 0xff,         // interfaceDescription, variable length
            0x00, 0x07, 0x00, 0x02,         // sourceTransportPort, 2 bytes
            0x00, 0x01, 0x00, 0x04,         // octetDeltaCount, 4 bytes
        ])
        var data: [UInt8] = [
            0x03, 0x65, 0x74, 0x68,         // interfaceName: 1-byte length 3, "eth"
            0xc0, 0x00, 0x02, 0x01,         // sourceIPv4Address 192.0.2.1
            0x00,                           // interfaceDescription: length 0
            0x00, 0x35,                     // sourceTransportPort 53
            0x00, 0x00, 0x00, 0x64,         // octetDeltaCount 100
        ]
        data += [0xff, 0x01, 0x2c]          // interfaceName: 3-byte form, length 300
        data += [UInt8](repeating: 0x61, count: 300)
        data += [
            0xc0, 0x00, 0x02, 0x02,         // sourceIPv4Address 192.0.2.2
            0xff, 0x00, 0x02, 0x61, 0x62,   // interfaceDescription: 3-byte form, length 2, "ab"
            0x01, 0xbb,                     // sourceTransportPort 443
            0x00, 0x00, 0x00, 0xc8,         // octetDeltaCount 200
        ]
        data += [0xfe]                      // interfaceName: 1-byte length 254
        data += [UInt8](repeating: 0x62, count: 254)
        data += [
            0xc0, 0x00, 0x02, 0x03,         // sourceIPv4Address 192.0.2.3
            0x00,                           // interfaceDescription: length 0
            0x00, 0x16,                     // sourceTransportPort 22
            0x00, 0x00, 0x01, 0x2c,         // octetDeltaCount 300
            0x00, 0x00, 0x00,               // padding: shorter than the 12-byte minimum record
        ]
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let outcome = decoder.decode(Wire.ipfix(template, Wire.set(258, data)), into: &records)
        #expect(outcome.error == nil)
        #expect(outcome.records == 3)
        #expect(records.map(\.srcAddr) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"].map { IPAddress($0)! })
        #expect(records.map(\.srcPort) == [53, 443, 22])
        #expect(records.map(\.bytes) == [100, 200, 300])
    }

    @Test func reducedSizeEncoding() {
        let template = Wire.set(2, [
            0x01, 0x03,                     // template id 259
            0x00, 0x09,                     // field count 9
            0x00, 0x01, 0x00, 0x04,         // octetDeltaCount in 4 bytes
            0x00, 0x02, 0x00, 0x02,         // packetDeltaCount in 2 bytes
            0x00, 0x03, 0x00, 0x01,         // deltaFlowCount in 1 byte
            0x00, 0x11, 0x00, 0x03,         // bgpDestinationAsNumber in 3 bytes
            0x00, 0x0a, 0x00, 0x02,         // ingressInterface in 2 bytes
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x00, 0x0c, 0x00, 0x02,         // destinationIPv4Address in 2 bytes: unusable, ignored
            0x00, 0x55, 0x00, 0x09,         // octetTotalCount in 9 bytes: too long, ignored
            0x00, 0x0b, 0x00, 0x02,         // destinationTransportPort, 2 bytes
        ])
        let data = Wire.set(259, [
            0x01, 0x02, 0x03, 0x04,         // octetDeltaCount 16909060
            0x0a, 0x0b,                     // packetDeltaCount 2571
            0x02,                           // deltaFlowCount 2
            0x01, 0x02, 0x03,               // bgpDestinationAsNumber 66051
            0x00, 0x07,                     // ingressInterface 7
            0xc0, 0x00, 0x02, 0x01,         // sourceIPv4Address 192.0.2.1
            0xc6, 0x33,                     // destinationIPv4Address, 2 bytes
            0xff, 0xff, 0xff, 0xff, 0xff,   // octetTotalCount, 9 bytes
            0xff, 0xff, 0xff, 0xff,
            0x00, 0x50,                     // destinationTransportPort 80
        ])
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let outcome = decoder.decode(Wire.ipfix(template, data), into: &records)
        #expect(outcome.error == nil)
        #expect(records.count == 1)
        let r = records[0]
        #expect(r.bytes == 16_909_060)
        #expect(r.packets == 2571)
        #expect(r.flows == 2)
        #expect(r.dstAS == 66051)
        #expect(r.inIface == 7)
        #expect(r.srcAddr == IPAddress("192.0.2.1")!)
        #expect(r.dstAddr == .none)
        #expect(r.dstPort == 80)
    }

    // MARK: - Sampling announced in options data

    /// Templates and one data message from IPFIXWriter, then the rates the records carry.
    static func writerRates(after announcements: [[UInt8]], count: Int = 1) -> [UInt32] {
        var writer = IPFIXWriter(observationDomain: 1)
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        _ = decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &records)
        for message in announcements { _ = decoder.decode(message, into: &records) }
        records.removeAll()
        _ = decoder.decode(writer.dataMessage(Array(repeating: Wire.flow, count: count), exportTime: Wire.exportTime), into: &records)
        return records.map(\.samplingRate)
    }

    @Test func optionsSamplingIntervalAppliesToLaterRecords() {
        let announcement = Wire.ipfix(
            Wire.set(3, [
                0x01, 0x2c,                 // template id 300
                0x00, 0x02,                 // field count 2
                0x00, 0x01,                 // scope field count 1
                0x00, 0x95, 0x00, 0x04,     // observationDomainId, 4 bytes (scope)
                0x00, 0x22, 0x00, 0x04,     // samplingInterval (34), 4 bytes
            ]),
            Wire.set(300, [
                0x00, 0x00, 0x00, 0x01,     // observationDomainId 1
                0x00, 0x00, 0x00, 0x64,     // samplingInterval 100
            ]))
        #expect(Self.writerRates(after: []) == [0])
        #expect(Self.writerRates(after: [announcement], count: 2) == [100, 100])
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let outcome = decoder.decode(announcement, into: &records)
        #expect(outcome.optionsRecords == 1)
        #expect(outcome.records == 0)
        #expect(records.isEmpty)
    }

    /// Options data with samplingPacketInterval (305) and samplingPacketSpace (306).
    static func packetSampling(interval: UInt32, space: UInt32) -> [UInt8] {
        Wire.ipfix(
            Wire.set(3, [
                0x01, 0x2d,                 // template id 301
                0x00, 0x03,                 // field count 3
                0x00, 0x01,                 // scope field count 1
                0x00, 0x95, 0x00, 0x04,     // observationDomainId, 4 bytes (scope)
                0x01, 0x31, 0x00, 0x04,     // samplingPacketInterval (305), 4 bytes
                0x01, 0x32, 0x00, 0x04,     // samplingPacketSpace (306), 4 bytes
            ]),
            Wire.set(301, [0x00, 0x00, 0x00, 0x01]  // observationDomainId 1
                + Wire.be32(interval)               // samplingPacketInterval
                + Wire.be32(space)))                // samplingPacketSpace
    }

    @Test func optionsPacketIntervalAndSpace() {
        #expect(Self.writerRates(after: [Self.packetSampling(interval: 1, space: 99)]) == [100])
        #expect(Self.writerRates(after: [Self.packetSampling(interval: 2, space: 998)]) == [500])
        // A space of 0 selects every packet, whatever the interval.
        #expect(Self.writerRates(after: [Self.packetSampling(interval: 1, space: 0)]) == [1])
        #expect(Self.writerRates(after: [Self.packetSampling(interval: 5, space: 0)]) == [1])
        // An interval without a space field stands as the rate, like samplingInterval (34).
        let intervalOnly = Wire.ipfix(
            Wire.set(3, [
                0x01, 0x2f,                 // template id 303
                0x00, 0x02,                 // field count 2
                0x00, 0x01,                 // scope field count 1
                0x00, 0x95, 0x00, 0x04,     // observationDomainId, 4 bytes (scope)
                0x01, 0x31, 0x00, 0x04,     // samplingPacketInterval (305), 4 bytes
            ]),
            Wire.set(303, [
                0x00, 0x00, 0x00, 0x01,     // observationDomainId 1
                0x00, 0x00, 0x00, 0x05,     // samplingPacketInterval 5
            ]))
        #expect(Self.writerRates(after: [intervalOnly]) == [5])
    }

    @Test func ipfixSamplerTable() {
        let table = Wire.ipfix(
            Wire.set(3, [
                0x01, 0x2e,                 // template id 302
                0x00, 0x02,                 // field count 2
                0x00, 0x01,                 // scope field count 1
                0x00, 0x30, 0x00, 0x01,     // samplerId (48), 1 byte (scope)
                0x00, 0x32, 0x00, 0x04,     // samplerRandomInterval (50), 4 bytes
            ]),
            Wire.set(302, [
                0x01,                       // samplerId 1
                0x00, 0x00, 0x00, 0x0a,     // samplerRandomInterval 10
                0x02,                       // samplerId 2
                0x00, 0x00, 0x03, 0xe8,     // samplerRandomInterval 1000
            ]))
        let template = Wire.set(2, [
            0x01, 0x04,                     // template id 260
            0x00, 0x02,                     // field count 2
            0x00, 0x08, 0x00, 0x04,         // sourceIPv4Address, 4 bytes
            0x00, 0x30, 0x00, 0x01,         // samplerId (48), 1 byte
        ])
        let data = Wire.set(260, [
            0xc0, 0x00, 0x02, 0x01, 0x02,   // 192.0.2.1, sampler 2
            0xc0, 0x00, 0x02, 0x02, 0x01,   // 192.0.2.2, sampler 1
            0xc0, 0x00, 0x02, 0x03, 0x03,   // 192.0.2.3, sampler 3 (not in the table)
            0xc0, 0x00, 0x02, 0x04, 0x00,   // 192.0.2.4, no sampler
        ])
        let domainDefault = Wire.ipfix(
            Wire.set(3, [
                0x01, 0x2c,                 // template id 300
                0x00, 0x02,                 // field count 2
                0x00, 0x01,                 // scope field count 1
                0x00, 0x95, 0x00, 0x04,     // observationDomainId, 4 bytes (scope)
                0x00, 0x22, 0x00, 0x04,     // samplingInterval (34), 4 bytes
            ]),
            Wire.set(300, [
                0x00, 0x00, 0x00, 0x01,     // observationDomainId 1
                0x00, 0x00, 0x00, 0x07,     // samplingInterval 7
            ]))
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let options = decoder.decode(table, into: &records)
        #expect(options.optionsRecords == 2)
        #expect(decoder.decode(Wire.ipfix(template, data), into: &records).records == 4)
        #expect(records.map(\.samplerID) == [2, 1, 3, 0])
        #expect(records.map(\.samplingRate) == [1000, 10, 0, 0])
        records.removeAll()
        #expect(decoder.decode(domainDefault, into: &records).optionsRecords == 1)
        #expect(decoder.decode(Wire.ipfix(data), into: &records).records == 4)
        #expect(records.map(\.samplingRate) == [1000, 10, 7, 7])
    }

    @Test func v9OptionsSamplerWithSystemScope() {
        let optionsTemplate = Wire.set(1, [
            0x01, 0x00,                     // template id 256
            0x00, 0x04,                     // option scope length 4
            0x00, 0x0c,                     // option length 12
            0x00, 0x01, 0x00, 0x04,         // scope type 1 (System), 4 bytes
            0x00, 0x30, 0x00, 0x01,         // FLOW_SAMPLER_ID (48), 1 byte
            0x00, 0x31, 0x00, 0x01,         // FLOW_SAMPLER_MODE (49), 1 byte
            0x00, 0x32, 0x00, 0x04,         // FLOW_SAMPLER_RANDOM_INTERVAL (50), 4 bytes
            0x00, 0x00,                     // padding
        ])
        let options = Wire.set(256, [
            0x00, 0x00, 0x00, 0x01,         // System scope value (would be IN_BYTES 1 if read as a field)
            0x05,                           // FLOW_SAMPLER_ID 5
            0x02,                           // FLOW_SAMPLER_MODE 2 (random)
            0x00, 0x00, 0x02, 0x00,         // FLOW_SAMPLER_RANDOM_INTERVAL 512
            0x00, 0x00,                     // padding
        ])
        let template = Wire.set(0, [
            0x01, 0x01,                     // template id 257
            0x00, 0x04,                     // field count 4
            0x00, 0x08, 0x00, 0x04,         // IPV4_SRC_ADDR, 4 bytes
            0x00, 0x0c, 0x00, 0x04,         // IPV4_DST_ADDR, 4 bytes
            0x00, 0x01, 0x00, 0x04,         // IN_BYTES, 4 bytes
            0x00, 0x30, 0x00, 0x01,         // FLOW_SAMPLER_ID, 1 byte
        ])
        let data = Wire.set(257, [
            0xc0, 0x00, 0x02, 0x01,         // IPV4_SRC_ADDR 192.0.2.1
            0xc6, 0x33, 0x64, 0x02,         // IPV4_DST_ADDR 198.51.100.2
            0x00, 0x00, 0x00, 0x64,         // IN_BYTES 100
            0x05,                           // FLOW_SAMPLER_ID 5
            0xc0, 0x00, 0x02, 0x02,         // IPV4_SRC_ADDR 192.0.2.2
            0xc6, 0x33, 0x64, 0x02,         // IPV4_DST_ADDR 198.51.100.2
            0x00, 0x00, 0x00, 0xc8,         // IN_BYTES 200
            0x09,                           // FLOW_SAMPLER_ID 9 (not announced)
            0x00, 0x00,                     // padding
        ])
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let outcome = decoder.decode(Wire.v9(optionsTemplate, options, template, data), into: &records)
        #expect(outcome.error == nil)
        #expect(outcome.templatesLearned == 2)
        #expect(outcome.optionsRecords == 1)
        #expect(records.count == 2)
        #expect(records.map(\.samplerID) == [5, 9])
        #expect(records.map(\.samplingRate) == [512, 0])
        #expect(records.map(\.bytes) == [100, 200])
    }

    // MARK: - Sequence numbers

    @Test func ipfixGapCountsMissingRecords() {
        var writer = IPFIXWriter(observationDomain: 1)
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        #expect(decoder.decode(writer.templateMessage(exportTime: Wire.exportTime), into: &records).sequenceLost == 0)
        let first = decoder.decode(writer.dataMessage([Wire.flow, Wire.flow], exportTime: Wire.exportTime), into: &records)
        #expect(first.sequenceLost == 0)
        _ = writer.dataMessage([Wire.flow, Wire.flow, Wire.flow], exportTime: Wire.exportTime) // lost on the way
        let after = decoder.decode(writer.dataMessage([Wire.flow], exportTime: Wire.exportTime), into: &records)
        #expect(after.sequenceLost == 3)
        #expect(!after.sequenceReset)
        let next = decoder.decode(writer.dataMessage([Wire.flow], exportTime: Wire.exportTime), into: &records)
        #expect(next.sequenceLost == 0)
        #expect(!next.sequenceReset)
    }

    @Test func ipfixSequenceCountsOptionsRecordsToo() {
        let first = Wire.ipfix(
            sequence: 0,
            Wire.set(3, [
                0x01, 0x2c,                 // template id 300
                0x00, 0x02,                 // field count 2
                0x00, 0x01,                 // scope field count 1
                0x00, 0x95, 0x00, 0x04,     // observationDomainId, 4 bytes (scope)
                0x00, 0x22, 0x00, 0x04,     // samplingInterval, 4 bytes
            ]),
            Wire.set(300, [
                0x00, 0x00, 0x00, 0x01,     // observationDomainId 1
                0x00, 0x00, 0x00, 0x00,     // samplingInterval 0
            ]),
            Wire.set(2, [
                0x01, 0x00,                 // template id 256
                0x00, 0x01,                 // field count 1
                0x00, 0x08, 0x00, 0x04,     // sourceIPv4Address, 4 bytes
            ]),
            Wire.set(256, [
                0xc0, 0x00, 0x02, 0x01,     // 192.0.2.1
                0xc0, 0x00, 0x02, 0x02,     // 192.0.2.2
            ]))
        let one = Wire.set(256, [
            0xc0, 0x00, 0x02, 0x03,         // 192.0.2.3
        ])
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let outcomes = [
            decoder.decode(first, into: &records),                              // 1 options + 2 flow records
            decoder.decode(Wire.ipfix(sequence: 6, one), into: &records),       // 3, 4, 5 lost
            decoder.decode(Wire.ipfix(sequence: 7, one), into: &records),
        ]
        #expect(outcomes.map(\.optionsRecords) == [1, 0, 0])
        #expect(outcomes.map(\.records) == [2, 1, 1])
        #expect(outcomes.map(\.sequenceLost) == [0, 3, 0])
        #expect(outcomes.allSatisfy { !$0.sequenceReset })
    }

    @Test func v9GapCountsMissingDatagrams() {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let lost = [1, 2, 6, 7, 8].map { decoder.decode(Wire.v9(sequence: $0), into: &records).sequenceLost }
        #expect(lost == [0, 0, 3, 0, 0])
    }

    @Test func v5GapCountsMissingFlows() {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let one = Wire.v5Record
        let outcomes = [
            decoder.decode(Wire.v5Header(count: 1, sequence: 0) + one, into: &records),
            decoder.decode(Wire.v5Header(count: 1, sequence: 1) + one, into: &records),
            decoder.decode(Wire.v5Header(count: 2, sequence: 5) + one + one, into: &records), // 2, 3, 4 lost
            decoder.decode(Wire.v5Header(count: 1, sequence: 7) + one, into: &records),
        ]
        #expect(outcomes.map(\.sequenceLost) == [0, 0, 3, 0])
        #expect(outcomes.allSatisfy { !$0.sequenceReset && $0.error == nil })
        #expect(records.count == 5)
    }

    @Test func largeBackwardsJumpIsAReset() {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        // IPFIX
        _ = decoder.decode(Wire.ipfix(sequence: 1000), into: &records)
        let ipfix = decoder.decode(Wire.ipfix(sequence: 10), into: &records)
        #expect(ipfix.sequenceReset)
        #expect(ipfix.sequenceLost == 0)
        // v9
        _ = decoder.decode(Wire.v9(sequence: 100), into: &records)
        let v9 = decoder.decode(Wire.v9(sequence: 50), into: &records)
        #expect(v9.sequenceReset)
        #expect(v9.sequenceLost == 0)
        // v5
        _ = decoder.decode(Wire.v5Header(count: 1, sequence: 5000) + Wire.v5Record, into: &records)
        let v5 = decoder.decode(Wire.v5Header(count: 1, sequence: 3) + Wire.v5Record, into: &records)
        #expect(v5.sequenceReset)
        #expect(v5.sequenceLost == 0)
        // and then in order again
        let v5next = decoder.decode(Wire.v5Header(count: 1, sequence: 4) + Wire.v5Record, into: &records)
        #expect(!v5next.sequenceReset)
        #expect(v5next.sequenceLost == 0)
    }

    @Test func forwardJumpPastTheLimitIsAReset() {
        var limits = FlowDecoder.Limits()
        limits.maximumSequenceGap = 1000
        var decoder = FlowDecoder(limits: limits)
        var records: [FlowRecord] = []
        _ = decoder.decode(Wire.v9(sequence: 1), into: &records)
        let within = decoder.decode(Wire.v9(sequence: 1002), into: &records)   // 1000 missing
        #expect(within.sequenceLost == 1000)
        #expect(!within.sequenceReset)
        let beyond = decoder.decode(Wire.v9(sequence: 2004), into: &records)   // 1001 missing
        #expect(beyond.sequenceLost == 0)
        #expect(beyond.sequenceReset)
    }
}

/// State that a sender controls stays bounded.
@Suite struct StateLimitTests {
    @Test func domainsCyclingThroughIdsStayBounded() {
        var limits = FlowDecoder.Limits()
        limits.domainsTotal = 10
        var decoder = FlowDecoder(limits: limits)
        var records: [FlowRecord] = []
        for domain in 0..<100 as Range<UInt32> {
            // An IPFIX header alone (16 bytes): version 10, length 16, export time, sequence, domain.
            var message: [UInt8] = [0, 10, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0]
            message += [UInt8(domain >> 24), UInt8(domain >> 16 & 0xff), UInt8(domain >> 8 & 0xff), UInt8(domain & 0xff)]
            let outcome = decoder.decode(message, into: &records)
            #expect(outcome.error == nil)
        }
        #expect(decoder.sessionCount == 10)
    }
}
