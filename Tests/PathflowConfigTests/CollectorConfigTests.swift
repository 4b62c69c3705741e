import Testing
@testable import PathflowConfig

struct CollectorConfigTests {
    @Test func defaultsArePmacctsForAnUnnamedPrintPlugin() throws {
        let (config, diagnostics) = Fixtures.make(["plugins: print"])
        #expect(diagnostics.isEmpty)
        let collector = try #require(config)
        #expect(collector.listenAddress == "::")
        #expect(collector.listenPort == 2100)
        #expect(collector.daemonize == false)
        #expect(collector.debug == false)
        #expect(collector.disableChecks == false)
        #expect(collector.renormalize == false)
        #expect(collector.asSource == .none)
        #expect(collector.receiveBufferBytes == nil)
        #expect(collector.metricsListen == "127.0.0.1:9479")
        #expect(collector.metricsEndpoint == ListenEndpoint(host: "127.0.0.1", port: 9479))
        let view = try #require(collector.views.first)
        #expect(view.name == "default_print")
        #expect(view.plugin == .print)
        #expect(view.aggregate == ["src_host"])
        #expect(view.printOutputFile == nil)
        #expect(view.printOutputFormat == .formatted)
        #expect(view.printRefreshTime == 60)
        #expect(view.history == nil)
        #expect(view.sqlDB == "/tmp/pmacct.db")
    }

    @Test func instancesTakeGlobalValuesAndTheirOwnOverrides() throws {
        let (config, diagnostics) = Fixtures.make([
            "sql_table[matrix]: traffic_matrix",  // before plugins: pmacct reads plugins first
            "plugins: sqlite3[matrix], sqlite3[acct], print[dbg]",
            "aggregate: src_host, dst_host",
            "aggregate[matrix]: peer_src_ip, peer_dst_ip, in_iface",
            "sql_db: /tmp/a.db",
            "sql_db[acct]: /tmp/b.db",
            "sql_history[acct]: 1h",
            "sql_history: 5m",  // later, without a name: overrides the line above, as pmacct
            "sql_refresh_time[acct]: 300",
            "sql_table_version[acct]: 2",
            "print_output[dbg]: CSV",
            "print_output_file[dbg]: /tmp/out.csv",
            "print_refresh_time[dbg]: 10",
            "timestamps_utc[dbg]: true",
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let views = try #require(config?.views)
        #expect(views.map(\.name) == ["matrix", "acct", "dbg"])
        let (matrix, acct, dbg) = (views[0], views[1], views[2])

        #expect(matrix.aggregate == ["peer_src_ip", "peer_dst_ip", "in_iface"])
        #expect(matrix.sqlTable == "traffic_matrix")
        #expect(matrix.sqlDB == "/tmp/a.db")
        #expect(matrix.history == .minutes(5))
        #expect(matrix.refreshTime == 60)

        #expect(acct.aggregate == ["src_host", "dst_host"])
        #expect(acct.sqlDB == "/tmp/b.db")
        #expect(acct.history == .minutes(5))
        #expect(acct.refreshTime == 300)
        #expect(acct.sqlTableVersion == 2)
        #expect(acct.sqlTable == "acct_v2")  // pmacct's default name for version 2

        #expect(dbg.plugin == .print)
        #expect(dbg.printOutputFormat == .csv)
        #expect(dbg.printOutputFile == "/tmp/out.csv")
        #expect(dbg.printRefreshTime == 10)
        #expect(dbg.timestampsUTC == true)
        #expect(acct.timestampsUTC == false)
        #expect(config?.timestampsUTC == false)
    }

    @Test func globalTimestampsUTCReachesEveryView() {
        let (config, _) = Fixtures.make(["plugins: sqlite3[a], print[b]", "timestamps_utc: true"])
        #expect(config?.timestampsUTC == true)
        #expect(config?.views.map(\.timestampsUTC) == [true, true])
    }

    @Test func sqlTableNamesThePrintFileAsInPmacct() {
        let (config, diagnostics) = Fixtures.make(["plugins: print[p], sqlite3[s]", "sql_table[p]: /tmp/p.txt", "print_output_file[s]: t1"])
        #expect(diagnostics.isEmpty)
        #expect(config?.views.first?.printOutputFile == "/tmp/p.txt")
        #expect(config?.views.last?.sqlTable == "t1")
    }

    @Test func aNameNotInPluginsIsReportedAndIgnored() {
        let (config, diagnostics) = Fixtures.make([
            "plugins: sqlite3[a]",
            "sql_table[b]: other",
            "sql_table[a]: mine",
        ])
        #expect(config?.views.map(\.sqlTable) == ["mine"])
        #expect(diagnostics.map(\.description) == [
            "test.conf:2: key 'sql_table[b]': unknown plugin instance 'b' (plugins: a) (skipped)",
        ])
    }

