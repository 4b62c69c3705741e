import NIOCore
import NetCore

/// The BGP daemon: where to listen, whom to accept, whom to connect to.
public struct SpeakerConfig: Sendable {
    /// A configured peer. Passive peers (connect false) are configured for their key, AS and
    /// prefix limit; configured peers always pass the allow list.
    public struct Neighbor: Sendable, Equatable {
        public var address: IPAddress
        public var port: Int
        /// Connect out to it (and keep reconnecting), besides accepting its connections.
        public var connect: Bool
        /// A session announcing another AS is refused (2/2).
        public var peerAS: UInt32?
        /// RFC 2385 key.
        public var md5Key: String?
        /// Overrides `SpeakerConfig.maximumPrefixes` for this peer.
        public var maximumPrefixes: Int?

        public init(address: IPAddress, port: Int = 179, connect: Bool = true, peerAS: UInt32? = nil,
                    md5Key: String? = nil, maximumPrefixes: Int? = nil) {
            self.address = address
            self.port = port
            self.connect = connect
            self.peerAS = peerAS
            self.md5Key = md5Key
            self.maximumPrefixes = maximumPrefixes
        }
    }

    /// pmacct's bgp_daemon_ip; nil: no listener (active neighbours only). "::" listens on both families.
    public var listenAddress: String? = "0.0.0.0"
    /// pmacct's bgp_daemon_port; 0 picks a free port (see `Speaker.listeningPort`).
    public var listenPort = 179
    /// The template of every session.
    public var session: SessionConfig
    public var neighbors: [Neighbor] = []
    /// pmacct's bgp_daemon_allow_file: nil accepts anyone.
    public var allow: [IPPrefix]?
    /// pmacct's bgp_daemon_max_peers: sessions past OPEN (OpenConfirm, Established) beyond it
    /// are refused with 6/5. Connections still waiting for an OPEN take no place (`preOpen*`).
    public var maximumPeers: Int?
    /// Passive connections that have not completed the OPEN exchange, per remote address and in
    /// total (DESIGN §8); past either the oldest is closed with 6/5 (`PreOpenConnections`).
    public var preOpenPerAddress = 4
    public var preOpenTotal = 64
    /// Paths per session before Cease 6/1; nil: no limit.
    public var maximumPrefixes: Int?
    public var reconnect = ReconnectBackoff.Policy()
    /// After a Cease 6/1 an active neighbour waits at least this long before reconnecting.
    public var prefixLimitRestart: TimeAmount = .seconds(300)
    public var connectTimeout: TimeAmount = .seconds(10)
    /// How long `shutdown` waits for the Cease NOTIFICATIONs to go out before closing anyway.
    public var shutdownTimeout: TimeAmount = .seconds(5)

    public init(session: SessionConfig) {
        self.session = session
    }

    func neighbor(_ address: IPAddress) -> Neighbor? {
        neighbors.first { $0.address == address }
    }

    /// The session template with a neighbour's own settings.
    func sessionConfig(for neighbor: Neighbor?, outbound: Bool) -> SessionConfig {
        var config = session
        if let neighbor {
            if let asn = neighbor.peerAS { config.expectedPeerAS = asn }
            if outbound { config.expectedPeerAddress = neighbor.address }
        }
        return config
    }

    func maximumPrefixes(for neighbor: Neighbor?) -> Int? {
        neighbor?.maximumPrefixes ?? maximumPrefixes
    }
}
