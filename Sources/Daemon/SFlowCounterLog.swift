import FlowWire
import NIOConcurrencyHelpers
import NetCore
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// What a shard hands over of sFlow's interface counters at a flush.
struct SFlowCounterBatch: Sendable {
    var rows: [InterfaceCountersRow]
    var records: [InterfaceCounters]
}

/// `sfacctd_counter_file`: every sFlow counter record as a JSON line, in sfacctd's format, so
/// whatever reads sfacctd's file reads this one. `$peer_src_ip` in the name gives each agent its
/// own file; each file starts (once per run) with a `log_init` line, and `seq` counts a file's
/// lines from 0. Lines are appended at each write of the counters (every minute).
final class SFlowCounterLog: Sendable {
    let template: String
    let utc: Bool
    /// Lines written per file, this run.
    private let sequences = NIOLockedValueBox<[String: Int]>([:])

    init(template: String, utc: Bool) {
        self.template = template
        self.utc = utc
    }

    struct WriteError: Error, CustomStringConvertible {
        var description: String
    }

    func path(agent: String) -> String {
        template.replacingOccurrences(of: "$peer_src_ip", with: agent)
    }

    /// Appends `records`, each to its agent's file.
    func write(_ records: [InterfaceCounters]) throws {
        var files: [String: [InterfaceCounters]] = [:]
        for r in records { files[path(agent: r.agent.description), default: []].append(r) }
        for (path, records) in files.sorted(by: { $0.key < $1.key }) {
            var seq = sequences.withLockedValue { $0[path] }
            var text = ""
            if seq == nil {
                text += line(seq: 0, time: records[0].received, agent: records[0].agent.description, initial: true, nil)
                seq = 1
            }
            for r in records {
                text += line(seq: seq!, time: r.received, agent: r.agent.description, initial: false, r)
                seq! += 1
            }
            try Self.append(text, to: path)
            sequences.withLockedValue { $0[path] = seq }
        }
    }

    func line(seq: Int, time: UInt32, agent: String, initial: Bool, _ r: InterfaceCounters?) -> String {
        var o = JSONLine()
        o.add("seq", seq)
        o.add("timestamp", SQLTime.format(Int(time), utc: utc) + ".000000")
        o.add(initial ? "peer_src_ip" : "peer_ip_src", agent)
        o.add("event_type", initial ? "log_init" : "log")
        if let r {
            o.add("source_id_index", Int(r.sourceIndex))
            o.add("sflow_seq", Int(r.datagramSequence))
            o.add("sflow_cnt_seq", Int(r.sampleSequence))
            o.add("sf_cnt_type", "sflow_cnt_generic")
            for (key, value) in [
                ("ifIndex", UInt64(r.ifIndex)), ("ifType", UInt64(r.ifType)), ("ifSpeed", r.ifSpeed),
                ("ifDirection", UInt64(r.ifDirection)), ("ifStatus", UInt64(r.ifStatus)), ("ifInOctets", r.inOctets),
                ("ifInUcastPkts", UInt64(r.inUnicastPackets)), ("ifInMulticastPkts", UInt64(r.inMulticastPackets)),
                ("ifInBroadcastPkts", UInt64(r.inBroadcastPackets)), ("ifInDiscards", UInt64(r.inDiscards)),
                ("ifInErrors", UInt64(r.inErrors)), ("ifInUnknownProtos", UInt64(r.inUnknownProtocols)),
                ("ifOutOctets", r.outOctets), ("ifOutUcastPkts", UInt64(r.outUnicastPackets)),
                ("ifOutMulticastPkts", UInt64(r.outMulticastPackets)), ("ifOutBroadcastPkts", UInt64(r.outBroadcastPackets)),
                ("ifOutDiscards", UInt64(r.outDiscards)), ("ifOutErrors", UInt64(r.outErrors)),
                ("ifPromiscuousMode", UInt64(r.promiscuous)),
            ] {
                o.add(key, value)
            }
        }
        return o.line + "\n"
    }

    static func append(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(description: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw WriteError(description: "\(path): \(String(cString: strerror(errno)))") }
            bytes = bytes.dropFirst(n)
        }
    }
}
