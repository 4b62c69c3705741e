#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `bgp_table_dump_file` names: strftime `%` variables (the set pmacct documents) and the
/// `$peer_src_ip`, `$peer_tcp_port` variables, so each router can get its own file per dump.
public enum BGPDumpPath {
    static let timeVariables: Set<Character> = ["d", "H", "m", "M", "s", "S", "w", "W", "Y", "z"]
    static let peerVariables = ["$peer_src_ip", "$peer_tcp_port"]

    static func validate(_ value: String) -> Result<String, KeyRule.Problem> {
        guard !value.isEmpty else { return .failure(.invalid("empty value")) }
        var rest = Substring(value)
        while let index = rest.firstIndex(where: { $0 == "%" || $0 == "$" }) {
            let tail = rest[index...]
            if tail.first == "%" {
                let next = tail.dropFirst().first
                guard let next, timeVariables.contains(next) else {
                    return .failure(.invalid("unknown variable '%\(next.map(String.init) ?? "")' in '\(value)'"))
                }
                rest = tail.dropFirst(2)
            } else {
                guard let variable = peerVariables.first(where: { tail.hasPrefix($0) }) else {
                    return .failure(.invalid("unknown variable in '\(value)': expected $peer_src_ip or $peer_tcp_port"))
                }
                rest = tail.dropFirst(variable.count)
            }
        }
        return .success(value)
    }

    /// The file name for one router's dump at `time` (seconds since the epoch).
    public static func render(_ template: String, time: Int, utc: Bool, peerAddress: String, peerPort: Int) -> String {
        var text = template
        // pmacct writes the address with '.' and ':' as '_' (127_0_0_2).
        let address = String(peerAddress.map { $0 == "." || $0 == ":" ? "_" : $0 })
        for (variable, replacement) in [("$peer_src_ip", address), ("$peer_tcp_port", String(peerPort))] {
            text = text.split(separator: variable, omittingEmptySubsequences: false).joined(separator: replacement)
        }
        guard text.contains("%") else { return text }
        var t = time_t(time)
        var parts = tm()
        if utc { gmtime_r(&t, &parts) } else { localtime_r(&t, &parts) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = strftime(&buffer, buffer.count, text, &parts)
        guard count > 0 else { return text }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
