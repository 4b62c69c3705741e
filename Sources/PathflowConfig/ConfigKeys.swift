import NetCore

/// Every key pathflow recognises, as tables: implemented keys, pmacct's aliases for them,
/// knobs with no effect here, and pmacct features that are not implemented.
enum ConfigKeys {
    static func rule(for key: String) -> KeyRule? {
        let key = aliases[key] ?? key
        if key == "plugins" { return .plugins }
        if let rule = global[key] ?? bgp[key] { return .global(rule) }
        if let rule = view[key] { return .view(rule) }
        if let entry = unimplemented[key] { return .unimplemented(reason: entry.reason, harmless: entry.harmless) }
        if noEffect.contains(key) { return .noEffect }
        return prefixRules.first { key.hasPrefix($0.prefix) }?.rule
    }

    // MARK: plugins

    /// pmacct's plugin types (cfg.c, plugin_types_list); an unknown type is ignored, as there.
    static let pluginTypes: [String: Result<ViewConfig.Plugin, KeyRule.Problem>] = [
        "sqlite3": .success(.sqlite3),
        "print": .success(.print),
        "clickhouse": .success(.clickhouse),
        "memory": .failure(.unsupported("the memory plugin is not implemented: use plugins: sqlite3")),
        "mysql": .failure(.unsupported("the mysql plugin is not implemented: use plugins: sqlite3")),
        "pgsql": .failure(.unsupported("the pgsql plugin is not implemented: use plugins: sqlite3")),
        "kafka": .failure(.unsupported("the kafka plugin is not implemented yet")),
        "amqp": .failure(.unsupported("the amqp plugin is not implemented yet")),
        "nfprobe": .failure(.unsupported(
            "the nfprobe plugin exports flows from captured packets (pmacctd); a collector cannot run it, nfacctd refuses it too")),
        "sfprobe": .failure(.unsupported(
            "the sfprobe plugin exports sFlow from captured packets (pmacctd); a collector cannot run it, nfacctd refuses it too")),
        "tee": .failure(.unsupported("the tee plugin (replicating flows to other collectors) is not implemented yet")),
        "core": .failure(.unsupported("plugins of type 'core' are not allowed (pmacct refuses to start)")),
    ]

    // MARK: Implemented, daemon-wide

    static let global: [String: KeyRule.Global] = [
        "daemonize": .bool { $0.daemonize = $1 },
        "debug": .bool { $0.debug = $1 },
        "pidfile": .text { $0.pidfile = $1 },
        "logfile": .text { $0.logfile = $1 },
        "nfacctd_ip": listenAddress("nfacctd") {
            $0.listenAddress = $1
            $0.netflowListenKeys = true
        },
        "nfacctd_port": listenPort {
            $0.listenPort = $1
            $0.netflowListenKeys = true
        },
        // sfacctd's keys: any of them turns sFlow on (pathflow's collector takes both).
        "sfacctd_ip": listenAddress("sfacctd") {
            $0.sflowListenAddress = $1
            $0.sflow = true
        },
        "sfacctd_port": listenPort {
            $0.sflowListenPort = $1
            $0.sflow = true
        },
        "sfacctd_renormalize": .bool {
            $0.renormalize = $1
            $0.sflow = true
        },
        "sfacctd_as": .table(asSources, expected: "sflow") {
            $0.asSource = $1
            $0.asSourceSet = true
            $0.sflow = true
        },
        "sfacctd_net": .table(netSources, expected: "sflow") {
            $0.netSource = $1
            $0.sflow = true
        },
        "sfacctd_disable_checks": .bool {
            $0.disableChecks = $1
            $0.sflow = true
        },
        "sfacctd_counter_file": .text {
            $0.sflowCounterFile = $1
            $0.sflow = true
        },
        "sfacctd_counter_output": KeyRule.Global { value in
            guard ASCIIText.lowercased(value) == "json" else {
                return .failure(.unsupported("sfacctd_counter_output: only json is available (as in sfacctd)"))
            }
            return .success { draft, _ in draft.config.sflow = true }
        },
        // sFlow samples carry no time: they are binned by arrival either way.
        "sfacctd_time_new": .bool { config, _ in config.sflow = true },
        "sfacctd_pipe_size": KeyRule.Global { value in
            ConfigValue.positive(value).map { bytes in
                { draft, _ in
                    draft.config.receiveBufferBytes = bytes
                    draft.config.sflow = true
                }
            }
        },
        "nfacctd_disable_sanity_checks": .bool { $0.disableChecks = $1 },
        "nfacctd_time_new": .bool { $0.timeNew = $1 },
        "use_ip_next_hop": .bool { $0.useIPNextHop = $1 },
        "nfacctd_renormalize": .bool { $0.renormalize = $1 },
        "sampling_map": KeyRule.Global { value in
            // The file is read once all lines are in, so only the last sampling_map counts.
            ConfigValue.nonEmpty(value).map { path in
                { draft, line in
                    draft.config.samplingMapPath = path
                    draft.samplingMapLine = line
                }
            }
        },
        "nfacctd_as": .table(asSources, expected: "netflow") {
            $0.asSource = $1
            $0.asSourceSet = true
        },
        "nfacctd_net": .table(netSources, expected: "netflow") { $0.netSource = $1 },
        "nfacctd_pipe_size": KeyRule.Global { value in
            // pmacct's strtoull() reads "64M" as 64 bytes; refuse it rather than copy that.
            ConfigValue.positive(value).map { bytes in { draft, _ in draft.config.receiveBufferBytes = bytes } }
                .mapError { _ in .invalid("invalid value '\(value)': expected the socket buffer size in bytes (no unit suffix)") }
        },
        "metrics_listen": KeyRule.Global { value in
            if ConfigValue.bool(value) == false {
                return .success { draft, _ in draft.config.metricsListen = "false" }
            }
            guard ListenEndpoint(parsing: value) != nil else {
                return .failure(.invalid("invalid value '\(value)': expected HOST:PORT, [IPv6]:PORT or false"))
            }
            return .success { draft, _ in draft.config.metricsListen = value }
        },
        // The console's files: read for every report (edits apply without a restart), and once
        // at startup, which they stop when unreadable.
        "console_capacities": consoleFile { $0.consoleCapacities = $1 },
        "console_failure_groups": consoleFile { $0.consoleFailureGroups = $1 },
        "console_token_file": consoleFile { $0.consoleTokenFile = $1 },
        // The console inside the collector: off by default; a value that cannot be used stops
        // startup rather than leave the console off.
        "console_listen": KeyRule.Global { value in
            let listen: String
            if ConfigValue.bool(value) == false {
                listen = "false"
            } else if ListenEndpoint(parsing: value) != nil {
                listen = value
            } else {
                return .failure(.unsupported("invalid value '\(value)': expected HOST:PORT, [IPv6]:PORT or false"))
            }
            return .success { draft, line in
                draft.config.consoleListen = listen
                draft.consoleLines[line.key] = line
            }
        },
        "console_view": KeyRule.Global { value in
            guard !value.isEmpty else { return .failure(.unsupported("empty value: expected a view's name")) }
            return .success { draft, line in
                draft.config.consoleView = value
                draft.consoleLines[line.key] = line
            }
        },
    ]

