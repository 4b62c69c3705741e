import Foundation
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// A clickhouse-server of Debian's package, started for a test on loopback with its own ports
/// and data directory, and stopped (SIGKILL) at the end. Tests that need one are skipped when
/// the package is not installed and CLICKHOUSE_REQUIRED is not set (CI sets it).
public final class ClickHouseServer: @unchecked Sendable {
    public static let binary = "/usr/sbin/clickhouse-server"
    public static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    public static var required: Bool { ProcessInfo.processInfo.environment["E2E_NO_SKIP"] != nil }

    public let directory: String
    public let httpPort: Int
    var process: Process?

    public var url: String { "http://127.0.0.1:\(httpPort)" }

    public init() async throws {
        directory = NSTemporaryDirectory() + "pathflow-clickhouse-\(UUID().uuidString)"
        httpPort = Self.freePort()
        let tcpPort = Self.freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
            <?xml version="1.0"?>
            <yandex>
                <logger><level>warning</level><log>\(directory)/server.log</log><errorlog>\(directory)/error.log</errorlog></logger>
                <http_port>\(httpPort)</http_port>
                <tcp_port>\(tcpPort)</tcp_port>
                <listen_host>127.0.0.1</listen_host>
                <path>\(directory)/data/</path>
                <tmp_path>\(directory)/tmp/</tmp_path>
                <user_files_path>\(directory)/user_files/</user_files_path>
                <format_schema_path>\(directory)/format_schemas/</format_schema_path>
                <users_config>\(directory)/users.xml</users_config>
                <default_profile>default</default_profile>
                <default_database>default</default_database>
                <mark_cache_size>5368709</mark_cache_size>
                <uncompressed_cache_size>8589934</uncompressed_cache_size>
            </yandex>
            """.write(toFile: directory + "/config.xml", atomically: true, encoding: .utf8)
        try """
            <?xml version="1.0"?>
            <yandex>
                <profiles><default></default></profiles>
                <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
                <quotas><default></default></quotas>
            </yandex>
            """.write(toFile: directory + "/users.xml", atomically: true, encoding: .utf8)
        try await start()
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts the server and waits until it answers (at most 60 s).
    public func start() async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["--config-file=\(directory)/config.xml"]
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if (try? await query("SELECT 1")) == "1\n" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerError(description: "clickhouse-server did not answer on port \(httpPort) within 60 s")
    }

    /// SIGKILL, then waits until it has exited (reaped here: `waitUntilExit` can hang in a test's task).
    public func kill() {
        guard let p = process else { return }
        Glibc.kill(p.processIdentifier, SIGCONT)
        Glibc.kill(p.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        var status: Int32 = 0
        while waitpid(p.processIdentifier, &status, WNOHANG) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        process = nil
    }

    public func signal(_ number: Int32) {
        if let p = process { Glibc.kill(p.processIdentifier, number) }
    }

    /// A statement over HTTP (the backend's own client: Foundation's Process.waitUntilExit
    /// can hang in a test's task, so no curl).
    public func query(_ sql: String) async throws -> String {
        try await ClickHouseClient(url: url, timeout: .seconds(10)).query(sql)
    }

    public struct ServerError: Error, CustomStringConvertible {
        public var description: String
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