    @Test func aGlobalKeyWithANameAppliesToAllAndIsReported() {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3[a]", "nfacctd_port[a]: 9995"])
        #expect(config?.listenPort == 9995)
        #expect(diagnostics.map(\.summary) == ["2 nfacctd_port[a] skipped"])
    }

    @Test func unknownKeyIsSkippedWithFileAndLine() {
        let (config, diagnostics) = Fixtures.make([
            "! header",
            "plugins: sqlite3",
            "logfile_mask: all",
            "nfacctd_port: 4739",
        ], file: "/etc/pmacct/nfacctd.conf")
        #expect(config?.listenPort == 4739)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.file == "/etc/pmacct/nfacctd.conf")
        #expect(diagnostics.first?.line == 3)
        #expect(diagnostics.first?.key == "logfile_mask")
        #expect(diagnostics.first?.severity == .skipped)
        #expect(diagnostics.first?.description == "/etc/pmacct/nfacctd.conf:3: key 'logfile_mask': unknown key (skipped)")
    }

    @Test func invalidValuesAreSkippedAndDefaultsKept() throws {
        let (config, diagnostics) = Fixtures.make([
            "plugins: sqlite3",
            "debug: core,nfprobe",
            "nfacctd_port: 70000",
            "nfacctd_port: 47x9",
            "nfacctd_pipe_size: 64M",
            "sql_refresh_time: 10s",
            "sql_table_version: 12",
            "sql_history_roundoff: wd",
            "sql_optimize_clauses: yes",
            "metrics_listen: ::1:9000",
            "print_output: xml",
            "nfacctd_as: maybe",
        ])
        let collector = try #require(config)
        #expect(collector.debug == false)
        #expect(collector.listenPort == 2100)
        #expect(collector.receiveBufferBytes == nil)
        #expect(collector.metricsListen == "127.0.0.1:9479")
        #expect(collector.asSource == .none)
        let view = try #require(collector.views.first)
        #expect(view.refreshTime == 60)
        #expect(view.sqlTableVersion == nil)
        #expect(view.historyRoundoff == "")
        #expect(view.optimizeClauses == false)
        #expect(view.printOutputFormat == .formatted)
        #expect(diagnostics.map(\.line) == Array(2...12))
        #expect(diagnostics.allSatisfy { $0.severity == .skipped })
        #expect(diagnostics.first { $0.key == "nfacctd_pipe_size" }?.message.contains("bytes") == true)
    }

