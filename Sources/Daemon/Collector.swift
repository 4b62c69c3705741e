import Aggregation
import Console
import Enrichment
import FlowCollector
import FlowWire
import Logging
import NIOCore
import NIOPosix
import PathflowConfig
import ServiceLifecycle
import Storage
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// The flow collector: UDP intake → decode → views → storage every refresh interval, with the
/// BGP daemon, the HTTP endpoint and the console beside them.
///
/// Each stage is its own service (`services`, in start order), run by a `ServiceGroup`, which
/// stops them in reverse order: the intake stops reading, then the views are flushed a last
/// time, then BGP sends its Cease, then the storage backends send what they hold, then the
/// HTTP endpoint closes. Nothing starts a thread or binds a socket before it runs.
public final class Collector: Sendable {
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
    }

    struct ViewSink: Sendable {
        var index: Int
        var definition: ViewDefinition
        var config: ViewConfig
        var storage: any ViewStorage
    }

    let config: CollectorConfig
    let logger: Logger
    let metrics: CollectorMetrics
    let views: [ViewSink]
    /// The shards and the event loops they run on.
    let shards: ShardLoops
    /// Per view (by index): rows of failed flushes waiting for the next try.
    let backlogs: NIOLockedValueBox<[Backlog]>
    /// The BGP daemon when `bgp_daemon: true`.
    public let bgp: BGPService?
    /// AS paths and community lists of the flow keys, shared by every shard and view.
    let texts = TextPool()
    /// The UDP port bound, once bound (useful with port 0): NetFlow's, or sFlow's when it is
    /// the only listener.
    public let boundPort = NIOLockedValueBox<Int?>(nil)
    /// The sFlow listener's UDP port, once bound.
    public let sflowPort = NIOLockedValueBox<Int?>(nil)
    /// nfacctd_allow_file, replaced by a reload.
    let intakeFilter: IntakeFilter
    /// Where sFlow's interface counters go (`interface_counters` beside the first view that
    /// stores in a database, `StorageFactory.interfaceCountersStorage`), and the rows of failed
    /// writes waiting for the next.
    let countersStorage: (any InterfaceCountersStorage)?
    let countersBacklog = NIOLockedValueBox<[InterfaceCountersRow]>([])
    /// sfacctd_counter_file, when set.
    let counterLog: SFlowCounterLog?
    /// Writes examples of mismatched next-hops into `path_mismatches`, made at the first write.
    let mismatchWriter = NIOLockedValueBox<PathMismatchWriter?>(nil)
    /// The console (console_listen), served beside the metrics endpoint.
    let console: ConsoleServer?

    /// Receive sockets and decoding threads by default: one per core.
    public static var defaultThreads: Int { System.coreCount }

    public init(config: CollectorConfig, logger: Logger, threads: Int = Collector.defaultThreads, console: ConsoleServer? = nil) throws {
        self.config = config
        self.logger = logger
        self.console = console
        var stores = StorageFactory(logger: logger)
        var sinks: [ViewSink] = []
        for (index, view) in config.views.enumerated() {
            let primitives = try view.aggregate.filter { $0 != "none" }.map { name -> Primitive in
                guard let p = Primitive(rawValue: name) else {
                    throw StartupError(description: "view \(view.name): aggregate primitive '\(name)' is not available")
                }
                return p
            }
            let binning = view.history.map {
                TimeBinning(timeBin: $0, roundoff: view.historyRoundoff, now: Int(time(nil)))
            }
            // With nfacctd_net: bgp, peer_dst_ip is the path's next-hop or nothing (pmacct).
            let definition = ViewDefinition(
                name: view.name, primitives: primitives, binning: binning, timeNew: config.timeNew,
                useIPNextHop: config.useIPNextHop && config.netSource != .bgp)
            let storage = try stores.storage(for: view, primitives: primitives, binning: binning, in: config)
            sinks.append(ViewSink(index: index, definition: definition, config: view, storage: storage))
        }
        guard !sinks.isEmpty else { throw StartupError(description: "no views configured") }
        self.views = sinks
        self.backlogs = NIOLockedValueBox(Array(repeating: Backlog(), count: sinks.count))
        self.intakeFilter = IntakeFilter(config.flowAllowList)
        self.metrics = CollectorMetrics(viewNames: sinks.map(\.config.name))
        metrics.console.withLockedValue { $0 = console?.counters }
        var snapshotStore: SQLiteStore?
        if config.bgp.enabled && (config.bgp.ribSnapshotRefreshTime != nil || config.bgp.bestPathHistory > 0),
           let path = config.ribSnapshotDatabase {
            do {
                snapshotStore = try stores.sqlite[path] ?? SQLiteStore(path: path)
            } catch {
                throw StartupError(description: "bgp_rib_snapshot_db \(path): \(error)")
            }
        }
        self.countersStorage = config.sflow ? try stores.interfaceCountersStorage(for: config.views, in: config) : nil
        self.counterLog = config.sflowCounterFile.map { SFlowCounterLog(template: $0, utc: config.timestampsUTC) }
        self.bgp = config.bgp.enabled
            ? BGPService(config: config, registry: metrics.registry, logger: logger, snapshotStore: snapshotStore) : nil
        self.shards = ShardLoops(threads: max(1, threads))
    }

    /// The services in start order; a `ServiceGroup` stops them in reverse.
    public var services: [any Service] {
        var list: [any Service] = []
        if let endpoint = config.metricsEndpoint { list.append(HTTPService(collector: self, endpoint: endpoint)) }
        // Before any flow is read, so that a console that cannot listen stops startup; it reads
        // the stored tables only, so it may stop last.
        if let console { list.append(console) }
        list.append(StorageService(collector: self))
        if let bgp { list.append(bgp) }
        list.append(FlushService(collector: self))
        list.append(IntakeService(collector: self))
        return list
    }

    /// The routes of the HTTP endpoint: /metrics, and the looking glass when BGP runs.
    func httpRoutes(on loop: any EventLoop) -> HTTPRoutes {
        var routes: HTTPRoutes = [
            "/metrics": { [self] _ in
                self.bgp?.publishStatistics()
                return self.renderMetrics(on: loop).map {
                    HTTPAnswer(contentType: "text/plain; version=0.0.4; charset=utf-8", body: $0)
                }
            },
        ]
        if let bgp {
            routes.merge(bgp.routes(on: loop), uniquingKeysWith: { a, _ in a })
        } else {
            for path in ["/rib/peers", "/rib/lookup", "/rib/dump"] {
                routes[path] = { _ in
                    loop.makeSucceededFuture(HTTPAnswer(
                        status: .notFound, body: "the BGP daemon is not running (bgp_daemon: true turns it on)\n"))
                }
            }
        }
        return routes
    }

    /// Every metric; the shards' counters while they run (before the intake starts and after
    /// the final flush, the rest alone).
    func renderMetrics(on loop: any EventLoop) -> EventLoopFuture<String> {
        let stats = shards.stats() ?? loop.makeSucceededFuture(ShardStats())
        return stats.map { [metrics, views] stats in
            metrics.publish(stats)
            metrics.publishStorage(views.map { ($0.config.name, $0.storage.counters) }
                + (self.countersStorage.map { [(InterfaceCountersTable.name, $0.counters)] } ?? []))
            return metrics.render()
        }
    }
}

