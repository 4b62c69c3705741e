/// One plugin instance from `plugins:` — a view of the flows with its own aggregation and
/// output. Defaults are pmacct's.
public struct ViewConfig: Sendable, Hashable {
    public enum Plugin: String, Sendable, Hashable {
        case sqlite3
        case print
        /// pathflow's: a ClickHouse table (`clickhouse_*` keys).
        case clickhouse
    }

    /// A clickhouse view's server, table placement and spool (pathflow's `clickhouse_*` keys).
    public struct ClickHouse: Sendable, Hashable {
        /// `clickhouse_url`: the HTTP interface of the server this collector inserts into.
        public var url = "http://127.0.0.1:8123"
        /// `clickhouse_database`.
        public var database = "pathflow"
        /// `clickhouse_credentials_file`: a file whose first line is `user:password`.
        public var credentialsFile: String?
        /// `clickhouse_cluster`: a cluster of the server's `remote_servers`; rows go to
        /// `<table>_local` and reports read `<table>`, a Distributed table over every shard.
        public var cluster: String?
        /// `clickhouse_retention_days`: whole days kept; older ones are dropped.
        public var retentionDays: Int?
        /// `clickhouse_spool_dir`: batches wait here while the server does not take them, in a
        /// directory per view.
        public var spoolDirectory = "/tmp/pathflow-spool"
        /// `clickhouse_spool_bytes`: the spool's bound.
        public var spoolBytes = 1 << 30
        /// `clickhouse_timeout`: seconds an insert or a statement may take.
        public var timeoutSeconds = 30

        public init() {}
    }

    public enum PrintOutputFormat: String, Sendable, Hashable {
        case formatted
        case csv
        case json
    }

    /// The name in `plugins: sqlite3[name]`; pmacct names an unnamed instance
    /// `default_<plugin>` (e.g. `default_sqlite3`).
    public var name: String
    public var plugin: Plugin
    /// Primitive names as in pmacct's `aggregate`; pmacct aggregates on `src_host` when none is given.
    public var aggregate: [String]
    /// `sql_db`; pmacct's sqlite3 default is /tmp/pmacct.db.
    public var sqlDB: String
    /// `sql_table`; by default pmacct's name for the table version: `acct`, `acct_v2`, … `acct_v9`.
    public var sqlTable: String
    /// `sql_table_version`, nil when not given (pmacct then uses version 1).
    public var sqlTableVersion: Int?
    /// Seconds between flushes to the backend: `sql_refresh_time` and `print_refresh_time`,
    /// which pmacct stores in one setting.
    public var refreshTime: Int
    /// `sql_history` / `print_history`; nil means no time bins.
    public var history: TimeBin?
    /// `sql_history_roundoff` letters from "mhdwM"; empty when not given.
    public var historyRoundoff: String
    public var optimizeClauses: Bool
    /// `sql_rollup` (pathflow's): keep the table's daily rollup, `<table>_daily`, for reports
    /// over long ranges. On by default; it applies to views with time bins shorter than a day.
    public var rollup: Bool
    /// `sql_backlog_rows` (pathflow's): rows of failed flushes kept in memory for the next try,
    /// at most; past it the oldest are dropped, counted and logged. About 100 bytes a row.
    public var backlogRows: Int
    /// `sql_num_protos` / `print_num_protos`: protocols as numbers instead of names.
    public var numProtos: Bool
    public var timestampsUTC: Bool
    /// `print_output_file`; nil means standard output. pmacct keeps it in the same setting as
    /// `sql_table`, so either key names the file of a print view.
    public var printOutputFile: String?
    public var printOutputFormat: PrintOutputFormat
    /// `print_output_file_append`: add each flush to the file instead of replacing it.
    public var printOutputFileAppend: Bool
    /// `print_latest_file`: a symbolic link kept pointing at the newest output file.
    public var printLatestFile: String?
    /// `print_output_separator`, unescaped (`\t` is a tab, `\s` a space): csv's separator.
    public var printOutputSeparator: String
    /// `print_markers`: start and end lines around each flush.
    public var printMarkers: Bool
    public var clickhouse = ClickHouse()

    public init(name: String, plugin: Plugin) {
        self.name = name
        self.plugin = plugin
        aggregate = ["src_host"]
        sqlDB = "/tmp/pmacct.db"
        sqlTable = "acct"
        sqlTableVersion = nil
        refreshTime = 60
        history = nil
        historyRoundoff = ""
        optimizeClauses = false
        rollup = true
        backlogRows = 4_000_000
        numProtos = false
        timestampsUTC = false
        printOutputFile = nil
        printOutputFormat = .formatted
        printOutputFileAppend = false
        printLatestFile = nil
        printOutputSeparator = ","
        printMarkers = false
    }

    /// Whether the daily rollup is kept: `sql_rollup` on, time bins shorter than a day, and a
    /// table in pathflow's layout (not pmacct's v1).
    public var keepsRollup: Bool {
        guard rollup, plugin == .sqlite3, let length = history?.lengthInSeconds, length < 86_400 else { return false }
        return sqlTableVersion != 1
    }

    /// `print_refresh_time`; the same setting as `refreshTime`, as in pmacct.
    public var printRefreshTime: Int { refreshTime }

    /// pmacct's default table name for a table version.
    static func defaultTable(version: Int?) -> String {
        guard let version, version >= 2 else { return "acct" }
        return "acct_v\(version)"
    }
}
