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
        var storage: any ViewStorage
    }

    struct ShardHandle: Sendable {
        var loop: any EventLoop
        var shard: NIOLoopBound<CollectorShard>
    }

    let config: CollectorConfig
    let logger: Logger
    let metrics: CollectorMetrics
    let views: [ViewSink]
    /// The event loops (one per socket), made by `run()` and shut down when it ends: the
    /// collector starts no thread before it runs.
    let loops = NIOLockedValueBox<MultiThreadedEventLoopGroup?>(nil)
    let threads: Int
    let shards = NIOLockedValueBox<[Int: ShardHandle]>([:])
    /// Per view (by index): rows of failed flushes waiting for the next try.
    let backlogs: NIOLockedValueBox<[Backlog]>
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
        var snapshotStore: SQLiteStore?
        if config.bgp.enabled && config.bgp.ribSnapshotRefreshTime != nil,
           let path = config.bgp.ribSnapshotDB ?? sinks.first(where: { $0.config.plugin == .sqlite3 })?.config.sqlDB {
            do {
                snapshotStore = try stores.sqlite[path] ?? SQLiteStore(path: path)
            } catch {
                throw StartupError(description: "bgp_rib_snapshot_db \(path): \(error)")
            }
        }
        self.bgp = config.bgp.enabled
            ? BGPService(config: config, registry: metrics.registry, logger: logger, snapshotStore: snapshotStore) : nil
        self.threads = max(1, threads)
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        loops.withLockedValue { $0 = group }
        do {
            try await collect(on: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    func collect(on group: MultiThreadedEventLoopGroup) async throws {
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
        decoderLimits.templateLifetime = UInt32(clamping: config.templateLifetime)
        decoderLimits.bytesPerExporter = config.decoderBytesPerExporter
        decoderLimits.bytesTotal = max(decoderLimits.bytesPerExporter, config.decoderBytes / threads)
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
                    routes: httpRoutes(group))
            } catch {
                await bound.close()
                throw StartupError(description: "cannot listen on TCP \(endpoint) for metrics_listen: \(error)")
            }
            metrics.http.withLockedValue { $0 = metricsServer?.gate }
            logger.info("metrics endpoint", metadata: ["listen": "\(endpoint)", "path": "/metrics"])
        }

        // Backends' own work (a ClickHouse view's sender), until after the final flush.
        let storageTasks = views.map { view in Task { await view.storage.run() } }

        await flushLoop()

        // Graceful shutdown: stop reading, flush what was read, then release the loops. Failing
        // writes are tried again until the stop budget runs out (systemd's default stop timeout
        // is 90 s); only then are rows given up, counted and logged.
        await bound.close()
        let giveUp = monotonicNow() + Self.stopBudget
        for view in views {
            while await !flush(view), monotonicNow() < giveUp {
                try? await Task.sleep(for: .seconds(min(1, max(0, giveUp - monotonicNow()))))
            }
            abandonBacklog(view)
        }
        for view in views { view.storage.finish() }
        for task in storageTasks { await task.value }
        try? await metricsServer?.close()
        logger.info("collector stopped")
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
                let refresh = Double(max(1, view.config.refreshTime))
                if await flush(view) {
                    deadlines[i] = current + refresh
                } else {
                    // Try again sooner than the next refresh: 1, 2, 4, … seconds.
                    let failures = backlogs.withLockedValue { $0[i].failures }
                    deadlines[i] = current + min(refresh, Double(1 << min(failures - 1, 10)))
                }
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

    /// Rows of a view whose flushes failed, kept for the next try.
    struct Backlog {
        var parts: [DrainedRows] = []
        var rows = 0
        /// Failed flushes in a row.
        var failures = 0
    }

    /// Seconds a stop may spend retrying a failing final flush.
    static let stopBudget: Double = 60

    /// Drains one view from every shard and writes it, with the rows of earlier failed flushes,
    /// in one transaction. A failure keeps every row for the next try (a transaction that failed
    /// wrote nothing, so nothing is counted twice), up to the view's `sql_backlog_rows`; past it
    /// the oldest are dropped, counted and logged. Returns whether the write succeeded.
    @discardableResult
    func flush(_ view: ViewSink) async -> Bool {
        let handles = shards.withLockedValue { Array($0.values) }
        var parts: [DrainedRows] = []
        for handle in handles {
            let index = view.index
            let bound = handle.shard
            // Taking the rows is O(1) on the shard's loop; unpacking and merging happen below.
            guard let rows = try? await handle.loop.submit({ bound.value.take(view: index) }).get() else { continue }
            if rows.count > 0 { parts.append(rows) }
        }
        var backlog = backlogs.withLockedValue { $0[view.index] }
        let taken = backlog.parts + parts
        let now = Int(time(nil))
        let name = view.config.name
        do {
            let result = try await NIOThreadPool.singleton.runIfActive {
                try view.storage.write(FlushBatch(parts: taken, now: now, texts: self.texts))
            }
            metrics.recordFlush(view: name, rows: result.rows, seconds: result.seconds)
            if backlog.failures > 0 {
                logger.notice("storage writes again", metadata: [
                    "view": "\(name)", "rows": "\(result.rows)", "failed_flushes": "\(backlog.failures)",
                ])
            } else if result.rows > 0 {
                logger.debug("flushed", metadata: ["view": "\(name)", "rows": "\(result.rows)", "seconds": "\(result.seconds)"])
            }
            backlogs.withLockedValue { $0[view.index] = Backlog() }
            return true
        } catch {
            backlog.parts = taken
            backlog.rows = taken.reduce(0) { $0 + $1.count }
            backlog.failures += 1
            var dropped = 0
            while backlog.rows > view.config.backlogRows, let oldest = backlog.parts.first {
                backlog.parts.removeFirst()
                backlog.rows -= oldest.count
                dropped += oldest.count
            }
            metrics.recordFlushError(view: name, backlogRows: backlog.rows, dropped: dropped)
            // Every failure while it lasts a few times, then once a minute or so.
            if backlog.failures <= 3 || backlog.failures % 30 == 0 || dropped > 0 {
                logger.error("flush failed; rows kept for the next try", metadata: [
                    "view": "\(name)", "storage": "\(view.storage.location)",
                    "rows_kept": "\(backlog.rows)", "failed_flushes": "\(backlog.failures)", "error": "\(error)",
                ])
            }
            if dropped > 0 {
                logger.critical("flush backlog full (sql_backlog_rows); oldest rows dropped", metadata: [
                    "view": "\(name)", "rows_dropped": "\(dropped)", "sql_backlog_rows": "\(view.config.backlogRows)",
                ])
            }
            backlogs.withLockedValue { $0[view.index] = backlog }
            return false
        }
    }

    /// At the end of a stop: rows still not written are given up, counted and logged.
    func abandonBacklog(_ view: ViewSink) {
        let backlog = backlogs.withLockedValue { $0[view.index] }
        guard backlog.rows > 0 else { return }
        metrics.recordFlushError(view: view.config.name, backlogRows: 0, dropped: backlog.rows)
        logger.critical("stopping with rows that could not be written; they are lost", metadata: [
            "view": "\(view.config.name)", "rows": "\(backlog.rows)", "failed_flushes": "\(backlog.failures)",
        ])
    }

    /// Current counters from every shard, merged. Only while the collector runs.
    func gatherStats() -> EventLoopFuture<ShardStats> {
        let handles = shards.withLockedValue { Array($0.values) }
        guard let loop = loops.withLockedValue({ $0 })?.next() else {
            return MultiThreadedEventLoopGroup.singleton.next().makeFailedFuture(StartupError(description: "the collector is not running"))
        }
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

    func httpRoutes(_ group: MultiThreadedEventLoopGroup) -> HTTPRoutes {
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
        gatherStats().map { [metrics, views] stats in
            metrics.publish(stats)
            metrics.publishStorage(views.map { ($0.config.name, $0.storage.counters) })
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
        bgp?.speaker.replaceAllowList(reloaded.bgp.allowList)
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
            "bgp_daemon_allow_file": "\(reloaded.bgp.allowList.map { "\($0.count) entries" } ?? "none")",
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
