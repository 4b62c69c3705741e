import Aggregation
import BGPWire
import Enrichment
import FlowCollector
import FlowWire
import NetCore
import Storage

/// Decodes and aggregates the datagrams of the exporters one socket owns. Lives on that
/// socket's event loop.
///
/// Everything that changes per datagram is one value (`State`), so a datagram costs one
/// exclusive access to the shard, not one per record and field.
final class CollectorShard: DatagramSink {
    struct Settings {
        var sampling: SamplingMap
        let renormalizes: Bool
        /// nfacctd_as: netflow (or longest) keeps the exporter's ASNs; pmacct's default leaves
        /// them 0, and with `bgp` they come from the RIB alone.
        let keepsASNumbers: Bool
        /// Maps flows to their BGP paths when the BGP daemon runs.
        let enricher: Enricher?
        /// AS paths and community lists by number (sFlow's extended gateway gives them too).
        let texts: TextPool
    }

    struct State {
        var decoder: FlowDecoder
        var sflow = SFlowDecoder()
        /// Interface counters of the last sFlow datagram, and what they add up to.
        var counters: [InterfaceCounters] = []
        var interfaceCounters = SFlowCounters()
        var views: [View]
        var stats = ShardStats()
        var records: [FlowRecord] = []
    }

    var settings: Settings
    var state: State

    init(
        views: [ViewDefinition], sampling: SamplingMap, renormalizes: Bool, keepsASNumbers: Bool,
        decoderLimits: FlowDecoder.Limits = FlowDecoder.Limits(), enricher: Enricher? = nil, texts: TextPool = TextPool(),
        keepsCounterRecords: Bool = false
    ) {
        settings = Settings(
            sampling: sampling, renormalizes: renormalizes, keepsASNumbers: keepsASNumbers, enricher: enricher, texts: texts)
        state = State(decoder: FlowDecoder(limits: decoderLimits), views: views.map(View.init))
        state.stats.viewDroppedFlows = Array(repeating: 0, count: views.count)
        state.records.reserveCapacity(1024)
        state.interfaceCounters = SFlowCounters(keepsRecords: keepsCounterRecords)
    }

    func receive(_ datagram: UnsafeRawBufferPointer, from sender: IPAddress, port: UInt16, arrival: UInt32) {
        state.receive(datagram, from: sender, port: port, arrival: arrival, settings: settings)
    }

    /// Maps reloaded on SIGUSR2.
    func reload(sampling: SamplingMap, agentMap: [Enricher.AgentMapEntry]) {
        settings.sampling = sampling
        settings.enricher?.replaceAgentMap(agentMap)
    }

    func take(view index: Int) -> DrainedRows {
        state.views[index].take()
    }

    /// sFlow's interface counters per minute, and the records for sfacctd_counter_file, since
    /// the last take.
    func takeInterfaceCounters() -> SFlowCounterBatch {
        let (rows, records) = state.interfaceCounters.take()
        return SFlowCounterBatch(rows: rows, records: records)
    }

    /// Examples of flows whose next-hop no path carried, since the last call.
    func takeMismatches() -> (samples: [Enricher.MismatchSample], notSampled: UInt64) {
        settings.enricher?.takeMismatches() ?? ([], 0)
    }

    func snapshot() -> ShardStats {
        var copy = state.stats
        copy.decoderBytes = UInt64(state.decoder.stateBytes)
        copy.decoderSessions = UInt64(state.decoder.sessionCount)
        copy.interfaceCountersRefused = state.interfaceCounters.refused
        copy.counterRecordsDropped = state.interfaceCounters.recordsDropped
        for (i, view) in state.views.enumerated() {
            copy.viewDroppedFlows[i] = view.droppedFlows
            copy.countersSaturated += view.saturatedCounters
        }
        if let enricher = settings.enricher { copy.pathMatches = enricher.matches }
        return copy
    }
}

@available(*, unavailable)
extension CollectorShard: Sendable {}

