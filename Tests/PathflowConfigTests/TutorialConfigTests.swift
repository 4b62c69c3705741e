import Testing
@testable import PathflowConfig

/// The two configurations of the pmacct IPFIX + SQLite tutorial, as the tutorial gives them.
struct TutorialConfigTests {
    @Test func collectorConfigurationLoadsWithPmacctValues() throws {
        let (config, diagnostics) = try CollectorConfig.load(path: Fixtures.tutorial("nfacctd.conf"))
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(config.daemonize == false)
        #expect(config.pidfile == "/var/run/nfacctd.pid")
        #expect(config.listenAddress == "0.0.0.0")
        #expect(config.listenPort == 4739)
        #expect(config.disableChecks == true)
        #expect(config.timeNew == false)
        #expect(config.asSource == .none)
        #expect(config.netSource == .netflow)
        #expect(config.samplingMap.isEmpty)
        #expect(config.views.count == 1)
        let view = try #require(config.views.first)
        #expect(view.name == "default_sqlite3")
        #expect(view.plugin == .sqlite3)
        #expect(view.aggregate == ["src_host", "dst_host", "src_port", "dst_port", "proto"])
        #expect(view.sqlDB == "/var/log/pmacct/flows.db")
        #expect(view.sqlTable == "acct")
        #expect(view.sqlTableVersion == 1)
        #expect(view.refreshTime == 60)
        #expect(view.history == .minutes(1))
        #expect(view.history?.lengthInSeconds == 60)
        #expect(view.historyRoundoff == "m")
        #expect(view.optimizeClauses == true)
        #expect(view.numProtos == false)
        #expect(view.timestampsUTC == false)
    }

    /// The router's pmacctd.conf has lines pmacct itself skips; as a collector configuration
    /// it is refused because of its nfprobe plugin, and every other line is accounted for.
    @Test func routerConfigurationIsRefusedForItsPluginWithEachLineReported() throws {
        let path = Fixtures.tutorial("pmacctd.conf")
        let raw = ConfigParser.parse(text: try String(contentsOfFile: path, encoding: .utf8), file: path)
        #expect(raw.diagnostics.isEmpty)
        let nfprobeTimeouts = raw.lines.first { $0.key == "nfprobe_timeouts" }
        #expect(nfprobeTimeouts?.value == "tcp=10:udp=10:icmp=10:general=10:maxlife=60")
        #expect(raw.lines.first { $0.key == "nfprobe_receiver" }?.value == "172.100.101.100:4739")

        let (config, diagnostics) = CollectorConfig.make(raw: raw)
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == [
            "8 pcap_interface skipped",
            "9 pcap_promisc skipped",
            "15 plugins fatal",
            "18 nfprobe_receiver skipped",
            "19 nfprobe_version skipped",
            "22 nfprobe_timeouts skipped",
            "25 sampling_rate skipped",
            "28 debug skipped",
            "32 logfile_mask skipped",
        ])
        #expect(diagnostics.first { $0.key == "debug" }?.description
            == "\(path):28: key 'debug': invalid value 'core,nfprobe': expected true or false (skipped)")
        #expect(diagnostics.first { $0.key == "logfile_mask" }?.message == "unknown key")
        #expect(diagnostics.first { $0.key == "pcap_promisc" }?.message == "unknown key")
        #expect(diagnostics.first { $0.key == "pcap_interface" }?.message == "no effect in pathflow")
        #expect(diagnostics.first { $0.key == "plugins" }?.message.contains("nfprobe") == true)
    }

    @Test func loadingTheRouterConfigurationThrowsItsDiagnostics() {
        #expect {
            _ = try CollectorConfig.load(path: Fixtures.tutorial("pmacctd.conf"))
        } throws: { error in
            guard case ConfigError.fatal(let diagnostics) = error else { return false }
            return diagnostics.filter { $0.severity == .fatal }.map(\.line) == [15]
        }
    }
}
