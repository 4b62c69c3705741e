import BGPFixtures
import BGPWire
import Foundation
import NIOCore
import NetCore

/// Sessions captured from real speakers (fixtures/bgp, provenance in fixtures/bgp/README.md).
enum SpeakerFixtures {
    static let directory = BGPFixtures.directory
    static let speakers = BGPFixtures.speakers

    /// One whole message (header included) per line.
    static func lines(_ file: String) throws -> [[UInt8]] {
        try BGPFixtures.messages(file)
    }

    static func message(_ bytes: [UInt8]) throws -> BGPMessage {
        try BGPFixtures.frameWhole(bytes)
    }

    /// The route events of `S-addpath.expected.json` (tools/bgp/decode.py, an independent decoder),
    /// reduced to what the tests compare.
    static func expectedRoutes(_ speaker: String) throws -> [RouteEvent] {
        let url = directory.appendingPathComponent("\(speaker)-addpath.expected.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (json["routes"] as! [[String: Any]]).map { route in
            guard route["action"] as! String == "announce" else {
                return RouteEvent(announce: false, prefix: route["prefix"] as! String, pathID: route["path_id"] as! Int,
                                  nextHop: "", asPath: "", localPref: nil, med: nil, communities: "")
            }
            return RouteEvent(
                announce: true,
                prefix: route["prefix"] as! String,
                pathID: route["path_id"] as! Int,
                nextHop: route["next_hop"] as? String ?? "",
                asPath: route["as_path"] as? String ?? "",
                localPref: route["local_pref"] as? Int,
                med: route["med"] as? Int,
                communities: (route["communities"] as? [String] ?? []).joined(separator: ","))
        }
    }

    /// The same view of a decoded UPDATE.
    static func events(_ update: Update) -> [RouteEvent] {
        let a = update.attributes
        return update.announced.map { route in
            RouteEvent(
                announce: true, prefix: route.prefix.description, pathID: Int(route.pathID),
                nextHop: a.nextHop.description, asPath: a.asPathText, localPref: a.localPref.map(Int.init),
                med: a.med.map(Int.init),
                communities: a.communities.map { "\($0 >> 16):\($0 & 0xffff)" }.joined(separator: ","))
        } + update.withdrawn.map { route in
            RouteEvent(announce: false, prefix: route.prefix.description, pathID: Int(route.pathID),
                       nextHop: "", asPath: "", localPref: nil, med: nil, communities: "")
        }
    }

    struct RouteEvent: Equatable, Sendable, CustomStringConvertible {
        var announce: Bool
        var prefix: String
        var pathID: Int
        var nextHop: String
        var asPath: String
        var localPref: Int?
        var med: Int?
        var communities: String

        var description: String {
            announce
                ? "+\(prefix)#\(pathID) via \(nextHop) [\(asPath)] lp \(localPref ?? -1) med \(med ?? -1) \(communities)"
                : "-\(prefix)#\(pathID)"
        }
    }
}

/// 10.0.0.1 and friends as identifiers.
func ipv4(_ text: String) -> UInt32 {
    IPAddress(text)!.v4Value
}
