import Foundation
import Testing
import NetCore
@testable import FlowWire

/// Replays inputs in the format of the libFuzzer target (Fuzz/Sources/FlowWireFuzz): chunks
/// separated by the 4 bytes f1 0f 1f 0f; a chunk's first byte picks the exporter, the rest is
/// one datagram; one decoder with small limits sees all chunks in order. Keep this in step
/// with FlowWireFuzz.swift.
enum FuzzReplay {
    static let marker: [UInt8] = [0xf1, 0x0f, 0x1f, 0x0f]

    static let exporters: [IPAddress] = [
        IPAddress(v4: 0x7f00_0001), IPAddress(v4: 0x7f00_0002),
        IPAddress(v6High: 0, low: 1), IPAddress(v4: 0x7f00_0003),
    ]

    static var limits: FlowDecoder.Limits {
        var limits = FlowDecoder.Limits()
        limits.templatesPerDomain = 6
        limits.templatesTotal = 12
        limits.fieldsPerTemplate = 64
        limits.maximumSequenceGap = 1 << 16
        return limits
    }

    /// Crashers and other inputs the fuzzer saved: fixtures/fuzz/flowwire/.
    static let directory = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("fuzz/flowwire")

    static func chunks(_ input: [UInt8]) -> [ArraySlice<UInt8>] {
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i + marker.count <= input.count {
            if input[i..<(i + marker.count)].elementsEqual(marker) {
                chunks.append(input[start..<i])
                i += marker.count
                start = i
            } else {
                i += 1
            }
        }
        chunks.append(input[start...])
        return chunks.filter { !$0.isEmpty }
    }

    struct Step {
        var exporter: IPAddress
        var outcome: DecodeOutcome
        var records: [FlowRecord]
    }

    /// Decodes `input` as the fuzz target does; returns each datagram's outcome and records,
    /// and the fuzz target's invariants that did not hold.
    static func replay(_ input: [UInt8]) -> (steps: [Step], problems: [String]) {
        let limits = limits
        var decoder = FlowDecoder(limits: limits)
        var steps: [Step] = []
        var problems: [String] = []
        for (index, chunk) in chunks(input).enumerated() {
            let exporter = exporters[Int(chunk[chunk.startIndex]) % exporters.count]
            let datagram = Array(chunk.dropFirst())
            var sentinel = FlowRecord()
            sentinel.bytes = 4242
            var records = [sentinel]
            let outcome = decoder.decode(datagram, from: exporter, into: &records)
            if records.first != sentinel { problems.append("#\(index): earlier records changed") }
            let added = Array(records.dropFirst())
            if outcome.error != nil && (!added.isEmpty || outcome.records != 0) {
                problems.append("#\(index): rejected (\(outcome.error!)) but appended \(added.count) records")
            }
            if outcome.error == nil && added.count != outcome.records {
                problems.append("#\(index): outcome.records \(outcome.records), appended \(added.count)")
            }
            if !added.allSatisfy({ $0.exporter == exporter && $0.version == outcome.version }) {
                problems.append("#\(index): a record of another exporter or version")
            }
            if decoder.templateCount > limits.templatesTotal {
                problems.append("#\(index): \(decoder.templateCount) templates, limit \(limits.templatesTotal)")
            }
            steps.append(Step(exporter: exporter, outcome: outcome, records: added))
        }
        return (steps, problems)
    }

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
            let (_, problems) = FuzzReplay.replay(try FuzzReplay.stored(name))
            #expect(problems.isEmpty, "\(name): \(problems)")
        }
    }

    /// The replay checks really hold the target's format: a real capture, chunked by hand,
    /// decodes to what a plain decode gives.
    @Test func replayFormatMatchesAPlainDecode() throws {
        var input: [UInt8] = []
        for (index, datagram) in try Fixtures.datagrams("softflowd-v10").enumerated() {
            if index > 0 { input += FuzzReplay.marker }
            input += [0x04] + datagram      // exporter 4 % 4 = 0: 127.0.0.1
        }
        let (steps, problems) = FuzzReplay.replay(input)
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
        let (steps, problems) = FuzzReplay.replay(try FuzzReplay.stored("crash-ipfix-sampling-space-overflow"))
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
