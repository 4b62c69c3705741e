import Testing
import NetCore
@testable import FlowWire

/// What real routers send that lab exporters do not: templates with both address families,
/// tunnels, padding, several transport sessions from one address, odd flow counts and interfaces.
/// Each case is the smallest datagram showing the behaviour; RealRouterCaptureTests checks the
/// same on the routers' own bytes.
@Suite struct ExporterQuirkTests {
    static let v4a = Wire.be32(0xc000_0201)          // 192.0.2.1
    static let v4b = Wire.be32(0xc633_6402)          // 198.51.100.2
    static let v4zero: [UInt8] = Wire.be32(0)
    static let v6a = Wire.be64(0x2001_0db8_0000_0000) + Wire.be64(1)   // 2001:db8::1
    static let v6b = Wire.be64(0x2001_0db8_0000_0000) + Wire.be64(2)   // 2001:db8::2
    static let v6zero = [UInt8](repeating: 0, count: 16)

    /// IOS XR's MPLS template (313) in short: counters, IPv6 addresses and masks, IPv4 addresses
    /// and masks, and both BGP next-hops; one family is zero in each record.
    static let twoFamilyFields =
        Wire.field(1, 8) + Wire.field(2, 8)              // octetDeltaCount, packetDeltaCount
        + Wire.field(27, 16) + Wire.field(28, 16)        // sourceIPv6Address, destinationIPv6Address
        + Wire.field(29, 1) + Wire.field(30, 1)          // sourceIPv6PrefixLength, destinationIPv6PrefixLength
        + Wire.field(8, 4) + Wire.field(12, 4)           // sourceIPv4Address, destinationIPv4Address
        + Wire.field(9, 1) + Wire.field(13, 1)           // sourceIPv4PrefixLength, destinationIPv4PrefixLength
        + Wire.field(18, 4) + Wire.field(63, 16)         // bgpNextHopIPv4Address, bgpNextHopIPv6Address

    static func twoFamilyRecord(
        v6: ([UInt8], [UInt8]), masks6: (UInt8, UInt8), v4: ([UInt8], [UInt8]), masks4: (UInt8, UInt8),
        nextHop4: [UInt8], nextHop6: [UInt8]
    ) -> [UInt8] {
        Wire.be64(1500) + Wire.be64(10) + v6.0 + v6.1 + [masks6.0, masks6.1] + v4.0 + v4.1
            + [masks4.0, masks4.1] + nextHop4 + nextHop6
    }

    static func decode(_ datagrams: [[UInt8]], port: UInt16 = 4739) -> ([FlowRecord], [DecodeOutcome]) {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let outcomes = datagrams.map { bytes in
            bytes.withUnsafeBytes { decoder.decode($0, from: Wire.exporter, port: port, into: &records) }
        }
        return (records, outcomes)
    }

    static func template(_ id: UInt16, _ fields: [UInt8]) -> [UInt8] {
        Wire.set(2, Wire.be16(id) + Wire.be16(UInt16(fields.count / 4)) + fields)
    }

    @Test func eachRecordOfATwoFamilyTemplateKeepsItsOwnFamily() {
        let ipv6Flow = Self.twoFamilyRecord(
            v6: (Self.v6a, Self.v6b), masks6: (48, 64), v4: (Self.v4zero, Self.v4zero), masks4: (0, 0),
            nextHop4: Wire.be32(0x0a00_0001), nextHop6: Self.v6zero)         // 6PE: an IPv4 next-hop
        let ipv4Flow = Self.twoFamilyRecord(
            v6: (Self.v6zero, Self.v6zero), masks6: (0, 0), v4: (Self.v4a, Self.v4b), masks4: (24, 16),
            nextHop4: Wire.be32(0x0a00_0002), nextHop6: Self.v6zero)
        let (records, outcomes) = Self.decode([
            Wire.ipfix(Self.template(313, Self.twoFamilyFields)),
            Wire.ipfix(Wire.set(313, ipv6Flow + ipv4Flow)),
        ])
        #expect(outcomes.allSatisfy { $0.error == nil })
        #expect(records.count == 2)
        #expect(records[0].srcAddr == IPAddress("2001:db8::1")! && records[0].dstAddr == IPAddress("2001:db8::2")!)
        #expect(records[0].srcMask == 48 && records[0].dstMask == 64)
        #expect(records[0].bgpNextHop == IPAddress("10.0.0.1")!)
        #expect(records[1].srcAddr == IPAddress("192.0.2.1")! && records[1].dstAddr == IPAddress("198.51.100.2")!)
        #expect(records[1].srcMask == 24 && records[1].dstMask == 16)
        #expect(records[1].bgpNextHop == IPAddress("10.0.0.2")!)
    }

