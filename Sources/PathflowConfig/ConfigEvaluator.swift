/// Turns parsed lines into a `CollectorConfig`, in pmacct's order: the first `plugins` line
/// creates the views wherever it stands, then every other line is applied in file order, so
/// the last value of a key wins and `key[name]` lines may come before `plugins`.
struct ConfigEvaluator {
    struct GlobalDraft: Sendable {
        var config = CollectorConfig()
        var samplingMapLine: RawConfig.Line?
        var allowFileLine: RawConfig.Line?
        var flowAllowFileLine: RawConfig.Line?
        var agentMapLine: RawConfig.Line?
        var md5FileLine: RawConfig.Line?
        /// The console's files by key, with the line that named each last.
        var consoleFiles: [String: (path: String, line: RawConfig.Line)] = [:]
        /// console_listen and console_view, by key, with their lines (checked once the views are known).
        var consoleLines: [String: RawConfig.Line] = [:]
    }

    struct ViewDraft: Sendable {
        var config: ViewConfig
        /// pmacct's one setting behind sql_table and print_output_file.
        var tableOrFile: String?
    }

    private let file: String
    private var global = GlobalDraft()
    private var views: [ViewDraft] = []
    /// Instances of refused plugin types: their keys are ignored without more noise.
    private var refusedInstances: Set<String> = []
    private var diagnostics: [ConfigDiagnostic] = []

    init(file: String) {
        self.file = file
    }

    static func evaluate(_ raw: RawConfig) -> (CollectorConfig?, [ConfigDiagnostic]) {
        var evaluator = ConfigEvaluator(file: raw.file)
        evaluator.diagnostics = raw.diagnostics
        return evaluator.run(raw.lines)
    }

    private mutating func run(_ lines: [RawConfig.Line]) -> (CollectorConfig?, [ConfigDiagnostic]) {
        let pluginsLine = lines.first { $0.key == "plugins" && $0.instance == nil }
        if let pluginsLine { createViews(pluginsLine) }
        for line in lines where line != pluginsLine {
            apply(line)
        }
        finish(pluginsLine: pluginsLine)
        let ordered = diagnostics.orderedByFileAndLine()
        return (ordered.hasFatal ? nil : global.config, ordered)
    }

    // MARK: plugins

    private mutating func createViews(_ line: RawConfig.Line) {
        for token in line.value.split(separator: ",") {
            let item = ASCIIText.trim(token)
            guard !item.isEmpty else { continue }
            var type = item
            var name: String?
            if let open = item.firstIndex(of: "["), let close = item.lastIndex(of: "]"), close > open {
                type = ASCIIText.trim(item[..<open])
                let inner = ASCIIText.trim(item[item.index(after: open)..<close])
                name = inner.isEmpty ? nil : inner
            }
            type = ASCIIText.lowercased(type)
            let instance = name ?? "default_\(type)"  // pmacct's name for an unnamed plugin
            guard let kind = ConfigKeys.pluginTypes[type] else {
                report(line, "unknown plugin type '\(type)'", .skipped)
                continue
            }
            if views.contains(where: { $0.config.name == instance }) || refusedInstances.contains(instance) {
                report(line, "another plugin is named '\(instance)'; keeping the first", .skipped)
                continue
            }
            switch kind {
            case .success(let plugin):
                views.append(ViewDraft(config: ViewConfig(name: instance, plugin: plugin)))
            case .failure(let problem):
                refusedInstances.insert(instance)
                report(line, problem)
            }
        }
    }

    // MARK: keys

    private mutating func apply(_ line: RawConfig.Line) {
        guard let rule = ConfigKeys.rule(for: line.key) else {
            report(line, "unknown key", .skipped)
            return
        }
        switch rule {
        case .plugins:
            let message = line.instance == nil
                ? "only the first 'plugins' line is used, as in pmacct"
                : "'plugins' cannot be given for one plugin"
            report(line, message, .skipped)
        case .noEffect:
            report(line, "no effect in pathflow", .skipped)
        case .unimplemented(let reason, let harmless):
            if !harmless.contains(ASCIIText.lowercased(line.value)) {
                report(line, reason, .fatal)
            }
        case .global(let key):
            switch key.parse(line.value) {
            case .failure(let problem):
                report(line, problem)
            case .success(let set):
                set(&global, line)
                if let name = line.instance {
                    report(line, "plugin name '\(name)' not supported for this key; applied to all plugins", .skipped)
                }
            }
        case .view(let key):
            applyViewKey(key, line)
        }
    }

