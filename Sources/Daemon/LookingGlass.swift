import BGPSpeaker
import BGPWire
import NIOCore
import NIOPosix
import NetCore
import RIB

#if canImport(Glibc)
import Glibc
#endif

/// The looking glass behind `pathflow rib`: GET /rib/peers, /rib/lookup, /rib/dump on the
/// metrics address. JSON by default, text for people with `format=text` (what `pathflow rib`
/// asks for); /rib/dump is always pmacct's dump format.
extension BGPService {
    func routes(on loop: any EventLoop) -> HTTPRoutes {
        [
            "/rib/peers": { [self] query in loop.makeSucceededFuture(self.peersAnswer(json: query["format"] != "text")) },
            "/rib/lookup": { [self] query in loop.makeSucceededFuture(self.lookupAnswer(query)) },
            "/rib/dump": { [self] query in loop.makeSucceededFuture(self.dumpAnswer(router: query["router"])) },
        ]
    }

    func peersAnswer(json: Bool) -> HTTPAnswer {
        let statuses = speaker?.peers() ?? []
        let tables = sessions.withLockedValue { $0 }
        let summaries = rib.read { reader in
            Dictionary(tables.map { ($0.key, reader.summary(of: $0.value.router)) }, uniquingKeysWith: { a, _ in a })
        }
        var objects: [String] = []
        var rows: [[String]] = [["peer", "port", "state", "bgp id", "AS", "up", "add-path", "prefixes", "paths", "msgs in/out", "last error"]]
        for status in statuses.sorted(by: { ($0.remoteAddress, $0.remotePort) < ($1.remoteAddress, $1.remotePort) }) {
            let summary = status.sessionID.flatMap { summaries[$0] } ?? nil
            let addPath = status.addPath.map(\.description).sorted()
            var o = JSONLine()
            o.add("peer_ip_src", status.remoteAddress.description)
            o.add("peer_tcp_port", status.remotePort)
            o.add("state", status.state.description.lowercased())
            o.add("outbound", status.outbound)
            if let id = status.bgpID { o.add("bgp_id", IPAddress(v4: id).description) }
            if let asn = status.asn { o.add("as", asn) }
            if let uptime = status.uptime { o.add("uptime_seconds", uptime.nanoseconds / 1_000_000_000) }
            o.add("add_path", raw: "[" + addPath.map(JSONLine.string).joined(separator: ", ") + "]")
            o.add("prefixes", summary?.prefixes ?? 0)
            o.add("paths", summary?.paths ?? 0)
            o.add("messages_in", status.messagesIn)
            o.add("messages_out", status.messagesOut)
            if let error = status.lastError { o.add("last_error", error) }
            objects.append(o.line)
            rows.append([
                status.remoteAddress.description, String(status.remotePort),
                status.state.description + (status.outbound ? " (out)" : ""),
                status.bgpID.map { IPAddress(v4: $0).description } ?? "-", status.asn.map(String.init) ?? "-",
                status.uptime.map { Self.duration($0.nanoseconds / 1_000_000_000) } ?? "-",
                addPath.isEmpty ? "-" : addPath.joined(separator: ","),
                String(summary?.prefixes ?? 0), String(summary?.paths ?? 0),
                "\(status.messagesIn)/\(status.messagesOut)", status.lastError ?? "",
            ])
        }
        if json { return HTTPAnswer(contentType: "application/json", body: "[" + objects.joined(separator: ",\n") + "]\n") }
        if statuses.isEmpty { return HTTPAnswer(body: "no BGP peers\n") }
        return HTTPAnswer(body: Self.table(rows))
    }

