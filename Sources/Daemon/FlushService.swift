import Aggregation
import Enrichment
import FlowWire
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Views and flushes: every sql_refresh_time each view's rows are taken from the shards and
/// written to its storage. On graceful shutdown (after the intake has stopped reading) each view
/// is flushed a last time, failing writes retried for up to `stopBudget`; then the shards' loops
/// are released.
struct FlushService: Service {
    let collector: Collector

    func run() async throws {
        let c = collector
        await c.flushLoop()
        // Failing writes are tried again until the stop budget runs out (systemd's default stop
        // timeout is 90 s); only then are rows given up, counted and logged. The last flush is
        // not cancelled with the group: rows read are written, or counted as lost.
        await Task.detached {
            let giveUp = monotonicNow() + Collector.stopBudget
            await c.flushInterfaceCounters()
            for view in c.views {
                while await !c.flush(view), monotonicNow() < giveUp {
                    try? await Task.sleep(for: .seconds(min(1, max(0, giveUp - monotonicNow()))))
                }
                c.abandonBacklog(view)
            }
            await c.writeMismatches()
            await c.shards.shutdown()
        }.value
        c.logger.info("collector stopped")
    }
}

/// Backends' own work (a ClickHouse view's sender), from before the first flush until after the
/// last: on graceful shutdown each backend is told to finish, and the service ends when every
/// backend has sent or spooled what it holds.
struct StorageService: Service {
    let collector: Collector

    func run() async throws {
        let views = collector.views
        let counters = collector.countersStorage
        await withTaskGroup(of: Void.self) { tasks in
            for view in views { tasks.addTask { await view.storage.run() } }
            if let counters { tasks.addTask { await counters.run() } }
            try? await gracefulShutdown()
            for view in views { view.storage.finish() }
            counters?.finish()
        }
        collector.logger.debug("storage stopped")
    }
}

