import Testing
@testable import PathflowConfig

/// The print plugin's keys, as pmacct's cfg_handlers.c reads them.
struct PrintConfigTests {
    @Test func printKeysAreRead() throws {
        let (config, diagnostics) = Fixtures.make([
            "plugins: print[a], print[b]",
            "print_output: csv",
            "print_output_file[a]: /var/spool/pmacct/a-$peer_src_ip-%Y%m%d-%H%M.csv",
            "print_output_file[b]: /var/spool/pmacct/b.json",
            "print_output[b]: json",
            "print_output_file_append[b]: true",
            "print_latest_file[a]: /var/spool/pmacct/latest-$peer_src_ip",
            "print_output_separator[a]: \\t",
            "print_output_separator[b]: ;",
            "print_markers: true",
            "print_refresh_time: 300",
            "print_history: 5m",
            "print_history_roundoff: m",
            "print_num_protos[b]: true",
            "aggregate: src_host, dst_host, as_path",
        ])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let views = try #require(config?.views)
        let (a, b) = (views[0], views[1])
        #expect(a.printOutputFormat == .csv && b.printOutputFormat == .json)
        #expect(a.printOutputFile == "/var/spool/pmacct/a-$peer_src_ip-%Y%m%d-%H%M.csv")
        #expect(b.printOutputFile == "/var/spool/pmacct/b.json")
        #expect(a.printOutputFileAppend == false && b.printOutputFileAppend == true)
        #expect(a.printLatestFile == "/var/spool/pmacct/latest-$peer_src_ip" && b.printLatestFile == nil)
        #expect(a.printOutputSeparator == "\t" && b.printOutputSeparator == ";")
        #expect(a.printMarkers && b.printMarkers)
        #expect(a.printRefreshTime == 300 && b.refreshTime == 300)
        #expect(a.history == .minutes(5) && a.historyRoundoff == "m")
        #expect(a.numProtos == false && b.numProtos == true)
    }

    @Test func defaults() throws {
        let (config, _) = Fixtures.make(["plugins: print"])
        let view = try #require(config?.views.first)
        #expect(view.printOutputFileAppend == false)
        #expect(view.printLatestFile == nil)
        #expect(view.printOutputSeparator == ",")
        #expect(view.printMarkers == false)
        #expect(view.printOutputFile == nil)
    }

    @Test(arguments: [
        ("print_output_separator: \\s", " "),
        ("print_output_separator: |", "|"),
        ("amqp_markers: true", ","),  // pmacct's handler for print_markers: no effect on the separator
    ])
    func separators(line: String, separator: String) throws {
        let (config, diagnostics) = Fixtures.make(["plugins: print", line])
        #expect(diagnostics.isEmpty)
        #expect(config?.views.first?.printOutputSeparator == separator)
    }

    /// Values pmacct rejects with a warning are skipped, the rest of the file runs.
    @Test(arguments: [
        ("print_output_separator: ::", "one character"),
        ("print_latest_file: /tmp/latest-%H", "'%'"),
        ("print_markers: yes", "true or false"),
        ("print_output_file_append: 1", "true or false"),
    ])
    func invalidValuesAreSkipped(line: String, messagePart: String) throws {
        let (config, diagnostics) = Fixtures.make(["plugins: print", line])
        #expect(config != nil)
        #expect(diagnostics.map(\.severity) == [.skipped])
        #expect(diagnostics.first?.message.contains(messagePart) == true, "\(diagnostics)")
    }

    /// What nfacctd refuses to start with.
    @Test(arguments: [
        (["plugins: print", "print_output_file: /tmp/f-%Q.csv"], "'%Q'"),
        (["plugins: print", "print_output_file: /tmp/" + String(repeating: "%H", count: 33)], "32"),
        (["plugins: print", "aggregate: src_host, as_path"], "formatted"),
        (["plugins: print", "print_output: formatted", "aggregate: std_comm"], "std_comm"),
        (["plugins: print", "daemonize: true"], "daemonize"),
        (["plugins: sqlite3", "print_output_file: acct_%Y"], "dynamic table names"),
        (["plugins: print", "print_write_empty_file: true"], "not implemented"),
    ])
    func refusedConfigurations(lines: [String], messagePart: String) {
        let (config, diagnostics) = Fixtures.make(lines)
        #expect(config == nil)
        #expect(diagnostics.contains { $0.severity == .fatal && $0.message.contains(messagePart) }, "\(diagnostics)")
    }

    @Test func accepted() {
        for lines in [
            ["plugins: print", "print_output: csv", "aggregate: src_host, as_path, std_comm, ext_comm, lrg_comm"],
            ["plugins: print", "print_output: json", "aggregate: as_path"],
            ["plugins: print", "daemonize: true", "print_output_file: /tmp/out.txt"],
            ["plugins: print", "print_write_empty_file: false"],
        ] {
            let (config, diagnostics) = Fixtures.make(lines)
            #expect(config != nil && diagnostics.isEmpty, "\(lines): \(diagnostics)")
        }
    }

    /// nfacctd drops a print_latest_file with '$' variables when print_output_file has none.
    @Test func latestFileWithVariablesNeedsADynamicOutputFile() throws {
        let (config, diagnostics) = Fixtures.make([
            "plugins: print", "print_output_file: /tmp/out.csv", "print_latest_file: /tmp/latest-$peer_src_ip",
        ])
        #expect(config?.views.first?.printLatestFile == nil)
        #expect(diagnostics.map(\.summary) == ["0 print_latest_file[default_print] skipped"])
    }
}
