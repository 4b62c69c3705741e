import FlowWire
import NetCore
import Testing
@testable import Probe

/// The encoder's messages read back by the collector's decoder (whose parsing is tested
/// against real exporters), field by field; templates, options and sequence numbers included.
struct ExportEncoderTests {
    static let boot: UInt64 = 1_700_000_000_000_000

    static func flows(_ count: Int, v6Every: Int = 0) -> [ProbeFlow] {
        (0..<count).map { i in
            var f = ProbeFlow()
            f.isV6 = v6Every > 0 && i % v6Every == 0
            if f.isV6 {
                f.srcHigh = 0x2001_0db8_0000_0000
                f.srcLow = UInt64(i)
                f.dstHigh = 0x2001_0db8_ffff_0000
                f.dstLow = 1
            } else {
                f.srcLow = UInt64(0x0a00_0000 + i)
                f.dstLow = 0xc000_0201
            }
            f.srcPort = UInt16(1024 + i)
            f.dstPort = i % 3 == 0 ? 0x0303 : 443
            f.proto = i % 3 == 0 ? (f.isV6 ? 58 : 1) : 6
            f.tos = UInt8(i % 4 * 8)
            f.tcpFlags = f.proto == 6 ? 0x1b : 0
            f.packets = UInt64(i + 1)
            f.bytes = UInt64((i + 1) * 1000)
            f.firstMicros = boot + UInt64(i) * 1_000_000
            f.lastMicros = boot + UInt64(i) * 1_000_000 + 2_500_000
            return f
        }
    }

    static func decode(_ messages: [[UInt8]]) -> ([FlowRecord], [DecodeOutcome]) {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        var outcomes: [DecodeOutcome] = []
        for m in messages {
            outcomes.append(m.withUnsafeBytes { decoder.decode($0, from: IPAddress(v4: 0x7f00_0001), into: &records) })
        }
        return (records, outcomes)
    }

    static func check(_ f: ProbeFlow, _ r: FlowRecord, version: Int) {
        let src = f.isV6 ? IPAddress(v6High: f.srcHigh, low: f.srcLow) : IPAddress(v4: UInt32(f.srcLow))
        let dst = f.isV6 ? IPAddress(v6High: f.dstHigh, low: f.dstLow) : IPAddress(v4: UInt32(f.dstLow))
        #expect(r.srcAddr == src && r.dstAddr == dst)
        #expect(r.srcPort == f.srcPort && r.proto == f.proto && r.tcpFlags == f.tcpFlags && r.tos == f.tos)
        #expect(r.dstPort == f.dstPort || r.icmpTypeCode == f.dstPort)
        #expect(r.packets == f.packets && r.bytes == f.bytes)
        #expect(UInt64(r.startSeconds) == f.firstMicros / 1_000_000)
        #expect(UInt64(r.endSeconds) == f.lastMicros / 1_000_000)
    }

    @Test(arguments: [ExportEncoder.Format.v5, .v9, .ipfix])
    func roundTrip(format: ExportEncoder.Format) {
        var encoder = ExportEncoder(format: format, engineID: 7, bootMicros: Self.boot)
        let flows = Self.flows(500, v6Every: format == .v5 ? 0 : 5)
        var messages: [[UInt8]] = []
        if let t = encoder.templatesOnly(nowMicros: Self.boot) { messages.append(t) }
        // In batches, as expiry hands them over, with the clock moving.
        for (n, start) in stride(from: 0, to: flows.count, by: 70).enumerated() {
            messages += encoder.encode(Array(flows[start..<min(start + 70, flows.count)]), nowMicros: Self.boot + UInt64(n) * 20_000_000)
        }
        // v5 sends 30 records a message (1,464 bytes), as every v5 exporter does.
        #expect(messages.allSatisfy { $0.count <= (format == .v5 ? 24 + 30 * 48 : ExportEncoder.maximumMessage) })
        let (records, outcomes) = Self.decode(messages)
        #expect(outcomes.allSatisfy { $0.error == nil && $0.unknownTemplateSets == 0 && $0.sequenceLost == 0 && !$0.sequenceReset })
        #expect(records.count == flows.count)
        for (f, r) in zip(flows, records) { Self.check(f, r, version: format.rawValue) }
    }

    @Test func v5LeavesIPv6OutAndCountsIt() {
        var encoder = ExportEncoder(format: .v5, bootMicros: Self.boot)
        let flows = Self.flows(40, v6Every: 4)
        let (records, _) = Self.decode(encoder.encode(flows, nowMicros: Self.boot))
        #expect(records.count == 30 && encoder.v6Dropped == 10)
    }

    @Test(arguments: [ExportEncoder.Format.v9, .ipfix])
    func templatesAreSentAgain(format: ExportEncoder.Format) {
        var encoder = ExportEncoder(format: format, bootMicros: Self.boot)
        var withTemplates = 0
        var messages: [[UInt8]] = []
        for n in 0..<60 {
            for m in encoder.encode(Self.flows(3), nowMicros: Self.boot + UInt64(n) * 100_000) {
                messages.append(m)
                // A template set (id 0 in v9, 2 in IPFIX) right after the header.
                let setID = Int(m[format == .v9 ? 20 : 16]) << 8 | Int(m[format == .v9 ? 21 : 17])
                if setID == (format == .v9 ? 0 : 2) { withTemplates += 1 }
            }
        }
        #expect(withTemplates == 4)  // messages 1, 19, 37, 55: every 18
        // Past templateSeconds of capture time, the next message carries them again.
        let setAt = format == .v9 ? 20 : 16
        let early = encoder.encode(Self.flows(1), nowMicros: Self.boot + 64_000_000)
        #expect(Int(early[0][setAt]) << 8 | Int(early[0][setAt + 1]) == Int(ExportEncoder.templateIDv4))
        let late = encoder.encode(Self.flows(1), nowMicros: Self.boot + 66_000_000)
        #expect(Int(late[0][setAt]) << 8 | Int(late[0][setAt + 1]) == (format == .v9 ? 0 : 2))
        // A collector that missed the first message learns the templates from a later one.
        let (records, _) = Self.decode(Array(messages.dropFirst()))
        #expect(records.count == (60 - 18) * 3)
    }

    @Test(arguments: [ExportEncoder.Format.v5, .v9, .ipfix])
    func samplingIsAnnouncedForRenormalisation(format: ExportEncoder.Format) {
        var encoder = ExportEncoder(format: format, samplingRate: 64, bootMicros: Self.boot)
        let (records, outcomes) = Self.decode(encoder.encode(Self.flows(10), nowMicros: Self.boot))
        #expect(records.count == 10)
        #expect(records.allSatisfy { $0.samplingRate == 64 })
        if format != .v5 { #expect(outcomes[0].optionsRecords == 1) }
    }
}
