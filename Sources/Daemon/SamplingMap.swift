import FlowWire
import PathflowConfig

/// pmacct's sampling_map applied to decoded records: the first matching rule sets the rate.
struct SamplingMap: Sendable {
    var rules: [SamplingRule] = []
    var isEmpty: Bool { rules.isEmpty }

    @inline(__always)
    func rate(for record: FlowRecord) -> UInt32? {
        rules.samplingRate(exporter: record.exporter, input: record.inIface, output: record.outIface)
            .map { UInt32(clamping: $0) }
    }
}
