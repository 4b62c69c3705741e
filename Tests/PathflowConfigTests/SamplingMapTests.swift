import Foundation
import NetCore
import Testing
@testable import PathflowConfig

struct SamplingMapTests {
    static let map = """
        ! sampling map for the lab
        id=1024\t\tip=192.168.1.1
        id=2048 ip=192.168.2.0/24 in=5
        id=4096 ip=192.168.2.0/24 out=-3
        id=100 ip=192.168.3.1 bogus=1
        # comment
        ip=10.0.0.1
        id=512 ip=not-an-address
        id=8 ip=2001:db8::/32
        id=1 ip=0.0.0.0/0
        """

    @Test func parsesRulesAndReportsBadLinesWithTheMapsFileAndLine() throws {
        let (rules, diagnostics) = SamplingMapParser.parse(text: Self.map, file: "/etc/pmacct/sampling.map")
        #expect(rules.map(\.rate) == [1024, 2048, 4096, 8, 1])
        #expect(rules.map(\.line) == [2, 3, 4, 9, 10])
        #expect(rules[0].exporter == IPPrefix("192.168.1.1/32"))
        #expect(rules[1].input == SamplingRule.InterfaceMatch(ifIndex: 5))
        #expect(rules[2].output == SamplingRule.InterfaceMatch(ifIndex: 3, negated: true))
        #expect(diagnostics.map(\.line) == [5, 7, 8])
        #expect(diagnostics.allSatisfy { $0.file == "/etc/pmacct/sampling.map" && $0.severity == .skipped })
        #expect(diagnostics[0].description
            == "/etc/pmacct/sampling.map:5: key 'sampling_map': line ignored: unknown key 'bogus' (valid keys: id, ip, in, out) (skipped)")
        #expect(diagnostics[1].message.contains("'id' and 'ip'"))
        #expect(diagnostics[2].message.contains("not-an-address"))
    }

    @Test func firstFullMatchWins() throws {
        let (rules, _) = SamplingMapParser.parse(text: Self.map, file: "m")
        let exporter = try #require(IPAddress("192.168.2.7"))
        #expect(rules.samplingRate(exporter: try #require(IPAddress("192.168.1.1")), input: 0, output: 0) == 1024)
        #expect(rules.samplingRate(exporter: exporter, input: 5, output: 3) == 2048)
        // in=5 fails; out=-3 matches anything but 3.
        #expect(rules.samplingRate(exporter: exporter, input: 6, output: 4) == 4096)
        // Neither: falls through to the catch-all IPv4 rule.
        #expect(rules.samplingRate(exporter: exporter, input: 6, output: 3) == 1)
        #expect(rules.samplingRate(exporter: try #require(IPAddress("2001:db8::9")), input: 0, output: 0) == 8)
        #expect(rules.samplingRate(exporter: try #require(IPAddress("2001:db9::9")), input: 0, output: 0) == nil)
        // An IPv4 exporter seen through a dual-stack socket.
        #expect(rules.samplingRate(exporter: try #require(IPAddress("::ffff:192.168.1.1")), input: 0, output: 0) == 1024)
    }

    @Test func aConfigurationLoadsItsSamplingMapFromAFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let mapPath = directory.appendingPathComponent("sampling.map").path
        try Self.map.write(toFile: mapPath, atomically: true, encoding: .utf8)
        let configPath = directory.appendingPathComponent("nfacctd.conf").path
        try """
            plugins: sqlite3
            sampling_map: \(mapPath)
            nfacctd_renormalize: true
            logfile_mask: all
            """.write(toFile: configPath, atomically: true, encoding: .utf8)

        let (config, diagnostics) = try CollectorConfig.load(path: configPath)
        #expect(config.renormalize)
        #expect(config.samplingMapPath == mapPath)
        #expect(config.samplingMap.map(\.rate) == [1024, 2048, 4096, 8, 1])
        // The configuration's own lines first, then the map's, each in line order.
        #expect(diagnostics.map { "\($0.file == configPath ? "conf" : "map"):\($0.line)" }
            == ["conf:4", "map:5", "map:7", "map:8"])
    }

    @Test func aMissingSamplingMapIsFatal() {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", "sampling_map: /nonexistent/sampling.map"])
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == ["2 sampling_map fatal"])
        #expect(diagnostics.first?.message.contains("/nonexistent/sampling.map") == true)
    }

    @Test(arguments: ["id=0 ip=10.0.0.1", "id=-4 ip=10.0.0.1", "id=4 id=5 ip=10.0.0.1", "id=4 ip=10.0.0.1 in=x",
                      "id=4 ip=10.0.0.1 in=", "id=4|ip=10.0.0.1", "id = 4 ip=10.0.0.1", "id=4 ip=10.0.0.0/33"])
    func badRulesAreIgnored(line: String) {
        let (rules, diagnostics) = SamplingMapParser.parse(text: line, file: "m")
        #expect(rules.isEmpty)
        #expect(diagnostics.map(\.line) == [1])
    }
}
