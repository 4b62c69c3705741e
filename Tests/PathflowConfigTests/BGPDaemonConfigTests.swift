import Foundation
import NetCore
import Testing
@testable import PathflowConfig

struct BGPDaemonConfigTests {
    @Test func defaultsFollowPmacct() {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3"])
        let bgp = try! #require(config).bgp
        #expect(diagnostics.isEmpty)
        #expect(!bgp.enabled)
        #expect(bgp.listenPort == 179)
        #expect(bgp.maxPeers == 10)
        #expect(bgp.localAS == nil)
        #expect(bgp.allowList == nil)
        #expect(bgp.identifier == 0x0102_0304)  // pmacct's 1.2.3.4
        #expect(bgp.holdTime == 90)
    }

    @Test func everyKeyIsRead() throws {
        let (config, diagnostics) = Fixtures.make([
            "plugins: sqlite3",
            "bgp_daemon: true",
            "bgp_daemon_ip: 192.0.2.10",
            "bgp_daemon_port: 1179",
            "bgp_daemon_as: 4200000001",
            "bgp_daemon_max_peers: 3",
            "bgp_daemon_add_path_ignore: true",
            "bgp_table_dump_file: /var/spool/bgp-$peer_src_ip-%H%M.log",
            "bgp_table_dump_refresh_time: 120",
            "bgp_table_dump_output: json",
            "bgp_daemon_holdtime: 9",
            "bgp_daemon_max_prefixes: 5000",
            "bgp_daemon_neighbors: 192.0.2.1, 192.0.2.2:1790, [2001:db8::1]:179, 2001:db8::2",
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let bgp = try #require(config).bgp
        #expect(bgp.enabled)
        #expect(bgp.listenAddress == "192.0.2.10")
        #expect(bgp.listenPort == 1179)
        #expect(bgp.localAS == 4_200_000_001)
        #expect(bgp.maxPeers == 3)
        #expect(bgp.addPathIgnore)
        #expect(bgp.tableDumpFile == "/var/spool/bgp-$peer_src_ip-%H%M.log")
        #expect(bgp.tableDumpRefreshTime == 120)
        #expect(bgp.holdTime == 9)
        #expect(bgp.maxPrefixes == 5000)
        // Without bgp_daemon_id, an IPv4 bgp_daemon_ip is the identifier (pmacct).
        #expect(bgp.identifier == IPAddress("192.0.2.10")!.v4Value)
        #expect(bgp.neighbors.map(\.description) == ["192.0.2.1:179", "192.0.2.2:1790", "[2001:db8::1]:179", "[2001:db8::2]:179"])
    }

    @Test func identifierPrefersBgpDaemonID() throws {
        let (config, _) = Fixtures.make(["plugins: sqlite3", "bgp_daemon_ip: ::1", "bgp_daemon_id: 10.0.0.1"])
        #expect(try #require(config).bgp.identifier == IPAddress("10.0.0.1")!.v4Value)
        let (v6Only, _) = Fixtures.make(["plugins: sqlite3", "bgp_daemon_ip: ::1"])
        #expect(try #require(v6Only).bgp.identifier == 0x0102_0304)
    }

    @Test(arguments: [
        ("bgp_daemon_port: 0", "expected a whole number from 1 to 65535"),
        ("bgp_daemon_id: 2001:db8::1", "non-zero IPv4 address"),
        ("bgp_daemon_as: 0", "AS number"),
        ("bgp_daemon_as: 65000.1", "AS number"),
        ("bgp_table_dump_refresh_time: 30", "60 to 86400"),
        ("bgp_daemon_holdtime: 2", "0 or seconds from 3"),
        ("bgp_daemon_neighbors: 192.0.2.1, router1", "router1"),
        ("bgp_daemon: yes", "true or false"),
    ])
    func invalidValuesAreSkippedWithFileAndLine(line: String, messagePart: String) throws {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", line])
        #expect(config != nil)
        let diagnostic = try #require(diagnostics.first)
        #expect(diagnostics.count == 1)
        #expect(diagnostic.severity == .skipped)
        #expect(diagnostic.line == 2)
        #expect(diagnostic.message.contains(messagePart), "\(diagnostic)")
    }

    @Test func anAddressThatCannotBeBoundStopsStartup() {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", "bgp_daemon_ip: collector.example"])
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == ["2 bgp_daemon_ip fatal"])
    }

    @Test func avroDumpsAreNotOffered() {
        let (_, diagnostics) = Fixtures.make(["plugins: sqlite3", "bgp_table_dump_output: avro"])
        #expect(diagnostics.first?.message.contains("expected json") == true)
    }

    @Test func aDumpFileWithoutRefreshTimeIsReported() {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", "bgp_table_dump_file: /tmp/x"])
        #expect(config != nil)
        #expect(diagnostics.map(\.summary) == ["0 bgp_table_dump_refresh_time skipped"])
    }

    @Test func allowAndMD5FilesLoadInPmacctSyntax() throws {
        let dir = try Fixtures.temporaryDirectory()
        let allow = dir.appendingPathComponent("allow.lst").path
        let md5 = dir.appendingPathComponent("bgp_md5.lst").path
        try """
        ! routers
        192.0.2.1
        198.51.100.0/24
        # IPv6 loopbacks
        2001:db8::/64
        router7
        """.write(toFile: allow, atomically: true, encoding: .utf8)
        try """
        ! peer, key
        192.0.2.1, arealsmartpwd
        2001:db8::1 , Test Test
        192.0.2.2
        192.0.2.3,
        """.write(toFile: md5, atomically: true, encoding: .utf8)
        let (config, diagnostics) = Fixtures.make([
            "plugins: sqlite3", "bgp_daemon_allow_file: \(allow)", "bgp_daemon_md5_file: \(md5)",
        ])
        let bgp = try #require(config).bgp
        #expect(bgp.allowList?.map(\.description) == ["192.0.2.1/32", "198.51.100.0/24", "2001:db8::/64"])
        #expect(bgp.md5Keys == [
            .init(address: IPAddress("192.0.2.1")!, password: "arealsmartpwd"),
            .init(address: IPAddress("2001:db8::1")!, password: "Test Test"),
        ])
        #expect(diagnostics.map { "\($0.file == allow ? "allow" : "md5"):\($0.line)" } == ["allow:6", "md5:4", "md5:5"])
        #expect(diagnostics.allSatisfy { $0.severity == .skipped })
    }

    @Test func anEmptyAllowFileAllowsNobody() throws {
        let dir = try Fixtures.temporaryDirectory()
        let allow = dir.appendingPathComponent("allow.lst").path
        try "! nobody\n".write(toFile: allow, atomically: true, encoding: .utf8)
        let (config, _) = Fixtures.make(["plugins: sqlite3", "bgp_daemon_allow_file: \(allow)"])
        #expect(try #require(config).bgp.allowList == [])
    }

    @Test func anUnreadableListStopsStartup() {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", "bgp_daemon_allow_file: /nonexistent/allow.lst"])
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == ["2 bgp_daemon_allow_file fatal"])
    }
}

struct BGPDumpPathTests {
    @Test func variablesAreReplaced() {
        // 2026-11-23 22:04:05 UTC
        let path = BGPDumpPath.render("/spool/bgp-$peer_src_ip-$peer_tcp_port-%Y%m%d-%H%M%S.log",
                                      time: 1_795_471_445, utc: true, peerAddress: "192.0.2.1", peerPort: 40123)
        #expect(path == "/spool/bgp-192_0_2_1-40123-20261123-220405.log")
    }

    @Test func unknownVariablesAreRejected() {
        let (_, bad) = Fixtures.make(["plugins: sqlite3", "bgp_table_dump_file: /spool/%Q.log"])
        #expect(bad.first?.message.contains("%Q") == true)
        let (_, badPeer) = Fixtures.make(["plugins: sqlite3", "bgp_table_dump_file: /spool/$bmp_router.log"])
        #expect(badPeer.first?.message.contains("$peer_src_ip") == true)
    }
}
