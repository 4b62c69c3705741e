import BGPWire
import Foundation
import NIOCore
import NetCore

/// The ADD-PATH sessions captured from real speakers (fixtures/bgp, provenance in
/// fixtures/bgp/README.md) and the independent decoder's view of them (`*.expected.json`),
/// read the same way by every test target that replays them.
public enum BGPFixtures {
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/bgp")

    public static let speakers = ["gobgpd", "bird2", "frr", "exabgp"]
    /// Each speaker's session address (fixtures/bgp/README.md, "Tools and versions").
    public static let sessionAddress = ["gobgpd": "127.0.0.2", "bird2": "127.0.0.3", "frr": "127.0.0.4", "exabgp": "127.0.0.5"]
    /// What the captures negotiated: ADD-PATH for both families, 4-octet AS.
    public static let context = Update.Context(addPath: [.ipv4Unicast, .ipv6Unicast], fourOctetAS: true)

    public struct FixtureError: Error, CustomStringConvertible {
        public var description: String
    }

    /// One whole message (header included) per hex line.
    public static func messages(_ file: String) throws -> [[UInt8]] {
        let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard line.count % 2 == 0 else { throw FixtureError(description: "\(file): odd hex line") }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(line.count / 2)
            var index = line.startIndex
            while index < line.endIndex {
                let next = line.index(index, offsetBy: 2)
                guard let byte = UInt8(line[index..<next], radix: 16) else {
                    throw FixtureError(description: "\(file): not hex: \(line[index..<next])")
                }
                bytes.append(byte)
                index = next
            }
            return bytes
        }
    }

    /// The first message in `bytes`, nil when they do not hold a whole one.
    public static func frameOne(_ bytes: [UInt8]) throws -> BGPMessage? {
        var buffer = ByteBuffer(bytes: bytes)
        return try BGPMessage.frame(&buffer)
    }

    /// `bytes` as exactly one message.
    public static func frameWhole(_ bytes: [UInt8]) throws -> BGPMessage {
        var buffer = ByteBuffer(bytes: bytes)
        guard let message = try BGPMessage.frame(&buffer), buffer.readableBytes == 0 else {
            throw FixtureError(description: "not one whole message")
        }
        return message
    }

    /// Every message of a speaker's session, framed.
    public static func session(_ speaker: String) throws -> [BGPMessage] {
        try messages("\(speaker)-addpath.hex").map(frameWhole)
    }

    // MARK: the independent decoder's vocabulary

    /// The attribute fields both views compare, named as tools/bgp/decode.py names them.
    public static let attributeKeys = ["next_hop", "origin", "as_path", "local_pref", "med", "communities",
                                       "large_communities", "originator_id", "cluster_list", "ext_communities"]

    /// Rows of `key` ("routes": route events, "final_rib": the table a receiver ends with) of
    /// `S-addpath.expected.json`, as strings: lists comma-joined, extended communities counted.
    public static func oracle(_ speaker: String, _ key: String) throws -> [[String: String]] {
        let url = directory.appendingPathComponent("\(speaker)-addpath.expected.json")
        guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
              let rows = json[key] as? [[String: Any]] else {
            throw FixtureError(description: "\(url.lastPathComponent): no '\(key)'")
        }
        return rows.map { route in
            func text(_ key: String) -> String {
                switch route[key] {
                case let list as [Any]: return list.map { "\($0)" }.joined(separator: ",")
                case is NSNull, nil: return ""
                case let v: return "\(v!)"
                }
            }
            var row: [String: String] = [:]
            for key in ["action", "family", "path_id", "prefix"] where route[key] != nil { row[key] = text(key) }
            if route["action"] as? String != "withdraw" {
                for key in attributeKeys { row[key] = text(key) }
                row["ext_communities"] = String((route["ext_communities"] as? [Any])?.count ?? 0)
                row["atomic_aggregate"] = String((route["atomic_aggregate"] as? Bool) ?? false)
            }
            return row
        }
    }

    /// One path in the same vocabulary, from our decoded values.
    public static func fields(_ prefix: IPPrefix, pathID: UInt32, _ a: PathAttributes) -> [String: String] {
        func dotted(_ v: UInt32) -> String { IPAddress(v4: v).description }
        return [
            "family": prefix.address.family == .v6 ? "ipv6" : "ipv4",
            "path_id": String(pathID),
            "prefix": prefix.description,
            "next_hop": a.nextHop.description,
            "origin": a.origin.map { ["igp", "egp", "incomplete"][Int($0.rawValue)] } ?? "",
            "as_path": a.asPathText,
            "local_pref": a.localPref.map(String.init) ?? "",
            "med": a.med.map(String.init) ?? "",
            "communities": a.communities.map { "\($0 >> 16):\($0 & 0xffff)" }.joined(separator: ","),
            "large_communities": a.largeCommunities.map { "\($0.global):\($0.local1):\($0.local2)" }.joined(separator: ","),
            "ext_communities": String(a.extendedCommunities.count),
            "originator_id": a.originatorID.map(dotted) ?? "",
            "cluster_list": a.clusterList.map(dotted).joined(separator: ","),
            "atomic_aggregate": String(a.atomicAggregate),
        ]
    }
}
