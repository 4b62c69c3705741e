import FlowWire
import Foundation
import GRDB
import Logging
import NIOPosix
import NetCore
import PathflowConfig
import ServiceLifecycle
import Storage
import TestServers
import Testing
@testable import Daemon

/// The whole collector in-process: real UDP sockets on loopback, real SQLite, graceful shutdown.
@Suite(.serialized) struct CollectorTests {
    func temporaryDirectory() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-collector-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    func config(_ text: String, directory: URL) throws -> CollectorConfig {
        let path = directory.appendingPathComponent("pathflow.conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let (config, diagnostics) = try CollectorConfig.load(path: path)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        // Port 0: the kernel picks a free port; the collector reports it.
        return config.applying(ConfigOverrides(listenPort: 0))
    }

    /// Runs a collector, hands its UDP port to `send`, lets it read, hands it to `inspect`,
    /// then shuts it down gracefully (which flushes every view).
    func run(
        _ config: CollectorConfig, threads: Int = 2, send: @Sendable (Int) async throws -> Void,
        inspect: @Sendable (Collector) async throws -> Void = { _ in }
    ) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let collector = try Collector(config: config, logger: logger, threads: threads)
        let group = ServiceGroup(configuration: .init(
            services: collector.services.map { .init(service: $0, failureTerminationBehavior: .gracefullyShutdownGroup) },
            logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var port: Int?
            for _ in 0..<200 where port == nil {
                port = collector.boundPort.withLockedValue { $0 }
                if port == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            guard let port else { throw CancellationError() }
            try await send(port)
            // Datagrams on loopback are queued at once; give the loops a moment to read them.
            try await Task.sleep(for: .milliseconds(300))
            try await inspect(collector)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// A reading connection that waits out a lock held for a moment (a checkpoint), as a
    /// report or the sqlite3 shell with a busy timeout would.
    static func reader(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// A synchronous read, usable from async tests.
    static func fetch<T>(_ queue: DatabaseQueue, _ body: (Database) throws -> T) throws -> T {
        try queue.read(body)
    }

    static func sendDatagrams(_ datagrams: [[UInt8]], to port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        for datagram in datagrams {
            let sent = datagram.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            #expect(sent == datagram.count)
            usleep(200)
        }
    }

    static func record(_ n: Int, sampled: UInt32 = 0) -> FlowRecord {
        var r = FlowRecord()
        r.srcAddr = IPAddress(v4: 0x0a00_0001 + UInt32(n % 10))
        r.dstAddr = IPAddress(v4: 0xc000_0201)
        r.srcPort = 40_000
        r.dstPort = 443
        r.proto = 6
        r.packets = 2
        r.bytes = 1_000
        r.startSeconds = 1_700_000_000
        r.endSeconds = 1_700_000_000
        r.bgpNextHop = IPAddress(v4: 0xc633_6401)
        r.inIface = 3
        return r
    }

    @Test func tutorialConfigurationStoresTheFlows() async throws {
        let directory = temporaryDirectory()
        let tutorial = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs/tutorial/nfacctd.conf")
        let (loaded, _) = try CollectorConfig.load(path: tutorial.path)
        let db = directory.appendingPathComponent("flows.db").path
        let config = loaded.applying(ConfigOverrides(sqlDB: db, listenPort: 0, listenAddress: "127.0.0.1", metricsListen: "false"))
        var writer = IPFIXWriter(observationDomain: 7)
        var datagrams = [writer.templateMessage(exportTime: 1_700_000_000)]
        for i in 0..<50 {
            datagrams.append(writer.dataMessage((0..<20).map { Self.record(i * 20 + $0) }, exportTime: 1_700_000_000))
        }
        let toSend = datagrams
        try await run(config) { port in try Self.sendDatagrams(toSend, to: port) }
        let queue = try Self.reader(db)
        let totals = try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, SUM(packets) AS p, SUM(bytes) AS b, MIN(ip_proto) AS proto FROM acct")
        }
        #expect(totals?["n"] as Int? == 10)
        #expect(totals?["p"] as Int? == 2_000)
        #expect(totals?["b"] as Int? == 1_000_000)
        #expect(totals?["proto"] as String? == "tcp")
        // 22:13:20 UTC start, 1-minute bins: every row is in the 22:13 bin (local time is UTC here).
        let stamps = try Self.fetch(queue) { try String.fetchAll($0, sql: "SELECT DISTINCT stamp_inserted FROM acct") }
        #expect(stamps.count == 1)
    }

    @Test func samplingMapRenormalisesAndFillsTheRate() async throws {
        let directory = temporaryDirectory()
        let map = directory.appendingPathComponent("sampling.map")
        try "id=100 ip=127.0.0.1 in=3\nid=7 ip=0.0.0.0/0\n".write(to: map, atomically: true, encoding: .utf8)
        let db = directory.appendingPathComponent("s.db").path
        let config = try config("""
            nfacctd_ip: 127.0.0.1
            nfacctd_renormalize: true
            sampling_map: \(map.path)
            metrics_listen: false
            plugins: sqlite3[s]
            aggregate[s]: peer_src_ip, in_iface, sampling_rate, peer_dst_ip
            sql_db[s]: \(db)
            sql_table[s]: sampled
            """, directory: directory)
        var writer = IPFIXWriter()
        let datagrams = [writer.templateMessage(exportTime: 1), writer.dataMessage([Self.record(0), Self.record(1)], exportTime: 1)]
        try await run(config) { port in try Self.sendDatagrams(datagrams, to: port) }
        let queue = try Self.reader(db)
        let fetched = try queue.read { try Row.fetchOne($0, sql: "SELECT * FROM sampled") }
        let row = try #require(fetched)
        #expect(row["peer_ip_src"] as String? == "127.0.0.1")
        #expect(row["peer_ip_dst"] as String? == "198.51.100.1")
        #expect(row["iface_in"] as Int? == 3)
        #expect(row["sampling_rate"] as Int? == 100)
        #expect(row["packets"] as Int? == 400)
        #expect(row["bytes"] as Int? == 200_000)
        #expect(row["flows"] as Int? == 2)
    }

    @Test func malformedDatagramsAreCountedAndHarmNothing() async throws {
        let directory = temporaryDirectory()
        let db = directory.appendingPathComponent("m.db").path
        let config = try config("""
            nfacctd_ip: 127.0.0.1
            metrics_listen: false
            plugins: sqlite3
            aggregate: src_host
            sql_db: \(db)
            """, directory: directory)
        var writer = IPFIXWriter()
        let garbage: [[UInt8]] = [[0, 10, 0, 200], [0, 9], Array(repeating: 0xff, count: 100), [0, 5, 0, 1, 0, 0]]
        let datagrams = [writer.templateMessage(exportTime: 1)] + garbage
            + [writer.dataMessage([Self.record(0)], exportTime: 1)]
        try await run(config, threads: 1) { port in
            try Self.sendDatagrams(datagrams, to: port)
        } inspect: { collector in
            let text = try await collector.renderMetrics(on: MultiThreadedEventLoopGroup.singleton.next()).get()
            #expect(text.contains(#"pathflow_flow_datagrams_total{exporter="127.0.0.1"} 6"#), "\(text)")
            #expect(text.contains(#"pathflow_flow_records_total{exporter="127.0.0.1"} 1"#))
            #expect(text.contains(#"pathflow_flow_decode_errors_total{exporter="127.0.0.1",reason="truncated_header"} 3"#))
            #expect(text.contains(#"pathflow_flow_decode_errors_total{exporter="127.0.0.1",reason="unsupported_version"} 1"#))
        }
        let queue = try Self.reader(db)
        let packets = try Self.fetch(queue) { try Int.fetchOne($0, sql: "SELECT SUM(packets) FROM acct") }
        #expect(packets == 2)
    }

    /// sFlow through the whole collector: pmacctd's sfprobe datagrams to the sFlow port
    /// (sfacctd's keys), one row per agent and key, bytes and packets as the decoder reads them,
    /// renormalised by each sample's rate; counter samples are counted.
    /// sfprobe's counters stand still over fixtures/sflow/pmacctd-sfprobe-rate4-ipv6.pcap: one
    /// more copy of its last counter sample with ifOutOctets `by` higher makes the interface
    /// carry something.
    static func sfprobeCountersBumped(_ datagrams: [[UInt8]], outOctetsBy by: UInt64) throws -> [UInt8] {
        let octets = withUnsafeBytes(of: UInt64(363_641).bigEndian, Array.init)
        let last = try #require(datagrams.last { d in (0...(d.count - 8)).contains { Array(d[$0..<($0 + 8)]) == octets } })
        let at = try #require((0...(last.count - 8)).first { Array(last[$0..<($0 + 8)]) == octets })
        var bumped = last
        bumped.replaceSubrange(at..<(at + 8), with: withUnsafeBytes(of: (363_641 + by).bigEndian, Array.init))
        return bumped
    }

    @Test func sflowFromPmacctdsSfprobe() async throws {
        let directory = temporaryDirectory()
        let db = directory.appendingPathComponent("sflow.db").path
        let capture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/sflow/pmacctd-sfprobe-rate4-ipv6.pcap")
        var datagrams = try RealCaptures.datagrams(at: capture).map(\.payload)
        datagrams.append(try Self.sfprobeCountersBumped(datagrams, outOctetsBy: 1_000_000))
        let toSend = datagrams
        // The expected sums, from the codec (itself checked against tshark).
        var decoder = SFlowDecoder()
        var records: [FlowRecord] = []
        var counters: [InterfaceCounters] = []
        var sflow = SFlowOutcome()
        for d in datagrams {
            _ = d.withUnsafeBytes { decoder.decode($0, from: IPAddress(v4: 0x7f00_0001), now: 1, into: &records, counters: &counters, sflow: &sflow) }
        }
        #expect(records.count > 300 && counters.count == 4)
        let flowSamples = sflow.flowSamples
        let packets = records.reduce(0) { $0 + $1.packets * UInt64($1.samplingRate) }
        let bytes = records.reduce(0) { $0 + $1.bytes * UInt64($1.samplingRate) }
        let config = try self.config("""
            sfacctd_ip: 127.0.0.1
            sfacctd_renormalize: true
            metrics_listen: false
            plugins: sqlite3
            aggregate: peer_src_ip, src_host, dst_host, proto
            sql_db: \(db)
            """, directory: directory).applying(ConfigOverrides(sflowListenPort: 0))
        #expect(!config.receivesNetFlow)
        try await run(config, threads: 2) { port in
            try Self.sendDatagrams(toSend, to: port)
        } inspect: { collector in
            #expect(collector.sflowPort.withLockedValue { $0 } == collector.boundPort.withLockedValue { $0 })
            let text = try await collector.renderMetrics(on: MultiThreadedEventLoopGroup.singleton.next()).get()
            #expect(text.contains("pathflow_sflow_flow_samples_total \(flowSamples)"), "\(text)")
            #expect(text.contains("pathflow_sflow_counter_samples_total 4"))
        }
        let queue = try Self.reader(db)
        let row = try Self.fetch(queue) {
            try Row.fetchOne($0, sql: "SELECT SUM(packets) AS p, SUM(bytes) AS b, COUNT(DISTINCT peer_ip_src) AS agents, MIN(peer_ip_src) AS agent FROM acct")
        }
        #expect(row?["p"] as Int64? == Int64(packets))
        #expect(row?["b"] as Int64? == Int64(bytes))
        #expect(row?["agents"] as Int? == 1)
        #expect(row?["agent"] as String? == "2001:db8::10")
        // The interface's counters, as advanced between its first and last sample.
        let first = try #require(counters.first), final = try #require(counters.last)
        #expect(final.outOctets - first.outOctets == 1_000_000)
        let interfaces = try Self.fetch(queue) {
            try Row.fetchOne($0, sql: """
                SELECT COUNT(DISTINCT iface) AS n, MIN(iface) AS iface, SUM(in_bytes) AS i, SUM(out_bytes) AS o,
                       SUM(samples) AS s, MAX(if_speed) AS speed, MIN(peer_ip_src) AS agent FROM interface_counters
                """)
        }
        #expect(interfaces?["n"] as Int? == 1)
        #expect(interfaces?["iface"] as Int64? == Int64(first.ifIndex))
        #expect(interfaces?["o"] as Int64? == 1_000_000)
        #expect(interfaces?["i"] as Int64? == Int64(final.inOctets - first.inOctets))
        #expect(interfaces?["s"] as Int64? == Int64(counters.count - 1))
        #expect(interfaces?["speed"] as Int64? == Int64(final.ifSpeed))
        #expect(interfaces?["agent"] as String? == "2001:db8::10")
    }

    /// With a clickhouse view first, sFlow's interface counters go to `interface_counters` in its
    /// ClickHouse database, through their own spool: the same advance as the SQLite case above,
    /// split over two flushes (a counter sample on each side of a collector restart would be the
    /// same), summed by the report's read.
    @Test(.enabled(if: ClickHouseServer.available || ClickHouseServer.required))
    func sflowInterfaceCountersIntoClickHouse() async throws {
        let server = try await ClickHouseServer()
        let directory = temporaryDirectory()
        let capture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/sflow/pmacctd-sfprobe-rate4-ipv6.pcap")
        var datagrams = try RealCaptures.datagrams(at: capture).map(\.payload)
        datagrams.append(try Self.sfprobeCountersBumped(datagrams, outOctetsBy: 1_000_000))
        // Two runs on the same database, the first ending after the second counter sample (they
        // come at the end of the capture): each stores the advance over its own samples.
        var seen = 0
        var scan = SFlowDecoder()
        let half = try #require(datagrams.indices.first { i in
            var records: [FlowRecord] = [], counters: [InterfaceCounters] = [], outcome = SFlowOutcome()
            _ = datagrams[i].withUnsafeBytes {
                scan.decode($0, from: IPAddress(v4: 0x7f00_0001), now: 1, into: &records, counters: &counters, sflow: &outcome)
            }
            seen += counters.count
            return seen >= 2
        }) + 1
        for (part, spool) in [(Array(datagrams[..<half]), "a"), (Array(datagrams[half...]), "b")] {
            let config = try self.config("""
                sfacctd_ip: 127.0.0.1
                metrics_listen: false
                plugins: clickhouse[ch]
                aggregate[ch]: peer_src_ip, src_host, dst_host
                clickhouse_url[ch]: \(server.url)
                clickhouse_database[ch]: sflowtest
                clickhouse_spool_dir[ch]: \(directory.appendingPathComponent(spool).path)
                sql_table[ch]: flows
                """, directory: directory).applying(ConfigOverrides(sflowListenPort: 0))
            try await run(config, threads: 1) { port in
                try Self.sendDatagrams(part, to: port)
            } inspect: { collector in
                #expect(collector.countersStorage is ClickHouseInterfaceCounters)
            }
        }
        // The codec's counter records of each run (the codec is checked against tshark).
        var partCounters: [[InterfaceCounters]] = [[], []]
        var decoder = SFlowDecoder()
        var sflow = SFlowOutcome()
        for (i, d) in datagrams.enumerated() {
            var ignored: [FlowRecord] = []
            _ = d.withUnsafeBytes { decoder.decode($0, from: IPAddress(v4: 0x7f00_0001), now: 1, into: &ignored, counters: &partCounters[i < half ? 0 : 1], sflow: &sflow) }
        }
        let final = try #require(partCounters[1].last)
        // Per run: the last sample's counters less the first's (a run's first sample sets the base).
        func advance(_ c: [InterfaceCounters], _ field: (InterfaceCounters) -> UInt64) -> UInt64 {
            guard let a = c.first, let b = c.last else { return 0 }
            return field(b) - field(a)
        }
        let expectedIn = partCounters.reduce(0) { $0 + advance($1, \.inOctets) }
        let expectedOut = partCounters.reduce(0) { $0 + advance($1, \.outOctets) }
        let expectedSamples = partCounters.reduce(0) { $0 + max(0, $1.count - 1) }
        #expect(expectedOut == 1_000_000)
        let answer = try await server.query("""
            SELECT count(DISTINCT iface), sum(in_bytes), sum(out_bytes), sum(samples), max(if_speed), any(peer_ip_src), uniqExact(batch_id) \
            FROM sflowtest.interface_counters FORMAT TabSeparated
            """)
        let fields = answer.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map(String.init)
        #expect(fields == ["1", "\(expectedIn)", "\(expectedOut)", "\(expectedSamples)", "\(final.ifSpeed)", "2001:db8::10", "2"], "\(answer)")
    }

    /// sfacctd_allow_file: sFlow from an agent address not in the list is dropped before
    /// decoding and counted; nothing of it is stored.
    @Test func sflowFromAnAgentNotAllowedIsDropped() async throws {
        let directory = temporaryDirectory()
        let db = directory.appendingPathComponent("denied.db").path
        let allow = directory.appendingPathComponent("agents.lst").path
        try "192.0.2.10\n".write(toFile: allow, atomically: true, encoding: .utf8)
        let capture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/sflow/pmacctd-sfprobe-rate4-ipv6.pcap")
        let datagrams = try RealCaptures.datagrams(at: capture).map(\.payload)
        let config = try self.config("""
            sfacctd_ip: 127.0.0.1
            sfacctd_allow_file: \(allow)
            metrics_listen: false
            plugins: sqlite3
            aggregate: peer_src_ip, src_host, dst_host
            sql_db: \(db)
            """, directory: directory).applying(ConfigOverrides(sflowListenPort: 0))
        try await run(config, threads: 1) { port in
            try Self.sendDatagrams(datagrams, to: port)
        } inspect: { collector in
            let text = try await collector.renderMetrics(on: MultiThreadedEventLoopGroup.singleton.next()).get()
            #expect(text.contains("pathflow_flow_datagrams_denied_total \(datagrams.count)"), "\(text)")
            let samples = text.split(separator: "\n").filter { $0.hasPrefix("pathflow_sflow_flow_samples_total ") }
            #expect(samples.allSatisfy { $0.hasSuffix(" 0") }, "\(samples)")
        }
        let rows = try Self.fetch(try Self.reader(db)) { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM acct") }
        #expect(rows == 0)
    }

    /// sFlow's extended gateway fills as_path, std_comm and local_pref as sfacctd does (its
    /// default sfacctd_as: sflow): the AS path's ASNs in order, the communities as AS:value.
    @Test func sflowGatewayPathsAndCommunities() async throws {
        let directory = temporaryDirectory()
        let db = directory.appendingPathComponent("gw.db").path
        let capture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/sflow/pmacctd-sfprobe-rate1.pcap")
        let datagrams = try RealCaptures.datagrams(at: capture).map(\.payload)
        var decoder = SFlowDecoder()
        var want: Set<String> = []
        for d in datagrams {
            var records: [FlowRecord] = []
            var counters: [InterfaceCounters] = []
            var sflow = SFlowOutcome()
            _ = d.withUnsafeBytes { decoder.decode($0, from: IPAddress(v4: 0x7f00_0001), now: 1, into: &records, counters: &counters, sflow: &sflow) }
            for path in decoder.gatewayPaths {
                let asns = path.segments.flatMap(\.asns).map(String.init).joined(separator: " ")
                let comms = path.communities.map { "\($0 >> 16):\($0 & 0xffff)" }.joined(separator: " ")
                want.insert("\(asns)|\(comms)|\(records[path.record].localPref)")
            }
        }
        #expect(!want.isEmpty)
        let config = try self.config("""
            sfacctd_ip: 127.0.0.1
            metrics_listen: false
            plugins: sqlite3
            aggregate: src_host, as_path, std_comm, local_pref
            sql_db: \(db)
            """, directory: directory).applying(ConfigOverrides(sflowListenPort: 0))
        try await run(config, threads: 1) { port in try Self.sendDatagrams(datagrams, to: port) }
        let queue = try Self.reader(db)
        let got = try Self.fetch(queue) {
            try String.fetchAll($0, sql: "SELECT DISTINCT as_path || '|' || comms || '|' || local_pref FROM acct WHERE as_path <> ''")
        }
        #expect(Set(got) == want, "\(got) vs \(want)")
    }

    /// sfacctd_counter_file: the same lines sfacctd 1.7.7 wrote for the same capture
    /// (fixtures/sflow/sfacctd-rate1.counters.json), key for key, but for the time.
    @Test func sflowCounterFileAsSfacctdWritesIt() async throws {
        let directory = temporaryDirectory()
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/sflow")
        let datagrams = try RealCaptures.datagrams(at: fixtures.appendingPathComponent("pmacctd-sfprobe-rate1.pcap")).map(\.payload)
        let config = try self.config("""
            sfacctd_ip: 127.0.0.1
            sfacctd_counter_file: \(directory.path)/counters-$peer_src_ip.json
            sfacctd_counter_output: json
            metrics_listen: false
            plugins: sqlite3
            aggregate: src_host
            sql_db: \(directory.appendingPathComponent("c.db").path)
            """, directory: directory).applying(ConfigOverrides(sflowListenPort: 0))
        try await run(config, threads: 2) { port in try Self.sendDatagrams(datagrams, to: port) }
        func withoutTime(_ text: String) throws -> [[String: String]] {
            try text.split(separator: "\n").map { line in
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return object.filter { $0.key != "timestamp" }.mapValues { "\($0)" }
            }
        }
        let got = try String(contentsOfFile: directory.appendingPathComponent("counters-192.0.2.10.json").path, encoding: .utf8)
        let want = try String(contentsOf: fixtures.appendingPathComponent("sfacctd-rate1.counters.json"), encoding: .utf8)
        #expect(try withoutTime(got) == withoutTime(want), "\(got)")
        // Keys in sfacctd's order too.
        let pattern = try NSRegularExpression(pattern: "\"([A-Za-z_]+)\": ")
        let keys = { (line: Substring) -> [String] in
            let text = String(line)
            return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
                String(text[Range($0.range(at: 1), in: text)!])
            }
        }
        #expect(got.split(separator: "\n").map(keys) == want.split(separator: "\n").map(keys))
    }
}
