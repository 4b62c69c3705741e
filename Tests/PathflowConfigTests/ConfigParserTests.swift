import Testing
@testable import PathflowConfig

struct ConfigParserTests {
    @Test func splitsAtTheFirstColonOnly() {
        let raw = ConfigParser.parse(text: """
            nfprobe_timeouts: tcp=10:udp=10:icmp=10
            nfacctd_ip: 2001:db8::1
            metrics_listen: [::1]:9100
            """, file: "a.conf")
        #expect(raw.diagnostics.isEmpty)
        #expect(raw.lines.map(\.key) == ["nfprobe_timeouts", "nfacctd_ip", "metrics_listen"])
        #expect(raw.lines.map(\.value) == ["tcp=10:udp=10:icmp=10", "2001:db8::1", "[::1]:9100"])
    }

    @Test func commentsAndBlankLinesAreSkippedAndLinesKeepTheirNumbers() {
        let raw = ConfigParser.parse(text: """
            ! a comment
            # also a comment, as in pmacct's iscomment()

               ! indented comment
            pidfile: /tmp/x!y#z
            \t
            daemonize: true
            """, file: "c.conf")
        #expect(raw.diagnostics.isEmpty)
        #expect(raw.lines.map(\.line) == [5, 7])
        // No inline comments in pmacct: the rest of the line is the value.
        #expect(raw.lines.first?.value == "/tmp/x!y#z")
    }

    @Test func keysAreNormalisedAndInstanceNamesKept() {
        let raw = ConfigParser.parse(text: "  SQL_Table [Matrix A] :   acct_v9  \r\nDaemonize:TRUE\r\n", file: "n.conf")
        #expect(raw.diagnostics.isEmpty)
        #expect(raw.lines.count == 2)
        #expect(raw.lines[0].key == "sql_table")
        #expect(raw.lines[0].instance == "Matrix A")
        #expect(raw.lines[0].value == "acct_v9")
        #expect(raw.lines[0].displayKey == "sql_table[Matrix A]")
        #expect(raw.lines[1].key == "daemonize")
        #expect(raw.lines[1].instance == nil)
        #expect(raw.lines[1].value == "TRUE")
        #expect(raw.lines[1].line == 2)
    }

    @Test func aLineWithoutColonIsAFatalSyntaxError() {
        let raw = ConfigParser.parse(text: "daemonize: true\ndaemonize true\n", file: "s.conf")
        #expect(raw.lines.map(\.key) == ["daemonize"])
        #expect(raw.diagnostics.map(\.description) == ["s.conf:2: key 'daemonize true': syntax error: missing ':'"])
        #expect(raw.diagnostics.first?.severity == .fatal)
        let (config, diagnostics) = CollectorConfig.make(raw: raw)
        #expect(config == nil)
        #expect(diagnostics.contains { $0.line == 2 && $0.severity == .fatal })
    }

    @Test(arguments: ["sql_table[a: x", "sql_table]a[: x", "sql_table[a]x: y", "sql_table[[a]]: x", ": value"])
    func malformedKeysAreFatal(line: String) {
        let raw = ConfigParser.parse(text: line, file: "b.conf")
        #expect(raw.lines.isEmpty)
        #expect(raw.diagnostics.count == 1)
        #expect(raw.diagnostics.first?.severity == .fatal)
        #expect(raw.diagnostics.first?.line == 1)
    }

    @Test func emptyValueIsKept() {
        let raw = ConfigParser.parse(text: "sql_table:\n", file: "e.conf")
        #expect(raw.lines.first?.value == "")
        let (_, diagnostics) = Fixtures.make(["plugins: sqlite3", "sql_table:"])
        #expect(diagnostics.map(\.description) == ["test.conf:2: key 'sql_table': empty value (skipped)"])
    }
}