extension Collector {
    /// Flushes each view every sql_refresh_time until graceful shutdown.
    func flushLoop() async {
        let now = monotonicNow()
        var deadlines = views.map { now + Double(max(1, $0.config.refreshTime)) }
        var nextReport = now + Self.reportInterval
        var nextCounters = now + Self.countersInterval
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
            if current >= nextCounters {
                nextCounters = current + Self.countersInterval
                await flushInterfaceCounters()
                await writeMismatches()
            }
            if current >= nextReport {
                nextReport = current + Self.reportInterval
                if let stats = try? await shards.stats()?.get() {
                    report(stats, since: reported)
                    reported = stats
                }
            }
        }
    }

    /// sFlow's interface counters are written every minute (their rows are per minute).
    static let countersInterval: Double = 60
    /// Interface-minutes kept while `interface_counters` cannot be written.
    static let countersBacklogLimit = 1_000_000

    /// Takes sFlow's interface counters from every shard and writes them, with the rows of
    /// earlier failed writes; a failure keeps them (up to `countersBacklogLimit`, the oldest
    /// dropped and counted past it).
    func flushInterfaceCounters() async {
        guard config.sflow else { return }
        var rows = countersBacklog.withLockedValue { backlog in
            defer { backlog = [] }
            return backlog
        }
        var records: [InterfaceCounters] = []
        for taking in shards.submit({ $0.takeInterfaceCounters() }) {
            if let part = try? await taking.get() {
                rows += part.rows
                records += part.records
            }
        }
        if let log = counterLog, !records.isEmpty {
            do {
                try await NIOThreadPool.singleton.runIfActive { [records] in try log.write(records) }
            } catch {
                metrics.recordCounterLogFailure(lines: records.count)
                logger.error("cannot write sfacctd_counter_file; these counter records are not in it", metadata: [
                    "file": "\(log.template)", "records": "\(records.count)", "error": "\(error)",
                ])
            }
        }
        // Without a view in a database there is nowhere to keep them: taken so they do not pile up.
        guard !rows.isEmpty, let storage = countersStorage else { return }
        let now = Int(time(nil))
        do {
            try await NIOThreadPool.singleton.runIfActive { [rows] in
                try storage.write(rows, now: now)
            }
            metrics.recordInterfaceCounters(written: rows.count, failed: false, dropped: 0)
        } catch {
            let dropped = max(0, rows.count - Self.countersBacklogLimit)
            rows.removeFirst(dropped)
            countersBacklog.withLockedValue { $0 = rows + $0 }
            metrics.recordInterfaceCounters(written: 0, failed: true, dropped: dropped)
            logger.error("cannot write interface counters; kept for the next try", metadata: [
                "storage": "\(storage.location)", "rows_kept": "\(rows.count)", "rows_dropped": "\(dropped)", "error": "\(error)",
            ])
        }
    }

    /// Rows `path_mismatches` keeps, the oldest deleted first.
    static let mismatchRowsKept = 100_000

    /// Examples of flows whose next-hop no path carried, taken from every shard's enricher once a
    /// minute into `path_mismatches` beside the RIB snapshot (for `report quality`). Examples are
    /// best effort: a failed write drops that minute's, counted.
    func writeMismatches() async {
        guard let bgp, let store = bgp.snapshotStore else { return }
        var merged: [Enricher.MismatchKey: Enricher.MismatchSample] = [:]
        var notSampled: UInt64 = 0
        for taking in shards.submit({ $0.takeMismatches() }) {
            guard let (samples, lost) = try? await taking.get() else { continue }
            notSampled &+= lost
            for s in samples {
                let key = Enricher.MismatchKey(s)
                if merged[key] == nil { merged[key] = s } else {
                    merged[key]!.flows &+= s.flows
                    merged[key]!.bytes &+= s.bytes
                }
            }
        }
        let dropped = metrics.counter(
            "pathflow_path_mismatch_examples_dropped_total", labels: [],
            help: "Mismatched flows not kept as examples for path_mismatches (too many distinct ones in a minute, or a failed write)")
        dropped.increment(by: Int64(clamping: notSampled))
        guard !merged.isEmpty else { return }
        let stamp = bgp.timestamp(Int(time(nil)) / 60 * 60)
        let rows = merged.values.map { s in
            PathMismatchRow(
                stamp: stamp, exporter: s.exporter.description, flowNextHop: s.flowNextHop.description,
                net: s.prefix.address.description, mask: Int(s.prefix.length),
                pathNextHops: s.pathNextHops.map(\.description).joined(separator: ","), flows: Int64(clamping: s.flows),
                bytes: Int64(clamping: s.bytes))
        }
        do {
            try await NIOThreadPool.singleton.runIfActive { [mismatchWriter] in
                let writer = try mismatchWriter.withLockedValue { w in
                    if let w { return w }
                    w = try PathMismatchWriter(store: store)
                    return w!
                }
                try writer.append(rows, keep: Self.mismatchRowsKept)
            }
        } catch {
            dropped.increment(by: Int64(clamping: rows.reduce(UInt64(0)) { $0 &+ UInt64($1.flows) }))
            logger.warning("cannot write examples of mismatched next-hops", metadata: ["db": "\(store.path)", "error": "\(error)"])
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
        let index = view.index
        var parts: [DrainedRows] = []
        // Taking the rows is O(1) on each shard's loop; unpacking and merging happen below.
        for taking in shards.submit({ $0.take(view: index) }) {
            if let rows = try? await taking.get(), rows.count > 0 { parts.append(rows) }
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
            countShiftedBytes(view, taken, now: now)
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

    /// `pathflow_egress_shift_bytes_total`: the bytes just written of prefixes whose best path
    /// changed at their router during the row's bin or in the 600 s before it, for views keyed by
    /// router and prefix (peer_src_ip, dst_net, dst_mask) with time bins.
    func countShiftedBytes(_ view: ViewSink, _ parts: [DrainedRows], now: Int) {
        guard let history = bgp?.history, let binning = view.definition.binning else { return }
        let p = view.definition.primitives
        guard p.contains(.peerSrcIP) && p.contains(.dstNet) && p.contains(.dstMask) else { return }
        let bytes = history.shiftedBytes(parts, binSeconds: binning.slot, now: now)
        metrics.counter(
            "pathflow_egress_shift_bytes_total", labels: [("view", view.config.name)],
            help: "Bytes of prefixes whose best path changed at their router during the row's time bin or in the 600 s before it"
        ).increment(by: Int64(clamping: bytes))
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

}
