import ArgumentParser
import PathflowConfig

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration: list every skipped or fatal line and the views it defines."
    )

    @Option(name: .shortAndLong, help: "Configuration file (pmacct syntax).")
    var file: String

    @Flag(name: .long, help: "Exit non-zero when any line was skipped.")
    var strict = false

    func run() throws {
        if let raw = try? ConfigParser.read(path: file), ProbeConfig.declaresProbe(raw: raw) {
            return try checkProbe()
        }
        let (config, diagnostics) = try loadOrReport { try CollectorConfig.load(path: file) }
        print("listen \(config.listenAddress) port \(config.listenPort); metrics \(config.metricsListen)")
        if let endpoint = config.consoleEndpoint {
            let view = config.consoleView ?? config.views.first { $0.plugin == .sqlite3 || $0.plugin == .clickhouse }?.name ?? "(none)"
            var line = "console \(endpoint): view \(view), " + (config.consoleTokenFile.map { "token from \($0)" } ?? "no token")
            if let file = config.consoleCapacities { line += ", capacities \(file)" }
            if let file = config.consoleFailureGroups { line += ", failure groups \(file)" }
            print(line)
        }
        if config.bgp.enabled {
            let bgp = config.bgp
            let id = (0..<4).map { String((bgp.identifier >> (24 - 8 * UInt32($0))) & 0xff) }.joined(separator: ".")
            var line = "bgp listen \(bgp.listenAddress) port \(bgp.listenPort), identifier \(id), "
            line += bgp.localAS.map { "local AS \($0)" } ?? "local AS mirrors each peer (iBGP)"
            line += ", hold time \(bgp.holdTime)s, max peers \(bgp.maxPeers)"
            line += bgp.maxPrefixes > 0 ? ", max prefixes \(bgp.maxPrefixes) per peer" : ", no prefix limit"
            if bgp.addPathIgnore { line += ", ADD-PATH off" }
            print(line)
            if let allow = bgp.allowList { print("bgp allow list: \(allow.count) entr\(allow.count == 1 ? "y" : "ies")") }
            if !bgp.md5Keys.isEmpty { print("bgp TCP MD5 keys: \(bgp.md5Keys.count)") }
            if !bgp.neighbors.isEmpty { print("bgp neighbours to connect to: \(bgp.neighbors.map(\.description).joined(separator: ", "))") }
            if let dump = bgp.tableDumpFile, let every = bgp.tableDumpRefreshTime { print("bgp table dump every \(every)s → \(dump)") }
            var enrichment = "flows mapped to BGP paths: ASNs from \(config.asSource.rawValue), networks and peer_dst_ip from "
            enrichment += "\(config.netSource.rawValue), peer_src_as from \(config.peerSrcASFromBGP ? "bgp" : "netflow"), "
            enrichment += "next-hop mismatch gets \(config.nexthopMismatchUsesBest ? "the best path" : "no path")"
            if !config.agentMap.isEmpty { enrichment += ", agent map \(config.agentMap.count) entries" }
            print(enrichment)
            if let every = bgp.ribSnapshotRefreshTime {
                let db = config.ribSnapshotDatabase ?? "(no sqlite3 view)"
                print("bgp RIB snapshot every \(every)s → \(db) table rib_paths")
            }
            if bgp.bestPathHistory > 0 {
                let db = config.ribSnapshotDatabase
                print("bgp best-path changes, the newest \(bgp.bestPathHistory) → "
                    + (db.map { "\($0) table rib_best_changes" } ?? "counted only (no sqlite3 view, no bgp_rib_snapshot_db)"))
            }
        }
        for view in config.views {
            var line = "view \(view.name): \(view.plugin.rawValue) aggregate \(view.aggregate.joined(separator: ","))"
            switch view.plugin {
            case .sqlite3:
                line += " → \(view.sqlDB) table \(view.sqlTable)"
                if let version = view.sqlTableVersion { line += " (pmacct v\(version))" }
            case .print:
                line += " → \(view.printOutputFile ?? "standard output") (\(view.printOutputFormat.rawValue))"
            case .clickhouse:
                let c = view.clickhouse
                line += " → \(c.url) table \(c.database).\(view.sqlTable)"
                if let cluster = c.cluster { line += " (\(view.sqlTable)_local on cluster \(cluster))" }
                line += ", spool \(c.spoolDirectory)/\(view.name) up to \(c.spoolBytes) bytes"
                if let days = c.retentionDays { line += ", \(days) days kept" }
            }
            line += ", refresh \(view.refreshTime)s"
            if let history = view.history { line += ", bins \(history)" }
            if view.keepsRollup { line += ", daily rollup \(view.sqlTable)_daily" }
            print(line)
        }
        try verdict(diagnostics)
    }

    /// The last line: "ok", "ok with N skipped line(s)", or with --strict and skipped lines (each
    /// printed above) a failure line and status 1.
    func verdict(_ diagnostics: [ConfigDiagnostic]) throws {
        if diagnostics.isEmpty {
            print("ok")
        } else if strict {
            print("configuration refused (--strict): \(diagnostics.count) skipped line(s), listed above")
            throw ExitCode(1)
        } else {
            print("ok with \(diagnostics.count) skipped line(s)")
        }
    }

    /// Prints every diagnostic; a fatal one ends the command with status 1.
    func loadOrReport<Config>(_ load: () throws -> (Config, [ConfigDiagnostic])) throws -> (Config, [ConfigDiagnostic]) {
        do {
            let (config, diagnostics) = try load()
            for diagnostic in diagnostics { print(diagnostic) }
            return (config, diagnostics)
        } catch ConfigError.fatal(let all) {
            for diagnostic in all { print(diagnostic) }
            print("configuration not usable: \(all.filter { $0.severity == .fatal }.count) fatal line(s)")
            throw ExitCode(1)
        } catch {
            throw RuntimeFailure("\(error)")
        }
    }

    /// A pmacctd configuration with the nfprobe plugin: what `pathflow probe` would do with it.
    func checkProbe() throws {
        let (config, diagnostics) = try loadOrReport { try ProbeConfig.load(path: file) }
        let source = config.savefile.map { "pcap file \($0)" } ?? config.interface.map { "interface \($0)" } ?? "nothing yet"
        var line = "probe: capture from \(source)"
        if let filter = config.filter { line += " filter '\(filter)'" }
        print(line)
        let t = config.timeouts
        print("export: \(config.version == 10 ? "IPFIX" : "NetFlow v\(config.version)") to "
            + config.receivers.map(\.description).joined(separator: ", ")
            + (config.samplingRate > 1 ? ", sampling 1 in \(config.samplingRate)" : ""))
        print("cache: \(config.maxFlows) flows; timeouts tcp \(t.tcp)s, tcp.rst \(t.tcpRST)s, tcp.fin \(t.tcpFIN)s, "
            + "udp \(t.udp)s, icmp \(t.icmp)s, general \(t.general)s, maxlife \(t.maxLife)s, expint \(t.expiryInterval)s")
        print("metrics \(config.metricsListen)")
        try verdict(diagnostics)
    }
}
