import Testing
import NetCore
@testable import FlowWire

/// Every capture of a real exporter decodes to what tshark decodes from the same bytes,
/// and sums per 5-tuple to what the generated pcap holds.
@Suite struct RealExporterTests {
    @Test(arguments: Fixtures.captures)
    func decodesLikeTshark(capture: String) throws {
        var decoder = FlowDecoder()
        let (records, outcomes) = try Fixtures.decode(capture, decoder: &decoder)
        for outcome in outcomes {
            #expect(outcome.error == nil)
            #expect(outcome.unknownTemplateSets == 0)
        }
        let expected = try Fixtures.table("\(capture).tshark.tsv")
        #expect(records.count == expected.count)
        for (record, full) in zip(records, expected) {
            // A field the template lacks is empty in tshark's output and zero in ours.
            let row = full.mapValues { $0.isEmpty ? "0" : $0 }
            #expect(record.srcAddr.description == row["src_addr"], "\(capture) \(row)")
            #expect(record.dstAddr.description == row["dst_addr"])
            #expect(String(record.srcPort) == row["src_port"])
            #expect(String(record.dstPort) == row["dst_port"])
            #expect(String(record.proto) == row["proto"])
            #expect(String(record.tos) == row["tos"])
            #expect(String(record.tcpFlags) == row["tcp_flags"])
            #expect(String(record.inIface) == row["input_if"])
            #expect(String(record.outIface) == row["output_if"])
            #expect(String(record.packets) == row["packets"])
            #expect(String(record.bytes) == row["bytes"])
        }
    }

    @Test(arguments: Fixtures.captures)
    func sumsMatchThePcap(capture: String) throws {
        var decoder = FlowDecoder()
        let (records, _) = try Fixtures.decode(capture, decoder: &decoder)
        struct Tuple: Hashable { var src, dst: String; var sport, dport, proto: String }
        var got: [Tuple: (UInt64, UInt64)] = [:]
        for r in records {
            let t = Tuple(src: r.srcAddr.description, dst: r.dstAddr.description,
                          sport: String(r.srcPort), dport: String(r.dstPort), proto: String(r.proto))
            let sum = got[t, default: (0, 0)]
            got[t] = (sum.0 + r.packets, sum.1 + r.bytes)
        }
        var want: [Tuple: (UInt64, UInt64)] = [:]
        for row in try Fixtures.table("truth.tsv") {
            // NetFlow v5 carries IPv4 only.
            if capture.hasSuffix("-v5") && row["src_addr"]!.contains(":") { continue }
            let t = Tuple(src: row["src_addr"]!, dst: row["dst_addr"]!, sport: row["src_port"]!,
                          dport: row["dst_port"]!, proto: row["proto"]!)
            want[t] = (UInt64(row["packets"]!)!, UInt64(row["bytes"]!)!)
        }
        #expect(got.count == want.count)
        for (tuple, sums) in want {
            #expect(got[tuple]?.0 == sums.0, "\(capture) \(tuple)")
            #expect(got[tuple]?.1 == sums.1, "\(capture) \(tuple)")
        }
    }

    @Test(arguments: Fixtures.captures)
    func noLossReported(capture: String) throws {
        var decoder = FlowDecoder()
        let (_, outcomes) = try Fixtures.decode(capture, decoder: &decoder)
        #expect(outcomes.allSatisfy { $0.sequenceLost == 0 && !$0.sequenceReset }, "\(capture)")
    }

    @Test func pmacctTimesAreAbsoluteMilliseconds() throws {
        var decoder = FlowDecoder()
        let (records, _) = try Fixtures.decode("pmacctd-nfprobe-v10", decoder: &decoder)
        let expected = try Fixtures.table("pmacctd-nfprobe-v10.tshark.tsv")
        for (record, row) in zip(records, expected) {
            let start = Double(row["flow_start"]!)!
            #expect(record.startSeconds == UInt32(start), "\(row)")
        }
        #expect(records.allSatisfy { $0.version == 10 && $0.exporter == Fixtures.exporter })
    }

    @Test func softflowdAnnouncesItsSamplingInOptions() throws {
        var decoder = FlowDecoder()
        let (_, outcomes) = try Fixtures.decode("softflowd-v10", decoder: &decoder)
        #expect(outcomes.reduce(0) { $0 + $1.optionsRecords } == 1)
    }

    @Test func droppedFirstDatagramMeansUnknownTemplates() throws {
        // The templates travel in softflowd's first datagram only: without it nothing decodes,
        // and each data set is counted as waiting for its template.
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        let datagrams = try Fixtures.datagrams("softflowd-v9")
        var unknown = 0
        for datagram in datagrams.dropFirst() {
            let outcome = decoder.decode(datagram, into: &records)
            #expect(outcome.error == nil)
            unknown += outcome.unknownTemplateSets
        }
        #expect(records.isEmpty)
        #expect(unknown >= datagrams.count - 1)
    }
}
