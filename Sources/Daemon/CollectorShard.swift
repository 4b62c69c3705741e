import Aggregation
import Enrichment
import FlowCollector
import FlowWire
import NetCore

/// Decodes and aggregates the datagrams of one socket. Lives on that socket's event loop.
final class CollectorShard: DatagramSink {
    var decoder = FlowDecoder()
    var views: [View]
    var stats = ShardStats()
    let sampling: SamplingMap
    let renormalizes: Bool
    /// nfacctd_as: netflow (or longest) keeps the exporter's ASNs; pmacct's default leaves them 0,
    /// and with `bgp` they come from the RIB alone.
    let keepsASNumbers: Bool
    /// Maps flows to their BGP paths when the BGP daemon runs.
    let enricher: Enricher?
    private var records: [FlowRecord] = []

    init(views: [ViewDefinition], sampling: SamplingMap, renormalizes: Bool, keepsASNumbers: Bool, enricher: Enricher? = nil) {
        self.views = views.map(View.init)
        self.sampling = sampling
        self.renormalizes = renormalizes
        self.keepsASNumbers = keepsASNumbers
        self.enricher = enricher
        self.stats.viewDroppedFlows = Array(repeating: 0, count: views.count)
        records.reserveCapacity(1024)
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from sender: IPAddress, port: UInt16, arrival: UInt32) {
        records.removeAll(keepingCapacity: true)
        let outcome = decoder.decode(datagram, from: sender, port: port, into: &records)
        count(outcome, from: sender)
        if records.isEmpty { return }
        let mapsSampling = !sampling.isEmpty
        if mapsSampling || renormalizes || !keepsASNumbers {
            let keepsPeerSrcAS = keepsASNumbers || enricher?.settings.peerSrcASFromBGP == true
            for index in records.indices {
                if mapsSampling, let rate = sampling.rate(for: records[index]) {
                    records[index].samplingRate = rate
                }
                if renormalizes { renormalize(&records[index]) }
                if !keepsASNumbers {
                    records[index].srcAS = 0
                    records[index].dstAS = 0
                    records[index].peerDstAS = 0
                    if !keepsPeerSrcAS { records[index].peerSrcAS = 0 }
                }
            }
        }
        enricher?.enrich(&records)
        addToViews(arrival: arrival)
    }

    @inline(__always)
    func addToViews(arrival: UInt32) {
        for v in views.indices {
            views[v].add(contentsOf: records, arrival: arrival)
        }
    }

    func count(_ outcome: DecodeOutcome, from sender: IPAddress) {
        // One dictionary access per datagram, not per record.
        let index = stats.exporters.index(forKey: sender) ?? {
            stats.exporters[sender] = ShardStats.Exporter()
            return stats.exporters.index(forKey: sender)!
        }()
        stats.exporters.values[index].datagrams += 1
        stats.exporters.values[index].records += UInt64(outcome.records)
        if let error = outcome.error {
            stats.exporters.values[index].errors[FlowDecodeError.indexByCase[error] ?? 0] += 1
        }
        if outcome.unknownTemplateSets > 0 {
            stats.exporters.values[index].unknownTemplateSets += UInt64(outcome.unknownTemplateSets)
        }
        if outcome.sequenceLost > 0 { stats.exporters.values[index].sequenceLost += outcome.sequenceLost }
        if outcome.sequenceReset { stats.exporters.values[index].sequenceResets += 1 }
        if outcome.templatesLearned > 0 {
            stats.exporters.values[index].templatesLearned += UInt64(outcome.templatesLearned)
        }
        if outcome.recordsWithoutFlowFields > 0 {
            stats.exporters.values[index].recordsWithoutFlowFields += UInt64(outcome.recordsWithoutFlowFields)
        }
        if outcome.templatesWithdrawn > 0 {
            stats.exporters.values[index].templatesWithdrawn += UInt64(outcome.templatesWithdrawn)
        }
    }

    func take(view index: Int) -> DrainedRows {
        views[index].take()
    }

    func snapshot() -> ShardStats {
        var copy = stats
        for (i, view) in views.enumerated() { copy.viewDroppedFlows[i] = view.droppedFlows }
        if let enricher { copy.pathMatches = enricher.matches }
        return copy
    }
}

@available(*, unavailable)
extension CollectorShard: Sendable {}
