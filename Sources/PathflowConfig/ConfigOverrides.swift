/// Command-line values that replace what the configuration file says, so a pmacct
/// configuration whose paths do not exist on this machine (e.g. the tutorial's
/// /var/log/pmacct/flows.db) can run without editing it.
public struct ConfigOverrides: Sendable, Hashable {
    /// Replaces `sql_db` of every sqlite3 view.
    public var sqlDB: String?
    public var listenPort: Int?
    /// Replaces `nfacctd_ip` and `sfacctd_ip`.
    public var listenAddress: String?
    /// Replaces `sfacctd_port` (and turns sFlow on).
    public var sflowListenPort: Int?
    /// `HOST:PORT`, `[IPv6]:PORT` or `false`; see `ListenEndpoint(parsing:)` to validate it.
    public var metricsListen: String?
    public var pidfile: String?
    public var logfile: String?

    public init(
        sqlDB: String? = nil, listenPort: Int? = nil, listenAddress: String? = nil,
        metricsListen: String? = nil, pidfile: String? = nil, logfile: String? = nil, sflowListenPort: Int? = nil
    ) {
        self.sflowListenPort = sflowListenPort
        self.sqlDB = sqlDB
        self.listenPort = listenPort
        self.listenAddress = listenAddress
        self.metricsListen = metricsListen
        self.pidfile = pidfile
        self.logfile = logfile
    }
}
