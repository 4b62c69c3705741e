import BGPSpeaker
import BGPWire
import Enrichment
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NetCore
import PathflowConfig
import Prometheus
import RIB
import ServiceLifecycle
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// The BGP daemon: the speaker (sessions on one event loop), the RIB it writes, periodic table
/// dumps, and the data behind the looking glass. Inert until `run()`; graceful shutdown sends
/// Cease to every peer.
public final class BGPService: Service, Sendable {
    public let rib = RIB()
    let config: BGPDaemonConfig
    let timestampsUTC: Bool
    let logger: Logger
    let metrics: BGPMetrics
    let sessions = NIOLockedValueBox<[UInt64: RouterSession]>([:])

    /// The event loop and the speaker, made by `run()`: the service starts no thread before it
    /// runs. The allow list is kept here too, so a reload before the start is not lost.
    struct Running: Sendable {
        let group: MultiThreadedEventLoopGroup
        let speaker: Speaker
    }
    let running = NIOLockedValueBox<Running?>(nil)
    let allowList: NIOLockedValueBox<[IPPrefix]?>

    /// Where RIB snapshots (`bgp_rib_snapshot_refresh_time`) and best-path changes
    /// (`rib_best_changes`) go: bgp_rib_snapshot_db or the first sqlite3 view's database.
    let snapshotStore: SQLiteStore?
    /// Best-path changes on their way to `rib_best_changes` and the flush; nil when
    /// bgp_best_path_history is 0.
    let history: BestPathHistory?

    public init(config: CollectorConfig, registry: PrometheusCollectorRegistry, logger: Logger, snapshotStore: SQLiteStore? = nil) {
        self.config = config.bgp
        self.snapshotStore = snapshotStore
        self.history = config.bgp.bestPathHistory > 0 ? BestPathHistory(limit: config.bgp.bestPathHistory) : nil
        self.timestampsUTC = config.timestampsUTC
        self.logger = logger
        self.metrics = BGPMetrics(registry: registry)
        self.allowList = NIOLockedValueBox(config.bgp.allowList)
    }

    /// The speaker while the service runs.
    var speaker: Speaker? { running.withLockedValue { $0?.speaker } }

    /// A reloaded bgp_daemon_allow_file: it applies to connections from now on.
    func replaceAllowList(_ allow: [IPPrefix]?) {
        let speaker = running.withLockedValue { running in
            allowList.withLockedValue { $0 = allow }
            return running?.speaker
        }
        speaker?.replaceAllowList(allow)
    }

    /// Makes the loop and the speaker. One thread: every session's route events come from it,
    /// so the RIB has one writer.
    func start() -> Speaker {
        running.withLockedValue { running in
            if let running { return running.speaker }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            var speakerConfig = Self.speakerConfig(config)
            speakerConfig.allow = allowList.withLockedValue { $0 }
            let (rib, sessions, metrics, logger, history) = (self.rib, self.sessions, self.metrics, self.logger, self.history)
            let speaker = Speaker(config: speakerConfig, eventLoop: group.next(), logger: logger) { _ in
                RIBFeeder(rib: rib, metrics: metrics, logger: logger, sessions: sessions, history: history)
            }
            running = Running(group: group, speaker: speaker)
            return speaker
        }
    }

    static func speakerConfig(_ bgp: BGPDaemonConfig) -> SpeakerConfig {
        var session = SessionConfig(identifier: bgp.identifier, localAS: bgp.localAS)
        session.holdTime = UInt16(bgp.holdTime)
        session.addPathReceive = !bgp.addPathIgnore
        var config = SpeakerConfig(session: session)
        config.listenAddress = bgp.listenAddress
        config.listenPort = bgp.listenPort
        config.allow = bgp.allowList
        config.maximumPeers = bgp.maxPeers
        // Every router reconnecting at once (a restart) must fit while its OPENs arrive.
        config.preOpenTotal = max(config.preOpenTotal, bgp.maxPeers)
        config.maximumPrefixes = bgp.maxPrefixes > 0 ? bgp.maxPrefixes : nil
        let keys = Dictionary(bgp.md5Keys.map { ($0.address, $0.password) }, uniquingKeysWith: { _, last in last })
        config.neighbors = bgp.neighbors.map {
            SpeakerConfig.Neighbor(address: $0.address, port: $0.port, connect: true, md5Key: keys[$0.address])
        }
        // Routers with a key that we do not connect to ourselves still need it on the listener.
        for key in bgp.md5Keys where !bgp.neighbors.contains(where: { $0.address == key.address }) {
            config.neighbors.append(.init(address: key.address, connect: false, md5Key: key.password))
        }
        return config
    }

    /// The port the listener bound (useful with port 0), once running.
    public var listeningPort: Int? { speaker?.listeningPort }

