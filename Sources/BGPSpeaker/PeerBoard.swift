import NIOCore
import NetCore
import Synchronization

/// The looking glass's view, written by the event loop, read from any thread.
final class PeerBoard: Sendable {
    private struct Entries {
        var connections: [Int: PeerStatus] = [:]
        /// Active neighbours, shown while they have no connection.
        var neighbors: [Int: PeerStatus] = [:]
    }

    private let entries = Mutex(Entries())

    func setConnection(_ id: Int, _ status: PeerStatus) {
        entries.withLock { $0.connections[id] = status }
    }

    func removeConnection(_ id: Int) {
        entries.withLock { _ = $0.connections.removeValue(forKey: id) }
    }

    func setNeighbor(_ index: Int, _ status: PeerStatus) {
        entries.withLock { $0.neighbors[index] = status }
    }

    /// Connections first (by address), then neighbours that have none.
    func snapshot(now: NIODeadline) -> [PeerStatus] {
        let (connections, neighbors) = entries.withLock { (Array($0.connections.values), Array($0.neighbors.values)) }
        let connected = Set(connections.map(\.remoteAddress))
        var all = connections.sorted { ($0.remoteAddress, $0.remotePort) < ($1.remoteAddress, $1.remotePort) }
        all += neighbors.filter { !connected.contains($0.remoteAddress) }.sorted { $0.remoteAddress < $1.remoteAddress }
        return all.map { status in
            var s = status
            s.uptime = s.establishedAt.map { now - $0 }
            return s
        }
    }
}
