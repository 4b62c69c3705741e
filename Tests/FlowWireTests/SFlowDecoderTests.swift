import Foundation
import NetCore
import Testing
import TestServers
@testable import FlowWire

/// sFlow v5 decoding checked against tshark's reading of the same bytes, field by field:
/// pmacctd's sfprobe plugin turning a pcap into sFlow (fixtures/sflow, see its README) and a
/// real switch's datagram (akv-sflow-1140 in the shared captures).
@Suite struct SFlowDecoderTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/sflow")

    /// tshark's reading, reduced by fixtures/sflow/make-fixtures.py.
    struct Oracle: Decodable {
        struct Datagram: Decodable {
            var agent: String
            var sub_agent_id: UInt32
            var sequence: UInt32
            var samples: [Sample]
            var tshark_malformed: Bool?
        }

        struct Sample: Decodable {
            var type: String
            var sampling_rate: UInt32?
            var drops: UInt32?
            var input_format: UInt32?
            var input_value: UInt32?
            var output_format: UInt32?
            var output_value: UInt32?
            var records: [Record]?
        }

        struct Record: Decodable {
            var enterprise: UInt32
            var format: UInt32
            var header_protocol: UInt32?
            var frame_length: UInt32?
            var decoded: Decoded?
            var ifindex: UInt32?
            var ifspeed: UInt64?
            var in_octets: UInt64?
            var out_octets: UInt64?
            var in_errors: UInt32?
            var out_errors: UInt32?
            var in_discards: UInt32?
            var out_discards: UInt32?
            var next_hop: String?
            var src_as: UInt32?
            var src_peer_as: UInt32?
            var dst_as_path: [Segment]?
            var communities: [UInt32]?
            var local_pref: UInt32?
            var src_mask: UInt8?
            var dst_mask: UInt8?
        }

        struct Segment: Decodable {
            var type: UInt32
            var asns: [UInt32]
        }

        struct Decoded: Decodable {
            var src: String?
            var dst: String?
            var ip_proto: UInt8?
            /// An IPv6 fragment header's next header (ip_proto is 44 then).
            var ipv6_frag_next_header: UInt8?
            var tos: UInt8?
            var src_port: UInt16?
            var dst_port: UInt16?
            var tcp_flags: UInt8?
            var icmp_type: UInt8?
            var icmp_code: UInt8?
        }

        var datagram_list: [Datagram]
    }

    static func oracle(_ name: String) throws -> Oracle {
        try JSONDecoder().decode(Oracle.self, from: Data(contentsOf: fixtures.appendingPathComponent("\(name).tshark.json")))
    }

    /// Decodes every datagram of a capture and checks it against tshark's reading.
    func check(capture: URL, oracle: Oracle) throws {
        let datagrams = try RealCaptures.datagrams(at: capture)
        #expect(datagrams.count == oracle.datagram_list.count)
        var decoder = SFlowDecoder()
        var flows = 0
        for (datagram, want) in zip(datagrams, oracle.datagram_list) {
            var records: [FlowRecord] = []
            var counters: [InterfaceCounters] = []
            var sflow = SFlowOutcome()
            let outcome = datagram.payload.withUnsafeBytes {
                decoder.decode($0, from: datagram.source, now: 1_700_000_000, into: &records, counters: &counters, sflow: &sflow)
            }
            if want.tshark_malformed == true {
                // Rejected whole, as tshark flags it (sfacctd accounts nothing from it either).
                #expect(outcome.error != nil && records.isEmpty && counters.isEmpty)
                continue
            }
            #expect(outcome.error == nil, "datagram \(want.sequence): \(String(describing: outcome.error))")
            let flowSamples = want.samples.filter { $0.type == "flow" }
            #expect(sflow.flowSamples == flowSamples.count)
            #expect(sflow.counterSamples == want.samples.filter { $0.type == "counters" }.count)
            // One record per flow sample whose raw header holds an IP packet.
            let withIP = flowSamples.filter { $0.records?.contains { $0.format == 1 && $0.decoded?.src != nil } == true }
            #expect(records.count == withIP.count, "datagram \(want.sequence)")
            var gateways = decoder.gatewayPaths[...]
            for (index, (r, sample)) in zip(records, withIP).enumerated() {
                flows += 1
                // Extended router and gateway records, where the sample has them.
                let router = sample.records?.first { $0.format == 1002 }
                #expect(r.ipNextHop == (router?.next_hop.flatMap(IPAddress.init) ?? .none))
                #expect(r.srcMask == router?.src_mask ?? 0 && r.dstMask == router?.dst_mask ?? 0)
                if let gateway = sample.records?.first(where: { $0.format == 1003 }) {
                    let asns = (gateway.dst_as_path ?? []).flatMap(\.asns)
                    #expect(r.bgpNextHop == gateway.next_hop.flatMap(IPAddress.init))
                    #expect(r.srcAS == gateway.src_as && r.peerSrcAS == gateway.src_peer_as)
                    #expect(r.peerDstAS == asns.first ?? 0 && r.dstAS == asns.last ?? 0)
                    #expect(r.localPref == gateway.local_pref)
                    let path = gateways.popFirst()
                    #expect(path?.record == index)
                    #expect(path?.segments.flatMap(\.asns) == asns)
                    #expect(path?.segments.map(\.isSet) == (gateway.dst_as_path ?? []).map { $0.type == 1 })
                    #expect(path?.communities == gateway.communities)
                } else {
                    #expect(r.bgpNextHop == .none && r.localPref == 0 && r.srcAS == 0 && r.dstAS == 0)
                }
                let header = try #require(sample.records?.first { $0.format == 1 })
                let ip = try #require(header.decoded)
                #expect(r.agentAddress == IPAddress(want.agent))
                #expect(r.exporter == datagram.source)
                #expect(r.samplingRate == sample.sampling_rate)
                #expect(r.inIface == (sample.input_format == 0 ? sample.input_value : 0))
                #expect(r.outIface == (sample.output_format == 0 ? sample.output_value : 0))
                #expect(r.srcAddr == IPAddress(ip.src ?? ""), "\(r.srcAddr) \(ip)")
                #expect(r.dstAddr == IPAddress(ip.dst ?? ""))
                // The transport protocol, past IPv6 extension headers (as the probe counts it).
                #expect(r.proto == ip.ipv6_frag_next_header ?? ip.ip_proto)
                #expect(r.tos == ip.tos)
                if let port = ip.src_port { #expect(r.srcPort == port) }
                if let port = ip.dst_port { #expect(r.dstPort == port) }
                if let type = ip.icmp_type { #expect(r.dstPort == UInt16(type) << 8 | UInt16(ip.icmp_code ?? 0)) }
                #expect(r.tcpFlags == ip.tcp_flags ?? 0)
                #expect(r.packets == 1)
                #expect(r.bytes == UInt64(header.frame_length ?? 0))
                #expect(r.version == 5)
            }
            #expect(gateways.isEmpty)
            let wantCounters = want.samples.filter { $0.type == "counters" }.flatMap { $0.records ?? [] }.filter { $0.format == 1 }
            #expect(counters.count == wantCounters.count)
            for (c, w) in zip(counters, wantCounters) {
                #expect(c.agent == IPAddress(want.agent))
                #expect(c.subAgent == want.sub_agent_id)
                #expect(c.ifIndex == w.ifindex)
                #expect(c.ifSpeed == w.ifspeed)
                #expect(c.inOctets == w.in_octets)
                #expect(c.outOctets == w.out_octets)
                #expect(c.inErrors == w.in_errors)
                #expect(c.outErrors == w.out_errors)
                #expect(c.inDiscards == w.in_discards)
                #expect(c.outDiscards == w.out_discards)
            }
        }
        #expect(flows > 0)
    }

    @Test func pmacctdSfprobeAtRateOne() throws {
        try check(capture: Self.fixtures.appendingPathComponent("pmacctd-sfprobe-rate1.pcap"),
                  oracle: Self.oracle("pmacctd-sfprobe-rate1"))
    }

    /// An IPv6 agent with a sub-agent, sampling 1 in 4, IPv6 receiver; its first datagram is
    /// malformed by pmacctd itself.
    @Test func pmacctdSfprobeIPv6AgentAtRateFour() throws {
        try check(capture: Self.fixtures.appendingPathComponent("pmacctd-sfprobe-rate4-ipv6.pcap"),
                  oracle: Self.oracle("pmacctd-sfprobe-rate4-ipv6"))
    }

    @Test(.enabled(if: RealCaptures.available)) func aRealSwitchsDatagram() throws {
        try check(capture: RealCaptures.directory.appendingPathComponent("akv-sflow-1140.pcap"),
                  oracle: Self.oracle("akv-sflow-1140"))
    }

    /// Every truncation of a real datagram is rejected whole: an error, nothing appended,
    /// nothing counted; lying counts are bounded; an sFlow datagram is told from NetFlow.
    @Test func malformedDatagramsAppendNothing() throws {
        let datagrams = try RealCaptures.datagrams(at: Self.fixtures.appendingPathComponent("pmacctd-sfprobe-rate1.pcap"))
        let payload = try #require(datagrams.first?.payload)
        var decoder = SFlowDecoder()
        for cut in 0..<payload.count {
            var records = [FlowRecord()]
            var counters: [InterfaceCounters] = []
            var sflow = SFlowOutcome()
            let outcome = Array(payload[..<cut]).withUnsafeBytes {
                decoder.decode($0, from: Fixtures.exporter, now: 1, into: &records, counters: &counters, sflow: &sflow)
            }
            #expect(outcome.error != nil, "cut at \(cut)")
            #expect(records.count == 1 && counters.isEmpty && sflow == SFlowOutcome(), "cut at \(cut)")
        }
        // num_samples (after version, address type, IPv4 agent, sub-agent, sequence, uptime).
        var lying = payload
        lying.replaceSubrange(24..<28, with: [0xff, 0xff, 0xff, 0xff])
        var records: [FlowRecord] = []
        var counters: [InterfaceCounters] = []
        var sflow = SFlowOutcome()
        let outcome = lying.withUnsafeBytes {
            decoder.decode($0, from: Fixtures.exporter, now: 1, into: &records, counters: &counters, sflow: &sflow)
        }
        #expect(outcome.error == .recordCountMismatch)
        #expect(payload.withUnsafeBytes { SFlowDecoder.isSFlow($0) })
        #expect(![0, 10, 0, 1].withUnsafeBytes { SFlowDecoder.isSFlow($0) })
        #expect(![0, 5, 0, 1].withUnsafeBytes { SFlowDecoder.isSFlow($0) })
    }

    /// Lost datagrams by the sequence number of each agent and sub-agent.
    @Test func sequenceNumbersPerAgentAndSubAgent() throws {
        let datagrams = try RealCaptures.datagrams(at: Self.fixtures.appendingPathComponent("pmacctd-sfprobe-rate1.pcap"))
        let payload = try #require(datagrams.first?.payload)
        func with(sequence: UInt32, subAgent: UInt32) -> [UInt8] {
            var bytes = payload
            bytes.replaceSubrange(12..<16, with: withUnsafeBytes(of: subAgent.bigEndian, Array.init))
            bytes.replaceSubrange(16..<20, with: withUnsafeBytes(of: sequence.bigEndian, Array.init))
            return bytes
        }
        var decoder = SFlowDecoder()
        func lost(_ bytes: [UInt8]) -> (UInt64, Bool) {
            var records: [FlowRecord] = []
            var counters: [InterfaceCounters] = []
            var sflow = SFlowOutcome()
            let o = bytes.withUnsafeBytes { decoder.decode($0, from: Fixtures.exporter, now: 1, into: &records, counters: &counters, sflow: &sflow) }
            return (o.sequenceLost, o.sequenceReset)
        }
        #expect(lost(with(sequence: 10, subAgent: 0)) == (0, false))
        #expect(lost(with(sequence: 11, subAgent: 0)) == (0, false))
        #expect(lost(with(sequence: 5, subAgent: 1)) == (0, false))
        #expect(lost(with(sequence: 15, subAgent: 0)) == (3, false))
        #expect(lost(with(sequence: 6, subAgent: 1)) == (0, false))
        #expect(lost(with(sequence: 1, subAgent: 0)) == (0, true))
        #expect(decoder.agentCount == 2)
    }
}