    @Test func ipVersionDecidesTheFamily() {
        // Both families non-zero; ipVersion (IE 60) says 6.
        let fields = Wire.field(2, 8) + Wire.field(60, 1) + Wire.field(8, 4) + Wire.field(12, 4)
            + Wire.field(27, 16) + Wire.field(28, 16)
        let record = Wire.be64(3) + [6] + Self.v4a + Self.v4b + Self.v6a + Self.v6b
        let (records, _) = Self.decode([Wire.ipfix(Self.template(400, fields)), Wire.ipfix(Wire.set(400, record))])
        #expect(records.map(\.srcAddr) == [IPAddress("2001:db8::1")!])
    }

    /// IOS XR's SRv6 template (340) and pm500: an outer IPv6 header with its prefix lengths, then
    /// the inner IPv4 header and its transport fields. The flow is the inner one, without the outer
    /// header's /48 and /64 as masks.
    @Test func aTunnelIsItsInnerFlowWithoutTheOuterMasks() {
        let fields = Wire.field(2, 8) + Wire.field(1, 8)
            + Wire.field(27, 16) + Wire.field(28, 16) + Wire.field(29, 1) + Wire.field(30, 1)
            + Wire.field(4, 1) + Wire.field(7, 2) + Wire.field(11, 2)             // outer: IPv4-in-IPv6, no ports
            + Wire.field(8, 4) + Wire.field(12, 4)
            + Wire.field(4, 1) + Wire.field(7, 2) + Wire.field(11, 2)             // inner: UDP 1111 -> 2222
        let record = Wire.be64(7) + Wire.be64(700) + Self.v6a + Self.v6b + [48, 64]
            + [4] + Wire.be16(0) + Wire.be16(0)
            + Self.v4a + Self.v4b
            + [17] + Wire.be16(1111) + Wire.be16(2222)
        let (records, _) = Self.decode([Wire.ipfix(Self.template(340, fields)), Wire.ipfix(Wire.set(340, record))])
        #expect(records.count == 1)
        let r = records[0]
        #expect(r.srcAddr == IPAddress("192.0.2.1")! && r.dstAddr == IPAddress("198.51.100.2")!)
        #expect(r.srcMask == 0 && r.dstMask == 0)
        #expect(r.proto == 17 && r.srcPort == 1111 && r.dstPort == 2222)
    }

    @Test func aOneFamilyTemplateIgnoresTheOtherFamilysMasks() {
        let fields = Wire.field(2, 8) + Wire.field(8, 4) + Wire.field(12, 4) + Wire.field(9, 1) + Wire.field(29, 1)
        let record = Wire.be64(1) + Self.v4a + Self.v4b + [24, 64]
        let (records, _) = Self.decode([Wire.ipfix(Self.template(401, fields)), Wire.ipfix(Wire.set(401, record))])
        #expect(records.map(\.srcMask) == [24])
    }

    // MARK: - Padding (RFC 7011 §3.3.1, RFC 3954 §5.3)

    static let flowFields = Wire.field(2, 8) + Wire.field(1, 8) + Wire.field(8, 4) + Wire.field(12, 4)
    static let flowRecord = Wire.be64(2) + Wire.be64(200) + v4a + v4b

