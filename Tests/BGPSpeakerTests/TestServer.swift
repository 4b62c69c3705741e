import NIOCore
import NIOPosix
import Synchronization

/// A listener that plays a router for the speaker's active connections.
final class TestServer: Sendable {
    final class Accepted: Sendable {
        let peers = Mutex<[TestPeer]>([])
    }

    let channel: any Channel
    private let accepted: Accepted

    private init(channel: any Channel, accepted: Accepted) {
        self.channel = channel
        self.accepted = accepted
    }

    var peers: [TestPeer] { accepted.peers.withLock { $0 } }
    var port: Int { channel.localAddress?.port ?? 0 }

    static func start(group: any EventLoopGroup) async throws -> TestServer {
        let accepted = Accepted()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let inbox = Inbox()
                accepted.peers.withLock { $0.append(TestPeer(channel: channel, inbox: inbox)) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(InboxHandler(inbox: inbox))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestServer(channel: channel, accepted: accepted)
    }

    func close() async {
        try? await channel.close()
        for peer in peers { await peer.close() }
    }
}