    /// pathflow's own keys naming a file the console reads: an empty value stops startup, as
    /// does a file that cannot be read (checked once every line is in).
    static func consoleFile(_ set: @escaping @Sendable (inout CollectorConfig, String) -> Void) -> KeyRule.Global {
        KeyRule.Global { value in
            guard !value.isEmpty else { return .failure(.unsupported("empty value: expected a file")) }
            return .success { draft, line in
                set(&draft.config, value)
                draft.consoleFiles[line.key] = (value, line)
            }
        }
    }

    // MARK: Implemented, BGP daemon (daemon-wide)

    static let bgp: [String: KeyRule.Global] = [
        "bgp_daemon": .bool { $0.bgp.enabled = $1 },
        "bgp_daemon_ip": KeyRule.Global { value in
            guard IPAddress(value) != nil else {
                return .failure(.unsupported("'\(value)' is not an IP address (pmacct's BGP daemon refuses to start)"))
            }
            return .success { draft, _ in draft.config.bgp.listenAddress = value }
        },
        "bgp_daemon_port": KeyRule.Global { value in
            ConfigValue.positive(value, max: 65535).map { port in { draft, _ in draft.config.bgp.listenPort = port } }
        },
        "bgp_daemon_id": KeyRule.Global { value in
            // pmacct falls back to bgp_daemon_ip when the value is not an IPv4 address.
            guard let address = IPAddress(value), address.family == .v4, address.v4Value != 0 else {
                return .failure(.invalid("invalid value '\(value)': expected a non-zero IPv4 address"))
            }
            return .success { draft, _ in draft.config.bgp.identifierText = value }
        },
        "bgp_daemon_as": KeyRule.Global { value in
            guard let asn = ASCIIText.decimal(value), asn > 0, asn <= Int(UInt32.max) else {
                return .failure(.invalid("invalid value '\(value)': expected an AS number from 1 to 4294967295"))
            }
            return .success { draft, _ in draft.config.bgp.localAS = UInt32(asn) }
        },
        "bgp_daemon_max_peers": KeyRule.Global { value in
            ConfigValue.positive(value, max: 10_000).map { n in { draft, _ in draft.config.bgp.maxPeers = n } }
        },
        "nfacctd_templates_lifetime": KeyRule.Global { value in
            guard let seconds = Int(value), seconds >= 0 else {
                return .failure(.invalid("invalid value '\(value)': expected seconds (0 keeps templates forever)"))
            }
            return .success { draft, _ in draft.config.templateLifetime = seconds }
        },
        "nfacctd_state_bytes": KeyRule.Global { value in
            ConfigValue.positive(value).map { bytes in { draft, _ in draft.config.decoderBytes = max(bytes, 1 << 20) } }
        },
        "nfacctd_state_bytes_per_exporter": KeyRule.Global { value in
            ConfigValue.positive(value).map { bytes in { draft, _ in draft.config.decoderBytesPerExporter = max(bytes, 64 << 10) } }
        },
        "nfacctd_allow_file": KeyRule.Global { value in
            ConfigValue.nonEmpty(value).map { path in
                { draft, line in
                    draft.config.flowAllowFilePath = path
                    draft.flowAllowFileLine = line
                }
            }
        },
        // sfacctd's name for the same list (pmacct routes both keys to one handler): the
        // collector's list covers its NetFlow and sFlow sockets alike.
        "sfacctd_allow_file": KeyRule.Global { value in
            ConfigValue.nonEmpty(value).map { path in
                { draft, line in
                    draft.config.flowAllowFilePath = path
                    draft.flowAllowFileLine = line
                    draft.config.sflow = true
                }
            }
        },
        "bgp_daemon_allow_file": KeyRule.Global { value in
            ConfigValue.nonEmpty(value).map { path in
                { draft, line in
                    draft.config.bgp.allowFilePath = path
                    draft.allowFileLine = line
                }
            }
        },
        "bgp_daemon_md5_file": KeyRule.Global { value in
            ConfigValue.nonEmpty(value).map { path in
                { draft, line in
                    draft.config.bgp.md5FilePath = path
                    draft.md5FileLine = line
                }
            }
        },
        "bgp_daemon_add_path_ignore": .bool { $0.bgp.addPathIgnore = $1 },
        "bgp_table_dump_file": KeyRule.Global { value in
            BGPDumpPath.validate(value).map { path in { draft, _ in draft.config.bgp.tableDumpFile = path } }
        },
        "bgp_table_dump_refresh_time": KeyRule.Global { value in
            guard let seconds = ASCIIText.decimal(value), (60...86400).contains(seconds) else {
                return .failure(.invalid("invalid value '\(value)': expected seconds from 60 to 86400"))
            }
            return .success { draft, _ in draft.config.bgp.tableDumpRefreshTime = seconds }
        },
        "bgp_table_dump_output": .table(["json": .success(())], expected: "json") { _, _ in },
        "bgp_daemon_holdtime": KeyRule.Global { value in
            // RFC 4271 §4.2: zero or at least three seconds.
            guard let seconds = ASCIIText.decimal(value), seconds == 0 || (3...65535).contains(seconds) else {
                return .failure(.invalid("invalid value '\(value)': expected 0 or seconds from 3 to 65535"))
            }
            return .success { draft, _ in draft.config.bgp.holdTime = seconds }
        },
        "bgp_daemon_max_prefixes": KeyRule.Global { value in
            guard let n = ASCIIText.decimal(value), n <= Int(Int32.max) else {
                return .failure(.invalid("invalid value '\(value)': expected a whole number (0 for no limit)"))
            }
            return .success { draft, _ in draft.config.bgp.maxPrefixes = n }
        },
        "bgp_rib_snapshot_refresh_time": KeyRule.Global { value in
            guard let seconds = ASCIIText.decimal(value), (60...86_400).contains(seconds) else {
                return .failure(.invalid("invalid value '\(value)': expected seconds from 60 to 86400"))
            }
            return .success { draft, _ in draft.config.bgp.ribSnapshotRefreshTime = seconds }
        },
        "bgp_best_path_history": KeyRule.Global { value in
            guard let n = ASCIIText.decimal(value), n <= 10_000_000 else {
                return .failure(.invalid("invalid value '\(value)': expected a number of changes from 0 (off) to 10000000"))
            }
            return .success { draft, _ in draft.config.bgp.bestPathHistory = n }
        },
        "bgp_rib_snapshot_db": KeyRule.Global { value in
            ConfigValue.nonEmpty(value).map { path in { draft, _ in draft.config.bgp.ribSnapshotDB = path } }
        },
        "bgp_agent_map": KeyRule.Global { value in
            ConfigValue.nonEmpty(value).map { path in
                { draft, line in
                    draft.config.agentMapPath = path
                    draft.agentMapLine = line
                }
            }
        },
        "bgp_peer_src_as_type": .table(peerSrcASTypes, expected: "netflow or bgp") { $0.peerSrcASFromBGP = $1 },
        "bgp_nexthop_mismatch": .table(["none": .success(false), "best": .success(true)], expected: "none or best") {
            $0.nexthopMismatchUsesBest = $1
        },
        "bgp_daemon_neighbors": KeyRule.Global { value in
            var neighbors: [BGPDaemonConfig.Neighbor] = []
            for item in value.split(separator: ",").map(ASCIIText.trim) where !item.isEmpty {
                if let address = IPAddress(item) {
                    neighbors.append(.init(address: address))
                } else if let endpoint = ListenEndpoint(parsing: item), let address = IPAddress(endpoint.host) {
                    neighbors.append(.init(address: address, port: endpoint.port))
                } else {
                    return .failure(.invalid("invalid neighbour '\(item)': expected ADDRESS, ADDRESS:PORT or [IPv6]:PORT"))
                }
            }
            let parsed = neighbors
            return .success { draft, _ in draft.config.bgp.neighbors = parsed }
        },
    ]

