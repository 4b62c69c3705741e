import ArgumentParser
import Logging
import PathflowConfig

#if canImport(Glibc)
import Glibc
#endif

/// A failure at run time (not a usage error): printed as "Error: …", exit status 1.
struct RuntimeFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The options `collect` and `probe` share: where metrics, the pid and the log go, and how
/// strictly the configuration is read.
struct DaemonOptions: ParsableArguments {
    @Option(name: .customLong("metrics-listen"), help: "HOST:PORT for Prometheus metrics, or 'false'.")
    var metricsListen: String?

    @Option(name: .customLong("pidfile"), help: "Write the process id here instead of pidfile.")
    var pidfile: String?

    @Option(name: .customLong("logfile"), help: "Log here instead of logfile.")
    var logfile: String?

    @Flag(name: .long, help: "Treat every skipped configuration line as an error.")
    var strict = false

    @Flag(name: .long, help: "Stay in the foreground even when the configuration says daemonize: true.")
    var foreground = false

    func validateMetricsListen() throws {
        if let metricsListen, metricsListen != "false", ListenEndpoint(parsing: metricsListen) == nil {
            throw ValidationError("--metrics-listen \(metricsListen): expected HOST:PORT, [IPv6]:PORT or false")
        }
    }
}

enum PathflowVersion {
    static let current = "0.1.0"
}

/// The pidfile: written at start, removed at exit; a live pid in it stops a second start.
/// A pidfile that cannot be written (a non-root user and /var/run) is a warning, as in pmacct.
struct PidFile {
    let path: String

    static func create(path: String, logger: Logger) throws -> PidFile? {
        if let text = try? readSmallFile(path), let other = Int32(text.trimmingCharacters(in: " \n")),
           other > 0, other != getpid(), kill(other, 0) == 0 {
            throw RuntimeFailure("pidfile \(path) names process \(other), which is running")
        }
        guard let file = fopen(path, "w") else {
            logger.warning("cannot write pidfile; going on without it", metadata: [
                "pidfile": "\(path)", "error": "\(String(cString: strerror(errno)))",
            ])
            return nil
        }
        fputs("\(getpid())\n", file)
        fclose(file)
        return PidFile(path: path)
    }

    func remove() {
        unlink(path)
    }
}

func readSmallFile(_ path: String) throws -> String {
    guard let file = fopen(path, "r") else { throw RuntimeFailure("cannot read \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 20 {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// daemonize: true — start this same command again in a new session, detached, and return.
/// Re-executing avoids fork() in a process that already runs threads.
enum Background {
    static func detach(logfile: String?) throws {
        var arguments = CommandLine.arguments
        arguments.append("--foreground")
        let executable = "/proc/self/exe"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let output = logfile ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // glibc's POSIX_SPAWN_SETSID (0x80): the child leads a new session, free of our terminal.
        posix_spawnattr_setflags(&attributes, 0x80)
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw RuntimeFailure("cannot start in the background: \(String(cString: strerror(result)))")
        }
        print("pathflow collecting in the background, pid \(pid)")
    }
}

/// Logs to standard error, or appended to `logfile`.
enum Logging {
    /// The log file, once bootstrapped with one: SIGHUP reopens it (after logrotate moved it).
    nonisolated(unsafe) static var file: FileHandleBox?

    static func reopen() {
        file?.reopen()
    }

    static func bootstrap(logfile: String?, debug: Bool) -> Logger {
        let level: Logger.Level = debug ? .debug : .info
        if let logfile, let file = fopen(logfile, "a") {
            setvbuf(file, nil, _IOLBF, 0)
            let handle = FileHandleBox(file: file, path: logfile)
            Self.file = handle
            LoggingSystem.bootstrap { label in
                var handler = FileLogHandler(label: label, file: handle)
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: "pathflow")
        logger.logLevel = level
        return logger
    }
}

final class FileHandleBox: @unchecked Sendable {
    // A FILE* is internally locked by stdio; lines are written with one fputs each, and freopen
    // takes the same lock, so a reopen never splits a line.
    let file: UnsafeMutablePointer<FILE>
    let path: String
    init(file: UnsafeMutablePointer<FILE>, path: String) {
        self.file = file
        self.path = path
    }

    func reopen() {
        if freopen(path, "a", file) != nil { setvbuf(file, nil, _IOLBF, 0) }
    }
}

struct FileLogHandler: LogHandler {
    let label: String
    let file: FileHandleBox
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var stamp = [CChar](repeating: 0, count: 32)
        strftime(&stamp, stamp.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let meta = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let stampText = String(decoding: stamp.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        fputs("\(stampText) \(event.level) \(label): \(event.message)\(meta)\n", file.file)
    }
}
