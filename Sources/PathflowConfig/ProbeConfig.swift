import NetCore

/// Everything the probe needs from a pmacctd configuration with the nfprobe plugin, with
/// pmacct's defaults for whatever the file leaves out.
public struct ProbeConfig: Sendable, Hashable {
    /// nfprobe's timeouts in seconds (`nfprobe_timeouts`), pmacct's defaults.
    public struct Timeouts: Sendable, Hashable {
        public var tcp = 3600
        public var tcpRST = 120
        public var tcpFIN = 300
        public var udp = 300
        public var icmp = 300
        public var general = 3600
        public var maxLife = 604_800
        /// How often the cache is searched for expired flows.
        public var expiryInterval = 60

        public init() {}
    }

    /// The flow key's fields, from `aggregate`.
    public struct KeyFields: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let srcHost = KeyFields(rawValue: 1 << 0)
        public static let dstHost = KeyFields(rawValue: 1 << 1)
        public static let srcPort = KeyFields(rawValue: 1 << 2)
        public static let dstPort = KeyFields(rawValue: 1 << 3)
        public static let proto = KeyFields(rawValue: 1 << 4)
        public static let tos = KeyFields(rawValue: 1 << 5)
        public static let vlan = KeyFields(rawValue: 1 << 6)

        /// What nfprobe keys on whatever `aggregate` says: the 5-tuple and the TOS byte.
        public static let nfprobeDefault: KeyFields = [.srcHost, .dstHost, .srcPort, .dstPort, .proto, .tos]
    }

    public var daemonize = false
    public var pidfile: String?
    public var logfile: String?
    public var debug = false
    public var interface: String?
    public var savefile: String?
    public var filter: String?
    public var promiscuous = true
    /// `snaplen`: bytes captured per packet on a live interface.
    public var snaplen = 128
    /// `pcap_buffer_size`: the kernel's capture buffer in bytes (libpcap's default is 2 MiB).
    public var bufferBytes = 8 << 20
    public var keyFields: KeyFields = .nfprobeDefault
    /// `nfprobe_receiver`: one or more collectors, `HOST:PORT` or `[IPv6]:PORT`.
    public var receivers: [ListenEndpoint] = [ListenEndpoint(host: "127.0.0.1", port: 2100)]
    /// 5, 9 or 10 (IPFIX, the default).
    public var version = 10
    public var timeouts = Timeouts()
    public var maxFlows = 8192
    /// `nfprobe_engine`: engine type and id for NetFlow v5 (`type:id`), the source id or
    /// observation domain for v9 and IPFIX.
    public var engineType: UInt8 = 0
    public var engineID: UInt32 = 0
    /// `nfprobe_source_ip`: the address exports are sent from.
    public var sourceAddress: String?
    /// `sampling_rate`: 1-in-N packets are accounted (1: every packet).
    public var samplingRate = 1
    /// `metrics_listen` (pathflow's own key).
    public var metricsListen = "127.0.0.1:9480"

    public init() {}

    public static func load(path: String) throws -> (ProbeConfig, [ConfigDiagnostic]) {
        let (config, diagnostics) = make(raw: try ConfigParser.read(path: path))
        guard let config else { throw ConfigError.fatal(diagnostics) }
        return (config, diagnostics)
    }

    /// The configuration, or nil when a diagnostic is fatal; diagnostics in file/line order.
    public static func make(raw: RawConfig) -> (ProbeConfig?, [ConfigDiagnostic]) {
        var evaluator = ProbeConfigEvaluator(file: raw.file, diagnostics: raw.diagnostics)
        return evaluator.run(raw.lines)
    }

    /// Whether the configuration's `plugins` line names nfprobe (a pmacctd probe configuration
    /// rather than a collector's).
    public static func declaresProbe(raw: RawConfig) -> Bool {
        guard let line = raw.lines.first(where: { $0.key == "plugins" && $0.instance == nil }) else { return false }
        return line.value.split(separator: ",").contains {
            ASCIIText.lowercased(ASCIIText.trim($0.split(separator: "[").first ?? "")) == "nfprobe"
        }
    }

    /// Where to serve metrics; nil when `metrics_listen` is `false`.
    public var metricsEndpoint: ListenEndpoint? { ListenEndpoint(parsing: metricsListen) }
}

