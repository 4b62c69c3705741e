import FlowWire
import PathflowConfig
import Testing
@testable import Probe

/// The cache's accounting and nfprobe's expiry rules, on packets made up here, with the
/// capture clock driven by hand.
struct FlowCacheTests {
    static func packet(_ src: UInt32, _ dst: UInt32, _ sport: UInt16, _ dport: UInt16, proto: UInt8 = 6,
                       length: UInt32 = 100, flags: UInt8 = 0x10) -> PacketSummary {
        var p = PacketSummary()
        p.srcLow = UInt64(src)
        p.dstLow = UInt64(dst)
        p.srcPort = sport
        p.dstPort = dport
        p.proto = proto
        p.ipLength = length
        p.tcpFlags = proto == 6 ? flags : 0
        return p
    }

    static let second: UInt64 = 1_000_000
    static let t0: UInt64 = 1_700_000_000 * second

    static func cache(_ configure: (inout ProbeConfig.Timeouts) -> Void = { _ in }, maxFlows: Int = 100,
                      fields: ProbeConfig.KeyFields = .nfprobeDefault) -> FlowCache {
        var t = ProbeConfig.Timeouts()
        configure(&t)
        return FlowCache(timeouts: t, maxFlows: maxFlows, fields: fields, byteLimit: 1 << 63)
    }

    @Test func bothDirectionsShareAnEntryAndLeaveAsTwoRecords() {
        var c = Self.cache()
        var out: [ProbeFlow] = []
        c.account(Self.packet(0x0a000002, 0x0a000001, 40000, 80, length: 60), micros: Self.t0, expiredInto: &out)
        c.account(Self.packet(0x0a000001, 0x0a000002, 80, 40000, length: 1500, flags: 0x18), micros: Self.t0 + 5, expiredInto: &out)
        c.account(Self.packet(0x0a000002, 0x0a000001, 40000, 80, length: 52), micros: Self.t0 + 9, expiredInto: &out)
        #expect(c.count == 1)
        c.drain(into: &out)
        #expect(out.count == 2)
        let client = out.first { $0.srcPort == 40000 }!
        let server = out.first { $0.srcPort == 80 }!
        #expect(client.packets == 2 && client.bytes == 112 && client.firstMicros == Self.t0 && client.lastMicros == Self.t0 + 9)
        #expect(client.srcLow == 0x0a000002 && client.dstLow == 0x0a000001 && client.dstPort == 80)
        #expect(server.packets == 1 && server.bytes == 1500 && server.tcpFlags == 0x18 && server.firstMicros == Self.t0 + 5)
        #expect(c.count == 0 && c.expired[ExpiryReason.final.rawValue] == 1)
    }

