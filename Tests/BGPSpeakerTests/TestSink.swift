import BGPWire
import NetCore
import Synchronization
@testable import BGPSpeaker

/// A RouteSink that keeps everything, with an Adj-RIB-In per session keyed (prefix, path id).
final class TestSink: RouteSink, Sendable {
    struct State {
        var peers: [PeerInfo] = []
        var updates: [Update] = []
        var endOfRIB: [AddressFamily] = []
        var downs: [(session: UInt64, reason: String)] = []
        var events: [SpeakerEvent] = []
        var preOpenClosed: [(address: IPAddress, reason: PreOpenClose)] = []
        var paths: [UInt64: Set<Update.Route>] = [:]
    }

    private let state = Mutex(State())

    func read<T>(_ body: (State) -> T) -> T {
        state.withLock { body($0) }
    }

    var peers: [PeerInfo] { read(\.peers) }
    var updates: [Update] { read(\.updates) }
    var endOfRIB: [AddressFamily] { read(\.endOfRIB) }
    var downs: [(session: UInt64, reason: String)] { read(\.downs) }
    var events: [SpeakerEvent] { read(\.events) }
    var preOpenClosed: [(address: IPAddress, reason: PreOpenClose)] { read(\.preOpenClosed) }

    func established(_ peer: PeerInfo) {
        state.withLock { $0.peers.append(peer) }
    }

    func update(_ update: Update, session: UInt64) -> Int {
        state.withLock { s in
            s.updates.append(update)
            var paths = s.paths[session] ?? []
            for route in update.withdrawn { paths.remove(route) }
            for route in update.announced { paths.insert(route) }
            s.paths[session] = paths
            return paths.count
        }
    }

    func endOfRIB(_ family: AddressFamily, session: UInt64) {
        state.withLock { $0.endOfRIB.append(family) }
    }

    func down(session: UInt64, reason: String) {
        state.withLock { s in
            s.downs.append((session, reason))
            s.paths[session] = nil
        }
    }

    func event(_ event: SpeakerEvent) {
        state.withLock { $0.events.append(event) }
    }

    func preOpenClosed(_ address: IPAddress, _ reason: PreOpenClose) {
        state.withLock { $0.preOpenClosed.append((address, reason)) }
    }
}
