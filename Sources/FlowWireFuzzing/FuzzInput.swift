import FlowWire
import NetCore

/// The input format of the FlowWire fuzz target, and the invariants it checks, in one place
/// for the libFuzzer target (Fuzz/) and the regression tests that replay its crashers.
///
/// Chunks are separated by the 4 bytes `marker`; a chunk's first byte picks the exporter
/// (modulo the number of exporters), the rest is one datagram. One decoder with small limits sees
/// every chunk in order, so templates, sampling and sequence state carry across datagrams and
/// exporters interleave. sFlow datagrams go to an sFlow decoder, as the collector sends them.
public enum FuzzInput {
    public static let marker: [UInt8] = [0xf1, 0x0f, 0x1f, 0x0f]

    public static let exporters: [IPAddress] = [
        IPAddress(v4: 0x7f00_0001), IPAddress(v4: 0x7f00_0002),
        IPAddress(v6High: 0, low: 1), IPAddress(v4: 0x7f00_0003),
    ]

    /// Small enough that the template limits are reachable from one input.
    public static var limits: FlowDecoder.Limits {
        var limits = FlowDecoder.Limits()
        limits.templatesPerDomain = 6
        limits.bytesPerExporter = 8 << 10
        limits.bytesTotal = 16 << 10
        limits.sessionsPerExporter = 4
        limits.fieldsPerTemplate = 64
        limits.maximumSequenceGap = 1 << 16
        return limits
    }

    /// What decoding one chunk gave.
    public struct Step: Sendable {
        public var exporter: IPAddress
        public var outcome: DecodeOutcome
        public var records: [FlowRecord]
    }

    /// Byte ranges of the non-empty chunks between markers.
    public static func chunks(_ input: UnsafeRawBufferPointer) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var i = 0
        while i + marker.count <= input.count {
            if input[i] == marker[0] && input[i + 1] == marker[1] && input[i + 2] == marker[2] && input[i + 3] == marker[3] {
                ranges.append(start..<i)
                i += marker.count
                start = i
            } else {
                i += 1
            }
        }
        ranges.append(start..<input.count)
        return ranges.filter { !$0.isEmpty }
    }

    /// Decodes `input` as the fuzz target does; returns each chunk's outcome and records, and
    /// every invariant that did not hold.
    public static func replay(_ input: UnsafeRawBufferPointer) -> (steps: [Step], problems: [String]) {
        let limits = limits
        var decoder = FlowDecoder(limits: limits)
        var sflowLimits = SFlowDecoder.Limits()
        sflowLimits.agents = 3
        var sflowDecoder = SFlowDecoder(limits: sflowLimits)
        var steps: [Step] = []
        var problems: [String] = []
        var sentinel = FlowRecord()
        sentinel.bytes = 4242
        for (index, range) in chunks(input).enumerated() {
            let exporter = exporters[Int(input[range.lowerBound]) % exporters.count]
            let datagram = UnsafeRawBufferPointer(rebasing: input[(range.lowerBound + 1)..<range.upperBound])
            if SFlowDecoder.isSFlow(datagram) {
                let (step, found) = sflow(datagram, from: exporter, index: index, decoder: &sflowDecoder, sentinel: sentinel)
                steps.append(step)
                problems += found
                continue
            }
            let before = decoder
            var records = [sentinel]
            let outcome = decoder.decode(datagram, from: exporter, into: &records)
            if records.first != sentinel { problems.append("#\(index): earlier records changed") }
            let added = Array(records.dropFirst())
            if let error = outcome.error, !added.isEmpty || outcome.records != 0 {
                problems.append("#\(index): rejected (\(error)) but appended \(added.count) records")
            }
            if outcome.error == nil && added.count != outcome.records {
                problems.append("#\(index): outcome.records \(outcome.records), appended \(added.count)")
            }
            if !added.allSatisfy({ $0.exporter == exporter && $0.version == outcome.version }) {
                problems.append("#\(index): a record of another exporter or version")
            }
            if decoder.stateBytes > limits.bytesTotal {
                problems.append("#\(index): \(decoder.stateBytes) bytes of state, limit \(limits.bytesTotal)")
            }
            for exporter in exporters where decoder.stateBytes(of: exporter) > limits.bytesPerExporter {
                problems.append("#\(index): \(exporter) holds \(decoder.stateBytes(of: exporter)) bytes, limit \(limits.bytesPerExporter)")
            }
            // The decoder is a value: the same state and datagram decode the same way again.
            var again = before
            var replayed: [FlowRecord] = []
            if again.decode(datagram, from: exporter, into: &replayed) != outcome || replayed != added {
                problems.append("#\(index): decoding is not deterministic")
            }
            steps.append(Step(exporter: exporter, outcome: outcome, records: added))
        }
        return (steps, problems)
    }

    /// One sFlow datagram, with the sFlow decoder's invariants.
    static func sflow(
        _ datagram: UnsafeRawBufferPointer, from exporter: IPAddress, index: Int, decoder: inout SFlowDecoder, sentinel: FlowRecord
    ) -> (Step, [String]) {
        var problems: [String] = []
        let before = decoder
        var records = [sentinel]
        var counters: [InterfaceCounters] = []
        var sflow = SFlowOutcome()
        let outcome = decoder.decode(datagram, from: exporter, now: 1_000, into: &records, counters: &counters, sflow: &sflow)
        if records.first != sentinel { problems.append("#\(index): earlier records changed") }
        let added = Array(records.dropFirst())
        if outcome.error != nil && (!added.isEmpty || !counters.isEmpty || sflow != SFlowOutcome() || !decoder.gatewayPaths.isEmpty) {
            problems.append("#\(index): rejected sFlow datagram left records, counters or counts")
        }
        if outcome.error == nil && added.count != outcome.records {
            problems.append("#\(index): outcome.records \(outcome.records), appended \(added.count)")
        }
        if !added.allSatisfy({ $0.exporter == exporter && $0.version == 5 && $0.packets == 1 }) {
            problems.append("#\(index): an sFlow record of another exporter or version, or not one packet")
        }
        if sflow.flowSamples < added.count || !decoder.gatewayPaths.allSatisfy({ (1..<records.count).contains($0.record) }) {
            problems.append("#\(index): more flows than flow samples, or a gateway path of no flow")
        }
        if decoder.agentCount > decoder.limits.agents {
            problems.append("#\(index): \(decoder.agentCount) agents followed, limit \(decoder.limits.agents)")
        }
        var again = before
        var replayed: [FlowRecord] = [sentinel]
        var replayedCounters: [InterfaceCounters] = []
        var replayedCounts = SFlowOutcome()
        if again.decode(datagram, from: exporter, now: 1_000, into: &replayed, counters: &replayedCounters, sflow: &replayedCounts) != outcome
            || replayed != records || replayedCounters != counters || replayedCounts != sflow {
            problems.append("#\(index): sFlow decoding is not deterministic")
        }
        return (Step(exporter: exporter, outcome: outcome, records: added), problems)
    }

    public static func replay(_ input: [UInt8]) -> (steps: [Step], problems: [String]) {
        input.withUnsafeBytes { replay($0) }
    }
}