/// Wall-clock time in unix milliseconds.
func wallMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

extension TimeBinning {
    init(timeBin: TimeBin, roundoff: String, now: Int) {
        switch timeBin {
        case .seconds(let n): self.init(unit: .seconds, count: n, roundoff: roundoff, now: now)
        case .minutes(let n): self.init(unit: .minutes, count: n, roundoff: roundoff, now: now)
        case .hours(let n): self.init(unit: .hours, count: n, roundoff: roundoff, now: now)
        case .days(let n): self.init(unit: .days, count: n, roundoff: roundoff, now: now)
        case .weeks(let n): self.init(unit: .weeks, count: n, roundoff: roundoff, now: now)
        case .months(let n): self.init(unit: .months, count: n, roundoff: roundoff, now: now)
        }
    }
}

extension Collector {
    /// The tables of every sqlite3 view that writes to `path`.
    static func schemas(of config: CollectorConfig, in path: String) -> [TableSchema] {
        config.views.filter { $0.plugin == .sqlite3 && $0.sqlDB == path }.compactMap { view in
            let primitives = view.aggregate.filter { $0 != "none" }.compactMap(Primitive.init(rawValue:))
            return try? TableSchema(
                table: view.sqlTable, primitives: primitives, tableVersion: view.sqlTableVersion, numericProtocols: view.numProtos)
        }
    }

