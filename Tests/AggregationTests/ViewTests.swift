import FlowWire
import NetCore
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Aggregation

@Suite struct ViewTests {
    init() { useUTC() }

    static func record(_ src: String, _ dst: String, sport: UInt16, dport: UInt16, proto: UInt8,
                       packets: UInt64, bytes: UInt64, start: UInt32) -> FlowRecord {
        var r = FlowRecord()
        r.srcAddr = IPAddress(src)!
        r.dstAddr = IPAddress(dst)!
        r.srcPort = sport
        r.dstPort = dport
        r.proto = proto
        r.packets = packets
        r.bytes = bytes
        r.startSeconds = start
        r.endSeconds = start
        r.exporter = IPAddress("127.0.0.1")!
        return r
    }

    static let fiveTuple: [Primitive] = [.srcHost, .dstHost, .srcPort, .dstPort, .proto]

    @Test func aggregatesByKeyAndBin() {
        // Anchor 2023-11-14 22:13:20 UTC; roundoff "m" anchors at the hour (pmacct's roundoff_time).
        let binning = TimeBinning(unit: .minutes, count: 1, roundoff: "m", now: 1_700_000_000)
        var view = View(ViewDefinition(name: "acct", primitives: Self.fiveTuple, binning: binning))
        let a = Self.record("10.0.0.1", "10.0.0.2", sport: 1000, dport: 80, proto: 6, packets: 2, bytes: 100, start: 1_700_000_005)
        let b = Self.record("10.0.0.1", "10.0.0.2", sport: 1000, dport: 80, proto: 6, packets: 3, bytes: 300, start: 1_700_000_030)
        let c = Self.record("10.0.0.1", "10.0.0.2", sport: 1000, dport: 80, proto: 6, packets: 1, bytes: 40, start: 1_700_000_070)
        let d = Self.record("2001:db8::1", "2001:db8::2", sport: 1000, dport: 80, proto: 6, packets: 7, bytes: 700, start: 1_700_000_005)
        for r in [a, b, c, d] { view.add(r, arrival: 1_700_000_100) }
        let rows = view.drain()
        #expect(rows.count == 3)
        var first = FlowKey()
        first.srcAddr = a.srcAddr
        first.dstAddr = a.dstAddr
        first.srcPort = 1000
        first.dstPort = 80
        first.proto = 6
        // 1_700_000_005 is 22:13:25 → bin 22:13:00 = 1_699_999_980; 22:14:30 → 1_700_000_040.
        #expect(rows[BinnedKey(key: first, bin: 1_699_999_980)] == Counters(packets: 5, bytes: 400, flows: 2))
        #expect(rows[BinnedKey(key: first, bin: 1_700_000_040)] == Counters(packets: 1, bytes: 40, flows: 1))
        #expect(view.rowCount == 0)
    }

    @Test func timeNewBinsByArrival() {
        let binning = TimeBinning(unit: .minutes, count: 5, roundoff: "h", now: 1_700_000_000)
        var view = View(ViewDefinition(name: "v", primitives: [.proto], binning: binning, timeNew: true))
        view.add(Self.record("10.0.0.1", "10.0.0.2", sport: 1, dport: 2, proto: 17, packets: 1, bytes: 1, start: 1_600_000_000),
                 arrival: 1_700_000_000)
        let rows = view.drain()
        // 22:13:20 in a 5-minute grid anchored at midnight → 22:10:00.
        #expect(rows.keys.map(\.bin) == [1_699_999_800])
    }

    @Test func noHistoryMeansOneBin() {
        var view = View(ViewDefinition(name: "v", primitives: [.srcHost], binning: nil))
        view.add(Self.record("10.0.0.1", "10.0.0.2", sport: 1, dport: 2, proto: 17, packets: 1, bytes: 1, start: 5), arrival: 9)
        view.add(Self.record("10.0.0.1", "10.0.0.3", sport: 1, dport: 2, proto: 17, packets: 1, bytes: 1, start: 99_999), arrival: 9)
        let rows = view.drain()
        #expect(rows.count == 1)
        #expect(rows.first?.key.bin == 0)
        #expect(rows.first?.value == Counters(packets: 2, bytes: 2, flows: 2))
    }

