import NIOCore
import NIOPosix
import NetCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// UDP intake: one SO_REUSEPORT socket per event loop on the same address and port.
///
/// The kernel hashes each sender onto one socket, so an exporter's templates and
/// sequence numbers stay with one sink. Reads are batched (recvmmsg).
public final class UDPIntake: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var sockets: Int
        public var receiveBufferBytes: Int?
        public var batch = 64
        /// After a read cycle that found fewer than `batch / 2` datagrams, wait this long before
        /// reading again: at moderate rates one wake-up then takes many datagrams instead of one.
        /// The socket buffer holds the datagrams meanwhile; a busy socket is read at once.
        public var coalescing: TimeAmount = .milliseconds(1)
        /// Without nfacctd_pipe_size: room for bursts well past the kernel's usual 208 KiB.
        public static let defaultReceiveBufferBytes = 16 << 20

        public init(host: String, port: Int, sockets: Int, receiveBufferBytes: Int? = nil) {
            self.host = host
            self.port = port
            self.sockets = max(1, sockets)
            self.receiveBufferBytes = receiveBufferBytes
        }
    }

    public let channels: [any Channel]
    public let localPort: Int
    /// The receive buffer each socket got (the kernel reports twice what it accounts).
    public let receiveBufferBytes: Int

    /// Binds the sockets; `makeSink` runs once per socket, on the event loop it is given.
    public static func bind(
        settings: Settings, group: MultiThreadedEventLoopGroup,
        makeSink: @escaping @Sendable (_ index: Int, _ loop: any EventLoop) -> any DatagramSink
    ) async throws -> UDPIntake {
        var channels: [any Channel] = []
        var port = settings.port
        var effectiveBuffer = 0
        let loops = Array(group.makeIterator())
        for index in 0..<settings.sockets {
            let loop = loops[index % loops.count]
            var bootstrap = DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(ChannelOptions.Types.SocketOption(
                    level: NIOBSDSocket.OptionLevel(rawValue: CInt(SOL_SOCKET)), name: NIOBSDSocket.Option(rawValue: CInt(SO_REUSEPORT))), value: 1)
                .channelOption(.datagramVectorReadMessageCount, value: settings.batch)
                // The handler asks for reads itself, to coalesce wake-ups (see IntakeHandler).
                .channelOption(.autoRead, value: false)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536 * settings.batch))
            bootstrap = bootstrap.channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        IntakeHandler(sink: makeSink(index, channel.eventLoop), batch: settings.batch,
                                      coalescing: settings.coalescing))
                }
            }
            let channel = try await bootstrap.bind(host: settings.host, port: port).get()
            effectiveBuffer = await Self.setReceiveBuffer(channel, bytes: settings.receiveBufferBytes ?? Settings.defaultReceiveBufferBytes)
            // Port 0: every further socket joins the port the first one got.
            if port == 0 { port = channel.localAddress?.port ?? 0 }
            channels.append(channel)
        }
        return UDPIntake(channels: channels, localPort: port, receiveBufferBytes: effectiveBuffer)
    }

    init(channels: [any Channel], localPort: Int, receiveBufferBytes: Int) {
        self.channels = channels
        self.localPort = localPort
        self.receiveBufferBytes = receiveBufferBytes
    }

    static let rcvbuf = ChannelOptions.Types.SocketOption(
        level: NIOBSDSocket.OptionLevel(rawValue: CInt(SOL_SOCKET)), name: NIOBSDSocket.Option(rawValue: CInt(SO_RCVBUF)))
    /// Linux's SO_RCVBUFFORCE (33): may exceed net.core.rmem_max, for a privileged process.
    static let rcvbufForce = ChannelOptions.Types.SocketOption(
        level: NIOBSDSocket.OptionLevel(rawValue: CInt(SOL_SOCKET)), name: NIOBSDSocket.Option(rawValue: 33))

    /// Asks for `bytes` of receive buffer, beyond rmem_max when allowed; returns what the kernel gave.
    static func setReceiveBuffer(_ channel: any Channel, bytes: Int) async -> Int {
        let value = SocketOptionValue(clamping: bytes)
        do {
            try await channel.setOption(rcvbufForce, value: value).get()
        } catch {
            try? await channel.setOption(rcvbuf, value: value).get()
        }
        return Int((try? await channel.getOption(rcvbuf).get()) ?? 0)
    }

    public func close() async {
        for channel in channels {
            try? await channel.close()
        }
    }
}

final class IntakeHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let sink: any DatagramSink
    let batch: Int
    let coalescing: TimeAmount
    /// Datagrams read in the current read cycle.
    var cycle = 0
    var readScheduled = false

    init(sink: any DatagramSink, batch: Int, coalescing: TimeAmount) {
        self.sink = sink
        self.batch = batch
        self.coalescing = coalescing
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let sender = IPAddress(envelope.remoteAddress)
        let arrival = UInt32(truncatingIfNeeded: time(nil))
        cycle += 1
        envelope.data.withUnsafeReadableBytes { bytes in
            sink.receive(bytes, from: sender, arrival: arrival)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let busy = cycle >= batch / 2
        cycle = 0
        if busy || coalescing == .zero {
            context.read()
            return
        }
        guard !readScheduled else { return }
        readScheduled = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: coalescing) {
            let (handler, context) = bound.value
            handler.readScheduled = false
            context.read()
        }
    }
}

@available(*, unavailable)
extension IntakeHandler: Sendable {}

extension IPAddress {
    /// The sender's address; IPv4-mapped IPv6 senders (dual-stack sockets) become IPv4.
    init(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self.init(v4: UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var storage = v6.address.sin6_addr
            let (high, low): (UInt64, UInt64) = withUnsafeBytes(of: &storage) { raw in
                (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            if high == 0 && low >> 32 == 0xffff {
                self.init(v4: UInt32(truncatingIfNeeded: low))
            } else {
                self.init(v6High: high, low: low)
            }
        default:
            self = .none
        }
    }
}
