import BGPSpeaker
import NetCore
import Prometheus
import RIB

/// The BGP daemon's counters and gauges, in the collector's registry. Updated on the BGP event
/// loop (the RIB writer), read by scrapes.
final class BGPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let sessionsEstablished: Gauge
    let ribAttributeSets: Gauge
    let ribPaths: Gauge
    let ribPrefixes: Gauge
    /// Connections closed before completing the OPEN exchange, by `PreOpenClose`; no peer label,
    /// as the addresses are anyone's.
    let preOpenClosed: [PreOpenClose: Counter]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        sessionsEstablished = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "pathflow_bgp_sessions_established", unitName: "", helpText: "BGP sessions in state Established"))
        ribAttributeSets = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "pathflow_rib_attribute_sets", unitName: "", helpText: "Distinct attribute sets held (interned, shared across prefixes and routers)"))
        ribPaths = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "pathflow_rib_paths", unitName: "", helpText: "Paths held in the RIB, all routers"))
        ribPrefixes = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "pathflow_rib_prefixes", unitName: "", helpText: "Prefixes held in the RIB, summed over routers"))
        // Made up front so that they read 0 before the first one.
        var preOpenClosed: [PreOpenClose: Counter] = [:]
        for reason in PreOpenClose.allCases {
            preOpenClosed[reason] = reason == .openTimeout
                ? CollectorMetrics.counter(registry, "pathflow_bgp_open_timeouts_total", labels: [],
                                           help: "Connections closed with NOTIFICATION 4/0 for sending no OPEN in time")
                : CollectorMetrics.counter(registry, "pathflow_bgp_pre_open_evictions_total", labels: [("bound", reason.rawValue)],
                                           help: "Connections still waiting for an OPEN closed with Cease 6/5 to keep within the per-address or total bound")
        }
        self.preOpenClosed = preOpenClosed
    }

    func counter(_ name: String, _ labels: [(String, String)], _ help: String) -> Counter {
        CollectorMetrics.counter(registry, name, labels: labels, help: help)
    }

    func gauge(_ name: String, _ labels: [(String, String)], _ help: String) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    func peerPaths(_ peer: String) -> Gauge {
        gauge("pathflow_bgp_paths", [("peer", peer)], "Paths (prefix, path id) held from the peer")
    }

    func peerPrefixes(_ peer: String) -> Gauge {
        gauge("pathflow_bgp_prefixes", [("peer", peer)], "Prefixes held from the peer")
    }

    /// One peer's per-UPDATE counters and gauges, looked up in the registry once per session
    /// rather than once per UPDATE.
    struct Peer {
        let updates, announced, replaced, withdrawn, withdrawnUnknown, rejected: Counter
        let paths, prefixes: Gauge

        init(_ metrics: BGPMetrics, peer: String) {
            let labels = [("peer", peer)]
            updates = metrics.counter("pathflow_bgp_updates_total", labels, "UPDATE messages received")
            announced = metrics.counter("pathflow_bgp_paths_announced_total", labels, "Paths announced (new)")
            replaced = metrics.counter("pathflow_bgp_paths_replaced_total", labels, "Paths replaced implicitly (same prefix and path id)")
            withdrawn = metrics.counter("pathflow_bgp_paths_withdrawn_total", labels, "Paths withdrawn")
            withdrawnUnknown = metrics.counter("pathflow_bgp_withdrawals_unknown_total", labels, "Withdrawals of paths not held")
            rejected = metrics.counter("pathflow_bgp_paths_rejected_total", labels, "Announced paths the RIB could not take")
            paths = metrics.peerPaths(peer)
            prefixes = metrics.peerPrefixes(peer)
        }

        func record(_ result: ApplyResult) {
            updates.increment()
            if result.announced > 0 { announced.increment(by: Int64(result.announced)) }
            if result.replaced > 0 { replaced.increment(by: Int64(result.replaced)) }
            if result.withdrawn > 0 { withdrawn.increment(by: Int64(result.withdrawn)) }
            if result.withdrawnUnknown > 0 { withdrawnUnknown.increment(by: Int64(result.withdrawnUnknown)) }
            if result.rejected > 0 { rejected.increment(by: Int64(result.rejected)) }
            paths.set(Int64(result.pathsHeld))
            prefixes.set(Int64(result.prefixesHeld))
        }
    }

    func recordStatistics(_ statistics: RIBStatistics) {
        ribAttributeSets.set(Int64(statistics.attributeSets))
        ribPaths.set(Int64(statistics.paths))
        ribPrefixes.set(Int64(statistics.prefixes))
    }

    func notificationSent(code: UInt8, subcode: UInt8) {
        counter("pathflow_bgp_notifications_sent_total", [("code", "\(code)"), ("subcode", "\(subcode)")],
                "NOTIFICATION messages sent, by error code and subcode").increment()
    }

    func notificationReceived(code: UInt8, subcode: UInt8) {
        counter("pathflow_bgp_notifications_received_total", [("code", "\(code)"), ("subcode", "\(subcode)")],
                "NOTIFICATION messages received, by error code and subcode").increment()
    }
}

// RIBFeeder's `RouteSink.preOpenClosed`: only counted (the speaker logs, rate-limited).
extension RIBFeeder {
    func preOpenClosed(_ address: IPAddress, _ reason: PreOpenClose) {
        metrics.preOpenClosed[reason]?.increment()
    }
}
