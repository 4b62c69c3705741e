import NetCore

/// The BGP daemon's settings: pmacct's `bgp_daemon*` and `bgp_table_dump*` keys, plus a few of
/// pathflow's own where pmacct has none (hold time, prefix limit, neighbours to connect to).
public struct BGPDaemonConfig: Sendable, Hashable {
    /// `bgp_daemon`.
    public var enabled = false
    /// `bgp_daemon_ip`: "::" listens on every IPv6 and IPv4 address.
    public var listenAddress = "::"
    /// `bgp_daemon_port`.
    public var listenPort = 179
    /// `bgp_daemon_id` as text; nil: `bgp_daemon_ip` when it is IPv4, else 1.2.3.4 (pmacct's rule).
    public var identifierText: String?
    /// `bgp_daemon_as`; nil mirrors each peer's AS (iBGP), as pmacct does.
    public var localAS: UInt32?
    /// `bgp_daemon_max_peers` (pmacct's default 10).
    public var maxPeers = 10
    /// `bgp_daemon_allow_file`, loaded: nil allows every peer; an empty list allows none (pmacct).
    public var allowList: [IPPrefix]?
    public var allowFilePath: String?
    /// `bgp_daemon_md5_file`, loaded: TCP MD5 keys (RFC 2385) per peer address.
    public var md5Keys: [MD5Key] = []
    public var md5FilePath: String?
    /// `bgp_daemon_add_path_ignore`: do not negotiate ADD-PATH (one path per prefix).
    public var addPathIgnore = false
    /// `bgp_table_dump_file`, with pmacct's `%` time and `$peer_src_ip` / `$peer_tcp_port` variables.
    public var tableDumpFile: String?
    /// `bgp_table_dump_refresh_time`, seconds (pmacct accepts 60 to 86400).
    public var tableDumpRefreshTime: Int?
    /// `bgp_daemon_holdtime` (pathflow's): proposed hold time; 0 turns keepalives off.
    public var holdTime = 90
    /// `bgp_daemon_max_prefixes` (pathflow's): routes, i.e. (prefix, path id) pairs, one peer may
    /// hold; past it the session is closed with Cease 6/1 (RFC 4486). 0 = no limit.
    public var maxPrefixes = 10_000_000
    /// `bgp_daemon_neighbors` (pathflow's): peers to connect to, besides accepting connections.
    public var neighbors: [Neighbor] = []
    /// `bgp_rib_snapshot_refresh_time` (pathflow's own key): every this many seconds every
    /// router's paths go into the `rib_paths` table for `pathflow report what-if`; nil: never.
    public var ribSnapshotRefreshTime: Int?
    /// `bgp_best_path_history` (pathflow's own key): how many best-path changes (egress shifts)
    /// are kept, in memory until written and in the `rib_best_changes` table of
    /// `bgp_rib_snapshot_db` (or the first sqlite3 view's sql_db); 0 turns recording off.
    public var bestPathHistory = 100_000
    /// `bgp_rib_snapshot_db` (pathflow's own key): where; by default the first sqlite3 view's sql_db.
    public var ribSnapshotDB: String?

    public init() {}

    public struct MD5Key: Sendable, Hashable {
        public var address: IPAddress
        public var password: String

        public init(address: IPAddress, password: String) {
            self.address = address
            self.password = password
        }
    }

    public struct Neighbor: Sendable, Hashable, CustomStringConvertible {
        public var address: IPAddress
        public var port: Int

        public init(address: IPAddress, port: Int = 179) {
            self.address = address
            self.port = port
        }

        public var description: String {
            address.family == .v6 ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
    }

    /// The BGP identifier to send: `bgp_daemon_id`, else `bgp_daemon_ip` when IPv4, else 1.2.3.4.
    public var identifier: UInt32 {
        for text in [identifierText, listenAddress].compactMap({ $0 }) {
            if let address = IPAddress(text), address.family == .v4, address.v4Value != 0 { return address.v4Value }
        }
        return 0x0102_0304
    }
}
