import Testing
@testable import PathflowConfig

/// pmacctd configurations with the nfprobe plugin, read as the probe reads them.
struct ProbeConfigTests {
    static func make(_ lines: [String]) -> (ProbeConfig?, [ConfigDiagnostic]) {
        ProbeConfig.make(raw: ConfigParser.parse(text: lines.joined(separator: "\n") + "\n", file: "probe.conf"))
    }

    /// The tutorial's router configuration runs as it is: pmacct's own skipped lines
    /// (`debug: core,nfprobe` is not true/false; `logfile_mask` is no pmacct key) are reported.
    @Test func tutorialRouterConfigurationRuns() throws {
        let (config, diagnostics) = try ProbeConfig.load(path: Fixtures.tutorial("pmacctd.conf"))
        #expect(diagnostics.map(\.summary) == ["28 debug skipped", "32 logfile_mask skipped"])
        #expect(config.daemonize == true)
        #expect(config.pidfile == "/var/run/pmacctd.pid")
        #expect(config.interface == "eth1")
        #expect(config.promiscuous == true)
        #expect(config.keyFields == [.srcHost, .dstHost, .srcPort, .dstPort, .proto])
        #expect(config.receivers == [ListenEndpoint(host: "172.100.101.100", port: 4739)])
        #expect(config.version == 10)
        var timeouts = ProbeConfig.Timeouts()
        timeouts.tcp = 10
        timeouts.udp = 10
        timeouts.icmp = 10
        timeouts.general = 10
        timeouts.maxLife = 60
        #expect(config.timeouts == timeouts)
        #expect(config.samplingRate == 1)
        #expect(config.logfile == "/var/log/pmacct/pmacctd.log")
        #expect(ProbeConfig.declaresProbe(raw: ConfigParser.parse(text: "plugins: nfprobe[x]\n", file: "f")))
        #expect(!ProbeConfig.declaresProbe(raw: ConfigParser.parse(text: "plugins: sqlite3\n", file: "f")))
    }

    @Test func defaultsAreNfprobes() throws {
        let (config, diagnostics) = Self.make(["plugins: nfprobe", "pcap_savefile: in.pcap"])
        #expect(diagnostics.isEmpty)
        let c = try #require(config)
        #expect(c.receivers == [ListenEndpoint(host: "127.0.0.1", port: 2100)])
        #expect(c.version == 10 && c.maxFlows == 8192 && c.samplingRate == 1)
        #expect(c.timeouts == ProbeConfig.Timeouts())
        #expect(c.timeouts.tcp == 3600 && c.timeouts.tcpRST == 120 && c.timeouts.tcpFIN == 300)
        #expect(c.timeouts.udp == 300 && c.timeouts.icmp == 300 && c.timeouts.general == 3600)
        #expect(c.timeouts.maxLife == 604_800 && c.timeouts.expiryInterval == 60)
        #expect(c.keyFields == .nfprobeDefault)
    }

    @Test func severalCollectorsEngineSamplingAndUnits() throws {
        let (config, diagnostics) = Self.make([
            "plugins: nfprobe[out]",
            "pcap_interface: eth0",
            "nfprobe_receiver[out]: 192.0.2.1:2055, [2001:db8::1]:4739",
            "nfprobe_version[out]: 9",
            "nfprobe_engine: 1:2",
            "nfprobe_timeouts: tcp=2h:tcp.fin=30:expint=5:maxlife=1d",
            "nfprobe_maxflows: 100000",
            "sampling_rate: 10",
            "nfprobe_source_ip: 192.0.2.9",
            "aggregate: src_host, dst_host, src_port, dst_port, proto, tos, vlan",
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let c = try #require(config)
        #expect(c.receivers == [ListenEndpoint(host: "192.0.2.1", port: 2055), ListenEndpoint(host: "2001:db8::1", port: 4739)])
        #expect(c.version == 9 && c.engineType == 1 && c.engineID == 2)
        #expect(c.timeouts.tcp == 7200 && c.timeouts.tcpFIN == 30 && c.timeouts.expiryInterval == 5 && c.timeouts.maxLife == 86400)
        #expect(c.maxFlows == 100_000 && c.samplingRate == 10 && c.sourceAddress == "192.0.2.9")
        #expect(c.keyFields.contains(.vlan) && c.keyFields.contains(.tos))
    }

    @Test func badLinesNameFileLineAndKey() {
        let (config, diagnostics) = Self.make([
            "plugins: nfprobe",
            "pcap_savefile: in.pcap",
            "nfprobe_receiver: collector.example:2055",
            "nfprobe_version: 7",
            "nfprobe_timeouts: tcp=10:bogus=3",
            "aggregate: src_host, src_as",
            "no_such_key: 1",
        ])
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == [
            "3 nfprobe_receiver fatal", "4 nfprobe_version skipped", "5 nfprobe_timeouts skipped",
            "6 aggregate skipped", "7 no_such_key skipped",
        ])
        #expect(diagnostics[0].description.hasPrefix("probe.conf:3: key 'nfprobe_receiver':"))
    }

    @Test func otherPluginsAreNotTheProbes() {
        let (config, diagnostics) = Self.make(["plugins: sqlite3, nfprobe", "pcap_savefile: x"])
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == ["1 plugins fatal"])
        let (none, missing) = Self.make(["pcap_savefile: x"])
        #expect(none == nil && missing.map(\.summary) == ["0 plugins fatal"])
    }
}