    @Test func zeroPaddingAfterTheLastSetKeepsTheRecords() {
        let padding = [UInt8](repeating: 0, count: 1220)
        let (records, outcomes) = Self.decode([
            Wire.ipfix(Self.template(256, Self.flowFields), padding),
            Wire.ipfix(Wire.set(256, Self.flowRecord + Self.flowRecord), padding),
            Wire.v9(Wire.set(0, Wire.be16(300) + Wire.be16(4) + Self.flowFields), padding),
            Wire.v9(sequence: 2, Wire.set(300, Self.flowRecord), [0, 0, 0, 0, 0, 0]),
        ])
        #expect(outcomes.map(\.error) == [nil, nil, nil, nil])
        #expect(outcomes.map(\.records) == [0, 2, 0, 1])
        #expect(records.allSatisfy { $0.packets == 2 && $0.bytes == 200 })
    }

    @Test func zeroPaddingInsideADataSetIsNotRecords() {
        // PAN-OS 8.1: the set's length covers the padding, much longer than one record.
        let set = Wire.set(256, Self.flowRecord + [UInt8](repeating: 0, count: 1220))
        let (records, outcomes) = Self.decode([Wire.ipfix(Self.template(256, Self.flowFields)), Wire.ipfix(set)])
        #expect(outcomes[1].error == nil)
        #expect(records.count == 1)
    }

    @Test func zeroPaddingAfterTemplatesInTheirSetIsNotATemplate() {
        // Cisco ACI pads its template set.
        let set = Wire.set(2, Wire.be16(256) + Wire.be16(4) + Self.flowFields + [UInt8](repeating: 0, count: 12))
        let (records, outcomes) = Self.decode([Wire.ipfix(set), Wire.ipfix(Wire.set(256, Self.flowRecord))])
        #expect(outcomes.map(\.error) == [nil, nil])
        #expect(outcomes[0].templatesLearned == 1)
        #expect(records.count == 1)
    }

    // MARK: - Transport sessions (RFC 7011 §8)

    @Test func templatesBelongToTheirTransportSession() {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        func decode(_ bytes: [UInt8], port: UInt16) -> DecodeOutcome {
            bytes.withUnsafeBytes { decoder.decode($0, from: Wire.exporter, port: port, into: &records) }
        }
        // Session 1000 defines template 256; session 2000 of the same address sends data for it.
        _ = decode(Wire.ipfix(Self.template(256, Self.flowFields)), port: 1000)
        let foreign = decode(Wire.ipfix(Wire.set(256, Self.flowRecord)), port: 2000)
        #expect(foreign.records == 0 && foreign.unknownTemplateSets == 1)
        // Session 2000 defines its own 256 with another layout: session 1000's stays as it was.
        _ = decode(Wire.ipfix(Self.template(256, Wire.field(2, 4))), port: 2000)
        let own = decode(Wire.ipfix(Wire.set(256, Self.flowRecord)), port: 1000)
        #expect(own.records == 1)
        #expect(records.last?.packets == 2 && records.last?.bytes == 200)
    }

    @Test func sequenceNumbersBelongToTheirTransportSession() {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        var lost: UInt64 = 0
        var resets = 0
        // Two sessions of one address and domain, far apart in sequence, interleaved; each sends
        // two records per message.
        let sessions = [(UInt16(61853), UInt32(897_484)), (UInt16(65156), UInt32(2_175_679))]
        for (port, base) in sessions {
            _ = Wire.ipfix(sequence: base, Self.template(256, Self.flowFields))
                .withUnsafeBytes { decoder.decode($0, from: Wire.exporter, port: port, into: &records) }
        }
        for i in 0..<4 {
            for (port, base) in sessions {
                let outcome = Wire.ipfix(sequence: base + 2 * UInt32(i), Wire.set(256, Self.flowRecord + Self.flowRecord))
                    .withUnsafeBytes { decoder.decode($0, from: Wire.exporter, port: port, into: &records) }
                lost += outcome.sequenceLost
                if outcome.sequenceReset { resets += 1 }
            }
        }
        #expect(records.count == 16)
        #expect(lost == 0 && resets == 0)
    }

