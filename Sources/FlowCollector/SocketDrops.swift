#if canImport(Glibc)
import Glibc
#endif

/// Datagrams the kernel dropped on our sockets (full receive buffers), from /proc/net/udp{,6}.
public enum SocketDrops {
    /// Sum of the `drops` column over UDP sockets bound to `port`; nil where /proc has no such table.
    public static func read(port: Int) -> UInt64? {
        var total: UInt64 = 0
        var found = false
        for file in ["/proc/net/udp", "/proc/net/udp6"] {
            guard let text = readFile(file) else { continue }
            found = true
            total += drops(in: text, port: port)
        }
        return found ? total : nil
    }

    /// Parses one /proc/net/udp table: local address is field 1 (ADDR:PORT in hex), drops the last field.
    static func drops(in text: String, port: Int) -> UInt64 {
        var total: UInt64 = 0
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 13, let colon = fields[1].lastIndex(of: ":"),
                  let localPort = Int(fields[1][fields[1].index(after: colon)...], radix: 16),
                  localPort == port, let drops = UInt64(fields[fields.count - 1]) else { continue }
            total += drops
        }
        return total
    }

    static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > 64 << 20 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