    private mutating func applyViewKey(_ key: KeyRule.View, _ line: RawConfig.Line) {
        var targets = Array(views.indices)
        if let name = line.instance {
            if refusedInstances.contains(name) { return }
            guard let index = views.firstIndex(where: { $0.config.name == name }) else {
                let known = views.map(\.config.name).joined(separator: ", ")
                report(line, "unknown plugin instance '\(name)' (plugins: \(known.isEmpty ? "none" : known))", .skipped)
                return
            }
            targets = [index]
        }
        switch key.parse(line.value) {
        case .failure(let problem):
            report(line, problem)
        case .success(let update):
            for index in targets { update.view(&views[index]) }
            if line.instance == nil, let setGlobal = update.global { setGlobal(&global.config) }
        }
    }

    // MARK: finishing

    private mutating func finish(pluginsLine: RawConfig.Line?) {
        if let pluginsLine {
            if views.isEmpty && refusedInstances.isEmpty {
                report(pluginsLine, "no usable plugins: add plugins: sqlite3", .fatal)
            }
        } else {
            diagnostics.append(ConfigDiagnostic(
                file: file, line: 0, key: "plugins",
                message: "no plugins configured: add plugins: sqlite3", severity: .fatal))
        }
        // sfacctd takes ASNs from sFlow's extended gateway unless told otherwise.
        if global.config.sflow && !global.config.asSourceSet { global.config.asSource = .netflow }
        global.config.views = views.map { draft in
            var view = draft.config
            if view.aggregate.isEmpty { view.aggregate = ["src_host"] }  // pmacct's fallback
            switch view.plugin {
            case .sqlite3:
                view.sqlTable = draft.tableOrFile ?? ViewConfig.defaultTable(version: view.sqlTableVersion)
            case .print:
                view.printOutputFile = draft.tableOrFile
            case .clickhouse:
                view.sqlTable = draft.tableOrFile ?? ViewConfig.defaultTable(version: view.sqlTableVersion)
            }
            return view
        }
        for index in global.config.views.indices {
            var view = global.config.views[index]
            checkPlugin(&view)
            global.config.views[index] = view
        }
        if let line = global.samplingMapLine, let path = global.config.samplingMapPath {
            loadSamplingMap(path, line)
        }
        if let line = global.allowFileLine, let path = global.config.bgp.allowFilePath, let text = readList(path, line) {
            let (prefixes, problems) = BGPListParser.allowList(text: text, file: path, key: "bgp_daemon_allow_file")
            global.config.bgp.allowList = prefixes
            diagnostics += problems
        }
        if let line = global.flowAllowFileLine, let path = global.config.flowAllowFilePath, let text = readList(path, line) {
            let (prefixes, problems) = BGPListParser.allowList(text: text, file: path, key: line.key)
            global.config.flowAllowList = prefixes
            diagnostics += problems
        }
        if let line = global.agentMapLine, let path = global.config.agentMapPath, let text = readList(path, line) {
            let (entries, problems) = AgentMapParser.parse(text: text, file: path)
            global.config.agentMap = entries
            diagnostics += problems
        }
        if let line = global.md5FileLine, let path = global.config.bgp.md5FilePath, let text = readList(path, line) {
            let (keys, problems) = BGPListParser.md5Keys(text: text, file: path)
            global.config.bgp.md5Keys = keys
            diagnostics += problems
        }
        checkConsole()
        if global.config.bgp.tableDumpFile != nil && global.config.bgp.tableDumpRefreshTime == nil {
            diagnostics.append(ConfigDiagnostic(
                file: file, line: 0, key: "bgp_table_dump_refresh_time",
                message: "bgp_table_dump_file needs bgp_table_dump_refresh_time (60 to 86400 s); no dumps will be written",
                severity: .skipped))
        }
    }