    static let peerSrcASTypes: [String: Result<Bool, KeyRule.Problem>] = [
        "netflow": .success(false),
        "sflow": .success(false),
        "bgp": .success(true),
        "map": .failure(.unsupported("bgp_peer_src_as_type: map (bgp_peer_src_as_map) is not implemented yet")),
    ]

    /// nfacctd_ip, sfacctd_ip: the daemons exit when they cannot bind what was asked for.
    static func listenAddress(_ daemon: String, _ set: @escaping @Sendable (inout CollectorConfig, String) -> Void) -> KeyRule.Global {
        KeyRule.Global { value in
            guard IPAddress(value) != nil else {
                return .failure(.unsupported("'\(value)' is not an IP address (\(daemon) refuses to start)"))
            }
            return .success { draft, _ in set(&draft.config, value) }
        }
    }

    static func listenPort(_ set: @escaping @Sendable (inout CollectorConfig, Int) -> Void) -> KeyRule.Global {
        KeyRule.Global { value in
            ConfigValue.positive(value, max: 65535).map { port in { draft, _ in set(&draft.config, port) } }
        }
    }

    static let asSources: [String: Result<ASSource, KeyRule.Problem>] = [
        "netflow": .success(.netflow),
        "sflow": .success(.netflow),
        "false": .success(.netflow),  // legacy spelling
        "file": .failure(.unsupported("ASNs from a networks_file are not implemented yet")),
        "true": .failure(.unsupported("ASNs from a networks_file are not implemented yet")),
        "bgp": .success(.bgp),
        "bmp": .failure(.unsupported("BMP enrichment isn't available yet")),
        "longest": .success(.longest),
        "fallback": .failure(.unsupported("nfacctd_as: fallback is not implemented yet")),
    ]