    // MARK: - Fields

    @Test func flowsOfZeroOrAbsentCountAsOne() {
        let fields = Self.flowFields + Wire.field(3, 4)
        let zero = Wire.be64(2) + Wire.be64(200) + Self.v4a + Self.v4b + Wire.be32(0)
        let five = Wire.be64(2) + Wire.be64(200) + Self.v4a + Self.v4b + Wire.be32(5)
        let (records, _) = Self.decode([
            Wire.ipfix(Self.template(256, fields), Self.template(257, Self.flowFields)),
            Wire.ipfix(Wire.set(256, zero + five), Wire.set(257, Self.flowRecord)),
        ])
        #expect(records.map(\.flows) == [1, 5, 1])
    }

    @Test func physicalInterfacesStandInForMissingInterfaces() {
        let physical = Self.flowFields + Wire.field(252, 4) + Wire.field(253, 4)
        let both = Self.flowFields + Wire.field(10, 4) + Wire.field(252, 4)
        let (records, _) = Self.decode([
            Wire.ipfix(Self.template(256, physical), Self.template(257, both)),
            Wire.ipfix(Wire.set(256, Self.flowRecord + Wire.be32(1_342_177_291) + Wire.be32(7)),
                       Wire.set(257, Self.flowRecord + Wire.be32(12) + Wire.be32(99))),
        ])
        #expect(records.map(\.inIface) == [1_342_177_291, 12])
        #expect(records.map(\.outIface) == [7, 0])
    }

    @Test func icmpTypeAndCodeFillDstPortOnlyWithoutADstPortField() {
        let withPort = Self.flowFields + Wire.field(4, 1) + Wire.field(11, 2) + Wire.field(176, 1) + Wire.field(177, 1)
        let withoutPort = Self.flowFields + Wire.field(4, 1) + Wire.field(176, 1) + Wire.field(177, 1)
        let (records, _) = Self.decode([
            Wire.ipfix(Self.template(256, withPort), Self.template(257, withoutPort)),
            Wire.ipfix(Wire.set(256, Self.flowRecord + [1] + Wire.be16(0) + [8, 0]),
                       Wire.set(257, Self.flowRecord + [1] + [3, 1])),
        ])
        #expect(records.map(\.dstPort) == [0, 3 * 256 + 1])
    }

    /// One IPFIX record with counters near 2^64: held at Int64.max (what a table can hold), counted.
    @Test func countersAboveInt64MaxAreHeldAndCounted() {
        let record = Wire.be64(UInt64.max) + Wire.be64(UInt64(Int64.max) + 1) + Self.v4a + Self.v4b
        let (records, outcomes) = Self.decode([Wire.ipfix(Self.template(256, Self.flowFields)), Wire.ipfix(Wire.set(256, record))])
        #expect(records.map(\.packets) == [UInt64(Int64.max)] && records.map(\.bytes) == [UInt64(Int64.max)])
        #expect(outcomes[1].countersSaturated == 1)
    }

    @Test func recordsWithoutCountersOrAddressesAreNotFlows() {
        // Akvorado's datalink capture: interfaces, direction and an RFC 7133 frame section only.
        let fields = Wire.field(10, 4) + Wire.field(14, 4) + Wire.field(61, 1) + Wire.field(312, 2) + Wire.field(315, 0xffff)
        let record = Wire.be32(582) + Wire.be32(0) + [0] + Wire.be16(114) + [4, 0xde, 0xad, 0xbe, 0xef]
        let (records, outcomes) = Self.decode([Wire.ipfix(Self.template(384, fields)), Wire.ipfix(Wire.set(384, record))])
        #expect(records.isEmpty)
        #expect(outcomes[1].error == nil && outcomes[1].recordsWithoutFlowFields == 1)
    }
}
