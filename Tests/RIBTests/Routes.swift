import NetCore
@testable import BGPWire
@testable import RIB

/// UPDATEs and attribute sets written the way the tests talk about routes.
enum Routes {
    static func prefix(_ text: String) -> IPPrefix {
        guard let prefix = IPPrefix(text) else { fatalError("bad prefix \(text)") }
        return prefix
    }

    static func address(_ text: String) -> IPAddress {
        guard let address = IPAddress(text) else { fatalError("bad address \(text)") }
        return address
    }

    static func v4(_ text: String) -> UInt32 { address(text).v4Value }

    static func attributes(
        nextHop: String, asPath: [UInt32] = [65001], localPref: UInt32? = 100, med: UInt32? = nil,
        origin: PathAttributes.Origin = .igp, originatorID: String? = nil, clusterList: [String] = [],
        communities: [UInt32] = []
    ) -> PathAttributes {
        var a = PathAttributes()
        a.nextHop = address(nextHop)
        a.origin = origin
        a.asPath = asPath.isEmpty ? [] : [.init(kind: .sequence, asns: asPath)]
        a.localPref = localPref
        a.med = med
        a.originatorID = originatorID.map(v4)
        a.clusterList = clusterList.map(v4)
        a.communities = communities
        return a
    }

    /// One UPDATE announcing `routes` ("prefix", path id) with `attributes`.
    static func announce(_ routes: [(String, UInt32)], _ attributes: PathAttributes) -> Update {
        var update = Update()
        update.attributes = attributes
        update.announced = routes.map { Update.Route(prefix: prefix($0.0), pathID: $0.1) }
        return update
    }

    static func withdraw(_ routes: [(String, UInt32)]) -> Update {
        var update = Update()
        update.withdrawn = routes.map { Update.Route(prefix: prefix($0.0), pathID: $0.1) }
        return update
    }

    static let peer = PeerIdentity(address: address("192.0.2.1"), bgpID: v4("192.0.2.1"), asn: 65000)
}
