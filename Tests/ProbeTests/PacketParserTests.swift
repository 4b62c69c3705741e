import FlowWire
import Foundation
import Testing
@testable import Probe

/// Frames from fixtures/packets (provenance in fixtures/README.md and captured-at.txt): the
/// Linux kernel's TCP, UDP, ICMP and ICMPv6 traffic, fragments and MLD with a hop-by-hop
/// header, as tcpdump captured it on a veth end (Ethernet) and on "any" (Linux cooked v2),
/// and scapy's 802.1Q and QinQ frames; each frame compared with tshark's decoding of it.
struct PacketParserTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/packets")

    struct Expected {
        var row: [String: String]
        subscript(_ key: String) -> String { row[key] ?? "" }
        func int(_ key: String) -> Int? {
            let text = self[key]
            if text.hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16) }
            return Int(text)
        }
    }

    static func expectations(_ name: String) throws -> [Expected] {
        let text = try String(contentsOf: directory.appendingPathComponent("\(name).tshark.tsv"), encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        return lines.dropFirst().map { cells in
            Expected(row: Dictionary(uniqueKeysWithValues: zip(header, cells + Array(repeating: "", count: max(0, header.count - cells.count)))))
        }
    }

    /// Every frame of a capture, parsed.
    static func parsed(_ name: String) throws -> [(PacketSummary, PacketSkip?)] {
        let source = try PacketSource.file(path: directory.appendingPathComponent("\(name).pcap").path, filter: nil)
        let link = try #require(source.linkType)
        var out: [(PacketSummary, PacketSkip?)] = []
        while case .packet(let data, let captured, _) = try source.next() {
            var s = PacketSummary()
            let skip = PacketParser.parse(data, length: captured, linkType: link, into: &s)
            out.append((s, skip))
        }
        return out
    }

    static func address(_ high: UInt64, _ low: UInt64, v6: Bool) -> String {
        if !v6 {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)"
        }
        var groups: [UInt16] = []
        for word in [high, low] { for shift in [48, 32, 16, 0] { groups.append(UInt16(truncatingIfNeeded: word >> UInt64(shift))) } }
        // RFC 5952 text, as tshark prints it: the longest run of two or more zero groups as "::".
        var best = (start: -1, length: 0)
        var i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > best.length && j - i >= 2 { best = (i, j - i) }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        if best.start < 0 { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.length)..<8)
    }

    /// The fields a flow needs, as tshark read them; fragments follow the flow rules: a first
    /// fragment carries its transport header (tshark shows the ports on the reassembled frame,
    /// found by fragment id), later fragments have none.
    static func check(_ name: String, expectLinkSLL: Bool = false) throws {
        let expected = try expectations(name)
        let got = try parsed(name)
        #expect(got.count == expected.count)
        #expect(got.count > 0)
        // Ports of reassembled datagrams, by fragment id.
        var reassembled: [String: Expected] = [:]
        for e in expected where !e["ip.id"].isEmpty || !e["ipv6.fraghdr.ident"].isEmpty {
            let id = e["ip.id"] + "/" + e["ipv6.fraghdr.ident"]
            if !e["tcp.srcport"].isEmpty || !e["udp.srcport"].isEmpty || !e["icmp.type"].isEmpty || !e["icmpv6.type"].isEmpty {
                reassembled[id] = e
            }
        }
        for (e, (s, skip)) in zip(expected, got) {
            let frame = e["frame.number"]
            #expect(skip == nil, "frame \(frame) skipped: \(String(describing: skip))")
            let v6 = !e["ipv6.src"].isEmpty
            #expect(s.isV6 == v6, "frame \(frame)")
            #expect(address(s.srcHigh, s.srcLow, v6: v6) == (v6 ? e["ipv6.src"] : e["ip.src"]), "frame \(frame)")
            #expect(address(s.dstHigh, s.dstLow, v6: v6) == (v6 ? e["ipv6.dst"] : e["ip.dst"]), "frame \(frame)")
            #expect(Int(s.ipLength) == (v6 ? 40 + (e.int("ipv6.plen") ?? -1) : e.int("ip.len") ?? -1), "frame \(frame)")
            #expect(Int(s.tos) == (v6 ? e.int("ipv6.tclass") : e.int("ip.dsfield")), "frame \(frame)")
            let vlan = e["ieee8021ad.id"].isEmpty ? e.int("vlan.id") : e.int("ieee8021ad.id")
            #expect(Int(s.vlan) == (vlan ?? 0), "frame \(frame)")
            // Protocol: past IPv6 extension headers (hop-by-hop, fragment) to the transport.
            let fragmentNext = e.int("ipv6.fraghdr.nxt")
            let transport: Int
            if let fragmentNext {
                transport = fragmentNext
            } else if v6, e["ipv6.nxt"] == "0", !e["icmpv6.type"].isEmpty {
                transport = 58
            } else {
                transport = (v6 ? e.int("ipv6.nxt") : e.int("ip.proto")) ?? -1
            }
            #expect(Int(s.proto) == transport, "frame \(frame)")

            let laterFragment = (e.int("ip.frag_offset") ?? 0) != 0 || (e.int("ipv6.fraghdr.offset") ?? 0) != 0
            let firstFragment = !laterFragment && (e["ip.flags.mf"] == "1" || e["ipv6.fraghdr.more"] == "1")
            var ports = e
            if firstFragment, let whole = reassembled[e["ip.id"] + "/" + e["ipv6.fraghdr.ident"]] { ports = whole }
            var srcPort = 0, dstPort = 0, flags = 0
            if !laterFragment {
                if let p = ports.int("tcp.srcport") {
                    srcPort = p
                    dstPort = ports.int("tcp.dstport") ?? -1
                    flags = (ports.int("tcp.flags") ?? 0) & 0xff
                } else if let p = ports.int("udp.srcport") {
                    srcPort = p
                    dstPort = ports.int("udp.dstport") ?? -1
                } else if let type = ports.int(v6 ? "icmpv6.type" : "icmp.type") {
                    // An ICMP error quotes the packet it is about; only the outer type and code count.
                    dstPort = type << 8 | (ports.int(v6 ? "icmpv6.code" : "icmp.code") ?? 0)
                }
            }
            #expect(s.fragment == (laterFragment ? .later : (firstFragment ? .first : .none)), "frame \(frame) fragment")
            #expect(Int(s.srcPort) == srcPort, "frame \(frame) src port")
            #expect(Int(s.dstPort) == dstPort, "frame \(frame) dst port")
            #expect(Int(s.tcpFlags) == flags, "frame \(frame) tcp flags")
        }
    }

    @Test func kernelFramesOnEthernet() throws {
        try Self.check("veth-ethernet")
    }

    /// Later fragments take the ports of their first fragment: every fragment of a datagram
    /// counts under the ports tshark shows on the reassembled datagram.
    @Test func fragmentsCountUnderTheirDatagramsPorts() throws {
        let expected = try Self.expectations("veth-ethernet")
        var ports: [String: (Int, Int)] = [:]
        for e in expected {
            let id = e["ip.id"] + "/" + e["ipv6.fraghdr.ident"]
            if let p = e.int("udp.srcport") { ports[id] = (p, e.int("udp.dstport")!) }
            if let t = e.int("icmp.type") ?? e.int("icmpv6.type") {
                ports[id] = (0, t << 8 | (e.int("icmp.code") ?? e.int("icmpv6.code") ?? 0))
            }
        }
        var table = FragmentPorts()
        var fragmentsSeen = 0
        for (e, (parsed, _)) in zip(expected, try Self.parsed("veth-ethernet")) {
            var s = parsed
            table.resolve(&s, seconds: 0)
            guard s.fragment != .none else { continue }
            fragmentsSeen += 1
            let want = try #require(ports[e["ip.id"] + "/" + e["ipv6.fraghdr.ident"]], "frame \(e["frame.number"])")
            #expect(Int(s.srcPort) == want.0 && Int(s.dstPort) == want.1, "frame \(e["frame.number"])")
        }
        #expect(fragmentsSeen == 30)
        #expect(table.unmatched == 0)
    }

    @Test func kernelFramesLinuxCooked() throws {
        let source = try PacketSource.file(path: Self.directory.appendingPathComponent("any-cooked.pcap").path, filter: nil)
        #expect(source.linkType == .linuxSLL2 || source.linkType == .linuxSLL)
        try Self.check("any-cooked")
    }

    @Test func vlanAndQinQFrames() throws {
        try Self.check("scapy-vlan")
    }

    @Test func shortAndForeignFrames() {
        var s = PacketSummary()
        let arp: [UInt8] = Array(repeating: 0xff, count: 12) + [0x08, 0x06] + Array(repeating: 0, count: 28)
        #expect(arp.withUnsafeBytes { PacketParser.parse($0.baseAddress!, length: $0.count, linkType: .ethernet, into: &s) } == .notIP)
        let truncated: [UInt8] = Array(repeating: 0, count: 12) + [0x08, 0x00, 0x45, 0x00]
        #expect(truncated.withUnsafeBytes { PacketParser.parse($0.baseAddress!, length: $0.count, linkType: .ethernet, into: &s) } == .malformed)
        // An IPv4 header whose total length is shorter than its own header.
        var bad: [UInt8] = Array(repeating: 0, count: 12) + [0x08, 0x00, 0x45, 0x00, 0x00, 0x10] + Array(repeating: 0, count: 16)
        bad[16] = 0
        #expect(bad.withUnsafeBytes { PacketParser.parse($0.baseAddress!, length: $0.count, linkType: .ethernet, into: &s) } == .malformed)
        // A frame captured short (snaplen) still counts the IP length its header gives.
        var udp: [UInt8] = Array(repeating: 0, count: 12) + [0x08, 0x00]
        udp += [0x45, 0x00, 0x05, 0xdc, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x13, 0x88, 0x00, 0x35]
        #expect(udp.withUnsafeBytes { PacketParser.parse($0.baseAddress!, length: $0.count, linkType: .ethernet, into: &s) } == nil)
        #expect(s.ipLength == 1500 && s.srcPort == 5000 && s.dstPort == 53 && s.proto == 17)
    }
}
