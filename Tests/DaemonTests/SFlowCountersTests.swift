import FlowWire
import NetCore
import Testing
@testable import Daemon

/// Interface counters turned into what each minute carried.
@Suite struct SFlowCountersTests {
    static func sample(uptime: UInt32, received: UInt32, inOctets: UInt64, outOctets: UInt64, inPackets: UInt32,
                       errors: UInt32 = 0, ifIndex: UInt32 = 3) -> InterfaceCounters {
        var c = InterfaceCounters()
        c.agent = IPAddress("192.0.2.1")!
        c.ifIndex = ifIndex
        c.ifSpeed = 10_000_000_000
        c.uptime = uptime
        c.received = received
        c.inOctets = inOctets
        c.outOctets = outOctets
        c.inUnicastPackets = inPackets
        c.inErrors = errors
        return c
    }

    @Test func advancesPerMinuteWithWrapsAndRestarts() {
        var counters = SFlowCounters()
        // Baseline at 12:00:10, then two samples in the same minute, one in the next.
        counters.add(Self.sample(uptime: 1_000, received: 600_010, inOctets: 1_000, outOctets: 5_000, inPackets: .max - 9))
        counters.add(Self.sample(uptime: 21_000, received: 600_030, inOctets: 3_000, outOctets: 5_500, inPackets: 10, errors: 2))
        counters.add(Self.sample(uptime: 41_000, received: 600_050, inOctets: 4_000, outOctets: 6_000, inPackets: 30, errors: 2))
        counters.add(Self.sample(uptime: 61_000, received: 600_070, inOctets: 10_000, outOctets: 6_100, inPackets: 40, errors: 5))
        // The agent restarts: no advance for that sample, the next counts from it.
        counters.add(Self.sample(uptime: 500, received: 600_090, inOctets: 100, outOctets: 100, inPackets: 1))
        counters.add(Self.sample(uptime: 20_500, received: 600_110, inOctets: 600, outOctets: 300, inPackets: 6))
        let rows = counters.take().rows.sorted { $0.minute < $1.minute }
        #expect(rows.count == 2)
        #expect(rows[0].minute == 600_000 && rows[1].minute == 600_060)
        #expect(rows[0].inBytes == 3_000 && rows[0].outBytes == 1_000)
        // 2^32 - 10 + 20 packets across the wrap, then 20.
        #expect(rows[0].inPackets == 20 + 20)
        #expect(rows[0].inErrors == 2 && rows[0].samples == 2)
        #expect(rows[1].inBytes == 6_000 + 500 && rows[1].outBytes == 100 + 200)
        #expect(rows[1].inErrors == 3 && rows[1].samples == 3)
        #expect(rows[1].ifSpeed == 10_000_000_000 && rows[1].agent == "192.0.2.1")
        #expect(counters.take().rows.isEmpty)
    }
}
