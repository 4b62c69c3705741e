import Aggregation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a print view writes and where: pmacct's print_* settings.
public struct PrintSettings: Sendable {
    /// The plugin instance's name (json markers' writer_id).
    public var name: String
    public var output: PrintOutput
    public var primitives: [Primitive]
    /// `print_output_file`, with pmacct's variables; nil: standard output.
    public var outputFile: String?
    /// `print_output_file_append`.
    public var append: Bool
    /// `print_latest_file`: a symbolic link to the file written last.
    public var latestFile: String?
    /// `print_output_separator`, already unescaped (csv only).
    public var separator: String
    /// `print_markers`.
    public var markers: Bool
    /// `print_num_protos`.
    public var numericProtocols: Bool
    /// `timestamps_utc`: file-name times and json stamps in UTC.
    public var utc: Bool
    /// `print_refresh_time` (`$ref`).
    public var refreshTime: Int
    /// `print_history` in seconds (`$hst`), 0 without bins; the bins themselves.
    public var historySeconds: Int
    public var binning: TimeBinning?

    public init(name: String, output: PrintOutput, primitives: [Primitive]) {
        self.name = name
        self.output = output
        self.primitives = primitives
        outputFile = nil
        append = false
        latestFile = nil
        separator = ","
        markers = false
        numericProtocols = false
        utc = false
        refreshTime = 60
        historySeconds = 0
        binning = nil
    }
}

/// A print view (pmacct's print plugin): every flush writes the view's rows as formatted text,
/// csv or json lines, to standard output or to files named by `print_output_file`.
///
/// Files are written all or nothing (`PrintFileBatch`): a flush that throws has changed no file,
/// so the collector can hand the same rows again. Without append, a file is replaced by a new
/// one holding its rows; with print_history, rows of the current and the previous bin are kept
/// between flushes and a bin's file is written whole every time it gets rows, so a bin whose
/// rows arrive over several refreshes still ends in one complete file, as nfacctd's, which holds
/// a bin back until it closes. Appended files and standard output get the rows of each flush.
public final class PrintViewStorage: ViewStorage {
    public let settings: PrintSettings
    let format: PrintFormat
    let fileName: PrintFileName?
    let latestName: PrintFileName?
    private let state = Mutex(State())

    struct State {
        /// Rows of recent bins already written to replaced files, by bin.
        var recent: [UInt32: [BinnedKey: Counters]] = [:]
        /// Standard output gets the title until a flush has printed rows (pmacct).
        var titlePending = true
        /// Files written (replaced or appended to), and print_latest_file links not made.
        var filesWritten: UInt64 = 0
        var linkFailures: UInt64 = 0
    }

    /// Where "standard output" goes: descriptor 1 but in tests.
    let standardOutput: Int32

    public convenience init(settings: PrintSettings) throws {
        try self.init(settings: settings, standardOutput: 1)
    }

    init(settings: PrintSettings, standardOutput: Int32) throws {
        self.settings = settings
        self.standardOutput = standardOutput
        format = try PrintFormat(
            output: settings.output, primitives: settings.primitives, separator: settings.separator,
            numericProtocols: settings.numericProtocols, utc: settings.utc, history: settings.binning != nil)
        let names = { (pattern: String) in
            PrintFileName(pattern: pattern, refreshTime: settings.refreshTime, historySeconds: settings.historySeconds,
                          utc: settings.utc, peerSource: .init(settings.primitives))
        }
        fileName = settings.outputFile.map(names)
        latestName = settings.outputFile == nil ? nil : settings.latestFile.map(names)
    }

    /// Rows of replaced files are kept across flushes (see the type's comment).
    var keepsRecentBins: Bool { fileName != nil && !settings.append && settings.binning != nil }

    public var counters: [StorageCounter] {
        state.withLock { state in
            [
                StorageCounter("pathflow_print_files_written_total", .counter, Double(state.filesWritten),
                               help: "Output files a print view wrote (replaced or appended to)"),
                StorageCounter("pathflow_print_latest_link_failures_total", .counter, Double(state.linkFailures),
                               help: "print_latest_file links that could not be made (the rows were written)"),
            ]
        }
    }