/// Applies pmacctd keys in file order (the last value wins); keys of other daemons and values
/// pmacct rejects are reported and skipped, keys that would change the export and are not
/// implemented stop startup.
struct ProbeConfigEvaluator {
    private let file: String
    private var config = ProbeConfig()
    private var diagnostics: [ConfigDiagnostic]
    private var instance: String?

    init(file: String, diagnostics: [ConfigDiagnostic]) {
        self.file = file
        self.diagnostics = diagnostics
    }

    typealias Apply = (inout ProbeConfig) -> Void

    mutating func run(_ lines: [RawConfig.Line]) -> (ProbeConfig?, [ConfigDiagnostic]) {
        let pluginsLine = lines.first { $0.key == "plugins" && $0.instance == nil }
        if let pluginsLine {
            readPlugins(pluginsLine)
        } else {
            diagnostics.append(ConfigDiagnostic(
                file: file, line: 0, key: "plugins", message: "no plugins configured: add plugins: nfprobe",
                severity: .fatal))
        }
        for line in lines where line != pluginsLine {
            if line.key == "plugins" {
                report(line, "only the first 'plugins' line is used, as in pmacct", .skipped)
                continue
            }
            if let name = line.instance, name != instance {
                report(line, "unknown plugin instance '\(name)' (plugins: \(instance ?? "none"))", .skipped)
                continue
            }
            switch Self.rule(line.key, line.value) {
            case nil:
                report(line, "unknown key", .skipped)
            case .success(let apply):
                apply(&config)
            case .failure(.invalid(let message)):
                report(line, message, .skipped)
            case .failure(.unsupported(let message)):
                report(line, message, .fatal)
            }
        }
        if config.interface == nil && config.savefile == nil {
            diagnostics.append(ConfigDiagnostic(
                file: file, line: 0, key: "pcap_interface",
                message: "nothing to capture from: set pcap_interface or pcap_savefile (or --interface / --pcap-file)",
                severity: .skipped))
        }
        let ordered = diagnostics.orderedByFileAndLine()
        return (ordered.hasFatal ? nil : config, ordered)
    }

    private mutating func readPlugins(_ line: RawConfig.Line) {
        var found: [String] = []
        for token in line.value.split(separator: ",") {
            var item = ASCIIText.trim(token)
            guard !item.isEmpty else { continue }
            var name: String?
            if let open = item.firstIndex(of: "["), let close = item.lastIndex(of: "]"), close > open {
                let inner = ASCIIText.trim(item[item.index(after: open)..<close])
                name = inner.isEmpty ? nil : inner
                item = ASCIIText.trim(item[..<open])
            }
            let type = ASCIIText.lowercased(item)
            guard type == "nfprobe" else {
                report(line, "the probe runs the nfprobe plugin only; '\(type)' is not available here"
                    + " (aggregate into SQLite with pathflow collect)", .fatal)
                continue
            }
            found.append(name ?? "default_nfprobe")
        }
        if found.count > 1 {
            report(line, "one nfprobe plugin only: list several collectors in nfprobe_receiver", .fatal)
        }
        if found.isEmpty {
            report(line, "no usable plugins: add plugins: nfprobe", .fatal)
        }
        instance = found.first
    }

    // MARK: keys

