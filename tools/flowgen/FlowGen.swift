import ArgumentParser
import FlowWire
import NetCore

#if canImport(Glibc)
import Glibc
#endif

/// Sends a deterministic IPFIX stream to a collector on loopback and prints its exact totals.
///
/// Key i (0 ≤ i < keys) is the 5-tuple 10.a.b.c:p → 198.18.x.y:q; record n uses key n % keys,
/// with packets and bytes derived from n, so every total is known without capturing anything.
/// Bounded by --records and by --seconds, whichever ends first.
@main
struct FlowGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowgen",
        abstract: "Send a deterministic IPFIX stream and print its totals as JSON.")

    @Option(help: "Collector as HOST:PORT (IPv4 loopback or a test namespace address).")
    var target = "127.0.0.1:4739"

    @Option(help: "Distinct 5-tuples.")
    var keys = 10_000

    @Option(help: "Flow records to send.")
    var records = 100_000

    @Option(help: "Records per second; 0 sends as fast as possible.")
    var rate = 0

    @Option(help: "Stop after this many seconds even if records remain.")
    var seconds: Double = 60

    @Option(help: "Records per datagram.")
    var batch = 20

    @Option(help: "Flow start time (unix seconds) written into every record; 0 uses the clock.")
    var startTime: UInt32 = 0

    @Option(help: "Distinct BGP next-hops (--next-hop-base and up) cycled over the keys.")
    var nextHops = 4

    @Option(help: "The first BGP next-hop (IPv4).")
    var nextHopBase = "192.0.2.1"

    @Option(help: "Destinations from these prefixes (a file, one IPv4 prefix per line): key k goes to a host of one of them; by default 198.18.0.0/16.")
    var dstPrefixes: String?

    @Option(help: "Send from this local IPv4 address (the exporter address the collector sees).")
    var source: String?

    @Option(help: "Observation domain id.")
    var domain: UInt32 = 1

    @Option(help: "Write the per-5-tuple totals (TSV) to this file.")
    var truth: String?

    @Option(help: "Write the datagrams as hex lines to this file instead of sending them.")
    var hexOut: String?

    func validate() throws {
        guard keys > 0, records >= 0, batch > 0, batch <= 200, seconds > 0 else {
            throw ValidationError("keys and batch must be positive, batch at most 200")
        }
    }

    func run() throws {
        guard let hopBase = IPAddress(nextHopBase), hopBase.family == .v4 else {
            throw ValidationError("--next-hop-base must be an IPv4 address")
        }
        var prefixes: [IPPrefix] = []
        if let dstPrefixes {
            guard let text = try? String(contentsOfFile: dstPrefixes, encoding: .utf8) else {
                throw ValidationError("cannot read \(dstPrefixes)")
            }
            for line in text.split(separator: "\n") where !line.isEmpty {
                guard let p = IPPrefix(String(line)), p.address.family == .v4 else {
                    throw ValidationError("\(dstPrefixes): '\(line)' is not an IPv4 prefix")
                }
                prefixes.append(p)
            }
            guard !prefixes.isEmpty else { throw ValidationError("\(dstPrefixes) has no prefixes") }
        }
        let plan = Plan(keys: keys, nextHops: nextHops, nextHopBase: hopBase.v4Value, prefixes: prefixes)
        let sender = try hexOut == nil ? Sender(target: target, source: source) : nil
        var hexFile: UnsafeMutablePointer<FILE>?
        if let hexOut { hexFile = fopen(hexOut, "w") }
        defer { if let hexFile { fclose(hexFile) } }

        var writer = IPFIXWriter(observationDomain: domain)
        let started = now()
        let clockStart = UInt32(time(nil))
        let flowTime = startTime == 0 ? clockStart : startTime
        var sent = 0, datagrams = 0
        var packets: UInt64 = 0, bytes: UInt64 = 0
        var perKey: [Int: (UInt64, UInt64)] = truth == nil ? [:] : Dictionary(minimumCapacity: min(keys, records))
        var batchRecords: [FlowRecord] = []
        batchRecords.reserveCapacity(batch)
        var message: [UInt8] = []
        message.reserveCapacity(65_536)

        func emit(_ bytes: [UInt8]) {
            if let hexFile {
                var line = ""
                line.reserveCapacity(bytes.count * 2 + 1)
                for b in bytes {
                    line.append(Character(Unicode.Scalar(hexDigits[Int(b >> 4)])))
                    line.append(Character(Unicode.Scalar(hexDigits[Int(b & 15)])))
                }
                fputs(line + "\n", hexFile)
            } else {
                sender?.send(bytes)
            }
            datagrams += 1
        }

        emit(writer.templateMessage(exportTime: clockStart))
        while sent < records && now() - started < seconds {
            batchRecords.removeAll(keepingCapacity: true)
            while batchRecords.count < batch && sent + batchRecords.count < records {
                let n = sent + batchRecords.count
                let r = Self.record(n: n, plan, time: flowTime)
                batchRecords.append(r)
                packets += r.packets
                bytes += r.bytes
                if truth != nil {
                    let key = n % keys
                    let total = perKey[key, default: (0, 0)]
                    perKey[key] = (total.0 + r.packets, total.1 + r.bytes)
                }
            }
            message.removeAll(keepingCapacity: true)
            writer.write(batchRecords, exportTime: UInt32(time(nil)), into: &message)
            emit(message)
            sent += batchRecords.count
            // Templates again now and then, as exporters do.
            if datagrams % 1000 == 0 { emit(writer.templateMessage(exportTime: UInt32(time(nil)))) }
            if rate > 0 {
                let due = started + Double(sent) / Double(rate)
                let ahead = due - now()
                if ahead > 0.0005 { usleep(UInt32(ahead * 1e6)) }
            }
        }
        let elapsed = now() - started
        if let truth, let file = fopen(truth, "w") {
            fputs("src_addr\tdst_addr\tsrc_port\tdst_port\tproto\tpackets\tbytes\n", file)
            for key in perKey.keys.sorted() {
                let r = Self.record(n: key, plan, time: flowTime)
                let (p, b) = perKey[key]!
                fputs("\(r.srcAddr)\t\(r.dstAddr)\t\(r.srcPort)\t\(r.dstPort)\t\(r.proto)\t\(p)\t\(b)\n", file)
            }
            fclose(file)
        }
        print("""
            {"records": \(sent), "datagrams": \(datagrams), "packets": \(packets), "bytes": \(bytes), \
            "keys": \(min(keys, max(sent, 1))), "seconds": \(elapsed), "records_per_second": \(elapsed > 0 ? Double(sent) / elapsed : 0)}
            """)
    }

    /// What varies the records besides the record number.
    struct Plan {
        var keys: Int
        var nextHops: Int
        var nextHopBase: UInt32
        /// Destination prefixes; empty: 198.18.0.0/16.
        var prefixes: [IPPrefix]
    }

    static func record(n: Int, _ plan: Plan, time: UInt32) -> FlowRecord {
        let k = n % plan.keys
        var r = FlowRecord()
        r.srcAddr = IPAddress(v4: 0x0a00_0000 | UInt32(truncatingIfNeeded: k & 0xff_ffff))
        if plan.prefixes.isEmpty {
            r.dstAddr = IPAddress(v4: 0xc612_0000 | UInt32(truncatingIfNeeded: (k &* 7919) & 0xffff))
        } else {
            // Spread keys over the prefixes, and over the hosts of each.
            let p = plan.prefixes[(k &* 7919) % plan.prefixes.count]
            let hostBits = UInt32(32 - Int(p.length))
            let host = hostBits == 0 ? 0 : UInt32(truncatingIfNeeded: k &* 2_654_435_761) & (UInt32.max >> (32 - hostBits))
            r.dstAddr = IPAddress(v4: p.address.v4Value | host)
        }
        r.srcPort = UInt16(1024 + (k % 60_000))
        r.dstPort = [80, 443, 53, 123, 8080][k % 5]
        r.proto = k % 3 == 0 ? 17 : 6
        r.tcpFlags = r.proto == 6 ? 0x1b : 0
        r.inIface = UInt32(1 + k % 8)
        r.outIface = UInt32(9 + k % 4)
        r.packets = UInt64(1 + n % 7)
        r.bytes = r.packets * UInt64(64 + n % 1400)
        r.startSeconds = time
        r.endSeconds = time
        r.bgpNextHop = IPAddress(v4: plan.nextHopBase &+ UInt32(k % max(1, plan.nextHops)))
        r.srcMask = 24
        r.dstMask = 16
        return r
    }
}

let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A connected UDP socket.
final class Sender {
    let fd: Int32

    init(target: String, source: String?) throws {
        guard let colon = target.lastIndex(of: ":"), let port = UInt16(target[target.index(after: colon)...]),
              let address = IPAddress(String(target[..<colon])), address.family == .v4 else {
            throw ValidationError("--target must be IPV4:PORT")
        }
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw ValidationError("socket: \(String(cString: strerror(errno)))") }
        var size: Int32 = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        if let source {
            guard let local = IPAddress(source), local.family == .v4 else { throw ValidationError("--source must be an IPv4 address") }
            var bound = sockaddr_in()
            bound.sin_family = sa_family_t(AF_INET)
            bound.sin_addr.s_addr = local.v4Value.bigEndian
            let rc = withUnsafePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { throw ValidationError("bind \(source): \(String(cString: strerror(errno)))") }
        }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = address.v4Value.bigEndian
        let result = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw ValidationError("connect: \(String(cString: strerror(errno)))") }
    }

    func send(_ bytes: [UInt8]) {
        // A full socket buffer blocks briefly; ECONNREFUSED (no listener yet) is ignored.
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(fd) }
}