    public var location: String {
        "print \(settings.output.rawValue) to \(settings.outputFile ?? "standard output")"
    }

    public func write(_ batch: FlushBatch) throws -> WriteResult {
        let started = monotonicSeconds()
        var rows: [BinnedKey: Counters] = Dictionary(minimumCapacity: batch.parts.map(\.count).max() ?? 0)
        for part in batch.parts { part.merge(into: &rows) }
        let texts = settings.primitives.contains(where: \.isText) ? (batch.texts?.snapshot() ?? [""]) : [""]
        try write(rows: rows, now: batch.now, texts: texts)
        return WriteResult(rows: rows.count, seconds: monotonicSeconds() - started)
    }

    /// Writes merged rows; `now` is the flush time (stamp_updated, and the file-name time of rows
    /// without a bin).
    func write(rows: [BinnedKey: Counters], now: Int, texts: [String]) throws {
        try state.withLock { state in
            guard let fileName else {
                try printToStandardOutput(rows, now: now, texts: texts, state: &state)
                return
            }
            guard !rows.isEmpty else { return }  // pmacct writes no file for an empty flush
            guard keepsRecentBins, let binning = settings.binning else {
                let files = group(rows, by: fileName, now: now)
                let written = try writeFiles(files, now: now, texts: texts)
                state.filesWritten &+= UInt64(files.count)
                link(written, &state)
                return
            }
            // The rows join their bins' earlier rows; every file this flush touches is written
            // with all of its bins' rows. The bins are kept only once the files are written.
            var recent = state.recent
            for (row, counters) in rows { recent[row.bin, default: [:]][row, default: Counters()].add(counters) }
            var names = FileNames(pattern: fileName)
            let touched = Set(rows.keys.map { names.name(of: $0, now: now) })
            var files: [String: [Row]] = [:]
            for bin in recent.values {
                for (row, counters) in bin {
                    let name = names.name(of: row, now: now)
                    if touched.contains(name) { files[name, default: []].append((row, counters)) }
                }
            }
            let written = try writeFiles(files, now: now, texts: texts)
            state.filesWritten &+= UInt64(files.count)
            // Bins before the previous one are done with (nfacctd has written them by now).
            let previous = binning.bin(binning.bin(now) - 1)
            state.recent = recent.filter { $0.key >= UInt32(clamping: previous) }
            link(written, &state)
        }
    }

    /// print_latest_file, after a flush that wrote files.
    func link(_ written: (file: String, key: FlowKey, time: Int)?, _ state: inout State) {
        guard let latestName, let written else { return }
        if !linkLatest(latestName.render(key: written.key, time: written.time), to: written.file) {
            state.linkFailures &+= 1
        }
    }

    typealias Row = (key: BinnedKey, counters: Counters)

    /// Rows by the file they go to: each row's own bin names its file (the flush time without
    /// bins), as nfacctd does when the name has variables.
    func group(_ rows: [BinnedKey: Counters], by pattern: PrintFileName, now: Int) -> [String: [Row]] {
        guard pattern.isDynamic else { return [pattern.pattern: rows.map { ($0.key, $0.value) }] }
        var names = FileNames(pattern: pattern)
        var files: [String: [Row]] = [:]
        for (row, counters) in rows {
            files[names.name(of: row, now: now), default: []].append((row, counters))
        }
        return files
    }

    /// File names by bin and exporter, each rendered once per flush.
    struct FileNames {
        let pattern: PrintFileName
        var cache: [BinnedKey: String] = [:]

        init(pattern: PrintFileName) {
            self.pattern = pattern
        }

        mutating func name(of row: BinnedKey, now: Int) -> String {
            guard pattern.isDynamic else { return pattern.pattern }
            // Only the bin and the exporter can change a name.
            var key = FlowKey()
            key.peerSrc = row.key.peerSrc
            let id = BinnedKey(key: key, bin: row.bin)
            if let name = cache[id] { return name }
            let name = pattern.render(key: key, time: row.bin == 0 ? now : Int(row.bin))
            cache[id] = name
            return name
        }
    }