    static let netSources: [String: Result<NetSource, KeyRule.Problem>] = [
        "netflow": .success(.netflow),
        "sflow": .success(.netflow),
        "file": .failure(.unsupported("networks from a networks_file are not implemented yet")),
        "mask": .failure(.unsupported("networks from networks_mask are not implemented yet")),
        "igp": .failure(.unsupported("networks from IGP/BGP-LS are not implemented yet")),
        "bgp-ls": .failure(.unsupported("networks from IGP/BGP-LS are not implemented yet")),
        "bgp": .success(.bgp),
        "bmp": .failure(.unsupported("BMP enrichment isn't available yet")),
        "longest": .success(.longest),
        "fallback": .failure(.unsupported("nfacctd_net: fallback is not implemented yet")),
    ]

    // MARK: Implemented, per view

    static let view: [String: KeyRule.View] = [
        "aggregate": .parsed(ConfigValue.aggregate) { $0.config.aggregate = $1 },
        "sql_db": .parsed(ConfigValue.nonEmpty) { $0.config.sqlDB = $1 },
        // sql_table and print_output_file are one setting in pmacct: the table of a SQL
        // plugin, the file of a print plugin.
        "sql_table": .parsed({ ConfigValue.tableOrFile($0, maxLength: 64) }) { $0.tableOrFile = $1 },
        "print_output_file": .parsed(printOutputFile) { $0.tableOrFile = $1 },
        "sql_table_version": .parsed(ConfigValue.tableVersion) { $0.config.sqlTableVersion = $1 },
        "sql_refresh_time": .parsed({ ConfigValue.positive($0) }) { $0.config.refreshTime = $1 },
        "sql_history": .parsed(ConfigValue.history) { $0.config.history = $1 },
        "sql_history_roundoff": .parsed(ConfigValue.roundoff) { $0.config.historyRoundoff = $1 },
        "sql_optimize_clauses": .bool { $0.optimizeClauses = $1 },
        "sql_num_protos": .bool { $0.numProtos = $1 },
        "sql_rollup": .bool { $0.rollup = $1 },
        "sql_backlog_rows": .parsed({ ConfigValue.positive($0) }) { $0.config.backlogRows = $1 },
        "print_output": .parsed({ value in
            printOutputs[ASCIIText.lowercased(value)]
                ?? .failure(.invalid("invalid value '\(value)': expected formatted, csv or json"))
        }) { $0.config.printOutputFormat = $1 },
        "print_output_file_append": .bool { $0.printOutputFileAppend = $1 },
        "print_markers": .bool { $0.printMarkers = $1 },
        "print_output_separator": .parsed(printOutputSeparator) { $0.config.printOutputSeparator = $1 },
        "print_latest_file": .parsed(printLatestFile) { $0.config.printLatestFile = $1 },
        "clickhouse_url": .parsed(strict(clickhouseURL)) { $0.config.clickhouse.url = $1 },
        "clickhouse_database": .parsed(strict(identifier)) { $0.config.clickhouse.database = $1 },
        "clickhouse_credentials_file": .parsed(strict(ConfigValue.nonEmpty)) { $0.config.clickhouse.credentialsFile = $1 },
        "clickhouse_cluster": .parsed(strict(identifier)) { $0.config.clickhouse.cluster = $1 },
        "clickhouse_retention_days": .parsed(strict { ConfigValue.positive($0) }) { $0.config.clickhouse.retentionDays = $1 },
        "clickhouse_spool_dir": .parsed(strict(ConfigValue.nonEmpty)) { $0.config.clickhouse.spoolDirectory = $1 },
        "clickhouse_spool_bytes": .parsed(strict { ConfigValue.positive($0, max: Int.max) }) {
            $0.config.clickhouse.spoolBytes = max($1, 1 << 20)
        },
        "clickhouse_timeout": .parsed(strict { ConfigValue.positive($0, max: 3600) }) { $0.config.clickhouse.timeoutSeconds = $1 },
        "timestamps_utc": KeyRule.View { value in
            guard let flag = ConfigValue.bool(value) else { return .failure(ConfigValue.notBool(value)) }
            return .success(KeyRule.ViewUpdate(
                view: { $0.config.timestampsUTC = flag },
                global: { $0.timestampsUTC = flag }))
        },
    ]

