import Aggregation
import FlowWire
import Foundation
import NetCore
import Testing
@testable import Storage

/// The print plugin's output, line for line. The expected lines of the first tests are nfacctd
/// 1.7.7's own, from a softflowd IPFIX export of `tools/gen-pcap.py --flows 30` replayed to
/// `nfacctd -f` with `plugins: print[csv], print[fmt], print[json]`.
@Suite struct PrintTests {
    static let aggregate: [Primitive] = [.srcHost, .dstHost, .srcPort, .dstPort, .proto, .peerDstIP, .srcNet, .dstMask]

    func key(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, _ proto: UInt8) -> FlowKey {
        var k = FlowKey()
        k.srcAddr = IPAddress(src)!
        k.dstAddr = IPAddress(dst)!
        k.srcPort = sport
        k.dstPort = dport
        k.proto = proto
        k.srcNet = k.srcAddr.masked(to: 0)
        return k
    }

    var v6: FlowKey { key("2001:db8:1:3d::e27d", "2001:db8:ff::4e2", 19387, 8443, 6) }
    var v4: FlowKey { key("10.4.161.208", "203.0.113.78", 41132, 3306, 6) }

    func lines(_ format: PrintFormat, _ rows: [(FlowKey, UInt64, UInt64)], texts: [String] = [""], bin: UInt32 = 0,
               updated: String = "") -> [String] {
        rows.map { format.line(BinnedKey(key: $0.0, bin: bin), Counters(packets: $0.1, bytes: $0.2, flows: 1),
                               texts: texts, updated: updated) }
    }

    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-print-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    // MARK: formats

