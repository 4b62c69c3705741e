import Testing
@testable import PathflowConfig

/// The clickhouse plugin's keys (pathflow's, in pmacct's style).
struct ClickHouseConfigTests {
    @Test func clickhouseKeysAreRead() throws {
        let (config, diagnostics) = Fixtures.make([
            "plugins: clickhouse[ch], sqlite3[s]",
            "aggregate: peer_src_ip, peer_dst_as",
            "sql_table[ch]: matrix",
            "sql_history: 5m",
            "sql_refresh_time: 60",
            "clickhouse_url[ch]: http://10.1.1.1:8123",
            "clickhouse_database[ch]: flows",
            "clickhouse_credentials_file[ch]: /etc/pathflow/clickhouse.cred",
            "clickhouse_cluster[ch]: planet",
            "clickhouse_retention_days[ch]: 400",
            "clickhouse_spool_dir[ch]: /var/spool/pathflow",
            "clickhouse_spool_bytes[ch]: 268435456",
            "clickhouse_timeout[ch]: 5",
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let views = try #require(config?.views)
        let ch = views[0]
        #expect(ch.plugin == .clickhouse && ch.sqlTable == "matrix" && ch.history == .minutes(5) && ch.refreshTime == 60)
        #expect(ch.clickhouse.url == "http://10.1.1.1:8123" && ch.clickhouse.database == "flows")
        #expect(ch.clickhouse.credentialsFile == "/etc/pathflow/clickhouse.cred" && ch.clickhouse.cluster == "planet")
        #expect(ch.clickhouse.retentionDays == 400 && ch.clickhouse.spoolDirectory == "/var/spool/pathflow")
        #expect(ch.clickhouse.spoolBytes == 268_435_456 && ch.clickhouse.timeoutSeconds == 5)
        // The sqlite3 view keeps its own defaults and no daily rollup belongs to the clickhouse one.
        #expect(views[1].plugin == .sqlite3 && views[1].sqlTable == "acct" && !ch.keepsRollup)
    }

    @Test func defaults() throws {
        let (config, diagnostics) = Fixtures.make(["plugins: clickhouse"])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let view = try #require(config?.views.first)
        #expect(view.name == "default_clickhouse" && view.sqlTable == "acct")
        #expect(view.clickhouse == ViewConfig.ClickHouse())
        #expect(view.clickhouse.url == "http://127.0.0.1:8123" && view.clickhouse.database == "pathflow")
        #expect(view.clickhouse.spoolDirectory == "/tmp/pathflow-spool" && view.clickhouse.spoolBytes == 1 << 30)
    }

    @Test func badValuesNameTheKey() throws {
        for (line, key) in [
            ("clickhouse_url: 127.0.0.1:8123", "clickhouse_url"),
            ("clickhouse_database: flows-db", "clickhouse_database"),
            ("clickhouse_cluster: 1st", "clickhouse_cluster"),
            ("clickhouse_retention_days: 0", "clickhouse_retention_days"),
            ("clickhouse_timeout: soon", "clickhouse_timeout"),
            ("sql_table: acct-%Y", "sql_table"),
        ] {
            let (_, diagnostics) = Fixtures.make(["plugins: clickhouse", line])
            #expect(diagnostics.contains { $0.key.hasPrefix(key) && $0.severity == .fatal }, "\(line): \(diagnostics)")
        }
    }
}
