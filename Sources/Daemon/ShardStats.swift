import FlowWire
import NetCore

/// Counters one shard keeps while it decodes; copied out for the metrics endpoint.
struct ShardStats: Sendable {
    struct Exporter: Sendable {
        var datagrams: UInt64 = 0
        var records: UInt64 = 0
        var unknownTemplateSets: UInt64 = 0
        var sequenceLost: UInt64 = 0
        var sequenceResets: UInt64 = 0
        var templatesLearned: UInt64 = 0
        var templatesWithdrawn: UInt64 = 0
        var recordsWithoutFlowFields: UInt64 = 0
        var templatesRefused: UInt64 = 0
        var sessionsRefused: UInt64 = 0
        /// Records with a counter above Int64.max, held at it.
        var countersSaturated: UInt64 = 0
        var errors: [UInt64] = Array(repeating: 0, count: FlowDecodeError.allCases.count)
    }

    var exporters: [IPAddress: Exporter] = [:]
    /// The entry of exporters past the per-shard count (labelled `other` in /metrics).
    static let otherExporters = IPAddress.none
    /// Flows each view dropped because its table was full, by view index.
    var viewDroppedFlows: [UInt64] = []
    /// Flows mapped to BGP paths, by `PathMatchCode` raw value (empty without BGP).
    var pathMatches: [UInt64] = []
    /// Decoder state: templates evicted and expired, sessions evicted (any exporter's); and now,
    /// the bytes and sessions it holds.
    var templatesEvicted: UInt64 = 0
    var templatesExpired: UInt64 = 0
    var sessionsEvicted: UInt64 = 0
    /// Counters held at their maximum: renormalised records, and rows whose sums reached it.
    var countersSaturated: UInt64 = 0
    var decoderBytes: UInt64 = 0
    var decoderSessions: UInt64 = 0
    /// sFlow samples and records, in all.
    var sflow = SFlowOutcome()
    /// sFlow counter records of interfaces past the per-shard limit.
    var interfaceCountersRefused: UInt64 = 0
    /// sFlow counter records not kept for sfacctd_counter_file (too many between two writes).
    var counterRecordsDropped: UInt64 = 0

    mutating func merge(_ other: ShardStats) {
        for (address, stats) in other.exporters {
            var mine = exporters[address, default: Exporter()]
            mine.datagrams += stats.datagrams
            mine.records += stats.records
            mine.unknownTemplateSets += stats.unknownTemplateSets
            mine.sequenceLost += stats.sequenceLost
            mine.sequenceResets += stats.sequenceResets
            mine.templatesLearned += stats.templatesLearned
            mine.templatesWithdrawn += stats.templatesWithdrawn
            mine.recordsWithoutFlowFields += stats.recordsWithoutFlowFields
            mine.templatesRefused += stats.templatesRefused
            mine.sessionsRefused += stats.sessionsRefused
            mine.countersSaturated += stats.countersSaturated
            for i in 0..<mine.errors.count { mine.errors[i] += stats.errors[i] }
            exporters[address] = mine
        }
        templatesEvicted += other.templatesEvicted
        templatesExpired += other.templatesExpired
        sessionsEvicted += other.sessionsEvicted
        countersSaturated += other.countersSaturated
        decoderBytes += other.decoderBytes
        decoderSessions += other.decoderSessions
        sflow.add(other.sflow)
        interfaceCountersRefused += other.interfaceCountersRefused
        counterRecordsDropped += other.counterRecordsDropped
        if viewDroppedFlows.count < other.viewDroppedFlows.count {
            viewDroppedFlows += Array(repeating: 0, count: other.viewDroppedFlows.count - viewDroppedFlows.count)
        }
        for (i, v) in other.viewDroppedFlows.enumerated() { viewDroppedFlows[i] += v }
        if pathMatches.count < other.pathMatches.count {
            pathMatches += Array(repeating: 0, count: other.pathMatches.count - pathMatches.count)
        }
        for (i, v) in other.pathMatches.enumerated() { pathMatches[i] += v }
    }
}

extension FlowDecodeError {
    static let indexByCase: [FlowDecodeError: Int] = Dictionary(
        uniqueKeysWithValues: allCases.enumerated().map { ($0.element, $0.offset) })
}
