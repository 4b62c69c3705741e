import Foundation
@testable import PathflowConfig
import Testing

/// pathflow's own console keys: the files its reports read.
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
}