    /// Every primitive survives packing and unpacking, alone and all together where they fit.
    @Test(arguments: Primitive.allCases)
    func packedKeysRoundTrip(primitive: Primitive) throws {
        var r = Self.record("2001:db8::7", "192.0.2.9", sport: 4242, dport: 443, proto: 17, packets: 1, bytes: 1, start: 0)
        r.tos = 0x28
        r.tcpFlags = 0x1b
        r.inIface = 70_000
        r.outIface = 3
        r.srcAS = 4_200_000_001
        r.dstAS = 65_001
        r.srcMask = 48
        r.dstMask = 24
        r.bgpNextHop = IPAddress("192.0.2.254")!
        r.samplingRate = 1000
        r.version = 10
        r.peerSrcAS = 65_010
        r.peerDstAS = 4_200_000_002
        r.localPref = 250
        r.med = 7
        r.asPathText = 11
        r.stdCommText = 12
        r.extCommText = 13
        r.lrgCommText = 14
        r.pathMatch = PathMatchCode.covering.rawValue
        let view = View(ViewDefinition(name: "v", primitives: [primitive], binning: nil))
        let layout = try #require(view.layout)
        let key = view.key(for: r)
        let packed = try #require(layout.pack(r, bin: 77, useIPNextHop: false))
        #expect(layout.unpack(packed) == BinnedKey(key: key, bin: 77))
    }

    /// Addresses whose family cannot be told in-band take the full-key path and still count.
    @Test func unpackableAddressesStillAggregate() throws {
        var view = View(ViewDefinition(name: "v", primitives: [.srcHost, .dstHost], binning: nil))
        let layout = try #require(view.layout)
        let odd = ["::", "::ffff:192.0.2.1", "::ffff:0:0"]
        for text in odd {
            var r = Self.record(text, "2001:db8::1", sport: 1, dport: 2, proto: 6, packets: 1, bytes: 10, start: 0)
            #expect(layout.pack(r, bin: 0, useIPNextHop: false) == nil, "\(text)")
            view.add(r, arrival: 0)
            r.packets = 2
            view.add(contentsOf: [r, r], arrival: 0)
        }
        // Ordinary neighbours pack, and IPv4 stays apart from its mapped IPv6 form.
        let v4 = Self.record("192.0.2.1", "2001:db8::1", sport: 1, dport: 2, proto: 6, packets: 1, bytes: 10, start: 0)
        #expect(layout.pack(v4, bin: 0, useIPNextHop: false) != nil)
        view.add(v4, arrival: 0)
        let rows = view.drain()
        #expect(rows.count == 4)
        for text in odd {
            var k = FlowKey()
            k.srcAddr = IPAddress(text)!
            k.dstAddr = IPAddress("2001:db8::1")!
            #expect(rows[BinnedKey(key: k, bin: 0)] == Counters(packets: 5, bytes: 30, flows: 3), "\(text)")
        }
    }

    @Test func wideViewsFallBackToFullKeys() {
        let all = Primitive.allCases
        let view = View(ViewDefinition(name: "wide", primitives: all, binning: nil))
        #expect(view.layout == nil)
        let tuple = View(ViewDefinition(name: "acct", primitives: Self.fiveTuple, binning: nil))
        #expect(tuple.layout != nil)
    }