    public func run() async throws {
        let speaker = start()
        defer { stop() }
        do {
            try await speaker.start()
        } catch {
            throw Collector.StartupError(description: "BGP daemon on \(config.listenAddress) port \(config.listenPort): \(error)")
        }
        logger.info("BGP daemon listening", metadata: [
            "address": "\(config.listenAddress)", "port": "\(speaker.listeningPort ?? config.listenPort)",
            "bgp_id": "\(IPAddress(v4: config.identifier))",
            "local_as": "\(config.localAS.map(String.init) ?? "mirrors each peer")",
        ])
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await self.dumpLoop() }
            if let store = self.snapshotStore, let period = self.config.ribSnapshotRefreshTime {
                tasks.addTask { await self.snapshotLoop(store, period: period) }
            }
            if let history = self.history {
                tasks.addTask { await self.historyLoop(history, self.snapshotStore) }
            }
        }
        await speaker.shutdown()
        logger.info("BGP daemon stopped")
    }

    /// Releases the loop once the speaker has shut down (or failed to start).
    func stop() {
        let stopped = running.withLockedValue { running in
            defer { running = nil }
            return running
        }
        stopped?.group.shutdownGracefully { _ in }
    }

    /// Table dumps on multiples of bgp_table_dump_refresh_time, until shutdown.
    func dumpLoop() async {
        var seq = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = Int(time(nil))
            if config.tableDumpFile != nil, let period = config.tableDumpRefreshTime {
                // Dumps fall on multiples of the period since the epoch, as nfacctd's do.
                let next = (now / period + 1) * period
                let wait = Double(next - now)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(wait)) }
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                await writeDumps(at: next, period: period, seq: seq)
                seq += 1
            } else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
            }
        }
    }

    /// RIB snapshots into `rib_paths` on multiples of the period, until shutdown.
    func snapshotLoop(_ store: SQLiteStore, period: Int) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = Int(time(nil))
            let next = (now / period + 1) * period
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(Double(next - now))) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            do {
                let paths = try writeSnapshot(store, at: next)
                logger.debug("RIB snapshot written", metadata: ["paths": "\(paths)", "db": "\(store.path)"])
            } catch {
                metrics.counter("pathflow_bgp_rib_snapshot_errors_total", [], "RIB snapshots that could not be written").increment()
                logger.error("cannot write the RIB snapshot", metadata: ["db": "\(store.path)", "error": "\(error)"])
            }
        }
    }

    /// Seconds between writes of best-path changes into `rib_best_changes`.
    static let historyInterval: Double = 5

    /// Best-path changes into `rib_best_changes` every `historyInterval`, and once more at
    /// shutdown. Without a database they are only counted (and feed the flush's shifted bytes).
    func historyLoop(_ history: BestPathHistory, _ store: SQLiteStore?) async {
        let writer = NIOLockedValueBox<BestPathChangesWriter?>(nil)
        var failures = 0
        while true {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(Self.historyInterval)) }
            let last = Task.isShuttingDownGracefully || Task.isCancelled
            let (entries, dropped) = history.take()
            if dropped > 0 {
                metrics.counter("pathflow_bgp_best_path_history_dropped_total", [],
                                "Best-path changes dropped before they could be written (bgp_best_path_history full)")
                    .increment(by: Int64(dropped))
            }
            if let store, !entries.isEmpty {
                let rows = entries.map { BestPathHistory.row($0, stamp: timestamp(Int($0.timeMilliseconds / 1000))) }
                let keep = config.bestPathHistory
                do {
                    try await NIOThreadPool.singleton.runIfActive {
                        let w = try writer.withLockedValue { w in
                            if let w { return w }
                            w = try BestPathChangesWriter(store: store)
                            return w!
                        }
                        try w.append(rows, keep: keep)
                    }
                    failures = 0
                } catch {
                    history.putBack(entries)
                    failures += 1
                    metrics.counter("pathflow_bgp_best_path_history_errors_total", [],
                                    "Writes of best-path changes into rib_best_changes that failed (kept for the next)").increment()
                    if failures <= 3 || failures % 60 == 0 {
                        logger.error("cannot write best-path changes; kept for the next try", metadata: [
                            "db": "\(store.path)", "changes": "\(entries.count)", "error": "\(error)",
                        ])
                    }
                }
            }
            if last { break }
        }
    }

    /// One prefix's paths as snapshot rows, ranked.
    static func snapshotRows(
        _ prefix: IPPrefix, _ group: [Path], _ session: RouterSession, _ router: String, _ bgpID: String,
        _ reader: borrowing RIBReader, into rows: inout [RIBSnapshotRow]
    ) {
        for (rank, i) in reader.rankByPreference(group, router: session.router).enumerated() {
            let a = reader.attributes(group[i].attributes)
            let (first, last) = Enricher.asns(a.asPath)
            rows.append(RIBSnapshotRow(
                router: router, bgpID: bgpID, net: prefix.address.description, mask: Int(prefix.length),
                pathID: Int64(group[i].pathID), rank: rank, nextHop: a.nextHop.isNone ? "0.0.0.0" : a.nextHop.description,
                peerAS: Int64(first), originAS: Int64(last), asPath: PmacctText.asPath(a.asPath),
                localPref: Int64(a.localPref ?? 0), med: Int64(a.med ?? 0),
                exitRouter: a.originatorID.map { IPAddress(v4: $0).description } ?? bgpID))
        }
    }

    /// Every router's paths into `rib_paths`, with each path's rank among its prefix's paths.
    /// The RIB is read a few thousand prefixes at a time and written between reads.
    @discardableResult
    func writeSnapshot(_ store: SQLiteStore, at time: Int) throws -> Int {
        let writer = try RIBSnapshotWriter(store: store, stamp: timestamp(time))
        var total = 0
        for session in routerSessions() {
            let router = session.peer.remoteAddress.description
            let bgpID = IPAddress(v4: session.peer.bgpID).description
            var cursor: PathCursor? = .start
            while let from = cursor {
                var rows: [RIBSnapshotRow] = []
                cursor = rib.read { reader in
                    var prefix: IPPrefix?
                    var group: [Path] = []
                    let next = reader.forEachPath(router: session.router, from: from, prefixes: 4096) { p, path, _ in
                        if p != prefix {
                            if let prefix { Self.snapshotRows(prefix, group, session, router, bgpID, reader, into: &rows) }
                            prefix = p
                            group.removeAll(keepingCapacity: true)
                        }
                        group.append(path)
                    }
                    if let prefix { Self.snapshotRows(prefix, group, session, router, bgpID, reader, into: &rows) }
                    return next
                }
                try writer.append(rows)
                total += rows.count
            }
        }
        try writer.commit()
        return total
    }

    // MARK: dumps and looking glass

    func timestamp(_ time: Int) -> String {
        var t = time_t(time)
        var parts = tm()
        if timestampsUTC { gmtime_r(&t, &parts) } else { localtime_r(&t, &parts) }
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The sessions with a table, ordered by address, optionally only the one `router` names
    /// (its session address or BGP identifier).
    func routerSessions(matching router: String? = nil) -> [RouterSession] {
        var all = sessions.withLockedValue { Array($0.values) }
        all.sort { ($0.peer.remoteAddress, $0.peer.remotePort) < ($1.peer.remoteAddress, $1.peer.remotePort) }
        guard let router else { return all }
        guard let address = IPAddress(router) else { return [] }
        return all.filter { $0.peer.remoteAddress == address || (address.family == .v4 && $0.peer.bgpID == address.v4Value) }
    }

    /// One router's dump, pmacct's lines.
    func dumpLines(_ session: RouterSession, timestamp: String, period: Int, seq: Int) -> [String] {
        var lines: [String] = []
        dump(session, timestamp: timestamp, period: period, seq: seq) { lines += $0 }
        return lines
    }

    /// One router's dump, a page of lines at a time. Each page is read under one short RIB read,
    /// and `page` runs outside it, so a long dump (or a slow HTTP client) never holds the RIB,
    /// the writer, or the flow lookups queued behind it.
    func dump(
        _ session: RouterSession, timestamp: String, period: Int, seq: Int, page: ([String]) throws -> Void
    ) rethrows {
        let peer = PmacctDump.Peer(address: session.peer.remoteAddress, port: session.peer.remotePort)
        try page([PmacctDump.initLine(timestamp: timestamp, peer: peer, period: period, seq: seq)])
        var entries = 0
        var cursor: PathCursor? = .start
        while let from = cursor {
            var lines: [String] = []
            cursor = rib.read { reader in
                reader.forEachPath(router: session.router, from: from, prefixes: 4096) { prefix, path, _ in
                    let family = prefix.address.family == .v6 ? AddressFamily.ipv6Unicast : .ipv4Unicast
                    let pathID: UInt32? = session.peer.addPath.contains(family) ? path.pathID : nil
                    lines.append(PmacctDump.pathLine(
                        timestamp: timestamp, peer: peer, seq: seq, prefix: prefix, pathID: pathID,
                        attributes: reader.attributes(path.attributes)))
                }
            }
            entries += lines.count
            try page(lines)
        }
        try page([PmacctDump.closeLine(timestamp: timestamp, peer: peer, entries: entries, seq: seq)])
    }

    func writeDumps(at time: Int, period: Int, seq: Int) async {
        guard let template = config.tableDumpFile else { return }
        let stamp = timestamp(time)
        for session in routerSessions() {
            let path = BGPDumpPath.render(template, time: time, utc: timestampsUTC,
                                          peerAddress: session.peer.remoteAddress.description, peerPort: session.peer.remotePort)
            let lines = dumpLines(session, timestamp: stamp, period: period, seq: seq)
            do {
                try Self.write(lines.joined(separator: "\n") + "\n", to: path)
            } catch {
                metrics.counter("pathflow_bgp_dump_errors_total", [], "Table dumps that could not be written").increment()
                logger.error("cannot write the BGP table dump", metadata: ["file": "\(path)", "error": "\(error)"])
            }
        }
        logger.debug("BGP table dump written", metadata: ["routers": "\(sessions.withLockedValue { $0.count })"])
    }

    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    /// Replaces the file (mode 0600, like nfacctd's dumps).
    static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WriteError(description: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw WriteError(description: String(cString: strerror(errno))) }
            bytes = bytes.dropFirst(n)
        }
    }

    func publishStatistics() {
        metrics.recordStatistics(rib.read { $0.statistics })
    }
}
