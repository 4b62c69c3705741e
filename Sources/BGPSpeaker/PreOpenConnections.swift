import NetCore

/// Passive connections that have not completed the OPEN exchange (RFC 4271 Active, OpenSent),
/// bounded per remote address and in total (DESIGN §8). They never take a `maximumPeers` place.
///
/// A new connection is always admitted: it may be a router's, and its OPEN is usually a
/// millisecond away. Past a bound the oldest goes: the address's own oldest, or past the total
/// the oldest of the address holding the most, so a sender's churn closes its own connections
/// before anyone else's.
struct PreOpenConnections {
    struct Eviction: Equatable {
        var id: Int
        var address: IPAddress
        var bound: PreOpenClose
    }

    let perAddress: Int
    let total: Int
    /// Connection ids per address, oldest first: the speaker numbers connections in order.
    private var byAddress: [IPAddress: [Int]] = [:]
    private(set) var count = 0

    init(perAddress: Int, total: Int) {
        self.perAddress = max(1, perAddress)
        self.total = max(1, total)
    }

    func count(from address: IPAddress) -> Int {
        byAddress[address]?.count ?? 0
    }

    /// Adds connection `id` (larger than every id before it); returns those to close.
    mutating func admit(_ id: Int, from address: IPAddress) -> [Eviction] {
        var evicted: [Eviction] = []
        while count(from: address) >= perAddress {
            evicted.append(removeOldest(of: address, bound: .addressBound))
        }
        while count >= total, let sender = largestSender() {
            evicted.append(removeOldest(of: sender, bound: .totalBound))
        }
        byAddress[address, default: []].append(id)
        count += 1
        return evicted
    }

    /// The connection reached OpenConfirm or closed; nothing when it was not held.
    mutating func remove(_ id: Int, from address: IPAddress) {
        guard var ids = byAddress[address], let index = ids.firstIndex(of: id) else { return }
        ids.remove(at: index)
        byAddress[address] = ids.isEmpty ? nil : ids
        count -= 1
    }

    private mutating func removeOldest(of address: IPAddress, bound: PreOpenClose) -> Eviction {
        let id = byAddress[address]!.first!
        remove(id, from: address)
        return Eviction(id: id, address: address, bound: bound)
    }

    /// The address holding the most connections; among equals, the one with the oldest.
    private func largestSender() -> IPAddress? {
        byAddress.max { a, b in
            a.value.count != b.value.count ? a.value.count < b.value.count : a.value[0] > b.value[0]
        }?.key
    }
}
