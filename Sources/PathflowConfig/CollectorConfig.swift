import NetCore
/// Everything the collector needs from a pmacct-syntax configuration (nfacctd keys), with
/// pmacct's defaults for whatever the file leaves out.
public struct CollectorConfig: Sendable, Hashable {
    public var daemonize: Bool = false
    public var pidfile: String?
    public var logfile: String?
    public var debug: Bool = false
    /// `nfacctd_ip`; "::" binds every IPv6 and IPv4 address, as nfacctd does by default.
    public var listenAddress: String = "::"
    /// `nfacctd_port`.
    public var listenPort: Int = 2100
    /// sFlow (sfacctd's keys): on when any `sfacctd_` key is set. `sfacctd_ip` defaults to
    /// "::" and `sfacctd_port` to 6343, as in sfacctd.
    public var sflow: Bool = false
    public var sflowListenAddress: String = "::"
    public var sflowListenPort: Int = 6343
    /// Whether `nfacctd_ip` or `nfacctd_port` was set: with sFlow on, NetFlow/IPFIX is only
    /// received when one of them asks for it (a configuration written for sfacctd listens
    /// for sFlow alone).
    public var netflowListenKeys: Bool = false
    /// `sfacctd_counter_file`: sFlow counter samples as JSON lines, sfacctd's format; `$peer_src_ip`
    /// gives each agent its file.
    public var sflowCounterFile: String?
    /// `nfacctd_disable_checks` / `nfacctd_disable_sanity_checks`: stop logging sequence and
    /// version problems. pmacct documents the checks as on by default and its code runs them
    /// unless the key is set, so the default is false.
    public var disableChecks: Bool = false
    /// `nfacctd_time_new`: bin flows by arrival time instead of their own timestamps.
    public var timeNew: Bool = false
    /// `nfacctd_renormalize`: scale counters by the sampling rate.
    public var renormalize: Bool = false
    /// `sampling_map`, loaded; first full match wins.
    public var samplingMap: [SamplingRule] = []
    /// The `sampling_map` path, kept for reloading.
    public var samplingMapPath: String?
    /// `nfacctd_as` (`sfacctd_as`): pmacct's default is none for NetFlow and sflow (the
    /// extended gateway's ASNs) when sFlow is on.
    public var asSource: ASSource = .none
    /// Whether a line set `asSource`.
    var asSourceSet = false
    /// `nfacctd_net`.
    public var netSource: NetSource = .netflow
    /// `bgp_agent_map`, loaded: the first entry matching an exporter names its BGP peer.
    public var agentMap: [AgentMapEntry] = []
    /// The `bgp_agent_map` path.
    public var agentMapPath: String?
    /// `bgp_peer_src_as_type: bgp`: peer_src_as from the BGP RIB (the source's best path).
    public var peerSrcASFromBGP: Bool = false
    /// `bgp_nexthop_mismatch: best` (pathflow's own key): a flow whose BGP next-hop no path
    /// carries takes the best path's attributes; by default (`none`) it gets none, as in pmacct.
    public var nexthopMismatchUsesBest: Bool = false
    /// `use_ip_next_hop`: the IP next-hop (IE 15/62) stands in for a missing BGP next-hop.
    public var useIPNextHop: Bool = false
    /// `nfacctd_pipe_size`: the socket receive buffer; nil leaves the system default.
    public var receiveBufferBytes: Int?
    /// pmacct's nfacctd_allow_file, loaded: the exporters whose datagrams are accepted; nil
    /// accepts every exporter.
    public var flowAllowList: [IPPrefix]?
    public var flowAllowFilePath: String?
    /// `nfacctd_templates_lifetime` (pathflow's): seconds after which a template neither
    /// refreshed nor used is forgotten; 0 keeps templates forever.
    public var templateLifetime: Int = 1800
    /// `nfacctd_state_bytes` (pathflow's): memory all exporters' templates, samplers and sessions
    /// may hold, shared out between the receive threads.
    public var decoderBytes: Int = 64 << 20
    /// `nfacctd_state_bytes_per_exporter` (pathflow's): memory one exporter address may hold.
    public var decoderBytesPerExporter: Int = 4 << 20
    /// `metrics_listen` (pathflow's own key): `HOST:PORT`, `[IPv6]:PORT`, or `false`.
    public var metricsListen: String = "127.0.0.1:9479"
    /// `console_capacities` (pathflow's own key): the capacity file of the console's capacity,
    /// what-if, failures and forecast reports, read again for every report.
    public var consoleCapacities: String?
    /// `console_failure_groups` (pathflow's own key): the groups of exits that fail together in
    /// the console's failures report, read again for every report.
    public var consoleFailureGroups: String?
    /// `console_listen` (pathflow's own key): where the collector serves the console's API,
    /// `HOST:PORT`, `[IPv6]:PORT`, or `false` (the default: no console).
    public var consoleListen: String = "false"
    /// `console_token_file`: a file whose first line is the token every console request must carry.
    public var consoleTokenFile: String?
    /// `console_view`: the view the console reads; by default the first sqlite3 or clickhouse view.
    public var consoleView: String?
    /// `timestamps_utc` given without a plugin name.
    public var timestampsUTC: Bool = false
    public var views: [ViewConfig] = []
    /// The BGP daemon (`bgp_daemon*`, `bgp_table_dump*`).
    public var bgp = BGPDaemonConfig()