    @Test func validValuesOfTheSameKeysAreTaken() throws {
        let (config, diagnostics) = Fixtures.make([
            "plugins: sqlite3",
            "debug: True",
            "daemonize: TRUE",
            "nfacctd_port: 9995",
            "nfacctd_pipe_size: 67108864",
            "nfacctd_time_new: true",
            "nfacctd_renormalize: true",
            "nfacctd_disable_checks: false",
            "nfacctd_as: netflow",
            "nfacctd_net: NetFlow",
            "sql_history_roundoff: mh",
            "sql_num_protos: true",
            "metrics_listen: [::1]:9100",
            "logfile: /tmp/pf.log",
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let collector = try #require(config)
        #expect(collector.debug && collector.daemonize && collector.timeNew && collector.renormalize)
        #expect(collector.disableChecks == false)
        #expect(collector.listenPort == 9995)
        #expect(collector.receiveBufferBytes == 67_108_864)
        #expect(collector.asSource == .netflow)
        #expect(collector.netSource == .netflow)
        #expect(collector.metricsEndpoint == ListenEndpoint(host: "::1", port: 9100))
        #expect(collector.logfile == "/tmp/pf.log")
        #expect(collector.views.first?.historyRoundoff == "mh")
        #expect(collector.views.first?.numProtos == true)
    }

    /// The daily rollup: on by default for bins shorter than a day, off with sql_rollup: false,
    /// never for daily bins or pmacct's v1 table.
    @Test func rollupFollowsTheBins() throws {
        func keeps(_ lines: [String]) throws -> [Bool] {
            let (config, diagnostics) = Fixtures.make(["plugins: sqlite3[a], sqlite3[b]"] + lines)
            #expect(diagnostics.isEmpty, "\(diagnostics)")
            return try #require(config).views.map(\.keepsRollup)
        }
        #expect(try keeps(["sql_history[a]: 5m", "sql_history[b]: 1d"]) == [true, false])
        #expect(try keeps(["sql_history: 5m", "sql_rollup[b]: false"]) == [true, false])
        #expect(try keeps(["sql_history: 1h", "sql_table_version[a]: 1"]) == [false, true])
        #expect(try keeps([]) == [false, false])
        let (_, diagnostics) = Fixtures.make(["plugins: sqlite3", "sql_rollup: daily"])
        #expect(diagnostics.first?.key == "sql_rollup")
    }

    @Test func theLastValueOfAKeyWins() {
        let (config, _) = Fixtures.make(["plugins: sqlite3", "nfacctd_port: 1000", "nfacctd_port: 2000", "sql_table: a", "sql_table: b"])
        #expect(config?.listenPort == 2000)
        #expect(config?.views.first?.sqlTable == "b")
    }

    @Test(arguments: [
        ("pre_tag_map: /etc/pmacct/pretag.map", "tagging"),
        ("aggregate_filter: tcp", "aggregate_filter"),
        ("networks_file: /etc/pmacct/networks.lst", "networks_file"),
        ("sql_preprocess: minp=2", "preprocessing"),
        ("print_preprocess: minp=2", "preprocessing"),
        ("nfacctd_as: bmp", "BMP enrichment isn't available yet"),
        ("nfacctd_net: fallback", "fallback is not implemented yet"),
        ("nfacctd_as: file", "networks_file"),
        ("bmp_daemon: true", "BMP"),
        ("sfacctd_counter_kafka_topic: counters", "sfacctd key is not implemented yet"),
        ("sfacctd_counter_output: avro", "only json"),
        ("aggregate_primitives: /etc/pmacct/primitives.lst", "custom primitives"),
        ("nfacctd_ext_sampling_rate: 100", "sampling"),
        ("aggregate: src_host, vlan, src_as_path", "vlan, src_as_path"),
        ("aggregate: src_host, sorce_port", "sorce_port"),
        ("aggregate: src_host, src_host", "repeated"),
        ("sql_table: acct_%Y%m%d", "dynamic names"),
        ("sql_table: acct_%Q", "%Q"),
        ("nfacctd_ip: collector.example", "not an IP address"),
        ("print_output: avro", "avro"),
    ])
    func unimplementedFeaturesAreFatal(line: String, messagePart: String) {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", line])
        #expect(config == nil)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.severity == .fatal)
        #expect(diagnostics.first?.line == 2)
        #expect(diagnostics.first?.message.contains(messagePart) == true, "\(diagnostics)")
    }

    /// sfacctd's keys turn sFlow on; a configuration written for sfacctd listens for sFlow
    /// alone (6343 by default) and takes ASNs from sFlow, as sfacctd does.
    @Test func sfacctdConfigurations() throws {
        let (sflowOnly, d1) = Fixtures.make(["plugins: sqlite3", "sfacctd_renormalize: true"])
        #expect(d1.isEmpty, "\(d1)")
        let a = try #require(sflowOnly)
        #expect(a.sflow && !a.receivesNetFlow && a.sflowListenPort == 6343 && a.sflowListenAddress == "::")
        #expect(a.renormalize && a.asSource == .netflow)
        let (both, d2) = Fixtures.make([
            "plugins: sqlite3", "nfacctd_port: 2100", "sfacctd_ip: 127.0.0.1", "sfacctd_port: 6400", "sfacctd_as: bgp",
        ])
        #expect(d2.isEmpty, "\(d2)")
        let b = try #require(both)
        #expect(b.sflow && b.receivesNetFlow && b.sflowListenPort == 6400 && b.sflowListenAddress == "127.0.0.1")
        #expect(b.asSource == .bgp)
        let (netflowOnly, _) = Fixtures.make(["plugins: sqlite3"])
        #expect(netflowOnly?.sflow == false && netflowOnly?.receivesNetFlow == true && netflowOnly?.asSource == ASSource.none)
        #expect(Fixtures.make(["plugins: sqlite3", "sfacctd_port: 0"]).1.first?.severity == .skipped)
        #expect(Fixtures.make(["plugins: sqlite3", "sfacctd_peer_as: false"]).0?.sflow == false)
    }

    /// sfacctd_allow_file is sfacctd's nfacctd_allow_file: one list for the collector's sockets,
    /// its problems named under the key the line used.
    @Test func sfacctdAllowFile() throws {
        let dir = try Fixtures.temporaryDirectory()
        let allow = dir.appendingPathComponent("agents.lst").path
        try "192.0.2.10\n2001:db8::/64\nnot-an-address\n".write(toFile: allow, atomically: true, encoding: .utf8)
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", "sfacctd_allow_file: \(allow)"])
        let c = try #require(config)
        #expect(c.sflow && !c.receivesNetFlow)
        #expect(c.flowAllowList?.map(\.description) == ["192.0.2.10/32", "2001:db8::/64"])
        #expect(diagnostics.count == 1 && diagnostics.first?.key == "sfacctd_allow_file" && diagnostics.first?.line == 3, "\(diagnostics)")
        let (missing, d2) = Fixtures.make(["plugins: sqlite3", "sfacctd_allow_file: /nonexistent/agents.lst"])
        #expect(missing == nil)
        #expect(d2.map(\.summary) == ["2 sfacctd_allow_file fatal"])
    }

    @Test func defaultValuesOfUnimplementedFeaturesAreAccepted() {
        let (config, diagnostics) = Fixtures.make([
            "plugins: sqlite3", "bgp_daemon: false", "sql_table_type: original",
            "sql_history_offset: 0", "nfacctd_stitching: FALSE",
        ])
        #expect(config != nil)
        #expect(diagnostics.isEmpty)
    }

    @Test(arguments: ["memory", "mysql", "pgsql", "kafka", "amqp", "nfprobe", "sfprobe", "tee", "core"])
    func unimplementedPluginsAreFatal(plugin: String) {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3[a], \(plugin)[x]", "sql_table[x]: t"])
        #expect(config == nil)
        // The refused instance's own keys add no noise.
        #expect(diagnostics.map(\.summary) == ["1 plugins fatal"])
        #expect(diagnostics.first?.message.contains(plugin) == true)
    }

    @Test func performanceKnobsHaveNoEffect() {
        let (config, diagnostics) = Fixtures.make([
            "plugins: sqlite3", "plugin_pipe_size: 10240000", "plugin_buffer_size: 10240",
            "sql_cache_entries: 32771", "sql_dont_try_update: true", "sql_multi_values: 1024000",
            "bgp_daemon_batch: 10",
        ])
        #expect(config != nil)
        #expect(diagnostics.count == 6)
        #expect(diagnostics.allSatisfy { $0.severity == .skipped && $0.message == "no effect in pathflow" })
        #expect(diagnostics.first?.description == "test.conf:2: key 'plugin_pipe_size': no effect in pathflow (skipped)")
    }

    @Test func withoutPluginsTheConfigurationIsRefused() {
        let (config, diagnostics) = Fixtures.make(["nfacctd_port: 2100"])
        #expect(config == nil)
        #expect(diagnostics.map(\.description) == ["test.conf:0: key 'plugins': no plugins configured: add plugins: sqlite3"])
    }

    @Test func pluginsLineRules() {
        let (config, diagnostics) = Fixtures.make([
            "plugins: sqlite3[a], sqlite3[a], SQLite3, frobnicate[z], print[]",
            "plugins: print",
        ])
        #expect(config?.views.map(\.name) == ["a", "default_sqlite3", "default_print"])
        #expect(config?.views.map(\.plugin) == [.sqlite3, .sqlite3, .print])
        #expect(diagnostics.map(\.summary) == ["1 plugins skipped", "1 plugins skipped", "2 plugins skipped"])
        #expect(diagnostics[0].message.contains("'a'"))
        #expect(diagnostics[1].message.contains("frobnicate"))
    }

    @Test func onlyUnknownPluginTypesLeaveNothingToRun() {
        let (config, diagnostics) = Fixtures.make(["plugins: frobnicate"])
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == ["1 plugins skipped", "1 plugins fatal"])
    }

    @Test func diagnosticsAreInLineOrder() {
        let (_, diagnostics) = Fixtures.make([
            "zzz_unknown: 1",
            "plugins: sqlite3[a]",
            "sql_table[q]: x",
            "pre_tag_map: /x",
            "debug: maybe",
        ])
        #expect(diagnostics.map(\.line) == [1, 3, 4, 5])
    }

    @Test func overridesReplaceFileValues() throws {
        let (config, _) = Fixtures.make(["plugins: sqlite3[a], print[p]", "sql_db: /var/log/pmacct/flows.db", "nfacctd_port: 4739"])
        let overridden = try #require(config).applying(ConfigOverrides(
            sqlDB: "/tmp/flows.db", listenPort: 9999, listenAddress: "127.0.0.1",
            metricsListen: "false", pidfile: "/tmp/pf.pid", logfile: "/tmp/pf.log"))
        #expect(overridden.views.map(\.sqlDB) == ["/tmp/flows.db", "/var/log/pmacct/flows.db"])
        #expect(overridden.listenPort == 9999)
        #expect(overridden.listenAddress == "127.0.0.1")
        #expect(overridden.metricsEndpoint == nil)
        #expect(overridden.pidfile == "/tmp/pf.pid")
        #expect(overridden.logfile == "/tmp/pf.log")
        #expect(try #require(config).applying(ConfigOverrides()) == config)
    }

    @Test func loadReportsAMissingFile() {
        #expect {
            _ = try CollectorConfig.load(path: "/nonexistent/pathflow.conf")
        } throws: { error in
            guard case ConfigError.unreadable(let path, _) = error else { return false }
            return path == "/nonexistent/pathflow.conf"
        }
    }

    @Test(arguments: [
        ("127.0.0.1:9479", ListenEndpoint(host: "127.0.0.1", port: 9479)),
        ("[::1]:9100", ListenEndpoint(host: "::1", port: 9100)),
        ("localhost:80", ListenEndpoint(host: "localhost", port: 80)),
    ])
    func listenEndpoints(text: String, expected: ListenEndpoint) {
        #expect(ListenEndpoint(parsing: text) == expected)
        #expect(ListenEndpoint(parsing: text)?.description == text)
    }

    @Test(arguments: ["::1:9000", "127.0.0.1", ":80", "127.0.0.1:0", "127.0.0.1:65536", "[::1]9100", "[nothost]:80", "false"])
    func invalidListenEndpoints(text: String) {
        #expect(ListenEndpoint(parsing: text) == nil)
    }
}