    static func rule(_ key: String, _ value: String) -> Result<Apply, KeyRule.Problem>? {
        switch key {
        case "daemonize": return bool(value) { $0.daemonize = $1 }
        case "debug": return bool(value) { $0.debug = $1 }
        case "pidfile": return ConfigValue.nonEmpty(value).map { v in { $0.pidfile = v } }
        case "logfile": return ConfigValue.nonEmpty(value).map { v in { $0.logfile = v } }
        case "pcap_interface", "interface":
            return ConfigValue.nonEmpty(value).map { v in { $0.interface = v } }
        case "pcap_savefile":
            return ConfigValue.nonEmpty(value).map { v in { $0.savefile = v } }
        case "pcap_filter":
            return ConfigValue.nonEmpty(value).map { v in { $0.filter = v } }
        case "pcap_promisc", "promisc": return bool(value) { $0.promiscuous = $1 }
        case "snaplen":
            return ConfigValue.positive(value, max: 262_144).map { n in { $0.snaplen = max(n, 64) } }
        case "pcap_buffer_size":
            return ConfigValue.positive(value, max: 1 << 30).map { n in { $0.bufferBytes = n } }
        case "aggregate": return aggregate(value)
        case "nfprobe_receiver": return receivers(value)
        case "nfprobe_version":
            guard let n = ASCIIText.decimal(value), [5, 9, 10].contains(n) else {
                // nfprobe falls back on IPFIX for a version it does not know.
                return .failure(.invalid("invalid value '\(value)': expected 5, 9 or 10; using 10"))
            }
            return .success { $0.version = n }
        case "nfprobe_timeouts": return timeouts(value)
        case "nfprobe_maxflows":
            return ConfigValue.positive(value, max: 50_000_000).map { n in { $0.maxFlows = n } }
        case "nfprobe_engine": return engine(value)
        case "nfprobe_source_ip":
            guard IPAddress(value) != nil else {
                return .failure(.unsupported("'\(value)' is not an IP address (nfprobe cannot bind it)"))
            }
            return .success { $0.sourceAddress = value }
        case "sampling_rate":
            return ConfigValue.positive(value, max: 16_383).map { n in { $0.samplingRate = n } }
        case "metrics_listen":
            if ConfigValue.bool(value) == false { return .success { $0.metricsListen = "false" } }
            guard ListenEndpoint(parsing: value) != nil else {
                return .failure(.invalid("invalid value '\(value)': expected HOST:PORT, [IPv6]:PORT or false"))
            }
            return .success { $0.metricsListen = value }
        case "pcap_savefile_wait", "pcap_savefile_delay", "pcap_savefile_replay", "nfprobe_hoplimit",
             "plugin_buffer_size", "plugin_pipe_size", "pmacctd_flow_buffer_size", "pmacctd_flow_buffer_buckets",
             "nfprobe_dont_cache":
            return .failure(.invalid("no effect in pathflow"))
        case "nfprobe_direction", "nfprobe_ifindex", "pcap_ifindex", "nfprobe_ifindex_override",
             "pre_tag_map", "pmacctd_as", "pmacctd_net", "networks_file", "bgp_daemon", "nfprobe_dtls",
             "nfprobe_tstamp_usec", "ext_sampling_rate", "pcap_arista_trailer_offset":
            return .failure(.unsupported("'\(key)' is not implemented by the probe yet"))
        default:
            return nil
        }
    }

    private static func bool(_ value: String, _ set: @escaping (inout ProbeConfig, Bool) -> Void) -> Result<Apply, KeyRule.Problem> {
        guard let flag = ConfigValue.bool(value) else { return .failure(ConfigValue.notBool(value)) }
        return .success { set(&$0, flag) }
    }

    /// The probe keys on the aggregate's flow fields; primitives nfprobe derives elsewhere
    /// (ASNs, networks, MACs) are reported and left out of the key.
    private static func aggregate(_ value: String) -> Result<Apply, KeyRule.Problem> {
        let names = ASCIIText.lowercased(ASCIIText.removingSpaces(value)).split(separator: ",").map(String.init)
        let table: [String: ProbeConfig.KeyFields] = [
            "src_host": .srcHost, "dst_host": .dstHost, "src_port": .srcPort, "dst_port": .dstPort,
            "proto": .proto, "tos": .tos, "vlan": .vlan,
        ]
        var fields: ProbeConfig.KeyFields = []
        var other: [String] = []
        for name in names {
            if let field = table[name] { fields.insert(field) } else { other.append(name) }
        }
        guard other.isEmpty else {
            return .failure(.invalid(
                "the probe keys flows on src_host, dst_host, src_port, dst_port, proto, tos and vlan; not on "
                    + other.joined(separator: ", ")))
        }
        guard !fields.isEmpty else { return .failure(.invalid("empty value")) }
        return .success { $0.keyFields = fields }
    }