    public init(views: [ViewConfig] = []) {
        self.views = views
    }

    /// Reads, parses and evaluates a configuration file. Throws `ConfigError.fatal` with all
    /// diagnostics when any is fatal; otherwise returns the skipped lines alongside.
    public static func load(path: String) throws -> (CollectorConfig, [ConfigDiagnostic]) {
        let (config, diagnostics) = make(raw: try ConfigParser.read(path: path))
        guard let config else { throw ConfigError.fatal(diagnostics) }
        return (config, diagnostics)
    }

    /// The configuration, or nil when a diagnostic is fatal; diagnostics in file/line order.
    /// Reads the `sampling_map` file if one is named (a relative path is taken from the
    /// current directory, as pmacct does).
    public static func make(raw: RawConfig) -> (CollectorConfig?, [ConfigDiagnostic]) {
        ConfigEvaluator.evaluate(raw)
    }

    /// A copy with the command line's values in place of the file's.
    public func applying(_ overrides: ConfigOverrides) -> CollectorConfig {
        var copy = self
        if let port = overrides.listenPort { copy.listenPort = port }
        if let address = overrides.listenAddress {
            copy.listenAddress = address
            copy.sflowListenAddress = address
        }
        if let port = overrides.sflowListenPort {
            copy.sflowListenPort = port
            copy.sflow = true
        }
        if let metrics = overrides.metricsListen { copy.metricsListen = metrics }
        if let pidfile = overrides.pidfile { copy.pidfile = pidfile }
        if let logfile = overrides.logfile { copy.logfile = logfile }
        if let db = overrides.sqlDB {
            for index in copy.views.indices where copy.views[index].plugin == .sqlite3 {
                copy.views[index].sqlDB = db
            }
        }
        return copy
    }

    /// Whether NetFlow/IPFIX is received on `nfacctd_ip`/`nfacctd_port` (sFlow datagrams sent
    /// there are decoded too).
    public var receivesNetFlow: Bool { !sflow || netflowListenKeys }

    /// The SQLite database of the RIB snapshot (rib_paths), the best-path history and the
    /// mismatch examples: `bgp_rib_snapshot_db`, else the first sqlite3 view's database.
    public var ribSnapshotDatabase: String? {
        bgp.ribSnapshotDB ?? views.first { $0.plugin == .sqlite3 }?.sqlDB
    }

    /// Where to serve the console; nil when `console_listen` is `false`.
    public var consoleEndpoint: ListenEndpoint? {
        ListenEndpoint(parsing: consoleListen)
    }

    /// Where to serve metrics; nil when `metrics_listen` is `false` (or not a valid address).
    public var metricsEndpoint: ListenEndpoint? {
        ListenEndpoint(parsing: metricsListen)
    }
}
