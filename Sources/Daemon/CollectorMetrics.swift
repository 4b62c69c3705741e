import Aggregation
import Console
import FlowCollector
import FlowWire
import NetCore
import Prometheus
import Storage
import NIOConcurrencyHelpers

/// The collector's Prometheus registry. Shards count in plain integers on their own threads;
/// a scrape gathers their totals and moves the registry's counters forward by the difference.
final class CollectorMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let port = NIOLockedValueBox<Int?>(nil)
    /// The UDP intake, once bound: its count of datagrams steered between sockets.
    let intake = NIOLockedValueBox<UDPIntake?>(nil)
    /// The HTTP endpoint's limits, once it listens.
    let http = NIOLockedValueBox<MetricsServer.Gate?>(nil)
    /// The console's counters, when console_listen serves it.
    let console = NIOLockedValueBox<ConsoleCounters?>(nil)
    private let published = NIOLockedValueBox<Published>(Published())
    private let flushDuration: [String: DurationHistogram]
    private let rowsWritten: [String: Counter]
    private let flushErrors: [String: Counter]
    private let rowsLost: [String: Counter]
    private let healthy: [String: Gauge]
    private let backlog: [String: Gauge]

    struct Published {
        var exporters: [IPAddress: ShardStats.Exporter] = [:]
        var viewDropped: [UInt64] = []
        var pathMatches: [UInt64] = []
        var socketDrops: UInt64 = 0
        var steered: UInt64 = 0
        var denied: UInt64 = 0
        var httpRefused: UInt64 = 0
        var httpStreamsRefused: UInt64 = 0
        var templatesEvicted: UInt64 = 0
        var templatesExpired: UInt64 = 0
        var sessionsEvicted: UInt64 = 0
        var countersSaturated: UInt64 = 0
        var sflow: [UInt64] = Array(repeating: 0, count: 7)
        var interfacesRefused: UInt64 = 0
        var counterRecordsDropped: UInt64 = 0
        /// Storage backends' counters by `name|view`.
        var storage: [String: Double] = [:]
        /// The console's counters by name and label.
        var console: [String: UInt64] = [:]
    }

    let viewNames: [String]

    init(viewNames: [String]) {
        self.viewNames = viewNames
        var duration: [String: DurationHistogram] = [:]
        var rows: [String: Counter] = [:]
        var errors: [String: Counter] = [:]
        var lost: [String: Counter] = [:]
        var health: [String: Gauge] = [:]
        var pending: [String: Gauge] = [:]
        let buckets: [Duration] = [.milliseconds(1), .milliseconds(10), .milliseconds(100), .milliseconds(500),
                                   .seconds(1), .seconds(5), .seconds(15), .seconds(60)]
        for name in viewNames {
            duration[name] = registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(
                    metricName: "pathflow_flush_duration", unitName: "seconds",
                    helpText: "Time to write one flush of a view to its database"),
                labels: [("view", name)], buckets: buckets)
            rows[name] = Self.counter(registry, "pathflow_rows_written_total", labels: [("view", name)], help: "Rows upserted into the view's table")
            errors[name] = Self.counter(registry, "pathflow_flush_errors_total", labels: [("view", name)], help: "Flushes that failed to write")
            lost[name] = Self.counter(registry, "pathflow_rows_lost_total", labels: [("view", name)],
                                      help: "Rows given up: past the view's sql_backlog_rows while its flushes failed, or at a stop that could not write them")
            health[name] = registry.makeGauge(descriptor: MetricNameDescriptor(
                metricName: "pathflow_storage_healthy", unitName: "",
                helpText: "1 when the view's last flush was written, 0 while its flushes fail"), labels: [("view", name)])
            health[name]?.set(Double(1))
            pending[name] = registry.makeGauge(descriptor: MetricNameDescriptor(
                metricName: "pathflow_flush_backlog_rows", unitName: "",
                helpText: "Rows of failed flushes waiting for the next try"), labels: [("view", name)])
        }
        flushDuration = duration
        rowsWritten = rows
        flushErrors = errors
        rowsLost = lost
        healthy = health
        backlog = pending
    }

    func recordFlush(view: String, rows: Int, seconds: Double) {
        flushDuration[view]?.record(.nanoseconds(Int64(seconds * 1e9)))
        rowsWritten[view]?.increment(by: Int64(rows))
        healthy[view]?.set(Double(1))
        backlog[view]?.set(Double(0))
    }

    /// A failed flush: its rows are kept for the next try (`backlogRows` now), except `dropped`
    /// past the backlog's bound.
    func recordFlushError(view: String, backlogRows: Int, dropped: Int) {
        flushErrors[view]?.increment()
        if dropped > 0 { rowsLost[view]?.increment(by: Int64(dropped)) }
        healthy[view]?.set(Double(0))
        backlog[view]?.set(Double(backlogRows))
    }

    /// Moves registry counters to the shards' totals.
    func publish(_ stats: ShardStats) {
        let port = self.port.withLockedValue { $0 }
        let drops = port.flatMap { SocketDrops.read(port: $0) }
        published.withLockedValue { last in
            for (address, now) in stats.exporters {
                let before = last.exporters[address] ?? ShardStats.Exporter()
                let label = address == ShardStats.otherExporters ? "other" : address.description
                let labels = [("exporter", label)]
                func bump(_ name: String, _ help: String, _ a: UInt64, _ b: UInt64) {
                    guard a > b else { return }
                    counter(name, labels: labels, help: help).increment(by: Int64(a - b))
                }
                bump("pathflow_flow_datagrams_total", "Datagrams received per exporter", now.datagrams, before.datagrams)
                bump("pathflow_flow_records_total", "Flow records decoded per exporter", now.records, before.records)
                bump("pathflow_flow_unknown_template_sets_total",
                     "Data sets dropped because their template was not known", now.unknownTemplateSets, before.unknownTemplateSets)
                bump("pathflow_flow_sequence_lost_total",
                     "Records (v5, IPFIX) or datagrams (v9) missing by sequence number", now.sequenceLost, before.sequenceLost)
                bump("pathflow_flow_sequence_resets_total",
                     "Sequence numbers that went backwards or jumped: exporter restarts", now.sequenceResets, before.sequenceResets)
                bump("pathflow_flow_templates_learned_total", "Templates learned or redefined", now.templatesLearned, before.templatesLearned)
                bump("pathflow_flow_templates_withdrawn_total", "Templates withdrawn", now.templatesWithdrawn, before.templatesWithdrawn)
                bump("pathflow_flow_templates_refused_total",
                     "Templates not kept: past the session's count or the exporter's memory limit",
                     now.templatesRefused, before.templatesRefused)
                bump("pathflow_flow_sessions_refused_total",
                     "New transport sessions / observation domains refused (the exporter's or the total limit): their templates are not kept",
                     now.sessionsRefused, before.sessionsRefused)
                bump("pathflow_flow_counters_saturated_total",
                     "Flow records with a packet, byte or flow count above Int64.max, held at it",
                     now.countersSaturated, before.countersSaturated)
                bump("pathflow_flow_records_without_flow_fields_total",
                     "Data records of templates with neither counters nor addresses (events, frame sections): not flows",
                     now.recordsWithoutFlowFields, before.recordsWithoutFlowFields)
                for (i, reason) in FlowDecodeError.allCases.enumerated() where now.errors[i] > before.errors[i] {
                    counter("pathflow_flow_decode_errors_total", labels: [("exporter", label), ("reason", reason.rawValue)], help: "Datagrams rejected, by reason").increment(by: Int64(now.errors[i] - before.errors[i]))
                }
                last.exporters[address] = now
            }
            for (i, dropped) in stats.viewDroppedFlows.enumerated() where i < viewNames.count {
                let before = i < last.viewDropped.count ? last.viewDropped[i] : 0
                if dropped > before {
                    counter("pathflow_view_dropped_flows_total", labels: [("view", viewNames[i])],
                            help: "Flows dropped because the view's table was full").increment(by: Int64(dropped - before))
                }
            }
            last.viewDropped = stats.viewDroppedFlows
            for (i, n) in stats.pathMatches.enumerated() {
                let before = i < last.pathMatches.count ? last.pathMatches[i] : 0
                guard n > before, let code = PathMatchCode(rawValue: UInt8(i)), code != .none else { continue }
                counter("pathflow_flow_path_match_total", labels: [("match", code.description)],
                        help: "Flows mapped to a BGP path, by how (exact, covering, best) or why not (mismatch, no_route, no_peer)")
                    .increment(by: Int64(n - before))
            }
            last.pathMatches = stats.pathMatches
            func bumpGlobal(_ name: String, _ help: String, _ now: UInt64, _ before: inout UInt64) {
                let c = counter(name, labels: [], help: help)
                if now > before { c.increment(by: Int64(now - before)) }
                before = max(now, before)
            }
            bumpGlobal("pathflow_flow_templates_evicted_total",
                       "Templates evicted, oldest first from the exporter holding the most, to keep the decoder's state within its total",
                       stats.templatesEvicted, &last.templatesEvicted)
            bumpGlobal("pathflow_flow_templates_expired_total",
                       "Templates forgotten because nobody refreshed or used them within nfacctd_templates_lifetime",
                       stats.templatesExpired, &last.templatesExpired)
            bumpGlobal("pathflow_rows_counters_saturated_total",
                       "Counters held at their maximum: renormalised records, and rows whose sums reached Int64.max",
                       stats.countersSaturated, &last.countersSaturated)
            bumpGlobal("pathflow_flow_sessions_evicted_total", "Idle exporter sessions closed to make room for new ones",
                       stats.sessionsEvicted, &last.sessionsEvicted)
            bumpGlobal("pathflow_sflow_counter_file_records_dropped_total",
                       "sFlow counter records not written to sfacctd_counter_file: more than a write holds arrived in a minute",
                       stats.counterRecordsDropped, &last.counterRecordsDropped)
            bumpGlobal("pathflow_sflow_interfaces_refused_total",
                       "sFlow counter records of interfaces not followed: past the per-thread limit of interfaces",
                       stats.interfaceCountersRefused, &last.interfacesRefused)
            let sflow = stats.sflow
            for (i, (name, help, value)) in [
                ("pathflow_sflow_flow_samples_total", "sFlow flow samples (and expanded ones) read", UInt64(sflow.flowSamples)),
                ("pathflow_sflow_counter_samples_total", "sFlow counter samples (and expanded ones) read", UInt64(sflow.counterSamples)),
                ("pathflow_sflow_sampler_drops_total",
                 "Packets sFlow agents could not sample for lack of resources (the samples' drops field)", sflow.samplesDropped),
                ("pathflow_sflow_unknown_samples_total", "sFlow samples of a format or enterprise not decoded, skipped by their length",
                 UInt64(sflow.unknownSamples)),
                ("pathflow_sflow_unknown_records_total", "sFlow flow or counter records of a format not decoded, skipped by their length",
                 UInt64(sflow.unknownRecords)),
                ("pathflow_sflow_headers_not_ip_total",
                 "sFlow flow samples whose raw packet header holds no IP packet (or a malformed one, or a protocol not read): not flows",
                 UInt64(sflow.headersNotIP)),
                ("pathflow_sflow_samples_without_flow_total", "sFlow flow samples with no record giving addresses: not flows",
                 UInt64(sflow.samplesWithoutFlow)),
            ].enumerated() {
                bumpGlobal(name, help, value, &last.sflow[i])
            }
            gauge("pathflow_flow_decoder_state_bytes", help: "Memory the decoders' templates, samplers and sessions hold, by their own accounting")
                .set(Double(stats.decoderBytes))
            gauge("pathflow_flow_decoder_sessions", help: "Exporter sessions (address and port, observation domain) with decoder state")
                .set(Double(stats.decoderSessions))
            if let gate = http.withLockedValue({ $0 }) {
                let refused = gate.refused
                bumpGlobal("pathflow_http_connections_evicted_total",
                           "HTTP connections closed to make room for a new one: the endpoint's connection limit was reached",
                           refused.connections, &last.httpRefused)
                bumpGlobal("pathflow_http_streams_refused_total",
                           "Streamed answers (table dumps) refused with 503: too many at once",
                           refused.streams, &last.httpStreamsRefused)
                gauge("pathflow_http_connections", help: "HTTP connections open on the metrics endpoint").set(Double(gate.connections))
            }
            if let console = console.withLockedValue({ $0 }) {
                for m in console.metrics {
                    let labels = m.label.map { [($0.name, $0.value)] } ?? []
                    switch m.kind {
                    case .gauge: gauge(m.name, help: m.help).set(Double(m.value))
                    case .counter:
                        let key = m.name + (m.label.map { "|" + $0.value } ?? "")
                        let before = last.console[key] ?? 0
                        let c = counter(m.name, labels: labels, help: m.help)
                        if m.value > before { c.increment(by: Int64(m.value - before)) }
                        last.console[key] = max(m.value, before)
                    }
                }
            }
            if let denied = intake.withLockedValue({ $0?.filter.denied }), denied > last.denied {
                counter("pathflow_flow_datagrams_denied_total", labels: [],
                        help: "Datagrams from exporters not in nfacctd_allow_file (sfacctd_allow_file), dropped before decoding")
                    .increment(by: Int64(denied - last.denied))
                last.denied = denied
            }
            if let steered = intake.withLockedValue({ $0?.steered }), steered > last.steered {
                counter("pathflow_flow_datagrams_steered_total", labels: [],
                        help: "Datagrams read on one socket and decoded by the shard that owns their exporter")
                    .increment(by: Int64(steered - last.steered))
                last.steered = steered
            }
            if let drops {
                let counter = counter("pathflow_udp_socket_drops_total", labels: [], help: "Datagrams the kernel dropped on the collector's sockets (full receive buffer)")
                if drops > last.socketDrops { counter.increment(by: Int64(drops - last.socketDrops)) }
                last.socketDrops = max(drops, last.socketDrops)
            }
        }
    }

    /// Moves the storage backends' metrics (`ViewStorage.counters`) to their current values:
    /// counters forward by the difference since the last scrape, gauges set.
    func publishStorage(_ views: [(view: String, counters: [StorageCounter])]) {
        published.withLockedValue { last in
            for (view, counters) in views {
                for c in counters {
                    let labels = [("view", view)]
                    switch c.kind {
                    case .gauge:
                        registry.makeGauge(
                            descriptor: MetricNameDescriptor(metricName: c.name, unitName: "", helpText: c.help), labels: labels
                        ).set(c.value)
                    case .counter:
                        let key = c.name + "|" + view
                        let before = last.storage[key] ?? 0
                        if c.value > before {
                            counter(c.name, labels: labels, help: c.help).increment(by: Int64(c.value - before))
                            last.storage[key] = c.value
                        }
                    }
                }
            }
        }
    }

    /// sFlow's interface counters written to `interface_counters`, writes that failed, and rows
    /// given up past the backlog's limit.
    func recordInterfaceCounters(written: Int, failed: Bool, dropped: Int) {
        counter("pathflow_sflow_interface_rows_written_total", labels: [],
                help: "Rows (interface and minute) of sFlow interface counters written to interface_counters")
            .increment(by: Int64(written))
        if failed {
            counter("pathflow_sflow_interface_write_errors_total", labels: [],
                    help: "Writes of interface_counters that failed; their rows are kept for the next")
                .increment()
        }
        counter("pathflow_sflow_interface_rows_dropped_total", labels: [],
                help: "Rows of interface counters given up: the backlog of failed writes was full")
            .increment(by: Int64(dropped))
    }

    /// Counter records that could not be written to sfacctd_counter_file.
    func recordCounterLogFailure(lines: Int) {
        counter("pathflow_sflow_counter_file_records_lost_total", labels: [],
                help: "sFlow counter records that could not be written to sfacctd_counter_file (the file could not be written)")
            .increment(by: Int64(lines))
    }

    func gauge(_ name: String, help: String) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help))
    }

    /// A counter named `NAME_total` in the registry (made once, then found again).
    func counter(_ name: String, labels: [(String, String)], help: String) -> Counter {
        Self.counter(registry, name, labels: labels, help: help)
    }

    static func counter(_ registry: PrometheusCollectorRegistry, _ name: String, labels: [(String, String)], help: String) -> Counter {
        let base = name.hasSuffix("_total") ? String(name.dropLast(6)) : name
        return registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: base, unitName: "total", helpText: help), labels: labels)
    }

    func render() -> String {
        registry.emitToString()
    }
}