    private static func receivers(_ value: String) -> Result<Apply, KeyRule.Problem> {
        var list: [ListenEndpoint] = []
        for item in value.split(separator: ",") {
            let text = ASCIIText.trim(item)
            guard let endpoint = ListenEndpoint(parsing: text), IPAddress(endpoint.host) != nil else {
                return .failure(.unsupported(
                    "'\(text)' is not ADDRESS:PORT or [IPv6]:PORT (nfprobe cannot export to it)"))
            }
            list.append(endpoint)
        }
        guard !list.isEmpty else { return .failure(.invalid("empty value")) }
        return .success { $0.receivers = list }
    }

    /// nfprobe's syntax: `name=time` items separated by ':' (tcp, tcp.rst, tcp.fin, udp, icmp,
    /// general, maxlife, expint); times in seconds or with a unit (s, m, h, d, w).
    private static func timeouts(_ value: String) -> Result<Apply, KeyRule.Problem> {
        var timeouts: [(WritableKeyPath<ProbeConfig.Timeouts, Int>, Int)] = []
        for item in value.split(separator: ":") {
            let parts = item.split(separator: "=", maxSplits: 1).map { ASCIIText.trim($0) }
            guard parts.count == 2, let seconds = duration(parts[1]) else {
                return .failure(.invalid("invalid value '\(item)': expected NAME=SECONDS"))
            }
            let path: WritableKeyPath<ProbeConfig.Timeouts, Int>
            switch ASCIIText.lowercased(parts[0]) {
            case "tcp": path = \.tcp
            case "tcp.rst": path = \.tcpRST
            case "tcp.fin": path = \.tcpFIN
            case "udp": path = \.udp
            case "icmp": path = \.icmp
            case "general": path = \.general
            case "maxlife": path = \.maxLife
            case "expint": path = \.expiryInterval
            default:
                return .failure(.invalid("unknown timeout '\(parts[0])': expected tcp, tcp.rst, tcp.fin, udp, icmp, general, maxlife or expint"))
            }
            if (path == \.general || path == \.expiryInterval) && seconds == 0 {
                return .failure(.invalid("'\(parts[0])' must be greater than zero"))
            }
            timeouts.append((path, seconds))
        }
        return .success { config in
            for (path, seconds) in timeouts { config.timeouts[keyPath: path] = seconds }
        }
    }

    static func duration(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
        if let unit = units[Character(last.lowercased())] {
            return ASCIIText.decimal(text.dropLast()).map { $0 * unit }
        }
        return ASCIIText.decimal(text)
    }

    /// `type:id` (NetFlow v5's engine type and id), or one number (v9 source id, IPFIX domain).
    private static func engine(_ value: String) -> Result<Apply, KeyRule.Problem> {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false).map { ASCIIText.trim($0) }
        if parts.count == 2, let type = ASCIIText.decimal(parts[0]), let id = ASCIIText.decimal(parts[1]),
           type <= 255, id <= 255 {
            return .success {
                $0.engineType = UInt8(type)
                $0.engineID = UInt32(id)
            }
        }
        if parts.count == 1, let id = ASCIIText.decimal(parts[0]), id <= Int(UInt32.max) {
            return .success { $0.engineID = UInt32(id) }
        }
        return .failure(.invalid("invalid value '\(value)': expected TYPE:ID (0-255 each) or a source id"))
    }

    private mutating func report(_ line: RawConfig.Line, _ message: String, _ severity: ConfigDiagnostic.Severity) {
        diagnostics.append(ConfigDiagnostic(
            file: line.file, line: line.line, key: line.displayKey, message: message, severity: severity))
    }
}