    /// Writes each file (oldest bin first) all or nothing; returns the file of the newest bin
    /// and the row time and key its name came from, for print_latest_file.
    func writeFiles(_ files: [String: [Row]], now: Int, texts: [String]) throws
        -> (file: String, key: FlowKey, time: Int)?
    {
        let updated = SQLTime.format(now, utc: settings.utc)
        let total = files.values.reduce(0) { $0 + $1.count }
        let pid = getpid()
        let started = time(nil)
        var purged = 0
        var batch = PrintFileBatch()
        var newest: (file: String, key: FlowKey, time: Int)?
        let ordered = files.map { ($0.key, $0.value, $0.value.map { Int($0.key.bin) }.min() ?? 0) }
            .sorted { ($0.2, $0.0) < ($1.2, $1.0) }
        do {
            for (file, rows, _) in ordered {
                let start = settings.markers ? format.startMarker(writer: settings.name, pid: pid) : ""
                let header = format.header ?? ""
                var body = ""
                for line in lines(rows, texts: texts, updated: updated) { body += line }
                purged += rows.count
                if settings.markers {
                    body += format.endMarker(
                        writer: settings.name, pid: pid, purged: purged, total: total, seconds: Int(time(nil) - started))
                }
                if settings.append {
                    // pmacct prints the title only into a file it creates, after the start marker.
                    try batch.append(file, whenNew: start + header + body, otherwise: start + body)
                } else {
                    try batch.replace(file, with: start + header + body)
                }
                let last = rows.max { $0.key.bin < $1.key.bin }!
                let time = last.key.bin == 0 ? now : Int(last.key.bin)
                if newest == nil || time >= newest!.time { newest = (file, last.key.key, time) }
            }
            try batch.commit()
        } catch {
            batch.rollBack()
            throw error
        }
        return newest
    }

    /// The rows as lines, ordered by bin and then by text, so equal flushes print equal files.
    func lines(_ rows: [Row], texts: [String], updated: String) -> [String] {
        rows.map { (bin: $0.key.bin, line: format.line($0.key, $0.counters, texts: texts, updated: updated)) }
            .sorted { ($0.bin, $0.line) < ($1.bin, $1.line) }
            .map(\.line)
    }

    /// Standard output: the title once, until a flush has printed rows; markers around every
    /// flush that has rows.
    func printToStandardOutput(_ rows: [BinnedKey: Counters], now: Int, texts: [String], state: inout State) throws {
        guard !rows.isEmpty else { return }
        let pid = getpid()
        var text = settings.markers ? format.startMarker(writer: settings.name, pid: pid) : ""
        if state.titlePending { text += format.header ?? "" }
        let all = rows.map { ($0.key, $0.value) }
        for line in lines(all, texts: texts, updated: SQLTime.format(now, utc: settings.utc)) { text += line }
        if settings.markers {
            text += format.endMarker(writer: settings.name, pid: pid, purged: rows.count, total: rows.count, seconds: 0)
        }
        var failure: Int32 = 0
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = systemWrite(standardOutput, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += n
            }
        }
        if failure != 0 {
            throw PrintFileBatch.Failure(path: "standard output", operation: "write", errno: failure)
        }
        state.titlePending = false
    }

    /// Points `link` at `file`, replacing what was there in one step. Best effort, as pmacct's
    /// link_latest_output_file(): the rows are written already, so a failure is not the flush's
    /// (it is counted).
    func linkLatest(_ link: String, to file: String) -> Bool {
        do {
            try PrintFileBatch.makeDirectories(for: link)
        } catch {
            return false
        }
        let temporary = PrintFileBatch.temporaryName(for: link)
        guard symlink(file, temporary) == 0 else { return false }
        if rename(temporary, link) != 0 {
            unlink(temporary)
            return false
        }
        return true
    }
}