    /// What can only be judged once a view's keys are all in, where pmacct judges it when its
    /// plugin starts. The lines are not known here: the diagnostics name the key.
    private mutating func checkPlugin(_ view: inout ViewConfig) {
        func report(_ key: String, _ message: String, _ severity: ConfigDiagnostic.Severity) {
            diagnostics.append(ConfigDiagnostic(
                file: file, line: 0, key: "\(key)[\(view.name)]", message: message, severity: severity))
        }
        switch view.plugin {
        case .clickhouse:
            if (try? ConfigKeys.identifier(view.sqlTable).get()) == nil {
                report("sql_table", "'\(view.sqlTable)' is not a ClickHouse table name (letters, digits and '_')", .fatal)
            }
            if view.sqlTableVersion != nil {
                report("sql_table_version", "pmacct's table versions are SQLite/MySQL layouts; a clickhouse view's table "
                    + "is created from its aggregate (ignored)", .skipped)
            }
        case .sqlite3:
            // print_output_file names the table of a SQL plugin; its variables are the print plugin's.
            if view.sqlTable.contains("%") || view.sqlTable.contains("$") {
                report("print_output_file", "dynamic table names ('%' or '$' variables) are not implemented yet", .fatal)
            }
        case .print:
            let variableLength = view.aggregate.filter { ["as_path", "std_comm", "ext_comm", "lrg_comm"].contains($0) }
            if view.printOutputFormat == .formatted && !variableLength.isEmpty {
                report("aggregate", "variable-length primitives (\(variableLength.joined(separator: ", "))) cannot be "
                    + "printed with print_output: formatted (nfacctd exits too); use csv or json", .fatal)
            }
            if view.printOutputFile == nil && global.config.daemonize {
                report("print_output_file", "no print_output_file and daemonize: true: the output would be lost "
                    + "(nfacctd exits too)", .fatal)
            }
            if let latest = view.printLatestFile, let file = view.printOutputFile,
               !file.contains("%") && !file.contains("$") && latest.contains("$") {
                report("print_latest_file", "'$' variables need a print_output_file with variables; ignored, as nfacctd does", .skipped)
                view.printLatestFile = nil
            }
        }
    }

    /// The console's keys, once the views are known: its files must be readable, its token file
    /// must hold a token, and its view must be one that reports read.
    private mutating func checkConsole() {
        for key in global.consoleFiles.keys.sorted() {
            let (path, line) = global.consoleFiles[key]!
            if readList(path, line) != nil && key == "console_token_file" && TokenFile.read(path) == nil {
                report(line, "'\(path)': no token on its first line", .fatal)
            }
        }
        let readable = global.config.views.filter { $0.plugin == .sqlite3 || $0.plugin == .clickhouse }
        if let line = global.consoleLines["console_view"], let name = global.config.consoleView,
           !readable.contains(where: { $0.name == name }) {
            let names = readable.map(\.name).joined(separator: ", ")
            report(line, "no sqlite3 or clickhouse view named '\(name)' (views: \(names.isEmpty ? "none" : names))", .fatal)
        }
        if let line = global.consoleLines["console_listen"], global.config.consoleEndpoint != nil, readable.isEmpty {
            report(line, "the console reads a sqlite3 or clickhouse view, and there is none", .fatal)
        }
    }

    /// pmacct exits when a map named in the configuration cannot be read at startup.
    private mutating func readList(_ path: String, _ line: RawConfig.Line) -> String? {
        do {
            return try TextFile.read(path)
        } catch {
            report(line, "cannot read '\(path)': \(error)", .fatal)
            return nil
        }
    }

    /// pmacct exits when the map cannot be read at startup, and ignores bad lines in it.
    private mutating func loadSamplingMap(_ path: String, _ line: RawConfig.Line) {
        do {
            let (rules, mapDiagnostics) = SamplingMapParser.parse(text: try TextFile.read(path), file: path)
            global.config.samplingMap = rules
            diagnostics += mapDiagnostics
        } catch {
            report(line, "cannot read sampling map '\(path)': \(error)", .fatal)
        }
    }

    private mutating func report(_ line: RawConfig.Line, _ problem: KeyRule.Problem) {
        switch problem {
        case .invalid(let message): report(line, message, .skipped)
        case .unsupported(let message): report(line, message, .fatal)
        }
    }

    private mutating func report(_ line: RawConfig.Line, _ message: String, _ severity: ConfigDiagnostic.Severity) {
        diagnostics.append(ConfigDiagnostic(
            file: line.file, line: line.line, key: line.displayKey, message: message, severity: severity))
    }
}
