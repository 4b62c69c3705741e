import ArgumentParser
import PathflowConfig

#if canImport(Glibc)
import Glibc
#endif

/// The looking glass: asks a running collector over its local HTTP endpoint (metrics_listen).
struct Rib: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Look into the running collector's BGP RIB (every path of every prefix per router).",
        discussion: """
            The collector answers on its metrics address (metrics_listen, 127.0.0.1:9479 by default); \
            give --metrics-listen, or -f with the collector's configuration to read it from there.
            """,
        subcommands: [Peers.self, Lookup.self, Dump.self]
    )

    struct Endpoint: ParsableArguments {
        @Option(name: .shortAndLong, help: "The collector's configuration file, to find metrics_listen.")
        var file: String?

        @Option(name: .customLong("metrics-listen"), help: "HOST:PORT of the collector's HTTP endpoint.")
        var metricsListen: String?

        @Flag(name: .long, help: "Print JSON instead of text.")
        var json = false

        func address() throws -> ListenEndpoint {
            if let metricsListen {
                guard let endpoint = ListenEndpoint(parsing: metricsListen) else {
                    throw ValidationError("--metrics-listen: expected HOST:PORT or [IPv6]:PORT")
                }
                return endpoint
            }
            if let file {
                let config = try loadConfiguration(path: file, strict: false)
                guard let endpoint = config.metricsEndpoint else {
                    throw RuntimeFailure("\(file): metrics_listen is false, so the collector has no looking glass")
                }
                return endpoint
            }
            return ListenEndpoint(host: "127.0.0.1", port: 9479)
        }

        func get(_ path: String, _ query: [(String, String)] = []) throws {
            let endpoint = try address()
            var all = query
            all.append(("format", json ? "json" : "text"))
            let target = all.isEmpty ? path : path + "?" + all.map { "\($0)=\(percentEncoded($1))" }.joined(separator: "&")
            let (status, body) = try HTTPGet.fetch(host: endpoint.host, port: endpoint.port, target: target)
            guard status == 200 else {
                throw RuntimeFailure(body.isEmpty ? "the collector answered HTTP \(status)" : body.trimmingTrailingNewlines)
            }
            print(body, terminator: body.hasSuffix("\n") ? "" : "\n")
        }
    }

    struct Peers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "BGP sessions: state, identifiers, negotiated ADD-PATH, prefixes and paths held.")
        @OptionGroup var endpoint: Endpoint
        func run() async throws { try endpoint.get("/rib/peers") }
    }

    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every path of the longest prefix covering ADDRESS, per router, with the best one marked.")
        @Argument(help: "An IPv4 or IPv6 address (or a prefix, looked up exactly).")
        var address: String
        @Option(name: .long, help: "Only this router (its session address or BGP identifier).")
        var router: String?
        @OptionGroup var endpoint: Endpoint
        func run() async throws {
            var query = [("address", address)]
            if let router { query.append(("router", router)) }
            try endpoint.get("/rib/lookup", query)
        }
    }

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The whole RIB as JSON lines, in the format of pmacct's bgp_table_dump_file.")
        @Option(name: .long, help: "Only this router (its session address or BGP identifier).")
        var router: String?
        @OptionGroup var endpoint: Endpoint
        func run() async throws { try endpoint.get("/rib/dump", router.map { [("router", $0)] } ?? []) }
    }
}

private func percentEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
            out.append(Character(Unicode.Scalar(byte)))
        default:
            out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        }
    }
    return out
}

extension String {
    var trimmingTrailingNewlines: String {
        var copy = self
        while copy.hasSuffix("\n") { copy.removeLast() }
        return copy
    }
}

/// A one-shot HTTP/1.0 GET over a blocking socket: enough for a local command-line client.
enum HTTPGet {
    static func fetch(host: String, port: Int, target: String, timeoutSeconds: Int = 30) throws -> (Int, String) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            throw RuntimeFailure("cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        var fd: Int32 = -1
        var lastError: Int32 = 0
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { break }
                lastError = errno
                close(fd)
                fd = -1
            }
            entry = info.pointee.ai_next
        }
        guard fd >= 0 else {
            let display = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            throw RuntimeFailure("no collector answers at \(display) (\(String(cString: strerror(lastError)))); "
                + "is pathflow collect running with metrics_listen there?")
        }
        defer { close(fd) }
        let request = "GET \(target) HTTP/1.0\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        var sent = 0
        let bytes = Array(request.utf8)
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw RuntimeFailure("sending the request failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { throw RuntimeFailure("reading the answer failed: \(String(cString: strerror(errno)))") }
            response += chunk[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n") else { throw RuntimeFailure("the collector's answer was cut short") }
        let statusLine = text[..<headerEnd.lowerBound].split(separator: "\r\n").first ?? ""
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, String(text[headerEnd.upperBound...]))
    }
}
