import FlowWire
import PathflowConfig

/// pmacct's sampling_map applied to decoded records: the first matching rule sets the rate.
struct SamplingMap: Sendable {
    var rules: [SamplingRule] = []
    var isEmpty: Bool { rules.isEmpty }

    @inline(__always)
    func rate(for record: FlowRecord) -> UInt32? {
        // sFlow's agent, as sfacctd matches it; NetFlow's UDP source, as nfacctd does.
        let sender = record.version == 5 && !record.agentAddress.isNone ? record.agentAddress : record.exporter
        return rules.samplingRate(exporter: sender, input: record.inIface, output: record.outIface)
            .map { UInt32(clamping: $0) }
    }
}
