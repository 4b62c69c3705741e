import Foundation
@testable import PathflowConfig
import Testing

/// pathflow's own console keys: where the collector serves it, its token and view, and the files
/// its reports read.
@Suite struct ConsoleConfigTests {
    @Test func filesAreTaken() throws {
        let dir = try Fixtures.temporaryDirectory()
        let capacities = dir.appendingPathComponent("capacities").path
        let groups = dir.appendingPathComponent("groups").path
        try "transit-a peer_as_dst=65001 10G\n".write(toFile: capacities, atomically: true, encoding: .utf8)
        try "duct-7 peer_ip_dst=10.0.0.1,peer_ip_dst=10.0.0.2\n".write(toFile: groups, atomically: true, encoding: .utf8)
        let (config, diagnostics) = Fixtures.make([
            "plugins: sqlite3", "console_capacities: \(capacities)", "console_failure_groups: \(groups)",
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let c = try #require(config)
        #expect(c.consoleCapacities == capacities && c.consoleFailureGroups == groups)
        let none = try #require(Fixtures.make(["plugins: sqlite3"]).0)
        #expect(none.consoleCapacities == nil && none.consoleFailureGroups == nil)
    }

    @Test(arguments: [
        ("console_capacities: /nonexistent/capacities", "2 console_capacities fatal", "cannot read '/nonexistent/capacities'"),
        ("console_failure_groups: /nonexistent/groups", "2 console_failure_groups fatal", "cannot read '/nonexistent/groups'"),
        ("console_capacities:", "2 console_capacities fatal", "empty value"),
    ])
    func badValuesStopStartup(line: String, summary: String, message: String) {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", line], file: "console.conf")
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == [summary])
        #expect(diagnostics.first?.description.hasPrefix("console.conf:2: key '") == true)
        #expect(diagnostics.first?.message.contains(message) == true, "\(diagnostics)")
    }

    @Test func theSnapshotDatabaseIsTheOneTheCollectorWrites() throws {
        let views = try #require(Fixtures.make(["plugins: print[p], sqlite3[a], sqlite3[b]", "sql_db[a]: /tmp/a.db", "sql_db[b]: /tmp/b.db"]).0)
        #expect(views.ribSnapshotDatabase == "/tmp/a.db")
        let given = try #require(Fixtures.make(["plugins: sqlite3", "bgp_rib_snapshot_db: /tmp/rib.db"]).0)
        #expect(given.ribSnapshotDatabase == "/tmp/rib.db")
        let none = try #require(Fixtures.make(["plugins: print"]).0)
        #expect(none.ribSnapshotDatabase == nil)
    }

    @Test func theConsoleIsOffUnlessAsked() throws {
        let c = try #require(Fixtures.make(["plugins: sqlite3"]).0)
        #expect(c.consoleListen == "false" && c.consoleEndpoint == nil && c.consoleTokenFile == nil && c.consoleView == nil)
        let off = try #require(Fixtures.make(["plugins: sqlite3", "console_listen: 127.0.0.1:9481", "console_listen: False"]).0)
        #expect(off.consoleEndpoint == nil)
    }

    @Test func listenTokenAndView() throws {
        let dir = try Fixtures.temporaryDirectory()
        let token = dir.appendingPathComponent("token").path
        try "  s3cret \r\nsecond line\n".write(toFile: token, atomically: true, encoding: .utf8)
        let (config, diagnostics) = Fixtures.make([
            "plugins: print[p], sqlite3[a], clickhouse[b]", "console_listen: [::1]:9481", "console_token_file: \(token)",
            "console_view: b",
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let c = try #require(config)
        #expect(c.consoleEndpoint == ListenEndpoint(host: "::1", port: 9481))
        #expect(c.consoleTokenFile == token && c.consoleView == "b")
        #expect(TokenFile.read(token) == "s3cret")
        let v4 = try #require(Fixtures.make(["plugins: sqlite3", "console_listen: 0.0.0.0:8080"]).0)
        #expect(v4.consoleEndpoint == ListenEndpoint(host: "0.0.0.0", port: 8080))
    }

    @Test(arguments: [
        (["console_listen: 9481"], "2 console_listen fatal", "expected HOST:PORT, [IPv6]:PORT or false"),
        (["console_listen: ::1:9481"], "2 console_listen fatal", "expected HOST:PORT, [IPv6]:PORT or false"),
        (["console_listen: 127.0.0.1:70000"], "2 console_listen fatal", "expected HOST:PORT"),
        (["console_view: nothing"], "2 console_view fatal", "no sqlite3 or clickhouse view named 'nothing' (views: default_sqlite3)"),
        (["console_token_file: /nonexistent/token"], "2 console_token_file fatal", "cannot read '/nonexistent/token'"),
    ])
    func badConsoleValuesStopStartup(lines: [String], summary: String, message: String) {
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3"] + lines, file: "console.conf")
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == [summary])
        #expect(diagnostics.first?.message.contains(message) == true, "\(diagnostics)")
    }

    @Test func aTokenFileNeedsAToken() throws {
        let token = try Fixtures.temporaryDirectory().appendingPathComponent("token").path
        try "   \nlater\n".write(toFile: token, atomically: true, encoding: .utf8)
        let (config, diagnostics) = Fixtures.make(["plugins: sqlite3", "console_token_file: \(token)"])
        #expect(config == nil && diagnostics.map(\.summary) == ["2 console_token_file fatal"])
        #expect(diagnostics.first?.message.contains("no token on its first line") == true)
    }

    @Test func theConsoleNeedsAViewReportsRead() {
        let (config, diagnostics) = Fixtures.make(["plugins: print", "console_listen: 127.0.0.1:9481", "console_view: default_print"])
        #expect(config == nil)
        #expect(diagnostics.map(\.summary) == ["2 console_listen fatal", "3 console_view fatal"])
        #expect(diagnostics.first?.message.contains("reads a sqlite3 or clickhouse view, and there is none") == true)
    }
}
