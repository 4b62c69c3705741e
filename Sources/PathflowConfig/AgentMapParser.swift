import NetCore

/// One line of a `bgp_agent_map`: flows from exporters in `exporters` use the RIB of the BGP
/// peer whose session address or BGP identifier is `bgpIP`, for the address families `family`
/// allows (pmacct's `filter='ip'` / `filter='ip6'`).
public struct AgentMapEntry: Sendable, Hashable {
    public enum Family: Sendable, Hashable {
        case any, v4, v6
    }

    public var bgpIP: IPAddress
    public var exporters: IPPrefix
    public var family: Family
    public var file: String
    public var line: Int

    public init(bgpIP: IPAddress, exporters: IPPrefix, family: Family, file: String, line: Int) {
        self.bgpIP = bgpIP
        self.exporters = exporters
        self.family = family
        self.file = file
        self.line = line
    }
}

/// Parses a pmacct `bgp_agent_map` (examples/bgp_agent.map.example): one entry per line,
/// `bgp_ip=ADDRESS ip=ADDRESS[/LEN] [filter='ip'|'ip6']` in any order; `!` or `#` starts a comment.
/// The first entry that matches an exporter wins, as in pmacct's maps. A bad line is reported
/// and ignored; the others still load.
public enum AgentMapParser {
    public static func parse(text: String, file: String) -> ([AgentMapEntry], [ConfigDiagnostic]) {
        MapFile.parse(text: text, file: file, key: "bgp_agent_map") { parseEntry($0, file: file, line: $1) }
    }

    static func parseEntry(_ row: Substring, file: String, line: Int) -> Result<AgentMapEntry, SamplingMapParser.Problem> {
        typealias Problem = SamplingMapParser.Problem
        var fields: [String: String] = [:]
        for token in SamplingMapParser.tokens(row) {
            guard let equals = token.firstIndex(of: "="), equals != token.startIndex else {
                return .failure(Problem(message: "malformed field '\(token)': expected key=value"))
            }
            var key = String(token[..<equals])
            let value = String(token[token.index(after: equals)...])
            if key == "bmp_ip" { key = "bgp_ip" }
            switch key {
            case "bgp_ip", "ip", "filter": break
            case "bgp_port", "in", "out":
                return .failure(Problem(message: "key '\(key)' is not implemented yet (valid keys: bgp_ip, ip, filter)"))
            default:
                return .failure(Problem(message: "unknown key '\(key)' (valid keys: bgp_ip, ip, filter)"))
            }
            guard fields[key] == nil else { return .failure(Problem(message: "key '\(key)' given twice")) }
            guard !value.isEmpty else { return .failure(Problem(message: "key '\(key)' has no value")) }
            fields[key] = value
        }
        guard let bgpText = fields["bgp_ip"], let ipText = fields["ip"] else {
            return .failure(Problem(message: "required key missing: an entry needs 'bgp_ip' and 'ip'"))
        }
        guard let bgpIP = IPAddress(bgpText) else {
            return .failure(Problem(message: "bad 'bgp_ip' value '\(bgpText)': expected an IP address"))
        }
        guard let exporters = IPPrefix(ipText) else {
            return .failure(Problem(message: "bad 'ip' value '\(ipText)': expected an IP address or prefix"))
        }
        var family = AgentMapEntry.Family.any
        if let filter = fields["filter"] {
            // The filters pmacct's documentation gives for this map; any other libpcap expression
            // would need a packet filter on flow records.
            switch filter.split(whereSeparator: ASCIIText.isSpace).joined(separator: " ") {
            case "ip", "vlan and ip": family = .v4
            case "ip6", "vlan and ip6": family = .v6
            default:
                return .failure(Problem(message: "filter '\(filter)' is not supported: use 'ip' or 'ip6'"))
            }
        }
        return .success(AgentMapEntry(bgpIP: bgpIP, exporters: exporters, family: family, file: file, line: line))
    }
}
