import Aggregation
import NetCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `print_output_file` (or `print_latest_file`) name with pmacct's variables, resolved per
/// row as nfacctd does (util.c, handle_dynname_internal_strings() then pm_strftime_same()):
///
/// - `$ref` the refresh time and `$hst` the bin length in seconds (months as 30 days, as
///   pmacct); `$peer_src_ip` the row's exporter with '.' and ':' turned into '_' (see
///   `PeerSource` when the view does not aggregate it); `$tag`, `$tag2`, `$post_tag`, `$post_tag2` are 0 (pathflow
///   has no tags); any other `$word` stays as written. A variable name is the longest run of
///   letters, digits and '_' after the `$`, less one trailing '_'.
/// - then strftime(3) over the result, on the start of the row's bin (the flush time without
///   print_history), in local time or UTC (timestamps_utc);
/// - then the first `$tzone` becomes the time's UTC offset, `+02:00`, or `Z`.
struct PrintFileName: Sendable, Hashable {
    let pattern: String
    /// `$ref`.
    let refreshTime: Int
    /// `$hst`: 0 without print_history.
    let historySeconds: Int
    let utc: Bool
    let peerSource: PeerSource

    /// What `$peer_src_ip` becomes. pmacct reads the exporter from the row's BGP primitives,
    /// which a row has when the view aggregates one of them: an address never set prints as "".
    /// Without them it prints "null".
    enum PeerSource: Sendable, Hashable {
        /// The view aggregates peer_src_ip.
        case key
        /// The view aggregates another of pmacct's BGP primitives (peer_dst_ip, peer_src_as,
        /// peer_dst_as, local_pref, med).
        case empty
        case null

        init(_ primitives: [Primitive]) {
            if primitives.contains(.peerSrcIP) {
                self = .key
            } else if primitives.contains(where: { [.peerDstIP, .peerSrcAS, .peerDstAS, .localPref, .med].contains($0) }) {
                self = .empty
            } else {
                self = .null
            }
        }
    }

    /// Whether names change with the row or the time: '%' or '$' in the pattern.
    var isDynamic: Bool { pattern.contains("%") || pattern.contains("$") }

    /// The name of the file for a row of `key` whose time is `time` (unix seconds).
    func render(key: FlowKey, time: Int) -> String {
        guard isDynamic else { return pattern }
        let peer = switch peerSource {
        case .key: String(key.peerSrc.description.map { $0 == "." || $0 == ":" ? "_" : $0 })
        case .empty: ""
        case .null: "null"
        }
        return insertZone(formatTime(substitute(peer: peer), time: time), time: time)
    }

    /// The `$` variables, left to right, as pmacct tokenizes them.
    func substitute(peer: String) -> String {
        let bytes = Array(pattern.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 32)
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "$") else {
                out.append(bytes[i])
                i += 1
                continue
            }
            var end = i + 1
            while end < bytes.count, Self.isNameByte(bytes[end]) { end += 1 }
            if end > i + 1, bytes[end - 1] == UInt8(ascii: "_") { end -= 1 }
            let name = String(decoding: bytes[(i + 1)..<end], as: UTF8.self)
            let value: String?
            switch name {
            case "ref": value = String(refreshTime)
            case "hst": value = String(historySeconds)
            case "peer_src_ip": value = peer
            case "tag", "tag2", "post_tag", "post_tag2": value = "0"
            default: value = nil
            }
            if let value {
                out += Array(value.utf8)
                i = end
            } else {
                // Not a variable pmacct knows ($tzone included, which is resolved after strftime).
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f
    }

    func brokenDown(_ time: Int) -> tm {
        var value = time_t(time)
        var parts = tm()
        if utc { gmtime_r(&value, &parts) } else { localtime_r(&value, &parts) }
        return parts
    }

    /// strftime(3) of `format` at `time`.
    func formatTime(_ format: String, time: Int) -> String {
        guard format.contains("%") else { return format }
        var parts = brokenDown(time)
        var buffer = [CChar](repeating: 0, count: max(256, format.utf8.count * 4 + 64))
        let count = buffer.withUnsafeMutableBufferPointer { out in
            format.withCString { strftime(out.baseAddress, out.count, $0, &parts) }
        }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// pmacct's insert_rfc3339_timezone(): the first `$tzone` becomes "+hh:mm", or "Z" at UTC.
    func insertZone(_ name: String, time: Int) -> String {
        let bytes = Array(name.utf8), token = Array("$tzone".utf8)
        guard bytes.count >= token.count,
              let at = (0...(bytes.count - token.count)).first(where: { bytes[$0..<($0 + token.count)].elementsEqual(token) })
        else { return name }
        let offset = Int(brokenDown(time).tm_gmtoff)
        var zone = "Z"
        if offset != 0 {
            let minutes = abs(offset) / 60
            func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
            zone = "\(offset < 0 ? "-" : "+")\(two(minutes / 60)):\(two(minutes % 60))"
        }
        return String(decoding: bytes[..<at] + Array(zone.utf8) + bytes[(at + token.count)...], as: UTF8.self)
    }
}