    @Test func icmpTypeCodeStaysTheDestinationPort() {
        var c = Self.cache()
        var out: [ProbeFlow] = []
        // Echo request 8/0 from .2, echo reply 0/0 from .1: two separate flows.
        c.account(Self.packet(0x0a000002, 0x0a000001, 0, 0x0800, proto: 1), micros: Self.t0, expiredInto: &out)
        c.account(Self.packet(0x0a000001, 0x0a000002, 0, 0x0000, proto: 1), micros: Self.t0, expiredInto: &out)
        c.drain(into: &out)
        #expect(Set(out.map { "\($0.srcLow)>\($0.dstLow):\($0.srcPort)/\($0.dstPort)" })
            == ["167772162>167772161:0/2048", "167772161>167772162:0/0"])
    }

    @Test func timeoutsFollowNfprobe() {
        var c = Self.cache { t in
            t.tcp = 100
            t.tcpFIN = 30
            t.tcpRST = 10
            t.udp = 50
            t.icmp = 40
            t.general = 70
        }
        var out: [ProbeFlow] = []
        let s = Self.second
        c.account(Self.packet(1, 2, 1000, 80), micros: Self.t0, expiredInto: &out)                 // TCP, open
        c.account(Self.packet(1, 2, 1001, 80, flags: 0x11), micros: Self.t0, expiredInto: &out)    // FIN one way only
        c.account(Self.packet(2, 1, 80, 1001, flags: 0x11), micros: Self.t0, expiredInto: &out)
        c.account(Self.packet(1, 2, 1002, 80, flags: 0x11), micros: Self.t0, expiredInto: &out)    // FIN one way
        c.account(Self.packet(1, 2, 1003, 80, flags: 0x04), micros: Self.t0, expiredInto: &out)    // RST
        c.account(Self.packet(1, 2, 53, 53, proto: 17), micros: Self.t0, expiredInto: &out)
        c.account(Self.packet(1, 2, 0, 0x0800, proto: 1), micros: Self.t0, expiredInto: &out)
        c.account(Self.packet(1, 2, 0, 0, proto: 47), micros: Self.t0, expiredInto: &out)          // GRE: general
        #expect(out.isEmpty && c.count == 7)
        func expire(at seconds: UInt64) -> Set<String> {
            var gone: [ProbeFlow] = []
            c.expire(nowSeconds: Self.t0 / s + seconds, into: &gone)
            return Set(gone.map { "\($0.proto):\($0.srcPort)" })
        }
        #expect(expire(at: 9).isEmpty)
        #expect(expire(at: 10) == ["6:1003"])
        #expect(expire(at: 30) == ["6:1001", "6:80"])  // both directions of the finished flow
        #expect(expire(at: 40) == ["1:0"])
        #expect(expire(at: 50) == ["17:53"])
        #expect(expire(at: 70) == ["47:0"])
        #expect(expire(at: 99).isEmpty)
        #expect(expire(at: 100) == ["6:1000", "6:1002"])
        #expect(c.count == 0)
        #expect(c.expired[ExpiryReason.tcpFIN.rawValue] == 1 && c.expired[ExpiryReason.tcpRST.rawValue] == 1)
        #expect(c.expired[ExpiryReason.tcp.rawValue] == 2 && c.expired[ExpiryReason.general.rawValue] == 1)
    }

    @Test func activeFlowsLeaveAfterMaxLife() {
        var c = Self.cache { t in
            t.udp = 100
            t.maxLife = 60
        }
        var out: [ProbeFlow] = []
        for i in 0...70 {
            c.account(Self.packet(1, 2, 5000, 53, proto: 17), micros: Self.t0 + UInt64(i) * Self.second, expiredInto: &out)
            c.expire(nowSeconds: Self.t0 / Self.second + UInt64(i), into: &out)
        }
        // Exported once the flow was older than 60 s (at 61 s), then a new one started.
        #expect(out.count == 1 && out[0].packets == 62)
        #expect(c.expired[ExpiryReason.maxLife.rawValue] == 1 && c.count == 1)
    }

    @Test func aFullCacheForcesTheSoonestToExpireOut() {
        var c = Self.cache({ t in t.udp = 300 }, maxFlows: 32)
        var out: [ProbeFlow] = []
        for i in 0..<32 {
            c.account(Self.packet(1, 2, UInt16(1000 + i), 53, proto: 17), micros: Self.t0 + UInt64(i) * Self.second, expiredInto: &out)
        }
        #expect(out.isEmpty && c.count == 32)
        c.account(Self.packet(1, 2, 2000, 53, proto: 17), micros: Self.t0 + 40 * Self.second, expiredInto: &out)
        // A sixteenth of the cache (2 flows): the two oldest, which expire first.
        #expect(c.fullEvents == 1)
        #expect(out.map(\.srcPort).sorted() == [1000, 1001])
        #expect(c.count == 31)
        // Everything else is still counted exactly once.
        c.drain(into: &out)
        #expect(out.count == 33 && out.reduce(0) { $0 + $1.packets } == 33)
    }

    @Test func hashTableSurvivesChurn() {
        // Many inserts and removals through backward-shift deletion: no flow lost or merged.
        var c = Self.cache({ t in t.udp = 5 }, maxFlows: 1000)
        var out: [ProbeFlow] = []
        var sent = 0
        for round in 0..<20 {
            for i in 0..<900 {
                let port = UInt16((round * 7919 + i * 31) % 60000)
                c.account(Self.packet(UInt32(i % 97), 0x0a000001, port, 53, proto: 17),
                          micros: Self.t0 + UInt64(round) * 10 * Self.second, expiredInto: &out)
                sent += 1
            }
            c.expire(nowSeconds: Self.t0 / Self.second + UInt64(round) * 10 + 6, into: &out)
        }
        c.drain(into: &out)
        #expect(out.reduce(0) { $0 + Int($1.packets) } == sent)
        #expect(c.fullEvents == 0)
    }

    @Test func keyLeavesOutWhatTheAggregateLeavesOut() {
        var c = Self.cache(fields: [.srcHost, .dstHost, .proto])
        var out: [ProbeFlow] = []
        for port in 1000..<1010 {
            c.account(Self.packet(1, 2, UInt16(port), 80), micros: Self.t0, expiredInto: &out)
        }
        c.drain(into: &out)
        #expect(out.count == 1 && out[0].packets == 10 && out[0].srcPort == 0 && out[0].dstPort == 0)
    }
}