    func lookupAnswer(_ query: [String: String]) -> HTTPAnswer {
        guard let target = query["address"], !target.isEmpty else {
            return HTTPAnswer(status: .badRequest, body: "address=ADDRESS (or a prefix) is required\n")
        }
        let exact = target.contains("/") ? IPPrefix(target) : nil
        let address = IPAddress(target)
        guard exact != nil || address != nil else {
            return HTTPAnswer(status: .badRequest, body: "'\(target)' is not an IP address or prefix\n")
        }
        let routers = routerSessions(matching: query["router"])
        if let router = query["router"], routers.isEmpty {
            return HTTPAnswer(status: .notFound, body: "no established session with router \(router)\n")
        }
        let json = query["format"] != "text"
        var objects: [String] = []
        var text = ""
        rib.read { reader in
            for session in routers {
                let entry = exact.map { reader.paths(of: $0, router: session.router) }
                    ?? reader.longestMatch(address!, router: session.router)
                let peer = session.peer
                let name = "\(peer.remoteAddress) (bgp id \(IPAddress(v4: peer.bgpID)), AS \(peer.asn))"
                guard let entry else {
                    if !json { text += "router \(name): no route\n" }
                    continue
                }
                let family = entry.prefix.address.family == .v6 ? AddressFamily.ipv6Unicast : .ipv4Unicast
                var paths: [String] = []
                if !json { text += "router \(name): \(entry.prefix), \(entry.paths.count) path\(entry.paths.count == 1 ? "" : "s")\n" }
                for (index, path) in entry.paths.enumerated() {
                    let a = reader.attributes(path.attributes)
                    let best = index == entry.bestIndex
                    let pathID: UInt32? = peer.addPath.contains(family) ? path.pathID : nil
                    if json {
                        var o = JSONLine()
                        if let pathID { o.add("as_path_id", pathID) }
                        o.add("best", best)
                        Self.addAttributes(a, to: &o)
                        paths.append(o.line)
                    } else {
                        text += "  \(best ? "*" : " ") " + Self.describe(a, pathID: pathID) + "\n"
                    }
                }
                if json {
                    var o = JSONLine()
                    o.add("peer_ip_src", peer.remoteAddress.description)
                    o.add("bgp_id", IPAddress(v4: peer.bgpID).description)
                    o.add("ip_prefix", entry.prefix.description)
                    o.add("paths", raw: "[" + paths.joined(separator: ", ") + "]")
                    objects.append(o.line)
                }
            }
        }
        if json { return HTTPAnswer(contentType: "application/json", body: "[" + objects.joined(separator: ",\n") + "]\n") }
        return HTTPAnswer(body: routers.isEmpty ? "no established BGP sessions\n" : text)
    }

    /// pmacct's dump lines of the routers asked for, streamed a page at a time (a full table is
    /// millions of lines: never built whole).
    func dumpAnswer(router: String?) -> HTTPAnswer {
        HTTPAnswer(contentType: "application/x-ndjson") { [self] emit in
            let stamp = timestamp(Int(time(nil)))
            for session in routerSessions(matching: router) {
                try dump(session, timestamp: stamp, period: config.tableDumpRefreshTime ?? 0, seq: 0) { lines in
                    try emit(lines.joined(separator: "\n") + "\n")
                }
            }
        }
    }

    /// The path's attributes under pmacct's dump names.
    static func addAttributes(_ a: PathAttributes, to o: inout JSONLine) {
        o.add("bgp_nexthop", a.nextHop.isNone ? "0.0.0.0" : a.nextHop.description)
        o.add("as_path", PmacctText.asPath(a.asPath))
        if !a.communities.isEmpty { o.add("comms", PmacctText.communities(a.communities)) }
        if !a.extendedCommunities.isEmpty { o.add("ecomms", PmacctText.extendedCommunities(a.extendedCommunities)) }
        if !a.largeCommunities.isEmpty { o.add("lcomms", PmacctText.largeCommunities(a.largeCommunities)) }
        o.add("origin", PmacctDump.origin(a.origin))
        if let localPref = a.localPref { o.add("local_pref", localPref) }
        if let med = a.med { o.add("med", med) }
        if let originator = a.originatorID { o.add("originator_id", IPAddress(v4: originator).description) }
        if !a.clusterList.isEmpty {
            o.add("cluster_list", PmacctDump.clusterList(a.clusterList))
        }
    }

    static func describe(_ a: PathAttributes, pathID: UInt32?) -> String {
        var parts: [String] = []
        if let pathID { parts.append("path-id \(pathID)") }
        parts.append("next-hop \(a.nextHop.isNone ? "-" : a.nextHop.description)")
        let path = PmacctText.asPath(a.asPath)
        parts.append("as-path \(path.isEmpty ? "(empty)" : path)")
        parts.append("origin \(PmacctDump.origin(a.origin))")
        if let localPref = a.localPref { parts.append("local-pref \(localPref)") }
        if let med = a.med { parts.append("med \(med)") }
        if !a.communities.isEmpty { parts.append("communities \(PmacctText.communities(a.communities))") }
        if !a.extendedCommunities.isEmpty { parts.append("ext-communities \(PmacctText.extendedCommunities(a.extendedCommunities))") }
        if !a.largeCommunities.isEmpty { parts.append("large-communities \(PmacctText.largeCommunities(a.largeCommunities))") }
        if let originator = a.originatorID { parts.append("originator \(IPAddress(v4: originator))") }
        if !a.clusterList.isEmpty { parts.append("cluster-list \(PmacctDump.clusterList(a.clusterList))") }
        return parts.joined(separator: "  ")
    }

    static func duration(_ seconds: Int64) -> String {
        let d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60
        return d > 0 ? "\(d)d\(h)h\(m)m" : h > 0 ? "\(h)h\(m)m\(s)s" : "\(m)m\(s)s"
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