extension CollectorShard.State {
    mutating func receive(
        _ datagram: UnsafeRawBufferPointer, from sender: IPAddress, port: UInt16, arrival: UInt32,
        settings: CollectorShard.Settings
    ) {
        records.removeAll(keepingCapacity: true)
        let outcome: DecodeOutcome
        if SFlowDecoder.isSFlow(datagram) {
            counters.removeAll(keepingCapacity: true)
            outcome = sflow.decode(datagram, from: sender, now: arrival, into: &records, counters: &counters, sflow: &stats.sflow)
            for c in counters { interfaceCounters.add(c) }
            // The extended gateway's AS path and communities, as sfacctd writes them, when the
            // ASNs come from sFlow (sfacctd_as: sflow, its default).
            if settings.keepsASNumbers {
                for path in sflow.gatewayPaths {
                    // sfacctd lists every segment's ASNs in order, sets unmarked.
                    let asPath = path.segments.flatMap(\.asns).map(String.init).joined(separator: " ")
                    records[path.record].asPathText = settings.texts.number(asPath)
                    records[path.record].stdCommText = settings.texts.number(PmacctText.communities(path.communities))
                }
            }
        } else {
            outcome = decoder.decode(datagram, from: sender, port: port, now: arrival, into: &records)
        }
        count(outcome, from: sender)
        if records.isEmpty { return }
        let mapsSampling = !settings.sampling.isEmpty
        if mapsSampling || settings.renormalizes || !settings.keepsASNumbers {
            let keepsPeerSrcAS = settings.keepsASNumbers || settings.enricher?.settings.peerSrcASFromBGP == true
            for index in records.indices {
                if mapsSampling, let rate = settings.sampling.rate(for: records[index]) {
                    records[index].samplingRate = rate
                }
                if settings.renormalizes && !renormalize(&records[index]) { stats.countersSaturated += 1 }
                if !settings.keepsASNumbers {
                    records[index].srcAS = 0
                    records[index].dstAS = 0
                    records[index].peerDstAS = 0
                    records[index].localPref = 0
                    if !keepsPeerSrcAS { records[index].peerSrcAS = 0 }
                }
            }
        }
        settings.enricher?.enrich(&records)
        for v in views.indices {
            views[v].add(contentsOf: records, arrival: arrival)
        }
    }

    /// Exporters counted apart, per shard; the rest (a flood of spoofed addresses) share one entry,
    /// so neither memory nor /metrics grows with them.
    static let exportersCounted = 4096

    mutating func count(_ outcome: DecodeOutcome, from sender: IPAddress) {
        // One dictionary access per datagram, not per record.
        let index = stats.exporters.index(forKey: sender) ?? {
            let key = stats.exporters.count < Self.exportersCounted ? sender : ShardStats.otherExporters
            if stats.exporters[key] == nil { stats.exporters[key] = ShardStats.Exporter() }
            return stats.exporters.index(forKey: key)!
        }()
        stats.exporters.values[index].add(outcome)
        if outcome.templatesEvicted > 0 || outcome.templatesExpired > 0 || outcome.sessionsEvicted > 0 {
            stats.templatesEvicted += UInt64(outcome.templatesEvicted)
            stats.templatesExpired += UInt64(outcome.templatesExpired)
            stats.sessionsEvicted += UInt64(outcome.sessionsEvicted)
        }
    }
}

extension ShardStats.Exporter {
    mutating func add(_ outcome: DecodeOutcome) {
        datagrams += 1
        records += UInt64(outcome.records)
        if let error = outcome.error {
            errors[FlowDecodeError.indexByCase[error] ?? 0] += 1
        }
        unknownTemplateSets += UInt64(outcome.unknownTemplateSets)
        sequenceLost += outcome.sequenceLost
        if outcome.sequenceReset { sequenceResets += 1 }
        templatesLearned += UInt64(outcome.templatesLearned)
        templatesWithdrawn += UInt64(outcome.templatesWithdrawn)
        templatesRefused += UInt64(outcome.templatesRefused)
        sessionsRefused += UInt64(outcome.sessionsRefused)
        recordsWithoutFlowFields += UInt64(outcome.recordsWithoutFlowFields)
        countersSaturated += UInt64(outcome.countersSaturated)
    }
}