    static let printOutputs: [String: Result<ViewConfig.PrintOutputFormat, KeyRule.Problem>] = [
        "formatted": .success(.formatted),
        "csv": .success(.csv),
        "json": .success(.json),
        "event_formatted": .failure(.unsupported("print_output 'event_formatted' is not implemented yet")),
        "event_csv": .failure(.unsupported("print_output 'event_csv' is not implemented yet")),
        "avro": .failure(.unsupported("print_output 'avro' is not implemented yet")),
        "avro_bin": .failure(.unsupported("print_output 'avro_bin' is not implemented yet")),
        "avro_json": .failure(.unsupported("print_output 'avro_json' is not implemented yet")),
        "custom": .failure(.unsupported("print_output 'custom' (a loadable library) is not implemented")),
    ]

    /// For pathflow's own keys, which have no pmacct behaviour to follow: a bad value stops
    /// startup (a collector writing to the wrong server or spool is worse than none).
    static func strict<T>(_ parse: @escaping @Sendable (String) -> Result<T, KeyRule.Problem>) -> @Sendable (String) -> Result<T, KeyRule.Problem> {
        { value in
            parse(value).mapError { problem in
                if case .invalid(let message) = problem { return .unsupported(message) }
                return problem
            }
        }
    }

    /// An http:// or https:// URL (the server's HTTP interface).
    static func clickhouseURL(_ value: String) -> Result<String, KeyRule.Problem> {
        let lower = ASCIIText.lowercased(value)
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), value.count > 8, !value.contains(" ") else {
            return .failure(.invalid("invalid value '\(value)': expected the server's HTTP URL, e.g. http://127.0.0.1:8123"))
        }
        return .success(value)
    }

    /// A ClickHouse database, table or cluster name: letters, digits and '_', not starting with a digit.
    static func identifier(_ value: String) -> Result<String, KeyRule.Problem> {
        guard let first = value.first, !first.isNumber,
              value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            return .failure(.invalid("invalid value '\(value)': expected letters, digits and '_'"))
        }
        return .success(value)
    }

    /// cfg_key_print_output_file(): any name, with `%` time variables from pmacct's list (it
    /// exits on another, or on more than 32) and `$` variables resolved per row.
    static func printOutputFile(_ value: String) -> Result<String, KeyRule.Problem> {
        guard !value.isEmpty else { return .failure(.invalid("empty value")) }
        let allowed: Set<Character> = ["d", "H", "m", "M", "w", "W", "Y", "s", "S", "z"]
        var count = 0
        var index = value.startIndex
        while let percent = value[index...].firstIndex(of: "%") {
            let next = value.index(after: percent)
            guard next < value.endIndex, allowed.contains(value[next]) else {
                let variable = next < value.endIndex ? String(value[next]) : ""
                return .failure(.unsupported("'%\(variable)' is not a supported variable (pmacct refuses to start)"))
            }
            count += 1
            index = value.index(after: next)
        }
        guard count <= 32 else {
            return .failure(.unsupported("more than 32 '%' variables (pmacct refuses to start)"))
        }
        return .success(value)
    }

    /// cfg_key_print_output_separator(): one character, or `\t` (tab) or `\s` (space).
    static func printOutputSeparator(_ value: String) -> Result<String, KeyRule.Problem> {
        switch value {
        case "\\t": return .success("\t")
        case "\\s": return .success(" ")
        default:
            guard value.utf8.count == 1 else {
                return .failure(.invalid("invalid value '\(value)': one character, \\t or \\s"))
            }
            return .success(value)
        }
    }

    /// cfg_key_print_latest_file(): pmacct ignores a name with `%` variables, with an error.
    static func printLatestFile(_ value: String) -> Result<String, KeyRule.Problem> {
        guard !value.isEmpty else { return .failure(.invalid("empty value")) }
        guard !value.contains("%") else {
            return .failure(.invalid("invalid value '\(value)': time-based '%' variables are not allowed (pmacct ignores the line too)"))
        }
        return .success(value)
    }

    // MARK: pmacct aliases

    /// Keys that pmacct's cfg.c routes to the same handler as an implemented key, so they set
    /// the same value there (sfacctd_* keys excepted: they are taken as asking for sFlow).
    static let aliases: [String: String] = [
        "nfacctd_disable_checks": "nfacctd_disable_sanity_checks",  // pmacct 1.7.x name
        "pmacctd_time_new": "nfacctd_time_new",
        "pmacctd_renormalize": "nfacctd_renormalize",
        "uacctd_renormalize": "nfacctd_renormalize",
        "nfacctd_as_new": "nfacctd_as",
        "pmacctd_as": "nfacctd_as",
        "uacctd_as": "nfacctd_as",
        "pmacctd_net": "nfacctd_net",
        "uacctd_net": "nfacctd_net",
        "pmacctd_pipe_size": "nfacctd_pipe_size",
        "amqp_exchange": "sql_db",
        "amqp_routing_key": "sql_table",
        "kafka_topic": "sql_table",
        "print_refresh_time": "sql_refresh_time",
        "amqp_refresh_time": "sql_refresh_time",
        "kafka_refresh_time": "sql_refresh_time",
        "print_history": "sql_history",
        "amqp_history": "sql_history",
        "kafka_history": "sql_history",
        "print_history_roundoff": "sql_history_roundoff",
        "amqp_history_roundoff": "sql_history_roundoff",
        "amqp_time_roundoff": "sql_history_roundoff",
        "kafka_history_roundoff": "sql_history_roundoff",
        "print_num_protos": "sql_num_protos",
        "amqp_num_protos": "sql_num_protos",
        "kafka_num_protos": "sql_num_protos",
        "print_preprocess": "sql_preprocess",
        "amqp_preprocess": "sql_preprocess",
        "kafka_preprocess": "sql_preprocess",
        "print_preprocess_type": "sql_preprocess_type",
        "amqp_preprocess_type": "sql_preprocess_type",
        "kafka_preprocess_type": "sql_preprocess_type",
        "print_history_offset": "sql_history_offset",
        "amqp_history_offset": "sql_history_offset",
        "kafka_history_offset": "sql_history_offset",
        "print_trigger_exec": "sql_trigger_exec",
        "amqp_trigger_exec": "sql_trigger_exec",
        "kafka_trigger_exec": "sql_trigger_exec",
        "amqp_markers": "print_markers",
        "kafka_markers": "print_markers",
        "pmacctd_ext_sampling_rate": "nfacctd_ext_sampling_rate",
        "uacctd_ext_sampling_rate": "nfacctd_ext_sampling_rate",
        "pmacctd_stitching": "nfacctd_stitching",
        "uacctd_stitching": "nfacctd_stitching",
        "timestamps_rfc3339": "timestamps_rfc9557",
        "sql_backup_host": "sql_recovery_backup_host",
    ]

    // MARK: pmacct features that change the data and are not implemented

    struct Unimplemented: Sendable {
        let reason: String
        /// Values (lowercased) that keep pmacct's default behaviour and so are accepted.
        let harmless: [String]
    }

    private static func off(_ reason: String) -> Unimplemented { Unimplemented(reason: reason, harmless: ["false"]) }
    private static func never(_ reason: String) -> Unimplemented { Unimplemented(reason: reason, harmless: []) }

    static let unimplemented: [String: Unimplemented] = [
        // BGP knobs that change what the BGP primitives hold.
        "bgp_aspath_radius": never("bgp_aspath_radius (truncated AS paths) is not implemented yet"),
        "bgp_stdcomm_pattern": never("bgp_stdcomm_pattern (community filters) is not implemented yet"),
        "bgp_extcomm_pattern": never("bgp_extcomm_pattern (community filters) is not implemented yet"),
        "bgp_lrgcomm_pattern": never("bgp_lrgcomm_pattern (community filters) is not implemented yet"),
        "bgp_stdcomm_pattern_to_asn": never("bgp_stdcomm_pattern_to_asn is not implemented yet"),
        "bgp_lrgcomm_pattern_to_asn": never("bgp_lrgcomm_pattern_to_asn is not implemented yet"),
        "bgp_peer_as_skip_subas": off("bgp_peer_as_skip_subas is not implemented yet"),
        "bgp_peer_src_as_map": never("bgp_peer_src_as_map is not implemented yet"),
        "bgp_src_std_comm_type": never("source-side BGP primitives (bgp_src_*_type) are not implemented yet"),
        "bgp_src_ext_comm_type": never("source-side BGP primitives (bgp_src_*_type) are not implemented yet"),
        "bgp_src_lrg_comm_type": never("source-side BGP primitives (bgp_src_*_type) are not implemented yet"),
        "bgp_src_as_path_type": never("source-side BGP primitives (bgp_src_*_type) are not implemented yet"),
        "bgp_src_local_pref_type": never("source-side BGP primitives (bgp_src_*_type) are not implemented yet"),
        "bgp_src_med_type": never("source-side BGP primitives (bgp_src_*_type) are not implemented yet"),
        "bgp_follow_default": never("bgp_follow_default is not implemented yet"),
        "bgp_follow_nexthop": never("bgp_follow_nexthop is not implemented yet"),
        "bgp_disable_router_id_check": off("bgp_disable_router_id_check is not implemented yet"),
        "aggregate_primitives": never("custom primitives are not implemented yet"),
        "aggregate_filter": never("filtering flows per plugin (aggregate_filter) is not implemented yet"),
        "aggregate_unknown_etype": off("aggregating unknown EtherTypes is not implemented yet"),
        "pre_tag_map": never("tagging (pre_tag_map) is not implemented yet"),
        "pre_tag_filter": never("filtering by tag (pre_tag_filter) is not implemented yet"),
        "pre_tag2_filter": never("filtering by tag (pre_tag2_filter) is not implemented yet"),
        "pre_tag_label_filter": never("filtering by label (pre_tag_label_filter) is not implemented yet"),
        "pre_tag_label_encode_as_map": off("tag labels are not implemented yet"),
        "post_tag": never("tagging (post_tag) is not implemented yet"),
        "post_tag2": never("tagging (post_tag2) is not implemented yet"),
        "networks_file": never("networks_file is not implemented yet"),
        "networks_file_filter": never("networks_file is not implemented yet"),
        "networks_file_no_lpm": off("networks_file is not implemented yet"),
        "networks_mask": never("networks_mask is not implemented yet"),
        "networks_no_mask_if_zero": off("networks_no_mask_if_zero is not implemented yet"),
        "ports_file": never("ports_file (zeroing unlisted ports) is not implemented yet"),
        "protos_file": never("protos_file (bucketing unlisted protocols) is not implemented yet"),
        "tos_file": never("tos_file (bucketing unlisted ToS values) is not implemented yet"),
        "sql_preprocess": never("preprocessing (sql_preprocess) is not implemented yet"),
        "sql_preprocess_type": never("preprocessing (sql_preprocess) is not implemented yet"),
        "sql_table_schema": never("creating tables from a schema file is not implemented; pathflow creates them from the aggregate"),
        "sql_table_type": Unimplemented(reason: "sql_table_type 'bgp' is not implemented yet", harmless: ["original"]),
        "sql_num_hosts": off("numeric IP addresses (sql_num_hosts) are not implemented yet"),
        "sql_history_offset": Unimplemented(reason: "time-bin offsets (sql_history_offset) are not implemented yet", harmless: ["0"]),
        "sql_trigger_exec": never("running a program after each flush (trigger_exec) is not implemented yet"),
        "print_write_empty_file": off("print_write_empty_file is not implemented yet"),
        "nfacctd_ext_sampling_rate": never("a fixed external sampling rate is not implemented yet; use sampling_map with ip=0.0.0.0/0"),
        "nfacctd_pro_rating": off("pro-rating flows over time bins is not implemented yet"),
        "nfacctd_stitching": off("flow stitching is not implemented yet"),
        "nfacctd_account_options": off("accounting option records as flows is not implemented yet"),
        "nfacctd_peer_as": off("nfacctd_peer_as is not implemented yet"),
        "nfacctd_time_secs": off("NetFlow v5 timestamps in seconds (nfacctd_time_secs) are not implemented yet"),
        "nfacctd_ignore_exporter_address": off("nfacctd_ignore_exporter_address is not implemented yet"),
        "nfacctd_disable_opt_scope_check": off("nfacctd_disable_opt_scope_check is not implemented yet"),
        "nfacctd_pre_processing_checks": off("nfacctd_pre_processing_checks is not implemented yet"),
        "nfacctd_interface": never("binding to an interface (VRF) is not implemented yet"),
        "nfacctd_ipv6_only": off("nfacctd_ipv6_only is not implemented yet"),
        "nfacctd_mcast_groups": never("joining multicast groups is not implemented yet"),
        "nfacctd_kafka_broker_host": never("reading flows from Kafka is not implemented"),
        "nfacctd_kafka_broker_port": never("reading flows from Kafka is not implemented"),
        "nfacctd_kafka_topic": never("reading flows from Kafka is not implemented"),
        "nfacctd_kafka_config_file": never("reading flows from Kafka is not implemented"),
        "nfacctd_zmq_address": never("reading flows from ZeroMQ is not implemented"),
        "nfacctd_dtls_port": never("NetFlow/IPFIX over DTLS is not implemented yet"),
        "pcap_savefile": never("reading NetFlow/IPFIX from a pcap file is not implemented yet"),
        "bmp_daemon": off("BMP enrichment isn't available yet"),
        "telemetry_daemon": off("streaming telemetry is not implemented"),
        "flow_to_rd_map": never("flow_to_rd_map is not implemented yet"),
        "timestamps_secs": off("timestamps_secs is not implemented yet"),
        "timestamps_since_epoch": off("timestamps_since_epoch is not implemented yet"),
        "timestamps_rfc9557": off("RFC 9557 timestamps are not implemented yet"),
        "tcpflags_encode_as_array": off("tcpflags_encode_as_array is not implemented yet"),
        "bgp_comms_encode_as_array": off("bgp_comms_encode_as_array is not implemented yet"),
        "as_path_encode_as_array": off("as_path_encode_as_array is not implemented yet"),
        "fwd_status_encode_as_string": off("fwd_status_encode_as_string is not implemented yet"),
        "tos_encode_as_dscp": off("tos_encode_as_dscp is not implemented yet"),
        "mpls_label_stack_encode_as_array": off("mpls_label_stack_encode_as_array is not implemented yet"),
        "tmp_asa_bi_flow": off("Cisco ASA bidirectional flows (tmp_asa_bi_flow) are not implemented yet"),
    ]

    // MARK: pmacct knobs that do not matter here

    /// Performance and operational settings (buffers, writers, caches, process names, logging
    /// targets), and pmacctd-only settings that nfacctd ignores as well.
    static let noEffect: Set<String> = [
        "debug_internal_msg", "dry_run", "syslog", "syslog_ident", "log_stderr_tstamp",
        "cluster_name", "cluster_id", "redis_host", "redis_db", "propagate_signals",
        "writer_id_string", "core_proc_name", "proc_priority", "thread_stack",
        "plugin_pipe_size", "plugin_buffer_size", "plugin_pipe_zmq", "plugin_pipe_zmq_retry",
        "plugin_pipe_zmq_profile", "plugin_pipe_zmq_hwm", "plugin_exit_any",
        "files_umask", "files_uid", "files_gid",
        "maps_refresh", "maps_index", "maps_entries", "maps_row_len", "pre_tag_map_dont_recirculate",
        "networks_cache_entries",
        "imt_path", "imt_buckets", "imt_mem_pools_number", "imt_mem_pools_size",
        "sql_host", "sql_port", "sql_data", "sql_user", "sql_passwd", "sql_conn_ca_file",
        "sql_startup_delay", "sql_recovery_backup_host", "sql_delimiter", "sql_max_writers",
        "sql_trigger_time", "sql_trigger_exec_async", "sql_cache_entries", "sql_dont_try_update",
        "sql_multi_values", "sql_locking_style", "sql_use_copy",
        "print_cache_entries", "print_max_writers", "print_startup_delay", "print_output_lock_file",
        "print_trigger_exec_async", "print_output_custom_lib", "print_output_custom_cfg_file",
        "avro_buffer_size", "avro_schema_output_file", "avro_schema_file",
        "nfacctd_proc_name", "nfacctd_nonroot", "nfacctd_rp_ebpf_prog", "nfacctd_templates_file",
        "nfacctd_templates_receiver", "nfacctd_templates_port", "dtls_path", "geoipv2_file",
        // pmacctd only: nfacctd ignores these too (it disables sampling_rate with a warning).
        "sampling_rate", "snaplen", "promisc", "pcap_filter", "pcap_protocol", "pcap_savefile_wait",
        "pcap_savefile_delay", "pcap_savefile_replay", "pcap_interface", "pcap_interface_wait",
        "pcap_direction", "pcap_ifindex", "pcap_interfaces_map", "pcap_arista_trailer_offset",
        "pcap_arista_trailer_flag_value", "tunnel_0",
    ]

    /// Families of keys by prefix, after the exact tables.
    static let prefixRules: [(prefix: String, rule: KeyRule)] = [
        ("sfacctd_", .unimplemented(
            reason: "this sfacctd key is not implemented yet (sfacctd_ip, _port, _renormalize, _as, _net, _disable_checks, "
                + "_time_new, _pipe_size, _allow_file, _counter_file and _counter_output are)", harmless: ["false", "none"])),
        // Settings of the BGP/BMP/telemetry daemons, which only run when enabled (and enabling
        // them is fatal above).
        ("bgp_", .noEffect), ("bmp_", .noEffect), ("telemetry_", .noEffect), ("rpki_", .noEffect),
        // Settings of plugins pathflow refuses in `plugins`.
        ("nfprobe_", .noEffect), ("sfprobe_", .noEffect), ("tee_", .noEffect),
        ("amqp_", .noEffect), ("kafka_", .noEffect),
        ("pmacctd_", .noEffect), ("uacctd_", .noEffect), ("classifier_", .noEffect), ("tmp_", .noEffect),
    ]
}
