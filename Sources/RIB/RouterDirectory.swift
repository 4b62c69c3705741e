import NetCore

/// Who the routers are: their peers, in the order they were added, found by session address
/// or BGP identifier (DESIGN §3 step 1).
struct RouterDirectory {
    private(set) var order: [RouterID] = []
    private(set) var peers: [RouterID: PeerIdentity] = [:]
    private var byAddress: [IPAddress: RouterID] = [:]
    private var byBGPID: [UInt32: RouterID] = [:]

    mutating func add(_ id: RouterID, _ peer: PeerIdentity) {
        order.append(id)
        peers[id] = peer
        byAddress[peer.address] = id
        byBGPID[peer.bgpID] = id
    }

    mutating func remove(_ id: RouterID) {
        guard let peer = peers.removeValue(forKey: id) else { return }
        order.removeAll { $0 == id }
        // Another session of the same router may still be up: the mappings fall back to it.
        if byAddress[peer.address] == id {
            byAddress[peer.address] = order.last { peers[$0]?.address == peer.address }
        }
        if byBGPID[peer.bgpID] == id {
            byBGPID[peer.bgpID] = order.last { peers[$0]?.bgpID == peer.bgpID }
        }
    }

    /// The session address first, then the BGP identifier; the newest session wins.
    func router(matching address: IPAddress) -> RouterID? {
        if let id = byAddress[address] { return id }
        return address.family == .v4 ? byBGPID[address.v4Value] : nil
    }
}
