import FlowWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PathflowConfig
import Probe
import Prometheus

/// `pathflow probe`: capture on a thread of its own, the metrics endpoint on an event loop.
public enum ProbeRunner {
    /// Captures until the file ends or `ProbeEngine.requestStopAll()`, exporting as it goes.
    public static func run(config: ProbeConfig, logger: Logger) async throws -> ProbeCounters.Snapshot {
        let counters = ProbeCounters()
        let metrics = ProbeMetrics(counters: counters)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var server: MetricsServer?
        if let endpoint = config.metricsEndpoint {
            do {
                server = try await MetricsServer.start(
                    host: endpoint.host, port: endpoint.port, group: group,
                    routes: ["/metrics": { [group] _ in
                        group.next().makeSucceededFuture(HTTPAnswer(
                            contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.render()))
                    }])
                logger.info("metrics endpoint", metadata: ["listen": "\(endpoint)", "path": "/metrics"])
            } catch {
                try? await group.shutdownGracefully()
                throw CaptureError("cannot serve metrics on \(endpoint): \(error)")
            }
        }
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let result: Result<ProbeCounters.Snapshot, any Error>
        do {
            result = .success(try await pool.runIfActive {
                try capture(config: config, counters: counters, logger: logger)
            })
        } catch {
            result = .failure(error)
        }
        try? await server?.close()
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
        return try result.get()
    }

    static func capture(config: ProbeConfig, counters: ProbeCounters, logger: Logger) throws -> ProbeCounters.Snapshot {
        let source: PacketSource
        if let file = config.savefile {
            source = try PacketSource.file(path: file, filter: config.filter)
        } else if let interface = config.interface {
            source = try PacketSource.live(
                interface: interface, snaplen: config.snaplen, promiscuous: config.promiscuous, filter: config.filter,
                bufferBytes: config.bufferBytes)
        } else {
            throw CaptureError("nothing to capture from: set pcap_interface or pcap_savefile (or --interface / --pcap-file)")
        }
        let sockets = try config.receivers.map {
            try ExportSocket(host: $0.host, port: $0.port, source: config.sourceAddress)
        }
        logger.info("probe started", metadata: [
            "source": "\(config.savefile ?? config.interface ?? "")", "link_type": "\(source.linkTypeName)",
            "receivers": "\(sockets.map(\.receiver).joined(separator: ","))", "version": "\(config.version)",
            "sampling_rate": "\(config.samplingRate)", "max_flows": "\(config.maxFlows)",
        ])
        let engine = ProbeEngine(config: config, source: source, sockets: sockets, counters: counters)
        return try engine.run()
    }
}

/// The probe's Prometheus registry: a scrape moves its counters to the capture thread's totals.
final class ProbeMetrics: Sendable {
    let counters: ProbeCounters
    let registry = PrometheusCollectorRegistry()
    private let last = NIOLockedValueBox(ProbeCounters.Snapshot())
    private let cacheFlows: Gauge

    init(counters: ProbeCounters) {
        self.counters = counters
        cacheFlows = registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "pathflow_probe_cache_flows", unitName: "", helpText: "Flows in the cache now"))
        // Made at start so they read 0 until something happens.
        for name in ["packets", "flows_exported", "kernel_drops", "cache_full", "send_errors"] {
            _ = counter("pathflow_probe_\(name)_total", [], help(name))
        }
    }

    private func help(_ name: String) -> String {
        switch name {
        case "packets": return "Packets read from the interface or file"
        case "bytes": return "IP bytes of the packets accounted"
        case "sampled_out": return "Packets left out by sampling_rate"
        case "flows_exported": return "Flow records exported"
        case "kernel_drops": return "Packets the kernel dropped before the probe read them (pcap statistics)"
        case "interface_drops": return "Packets the interface dropped (pcap statistics)"
        case "cache_full": return "New flows that found the cache full (nfprobe_maxflows) and forced flows out"
        case "messages_sent": return "Export datagrams sent (each message once per collector)"
        case "send_errors": return "Export datagrams the system refused to send"
        case "v6_not_exportable": return "IPv6 flows NetFlow v5 cannot carry, dropped"
        case "fragments_unmatched": return "Later fragments whose first fragment was not seen, counted without ports"
        default: return name
        }
    }

    private func counter(_ name: String, _ labels: [(String, String)], _ help: String) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: String(name.dropLast(6)), unitName: "total", helpText: help),
            labels: labels)
    }

    func render() -> String {
        let now = counters.snapshot
        last.withLockedValue { before in
            func bump(_ name: String, _ a: UInt64, _ b: UInt64, _ labels: [(String, String)] = [], help text: String? = nil) {
                guard a > b else { return }
                counter("pathflow_probe_\(name)_total", labels, text ?? help(name)).increment(by: Int64(a - b))
            }
            bump("packets", now.packets, before.packets)
            bump("bytes", now.bytes, before.bytes)
            bump("sampled_out", now.sampledOut, before.sampledOut)
            bump("flows_exported", now.flowsExported, before.flowsExported)
            bump("kernel_drops", now.kernelDrops, before.kernelDrops)
            bump("interface_drops", now.interfaceDrops, before.interfaceDrops)
            bump("cache_full", now.cacheFull, before.cacheFull)
            bump("messages_sent", now.messagesSent, before.messagesSent)
            bump("send_errors", now.sendErrors, before.sendErrors)
            bump("v6_not_exportable", now.v6NotExportable, before.v6NotExportable)
            bump("fragments_unmatched", now.fragmentsUnmatched, before.fragmentsUnmatched)
            for reason in PacketSkip.allCases {
                bump("packets_skipped", now.skipped[reason.rawValue], before.skipped[reason.rawValue],
                     [("reason", reason.label)], help: "Packets not accounted, by reason")
            }
            for reason in ExpiryReason.allCases {
                bump("flows_expired", now.expired[reason.rawValue], before.expired[reason.rawValue],
                     [("reason", reason.label)], help: "Cache entries (both directions of a flow) expired, by reason")
            }
            before = now
        }
        cacheFlows.set(Int64(now.cacheFlows))
        return registry.emitToString()
    }
}