    /// SIGUSR2: the maps read again from the configuration file (pmacct's map reload):
    /// nfacctd_allow_file, bgp_daemon_allow_file, sampling_map, bgp_agent_map. Everything else
    /// needs a restart.
    public func reloadMaps(from reloaded: CollectorConfig) {
        intakeFilter.replace(reloaded.flowAllowList)
        bgp?.replaceAllowList(reloaded.bgp.allowList)
        let sampling = SamplingMap(rules: reloaded.samplingMap)
        let agentMap = reloaded.agentMap.map {
            Enricher.AgentMapEntry(exporters: $0.exporters, bgpIP: $0.bgpIP, v4: $0.family != .v6, v6: $0.family != .v4)
        }
        _ = shards.submit { $0.reload(sampling: sampling, agentMap: agentMap) }
        logger.info("maps reloaded", metadata: [
            "nfacctd_allow_file": "\(reloaded.flowAllowList.map { "\($0.count) entries" } ?? "none")",
            "bgp_daemon_allow_file": "\(reloaded.bgp.allowList.map { "\($0.count) entries" } ?? "none")",
            "sampling_map": "\(reloaded.samplingMap.count) rules",
            "bgp_agent_map": "\(reloaded.agentMap.count) entries",
        ])
    }

    /// SIGUSR1: statistics to the log, as nfacctd writes them (per exporter, then totals).
    public func logStatistics() async {
        guard let stats = try? await shards.stats()?.get() else { return }
        var datagrams: UInt64 = 0, records: UInt64 = 0
        for (exporter, e) in stats.exporters.sorted(by: { $0.key < $1.key }) {
            datagrams += e.datagrams
            records += e.records
            logger.notice("statistics", metadata: [
                "exporter": "\(exporter)", "datagrams": "\(e.datagrams)", "records": "\(e.records)",
                "rejected": "\(e.errors.reduce(0, +))", "unknown_template_sets": "\(e.unknownTemplateSets)",
                "sequence_lost": "\(e.sequenceLost)", "templates_refused": "\(e.templatesRefused)",
            ])
        }
        logger.notice("statistics", metadata: [
            "exporters": "\(stats.exporters.count)", "datagrams": "\(datagrams)", "records": "\(records)",
            "decoder_state_bytes": "\(stats.decoderBytes)", "decoder_sessions": "\(stats.decoderSessions)",
            "view_dropped_flows": "\(stats.viewDroppedFlows.reduce(0, +))",
        ])
    }

    /// How shards map flows to BGP paths, from nfacctd_as, nfacctd_net, bgp_agent_map and friends.
    var enricherSettings: Enricher.Settings {
        var s = Enricher.Settings()
        switch config.asSource {
        case .none: s.asSource = .none
        case .netflow: s.asSource = .netflow
        case .bgp: s.asSource = .bgp
        case .longest: s.asSource = .longest
        }
        switch config.netSource {
        case .netflow: s.netSource = .netflow
        case .bgp: s.netSource = .bgp
        case .longest: s.netSource = .longest
        }
        s.peerSrcASFromBGP = config.peerSrcASFromBGP
        s.mismatchUsesBest = config.nexthopMismatchUsesBest
        s.useIPNextHop = config.useIPNextHop
        s.agentMap = config.agentMap.map {
            Enricher.AgentMapEntry(exporters: $0.exporters, bgpIP: $0.bgpIP, v4: $0.family != .v6, v6: $0.family != .v4)
        }
        return s
    }
}
