import Foundation
import Testing
import TestServers
import NetCore
@testable import FlowWire
import FlowWireFuzzing

/// Inputs the fuzz target saved, replayed with its own format and invariants (`FuzzInput`).
enum FuzzReplay {
    /// Crashers and other inputs the fuzzer saved: fixtures/fuzz/flowwire/.
    static let directory = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("fuzz/flowwire")

    static func stored(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}

@Suite struct FuzzRegressionTests {
    /// Every input saved under fixtures/fuzz/flowwire/ decodes without crashing and keeps the
    /// fuzz target's invariants. A new crasher only needs to be dropped in that folder.
    @Test func everyStoredInputReplays() throws {
        let manager = FileManager.default
        guard manager.fileExists(atPath: FuzzReplay.directory.path) else { return }
        let names = try manager.contentsOfDirectory(atPath: FuzzReplay.directory.path)
            .filter { !$0.hasPrefix(".") }.sorted()
        for name in names {
            let (_, problems) = FuzzInput.replay(try FuzzReplay.stored(name))
            #expect(problems.isEmpty, "\(name): \(problems)")
        }
    }

    /// sFlow datagrams go through the target's sFlow decoder: real ones keep its invariants and
    /// decode to what a plain decode gives; truncated ones too.
    @Test func sflowChunksReplay() throws {
        let fixtures = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("sflow")
        var input: [UInt8] = []
        var plain = SFlowDecoder()
        var want = 0
        for (index, datagram) in try RealCaptures.datagrams(at: fixtures.appendingPathComponent("pmacctd-sfprobe-rate1.pcap")).enumerated() {
            if index > 0 { input += FuzzInput.marker }
            input += [0x00] + datagram.payload
            input += FuzzInput.marker + [0x01] + datagram.payload.prefix(datagram.payload.count / 2)
            var records: [FlowRecord] = []
            var counters: [InterfaceCounters] = []
            var sflow = SFlowOutcome()
            want += datagram.payload.withUnsafeBytes {
                plain.decode($0, from: FuzzInput.exporters[0], now: 1_000, into: &records, counters: &counters, sflow: &sflow).records
            }
        }
        let (steps, problems) = FuzzInput.replay(input)
        #expect(problems.isEmpty, "\(problems)")
        #expect(want > 0 && steps.reduce(0) { $0 + $1.records.count } == want)
        #expect(steps.filter { $0.outcome.error != nil }.count == steps.count / 2)
    }

    /// The replay checks really hold the target's format: a real capture, chunked by hand,
    /// decodes to what a plain decode gives.
    @Test func replayFormatMatchesAPlainDecode() throws {
        var input: [UInt8] = []
        for (index, datagram) in try Fixtures.datagrams("softflowd-v10").enumerated() {
            if index > 0 { input += FuzzInput.marker }
            input += [0x04] + datagram      // exporter 4 % 4 = 0: 127.0.0.1
        }
        let (steps, problems) = FuzzInput.replay(input)
        #expect(problems.isEmpty)
        var decoder = FlowDecoder()
        let (records, outcomes) = try Fixtures.decode("softflowd-v10", decoder: &decoder)
        #expect(steps.map(\.outcome) == outcomes)
        #expect(steps.flatMap(\.records) == records)
    }

    /// Found by the fuzzer (fixtures/fuzz/flowwire/crash-ipfix-sampling-space-overflow, minimized):
    /// softflowd's IPFIX options template with samplingPacketInterval 0xffff0352 and
    /// samplingPacketSpace 0xffff09eb. Their sum overflowed UInt32 and trapped. The message
    /// then has a set with id 0, so it is rejected, but only after the options record was read.
    @Test func ipfixSamplingIntervalPlusSpaceTooLarge() throws {
        let (steps, problems) = FuzzInput.replay(try FuzzReplay.stored("crash-ipfix-sampling-space-overflow"))
        #expect(problems.isEmpty)
        #expect(steps.count == 1)
        #expect(steps.first?.exporter == IPAddress("127.0.0.1")!)
        #expect(steps.first?.outcome.version == 10)
        #expect(steps.first?.outcome.error == .badSetHeader)
        #expect(steps.first?.records == [])
    }

    /// The same arithmetic on valid messages: rate = (interval + space) / interval, computed
    /// past 32 bits and clamped.
    @Test(arguments: [
        (UInt32(1), UInt32.max, UInt32.max),         // 2^32 does not fit: clamped
        (UInt32.max, UInt32(1), UInt32(1)),          // 2^32 / (2^32 - 1)
        (UInt32.max, UInt32.max, UInt32(2)),
        (UInt32(0xffff_0352), UInt32(0xffff_09eb), UInt32(2)),
        (UInt32(0x8000_0000), UInt32(0x8000_0000), UInt32(2)),
    ])
    func samplingSpaceSumsPast32Bits(interval: UInt32, space: UInt32, rate: UInt32) {
        let rates = MalformedTests.writerRates(after: [MalformedTests.packetSampling(interval: interval, space: space)])
        #expect(rates == [rate])
    }
}