    @Test func csvIsNfacctds() throws {
        let format = try PrintFormat(output: .csv, primitives: Self.aggregate + [.asPath, .stdComm])
        #expect(format.header == "COMMS,AS_PATH,PEER_DST_IP,SRC_IP,SRC_NET,DST_IP,DST_MASK,SRC_PORT,DST_PORT,PROTOCOL,PACKETS,BYTES\n")
        #expect(lines(format, [(v6, 5, 684), (v4, 7, 1514)]) == [
            ",,,2001:db8:1:3d::e27d,::,2001:db8:ff::4e2,0,19387,8443,tcp,5,684\n",
            ",,,10.4.161.208,0.0.0.0,203.0.113.78,0,41132,3306,tcp,7,1514\n",
        ])
    }

    @Test func formattedIsNfacctds() throws {
        let format = try PrintFormat(output: .formatted, primitives: Self.aggregate)
        let title = "PEER_DST_IP                                    SRC_IP                                         "
            + "SRC_NET                                        DST_IP                                         "
            + "DST_MASK  SRC_PORT  DST_PORT  PROTOCOL    PACKETS               BYTES\n"
        #expect(format.header == title)
        #expect(lines(format, [(v6, 5, 684), (v4, 7, 1514)]) == [
            "::                                             2001:db8:1:3d::e27d                            "
                + "::                                             2001:db8:ff::4e2                               "
                + "0         19387     8443      tcp         5                     684\n",
            "::                                             10.4.161.208                                   "
                + "0.0.0.0                                        203.0.113.78                                   "
                + "0         41132     3306      tcp         7                     1514\n",
        ])
    }

    @Test func jsonIsNfacctds() throws {
        let format = try PrintFormat(output: .json, primitives: Self.aggregate + [.asPath, .stdComm])
        #expect(format.header == nil)
        #expect(lines(format, [(v6, 5, 684)]) == [
            "{\"event_type\": \"purge\", \"comms\": \"\", \"as_path\": \"\", \"peer_ip_dst\": \"\", "
                + "\"ip_src\": \"2001:db8:1:3d::e27d\", \"net_src\": \"::\", \"ip_dst\": \"2001:db8:ff::4e2\", "
                + "\"mask_dst\": 0, \"port_src\": 19387, \"port_dst\": 8443, \"ip_proto\": \"tcp\", "
                + "\"packets\": 5, \"bytes\": 684}\n",
        ])
    }

    /// With print_history: the bin and the flush time as stamps, after the primitives; the TCP
    /// flags and (with print_num_protos) the protocol as strings.
    @Test func jsonStampsAndNumbersAsPmacctWritesThem() throws {
        let format = try PrintFormat(
            output: .json, primitives: [.tcpFlags, .proto, .inIface, .tos], numericProtocols: true, utc: true, history: true)
        var k = FlowKey()
        k.tcpFlags = 27
        k.proto = 6
        k.inIface = 3
        let bin: UInt32 = 1_761_266_220  // 2025-10-24 00:37:00 UTC
        #expect(lines(format, [(k, 1, 40)], bin: bin, updated: "2025-10-24 00:38:20") == [
            "{\"event_type\": \"purge\", \"iface_in\": 3, \"tcp_flags\": \"27\", \"ip_proto\": \"6\", \"tos\": 0, "
                + "\"stamp_inserted\": \"2025-10-24 00:37:00\", \"stamp_updated\": \"2025-10-24 00:38:20\", "
                + "\"packets\": 1, \"bytes\": 40}\n",
        ])
    }

    /// AS paths and community lists: spaces become '_' in csv and json; the separator is the
    /// configured one; the column order is pmacct's, not the aggregate's.
    @Test func textPrimitivesAndSeparator() throws {
        let pool = TextPool()
        var k = FlowKey()
        k.asPath = pool.number("65020 {65021,65022}")
        k.stdComm = pool.number("65000:1 no-export")
        k.lrgComm = pool.number("65000:5:1")
        k.peerSrc = IPAddress("192.0.2.1")!
        k.dstAS = 65022
        k.localPref = 100
        k.pathMatch = PathMatchCode.covering.rawValue
        let primitives: [Primitive] = [.pathMatch, .peerSrcIP, .asPath, .lrgComm, .stdComm, .localPref, .dstAS]
        let csv = try PrintFormat(output: .csv, primitives: primitives, separator: ";")
        #expect(csv.header == "DST_AS;COMMS;LCOMMS;AS_PATH;PREF;PEER_SRC_IP;PATH_MATCH;PACKETS;BYTES\n")
        #expect(lines(csv, [(k, 2, 3)], texts: pool.snapshot())
            == ["65022;65000:1_no-export;65000:5:1;65020_{65021,65022};100;192.0.2.1;covering;2;3\n"])
        let json = try PrintFormat(output: .json, primitives: primitives)
        #expect(lines(json, [(k, 2, 3)], texts: pool.snapshot()) == [
            "{\"event_type\": \"purge\", \"as_dst\": 65022, \"comms\": \"65000:1_no-export\", \"lcomms\": \"65000:5:1\", "
                + "\"as_path\": \"65020_{65021,65022}\", \"local_pref\": 100, \"peer_ip_src\": \"192.0.2.1\", "
                + "\"path_match\": \"covering\", \"packets\": 2, \"bytes\": 3}\n",
        ])
    }

    @Test func formattedRefusesVariableLengthPrimitives() {
        #expect(throws: PrintFormat.Error.variableLengthInFormatted([.stdComm, .asPath])) {
            try PrintFormat(output: .formatted, primitives: [.srcHost, .asPath, .stdComm])
        }
    }

    @Test func markers() throws {
        let csv = try PrintFormat(output: .csv, primitives: [.srcHost])
        #expect(csv.startMarker(writer: "v", pid: 42) == "--START (42)--\n")
        #expect(csv.endMarker(writer: "v", pid: 42, purged: 1, total: 2, seconds: 0) == "--END (42)--\n")
        let json = try PrintFormat(output: .json, primitives: [.srcHost])
        #expect(json.startMarker(writer: "v", pid: 42) == "{\"event_type\": \"purge_init\", \"writer_id\": \"v/42\"}\n")
        #expect(json.endMarker(writer: "v", pid: 42, purged: 1, total: 2, seconds: 0)
            == "{\"event_type\": \"purge_close\", \"writer_id\": \"v/42\", \"purged_entries\": 1, \"total_entries\": 2, \"duration\": 0}\n")
    }

    // MARK: file names

    func name(_ pattern: String, peer: PrintFileName.PeerSource = .key) -> PrintFileName {
        PrintFileName(pattern: pattern, refreshTime: 300, historySeconds: 3600, utc: true, peerSource: peer)
    }

    @Test func placeholders() {
        var k = FlowKey()
        k.peerSrc = IPAddress("192.0.2.7")!
        let t = 1_761_266_220  // 2025-10-24 00:37:00 UTC, a Friday
        #expect(name("/var/f-%Y%m%d-%H%M%S.csv").render(key: k, time: t) == "/var/f-20251024-003700.csv")
        #expect(name("/var/$peer_src_ip/f.csv").render(key: k, time: t) == "/var/192_0_2_7/f.csv")
        // The name stops before a trailing '_': "$peer_src_ip_%H" is the variable and "_%H".
        #expect(name("/var/$peer_src_ip_%H.json").render(key: k, time: t) == "/var/192_0_2_7_00.json")
        #expect(name("/var/f-$ref-$hst-$tag-$tag2-$post_tag.txt").render(key: k, time: t) == "/var/f-300-3600-0-0-0.txt")
        // Without peer_src_ip in the view: "" when it has another of pmacct's BGP primitives, else "null".
        #expect(name("/var/$peer_src_ip.txt", peer: .init([.srcHost, .peerDstIP])).render(key: k, time: t) == "/var/.txt")
        #expect(name("/var/$peer_src_ip.txt", peer: .init([.srcHost])).render(key: k, time: t) == "/var/null.txt")
        #expect(name("/var/$unknown-$tzone-%z.txt").render(key: k, time: t) == "/var/$unknown-Z-+0000.txt")
        #expect(name("/var/%s-%w-%W.txt").render(key: k, time: t) == "/var/1761266220-5-42.txt")
        var v6 = FlowKey()
        v6.peerSrc = IPAddress("2001:db8::1")!
        #expect(name("$peer_src_ip").render(key: v6, time: t) == "2001_db8__1")
        #expect(name("/var/plain.csv").isDynamic == false)
    }

    // MARK: writing

    func settings(_ output: PrintOutput, file: String?, _ primitives: [Primitive] = [.srcHost, .dstHost]) -> PrintSettings {
        var s = PrintSettings(name: "p", output: output, primitives: primitives)
        s.outputFile = file
        s.utc = true
        return s
    }

    func hostKey(_ src: String, _ dst: String = "192.0.2.1") -> FlowKey {
        var k = FlowKey()
        k.srcAddr = IPAddress(src)!
        k.dstAddr = IPAddress(dst)!
        return k
    }

    /// Two shards drained the same key: the parts are merged into one line.
    @Test func partsOfTwoShardsAreMerged() throws {
        let dir = try Self.directory()
        let file = dir.appendingPathComponent("out.csv")
        let storage = try PrintViewStorage(settings: settings(.csv, file: file.path))
        let definition = ViewDefinition(name: "p", primitives: [.srcHost, .dstHost], binning: nil)
        var shards = [View(definition), View(definition)]
        for (shard, src, packets) in [(0, "10.0.0.1", 2), (1, "10.0.0.1", 3), (1, "2001:db8::5", 4)] as [(Int, String, UInt64)] {
            var r = FlowRecord()
            r.srcAddr = IPAddress(src)!
            r.dstAddr = IPAddress(src.contains(":") ? "2001:db8::9" : "192.0.2.9")!
            r.packets = packets
            r.bytes = packets * 100
            shards[shard].add(r, arrival: 0)
        }
        let result = try storage.write(FlushBatch(parts: [shards[0].take(), shards[1].take()], now: 1_700_000_000, texts: nil))
        #expect(result.rows == 2)
        #expect(try Self.read(file) == "SRC_IP,DST_IP,PACKETS,BYTES\n10.0.0.1,192.0.2.9,5,500\n2001:db8::5,2001:db8::9,4,400\n")
    }

    /// Without append every flush replaces the file through a new file renamed over it: no
    /// temporary file stays, and a file open before the flush still reads the old rows.
    @Test func replaceWritesANewFileAndRenamesIt() throws {
        let dir = try Self.directory()
        let file = dir.appendingPathComponent("out.csv")
        let storage = try PrintViewStorage(settings: settings(.csv, file: file.path))
        try storage.write(rows: [BinnedKey(key: hostKey("10.0.0.1"), bin: 0): Counters(packets: 1, bytes: 10)], now: 0, texts: [""])
        let before = try FileHandle(forReadingFrom: file)
        try storage.write(rows: [BinnedKey(key: hostKey("10.0.0.2"), bin: 0): Counters(packets: 2, bytes: 20)], now: 0, texts: [""])
        #expect(try Self.read(file) == "SRC_IP,DST_IP,PACKETS,BYTES\n10.0.0.2,192.0.2.1,2,20\n")
        #expect(String(decoding: try before.readToEnd() ?? Data(), as: UTF8.self) == "SRC_IP,DST_IP,PACKETS,BYTES\n10.0.0.1,192.0.2.1,1,10\n")
        try before.close()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.csv"])
    }

    /// With append, the title goes only into a new file, after the start marker.
    @Test func appendAddsEachFlush() throws {
        let dir = try Self.directory()
        let file = dir.appendingPathComponent("out.csv")
        var s = settings(.csv, file: file.path)
        s.append = true
        s.markers = true
        let storage = try PrintViewStorage(settings: s)
        try storage.write(rows: [BinnedKey(key: hostKey("10.0.0.1"), bin: 0): Counters(packets: 1, bytes: 10)], now: 0, texts: [""])
        try storage.write(rows: [BinnedKey(key: hostKey("10.0.0.1"), bin: 0): Counters(packets: 2, bytes: 20)], now: 0, texts: [""])
        let pid = getpid()
        #expect(try Self.read(file) == """
            --START (\(pid))--
            SRC_IP,DST_IP,PACKETS,BYTES
            10.0.0.1,192.0.2.1,1,10
            --END (\(pid))--
            --START (\(pid))--
            10.0.0.1,192.0.2.1,2,20
            --END (\(pid))--

            """)
    }

    /// Rows go to the file their bin names; with print_history a bin's file is written whole
    /// each time it gets rows, so rows of one bin over two flushes end in one file, summed.
    @Test func binsNameFilesAndFilesHoldTheirWholeBin() throws {
        let dir = try Self.directory()
        var s = settings(.csv, file: dir.path + "/%Y%m%d-%H%M.csv")
        s.binning = TimeBinning(unit: .minutes, count: 5, roundoff: "", now: 1_761_266_100)
        s.latestFile = dir.path + "/latest.csv"
        let storage = try PrintViewStorage(settings: s)
        let first: UInt32 = 1_761_266_100, second: UInt32 = 1_761_266_400  // 00:35, 00:40 UTC
        try storage.write(rows: [
            BinnedKey(key: hostKey("10.0.0.1"), bin: first): Counters(packets: 1, bytes: 10),
            BinnedKey(key: hostKey("10.0.0.2"), bin: second): Counters(packets: 1, bytes: 10),
        ], now: 1_761_266_410, texts: [""])
        try storage.write(rows: [
            BinnedKey(key: hostKey("10.0.0.2"), bin: second): Counters(packets: 2, bytes: 20),
            BinnedKey(key: hostKey("10.0.0.3"), bin: second): Counters(packets: 3, bytes: 30),
        ], now: 1_761_266_470, texts: [""])
        #expect(try Self.read(dir.appendingPathComponent("20251024-0035.csv"))
            == "SRC_IP,DST_IP,PACKETS,BYTES\n10.0.0.1,192.0.2.1,1,10\n")
        #expect(try Self.read(dir.appendingPathComponent("20251024-0040.csv"))
            == "SRC_IP,DST_IP,PACKETS,BYTES\n10.0.0.2,192.0.2.1,3,30\n10.0.0.3,192.0.2.1,3,30\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.path + "/latest.csv")
            == dir.path + "/20251024-0040.csv")
        #expect(storage.counters.map(\.value) == [3, 0])  // files written; links not made
    }

    /// A flush whose second file cannot be written changes no file and throws; the same rows
    /// written again later are not counted twice.
    @Test func aFailedFlushChangesNothing() throws {
        let dir = try Self.directory()
        var s = settings(.csv, file: dir.path + "/$peer_src_ip/out.csv", [.peerSrcIP])
        s.latestFile = nil
        let storage = try PrintViewStorage(settings: s)
        var a = FlowKey(), b = FlowKey()
        a.peerSrc = IPAddress("10.0.0.1")!
        b.peerSrc = IPAddress("10.0.0.2")!
        try storage.write(rows: [BinnedKey(key: a, bin: 0): Counters(packets: 1, bytes: 10)], now: 0, texts: [""])
        // 10_0_0_2 is a regular file: its directory cannot be made.
        try Data("x".utf8).write(to: dir.appendingPathComponent("10_0_0_2"))
        let rows = [
            BinnedKey(key: a, bin: 0): Counters(packets: 5, bytes: 50),
            BinnedKey(key: b, bin: 0): Counters(packets: 6, bytes: 60),
        ]
        #expect(throws: PrintFileBatch.Failure.self) { try storage.write(rows: rows, now: 0, texts: [""]) }
        #expect(try Self.read(dir.appendingPathComponent("10_0_0_1/out.csv")) == "PEER_SRC_IP,PACKETS,BYTES\n10.0.0.1,1,10\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/10_0_0_1") == ["out.csv"])

        // Appended files go back to their old length.
        var appending = s
        appending.append = true
        let appender = try PrintViewStorage(settings: appending)
        #expect(throws: PrintFileBatch.Failure.self) { try appender.write(rows: rows, now: 0, texts: [""]) }
        #expect(try Self.read(dir.appendingPathComponent("10_0_0_1/out.csv")) == "PEER_SRC_IP,PACKETS,BYTES\n10.0.0.1,1,10\n")
    }

    /// Standard output: the title once, at the first flush with rows; markers around each flush.
    @Test func standardOutput() throws {
        let dir = try Self.directory()
        let path = dir.appendingPathComponent("stdout").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        var s = settings(.formatted, file: nil, [.srcHost])
        s.markers = true
        let storage = try PrintViewStorage(settings: s, standardOutput: fd)
        try storage.write(rows: [:], now: 0, texts: [""])
        try storage.write(rows: [BinnedKey(key: hostKey("10.0.0.1"), bin: 0): Counters(packets: 1, bytes: 64)], now: 0, texts: [""])
        try storage.write(rows: [BinnedKey(key: hostKey("2001:db8::1"), bin: 0): Counters(packets: 2, bytes: 128)], now: 0, texts: [""])
        let pid = getpid()
        let ip = { (a: String) in a + String(repeating: " ", count: 47 - a.count) }
        #expect(try Self.read(URL(fileURLWithPath: path)) == """
            --START (\(pid))--
            \(ip("SRC_IP"))PACKETS               BYTES
            \(ip("10.0.0.1"))1                     64
            --END (\(pid))--
            --START (\(pid))--
            \(ip("2001:db8::1"))2                     128
            --END (\(pid))--

            """)
    }

    @Test func anUnwritablePathThrows() throws {
        let dir = try Self.directory()
        try Data("x".utf8).write(to: dir.appendingPathComponent("file"))
        let storage = try PrintViewStorage(settings: settings(.json, file: dir.path + "/file/out.json"))
        #expect(throws: PrintFileBatch.Failure.self) {
            try storage.write(rows: [BinnedKey(key: hostKey("10.0.0.1"), bin: 0): Counters(packets: 1, bytes: 1)], now: 0, texts: [""])
        }
        // Nothing to write: nothing is touched, nothing fails (pmacct writes no file either).
        try storage.write(rows: [:], now: 0, texts: [""])
    }

    /// Missing directories are made, as pmacct does; a device is written in place, never renamed over.
    @Test func directoriesAreMadeAndDevicesKept() throws {
        let dir = try Self.directory()
        let storage = try PrintViewStorage(settings: settings(.csv, file: dir.path + "/a/b/out.csv"))
        try storage.write(rows: [BinnedKey(key: hostKey("10.0.0.1"), bin: 0): Counters(packets: 1, bytes: 1)], now: 0, texts: [""])
        #expect(FileManager.default.fileExists(atPath: dir.path + "/a/b/out.csv"))
        let null = try PrintViewStorage(settings: settings(.csv, file: "/dev/null"))
        try null.write(rows: [BinnedKey(key: hostKey("10.0.0.1"), bin: 0): Counters(packets: 1, bytes: 1)], now: 0, texts: [""])
        let type = try FileManager.default.attributesOfItem(atPath: "/dev/null")[.type] as? FileAttributeType
        #expect(type == .typeCharacterSpecial)
    }
}