    @Test func fullTableDropsAndCounts() {
        var view = View(ViewDefinition(name: "v", primitives: [.dstHost], binning: nil, maximumEntries: 2))
        for i in 1...4 {
            view.add(Self.record("10.0.0.1", "10.0.0.\(i)", sport: 1, dport: 2, proto: 6, packets: 1, bytes: 1, start: 0), arrival: 0)
        }
        view.add(Self.record("10.0.0.1", "10.0.0.1", sport: 1, dport: 2, proto: 6, packets: 1, bytes: 1, start: 0), arrival: 0)
        #expect(view.rowCount == 2)
        #expect(view.droppedFlows == 2)
    }

    @Test func netsUseTheExportedMasks() {
        var view = View(ViewDefinition(name: "v", primitives: [.srcNet, .dstNet], binning: nil))
        var r = Self.record("10.1.2.3", "2001:db8:aa:bb::1", sport: 1, dport: 2, proto: 6, packets: 1, bytes: 1, start: 0)
        r.srcMask = 16
        r.dstMask = 48
        view.add(r, arrival: 0)
        let key = try? #require(view.drain().keys.first?.key)
        #expect(key?.srcNet.description == "10.1.0.0")
        #expect(key?.dstNet.description == "2001:db8:aa::")
    }

    @Test func sumsSaturateAtInt64MaxAndAreCounted() {
        for primitives in [Self.fiveTuple, Primitive.allCases.filter { !$0.needsBGP }] {
            var view = View(ViewDefinition(name: "v", primitives: primitives, binning: nil))
            let big = Self.record("10.0.0.1", "10.0.0.2", sport: 1, dport: 2, proto: 6,
                                  packets: UInt64(Int64.max) - 1, bytes: UInt64(Int64.max), start: 0)
            view.add(contentsOf: [big, big, big], arrival: 0)
            let rows = view.drain()
            #expect(rows.count == 1)
            #expect(rows.values.first?.packets == UInt64(Int64.max) && rows.values.first?.bytes == UInt64(Int64.max))
            #expect(view.saturatedCounters >= 1, "\(primitives)")
        }
    }

    @Test func renormalizationSaturates() {
        var r = Self.record("10.0.0.1", "10.0.0.2", sport: 1, dport: 2, proto: 6, packets: 1 << 40, bytes: 1 << 62, start: 0)
        r.samplingRate = 1 << 30
        #expect(!renormalize(&r))
        #expect(r.packets == UInt64(Int64.max) && r.bytes == UInt64(Int64.max))
    }

    @Test func renormalizationScalesByTheRate() {
        var r = Self.record("10.0.0.1", "10.0.0.2", sport: 1, dport: 2, proto: 6, packets: 3, bytes: 120, start: 0)
        r.samplingRate = 100
        renormalize(&r)
        #expect(r.packets == 300 && r.bytes == 12_000)
        r.samplingRate = 0
        renormalize(&r)
        #expect(r.packets == 300)
    }
}

@Suite struct BatchTests {
    /// Adding a datagram's records as a batch gives exactly the rows of adding them one by one,
    /// across table growth (the table starts at 16 slots) and the row limit.
    @Test(arguments: [1, 7, 200, 5_000])
    func batchEqualsOneByOne(keys: Int) {
        let definition = ViewDefinition(name: "v", primitives: [.srcHost, .dstPort, .proto], binning: nil, maximumEntries: 3_000)
        var single = View(definition)
        var batched = View(definition)
        var batch: [FlowRecord] = []
        for n in 0..<12_000 {
            var r = FlowRecord()
            r.srcAddr = IPAddress(v4: 0x0a00_0000 + UInt32(n % keys))
            r.dstPort = UInt16(n % 3)
            r.proto = 6
            r.packets = UInt64(n % 5 + 1)
            r.bytes = 100
            single.add(r, arrival: 0)
            batch.append(r)
            if batch.count == 23 {
                batched.add(contentsOf: batch, arrival: 0)
                batch.removeAll()
            }
        }
        batched.add(contentsOf: batch, arrival: 0)
        #expect(single.droppedFlows == batched.droppedFlows)
        #expect(single.drain() == batched.drain())
    }
}
