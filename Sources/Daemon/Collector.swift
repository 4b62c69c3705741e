import Aggregation
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

/// The flow collector: UDP intake → decode → views → SQLite every refresh interval.
///
/// Inert until `run()`; on graceful shutdown it stops reading, then flushes every view.
public final class Collector: Service, Sendable {
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
    }

    struct ViewSink: Sendable {
        var index: Int
        var definition: ViewDefinition
        var config: ViewConfig
        var schema: TableSchema
        var store: SQLiteStore
    }

    struct ShardHandle: Sendable {
        var loop: any EventLoop
        var shard: NIOLoopBound<CollectorShard>
    }

    let config: CollectorConfig
    let logger: Logger
    let metrics: CollectorMetrics
    let views: [ViewSink]
    let group: MultiThreadedEventLoopGroup
    let threads: Int
    let shards = NIOLockedValueBox<[Int: ShardHandle]>([:])
    /// The BGP daemon when `bgp_daemon: true`; run it as a service before the collector.
    public let bgp: BGPService?
    /// AS paths and community lists of the flow keys, shared by every shard and view.
    let texts = TextPool()
    /// The UDP port bound, once bound (useful with port 0).
    public let boundPort = NIOLockedValueBox<Int?>(nil)
    /// nfacctd_allow_file, replaced by a reload.
    let intakeFilter: IntakeFilter

    /// Receive sockets and decoding threads by default: one per core.
    public static var defaultThreads: Int { System.coreCount }

    public init(config: CollectorConfig, logger: Logger, threads: Int = Collector.defaultThreads) throws {
        self.config = config
        self.logger = logger
        var stores: [String: SQLiteStore] = [:]
        var sinks: [ViewSink] = []
        for (index, view) in config.views.enumerated() {
            guard view.plugin == .sqlite3 else {
                throw StartupError(description: "plugin \(view.plugin.rawValue)[\(view.name)]: only sqlite3 views are available yet")
            }
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
            let schema: TableSchema
            do {
                schema = try TableSchema(
                    table: view.sqlTable, primitives: primitives, tableVersion: view.sqlTableVersion,
                    numericProtocols: view.numProtos)
            } catch {
                throw StartupError(description: "view \(view.name): \(error)")
            }
            let store: SQLiteStore
            if let existing = stores[view.sqlDB] {
                store = existing
            } else {
                do {
                    store = try SQLiteStore(path: view.sqlDB)
                } catch {
                    throw StartupError(description: "view \(view.name): \(error)")
                }
                stores[view.sqlDB] = store
            }
            do {
                try store.prepare(schema, rollup: view.keepsRollup, utc: view.timestampsUTC)
            } catch {
                throw StartupError(description: "view \(view.name): \(view.sqlDB): \(error)")
            }
            sinks.append(ViewSink(index: index, definition: definition, config: view, schema: schema, store: store))
        }
        guard !sinks.isEmpty else { throw StartupError(description: "no views configured") }
        self.views = sinks
        self.intakeFilter = IntakeFilter(config.flowAllowList)
        self.metrics = CollectorMetrics(viewNames: sinks.map(\.config.name))
        var snapshotStore: SQLiteStore?
        if config.bgp.enabled && config.bgp.ribSnapshotRefreshTime != nil,
           let path = config.bgp.ribSnapshotDB ?? sinks.first?.config.sqlDB {
            do {
                snapshotStore = try stores[path] ?? SQLiteStore(path: path)
            } catch {
                throw StartupError(description: "bgp_rib_snapshot_db \(path): \(error)")
            }
        }
        self.bgp = config.bgp.enabled
            ? BGPService(config: config, registry: metrics.registry, logger: logger, snapshotStore: snapshotStore) : nil
        self.threads = max(1, threads)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: self.threads)
    }

    public func run() async throws {
        let definitions = views.map(\.definition)
        let sampling = SamplingMap(rules: config.samplingMap)
        let renormalizes = config.renormalize
        let keepsASNumbers = config.asSource == .netflow || config.asSource == .longest
        // Flows are looked up in the RIB only when something reads the result.
        let needsPaths = [ASSource.bgp, .longest].contains(config.asSource) || [NetSource.bgp, .longest].contains(config.netSource)
            || config.peerSrcASFromBGP || definitions.contains { $0.primitives.contains(where: \.needsBGP) }
        let enrichment = needsPaths ? bgp.map { ($0.rib, enricherSettings) } : nil
        let texts = self.texts
        let shards = self.shards
        var settings = UDPIntake.Settings(
            host: config.listenAddress, port: config.listenPort, sockets: threads,
            receiveBufferBytes: config.receiveBufferBytes)
        settings.filter = intakeFilter
        // Each exporter is decoded by one shard: the total is shared out between them.
        var decoderLimits = FlowDecoder.Limits()
        decoderLimits.bytesTotal = max(decoderLimits.bytesPerExporter, decoderLimits.bytesTotal / threads)
        let bound = try await UDPIntake.bind(settings: settings, group: group) { [decoderLimits] index, loop in
            let enricher = enrichment.map { Enricher(rib: $0.0, texts: texts, settings: $0.1) }
            let shard = CollectorShard(
                views: definitions, sampling: sampling, renormalizes: renormalizes, keepsASNumbers: keepsASNumbers,
                decoderLimits: decoderLimits, enricher: enricher)
            shards.withLockedValue { $0[index] = ShardHandle(loop: loop, shard: NIOLoopBound(shard, eventLoop: loop)) }
            return shard
        }
        boundPort.withLockedValue { $0 = bound.localPort }
        metrics.port.withLockedValue { $0 = bound.localPort }
        metrics.intake.withLockedValue { $0 = bound }
        logger.info("collecting flows", metadata: [
            "address": "\(config.listenAddress)", "port": "\(bound.localPort)", "sockets": "\(bound.channels.count)",
            "kernel_steering": "\(bound.kernelSteering)",
            "receive_buffer_bytes": "\(bound.receiveBufferBytes)",
        ])

        var metricsServer: MetricsServer?
        if let endpoint = config.metricsEndpoint {
            do {
                metricsServer = try await MetricsServer.start(
                    host: endpoint.host, port: endpoint.port, group: group,
                    routes: httpRoutes())
            } catch {
                await bound.close()
                throw StartupError(description: "cannot listen on TCP \(endpoint) for metrics_listen: \(error)")
            }
            logger.info("metrics endpoint", metadata: ["listen": "\(endpoint)", "path": "/metrics"])
        }

        await flushLoop()

        // Graceful shutdown: stop reading, flush what was read, then release the loops.
        await bound.close()
        for view in views { await flush(view) }
        try? await metricsServer?.close()
        logger.info("collector stopped")
        try await group.shutdownGracefully()
    }

    /// Flushes each view every sql_refresh_time until graceful shutdown.
    func flushLoop() async {
        let now = monotonicNow()
        var deadlines = views.map { now + Double(max(1, $0.config.refreshTime)) }
        var nextReport = now + Self.reportInterval
        var reported = ShardStats()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let next = deadlines.min() ?? now + 1
            let wait = max(0.05, min(1.0, next - monotonicNow()))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(wait)) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            let current = monotonicNow()
            for (i, view) in views.enumerated() where deadlines[i] <= current {
                await flush(view)
                deadlines[i] = current + Double(max(1, view.config.refreshTime))
            }
            if current >= nextReport {
                nextReport = current + Self.reportInterval
                if let stats = try? await gatherStats().get() {
                    report(stats, since: reported)
                    reported = stats
                }
            }
        }
    }

    /// Problems are logged once per interval per exporter, with counts, never per datagram.
    static let reportInterval: Double = 60

    func report(_ stats: ShardStats, since last: ShardStats) {
        for (exporter, now) in stats.exporters {
            let before = last.exporters[exporter] ?? ShardStats.Exporter()
            let errors = zip(FlowDecodeError.allCases, zip(now.errors, before.errors))
                .filter { $0.1.0 > $0.1.1 }
                .map { "\($0.0.rawValue)=\($0.1.0 - $0.1.1)" }
            let unknown = now.unknownTemplateSets - before.unknownTemplateSets
            let lost = now.sequenceLost - before.sequenceLost
            let resets = now.sequenceResets - before.sequenceResets
            var metadata: Logger.Metadata = [
                "exporter": "\(exporter)",
                "datagrams": "\(now.datagrams - before.datagrams)",
                "records": "\(now.records - before.records)",
            ]
            guard !errors.isEmpty || unknown > 0 || lost > 0 || resets > 0 else {
                logger.debug("exporter stats", metadata: metadata)
                continue
            }
            if !errors.isEmpty { metadata["rejected"] = "\(errors.joined(separator: ","))" }
            if unknown > 0 { metadata["unknown_template_sets"] = "\(unknown)" }
            if lost > 0 { metadata["sequence_lost"] = "\(lost)" }
            if resets > 0 { metadata["sequence_resets"] = "\(resets)" }
            logger.warning("exporter problems in the last minute", metadata: metadata)
        }
    }

    /// Drains one view from every shard, merges, and writes one transaction.
    func flush(_ view: ViewSink) async {
        let handles = shards.withLockedValue { Array($0.values) }
        var parts: [DrainedRows] = []
        for handle in handles {
            let index = view.index
            let bound = handle.shard
            // Taking the rows is O(1) on the shard's loop; unpacking and merging happen below.
            guard let rows = try? await handle.loop.submit({ bound.value.take(view: index) }).get() else { continue }
            parts.append(rows)
        }
        let taken = parts
        let now = Int(time(nil))
        do {
            let result = try await NIOThreadPool.singleton.runIfActive {
                try view.store.write(
                    table: view.schema.table, parts: taken, now: now, utc: view.config.timestampsUTC, texts: self.texts)
            }
            metrics.recordFlush(view: view.config.name, rows: result.rows, seconds: result.seconds)
            if result.rows > 0 {
                logger.debug("flushed", metadata: [
                    "view": "\(view.config.name)", "rows": "\(result.rows)", "seconds": "\(result.seconds)",
                ])
            }
        } catch {
            let lost = taken.reduce(0) { $0 + $1.count }
            metrics.recordFlushError(view: view.config.name, rows: lost)
            logger.error("flush failed; rows lost", metadata: [
                "view": "\(view.config.name)", "rows": "\(lost)", "error": "\(error)",
            ])
        }
    }

    /// Current counters from every shard, merged.
    func gatherStats() -> EventLoopFuture<ShardStats> {
        let handles = shards.withLockedValue { Array($0.values) }
        let loop = group.next()
        let futures = handles.map { handle in
            let bound = handle.shard
            return handle.loop.submit { bound.value.snapshot() }
        }
        return EventLoopFuture.whenAllSucceed(futures, on: loop).map { parts in
            var total = ShardStats()
            for part in parts { total.merge(part) }
            return total
        }
    }

    func httpRoutes() -> HTTPRoutes {
        var routes: HTTPRoutes = [
            "/metrics": { [self] _ in
                self.bgp?.publishStatistics()
                return self.renderMetrics().map {
                    HTTPAnswer(contentType: "text/plain; version=0.0.4; charset=utf-8", body: $0)
                }
            },
        ]
        if let bgp {
            routes.merge(bgp.routes(on: group.next()), uniquingKeysWith: { a, _ in a })
        } else {
            for path in ["/rib/peers", "/rib/lookup", "/rib/dump"] {
                routes[path] = { [group] _ in
                    group.next().makeSucceededFuture(HTTPAnswer(
                        status: .notFound, body: "the BGP daemon is not running (bgp_daemon: true turns it on)\n"))
                }
            }
        }
        return routes
    }

    func renderMetrics() -> EventLoopFuture<String> {
        gatherStats().map { [metrics] stats in
            metrics.publish(stats)
            return metrics.render()
        }
    }
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
    /// SIGUSR2: the maps read again from the configuration file (pmacct's map reload):
    /// nfacctd_allow_file, sampling_map, bgp_agent_map. Everything else needs a restart.
    public func reloadMaps(from reloaded: CollectorConfig) {
        intakeFilter.replace(reloaded.flowAllowList)
        let sampling = SamplingMap(rules: reloaded.samplingMap)
        let agentMap = reloaded.agentMap.map {
            Enricher.AgentMapEntry(exporters: $0.exporters, bgpIP: $0.bgpIP, v4: $0.family != .v6, v6: $0.family != .v4)
        }
        for handle in shards.withLockedValue({ Array($0.values) }) {
            let bound = handle.shard
            handle.loop.execute { bound.value.reload(sampling: sampling, agentMap: agentMap) }
        }
        logger.info("maps reloaded", metadata: [
            "nfacctd_allow_file": "\(reloaded.flowAllowList.map { "\($0.count) entries" } ?? "none")",
            "sampling_map": "\(reloaded.samplingMap.count) rules",
            "bgp_agent_map": "\(reloaded.agentMap.count) entries",
        ])
    }

    /// SIGUSR1: statistics to the log, as nfacctd writes them (per exporter, then totals).
    public func logStatistics() async {
        guard let stats = try? await gatherStats().get() else { return }
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
