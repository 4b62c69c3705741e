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
/// Each exporter address belongs to one sink (`Steering`), whichever socket the kernel hands its
/// datagrams to: templates, options data and sequence numbers then live in one place, and the
/// result does not depend on the number of sockets, on the kernel's hash or on sockets still
/// joining the port when an exporter's first datagrams arrive. A classic BPF program on the
/// socket group asks the kernel to deliver each exporter to its own socket, so steering between
/// sockets is the exception (`steered`). Reads are batched (recvmmsg).
public final class UDPIntake: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var sockets: Int
        public var receiveBufferBytes: Int?
        /// nfacctd_allow_file; every exporter by default.
        public var filter = IntakeFilter(nil)
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
    /// The kernel took the program that delivers each exporter to its own socket.
    public let kernelSteering: Bool
    let steering: Steering

    /// Datagrams read on one socket and handed to another socket's sink, so far.
    public var steered: UInt64 { steering.steered.load(ordering: .relaxed) }
    /// nfacctd_allow_file, replaceable while running.
    public let filter: IntakeFilter

    /// Makes one sink per socket (`makeSink` runs on the event loop it is given), then binds the
    /// sockets.
    public static func bind(
        settings: Settings, group: MultiThreadedEventLoopGroup,
        makeSink: @escaping @Sendable (_ index: Int, _ loop: any EventLoop) -> any DatagramSink
    ) async throws -> UDPIntake {
        let loops = Array(group.makeIterator())
        var targets: [Steering.Target] = []
        for index in 0..<settings.sockets {
            let loop = loops[index % loops.count]
            let sink = try await loop.submit { NIOLoopBound(makeSink(index, loop), eventLoop: loop) }.get()
            targets.append(Steering.Target(loop: loop, sink: sink))
        }
        let steering = Steering(targets: targets)
        if settings.port != 0 { try Self.refuseIfTaken(host: settings.host, port: settings.port) }
        var channels: [any Channel] = []
        var port = settings.port
        var effectiveBuffer = 0
        for index in 0..<settings.sockets {
            let loop = loops[index % loops.count]
            let bootstrap = DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(ChannelOptions.Types.SocketOption(
                    level: NIOBSDSocket.OptionLevel(rawValue: CInt(SOL_SOCKET)), name: NIOBSDSocket.Option(rawValue: CInt(SO_REUSEPORT))), value: 1)
                .channelOption(.datagramVectorReadMessageCount, value: settings.batch)
                // The handler asks for reads itself, to coalesce wake-ups (see IntakeHandler).
                .channelOption(.autoRead, value: false)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536 * settings.batch))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            IntakeHandler(index: index, steering: steering, filter: settings.filter,
                                          batch: settings.batch, coalescing: settings.coalescing))
                    }
                }
            let channel: any Channel
            do {
                channel = try await bootstrap.bind(host: settings.host, port: port).get()
            } catch {
                for bound in channels { try? await bound.close() }
                throw BindError(description: "cannot listen on UDP \(Self.endpoint(settings.host, port)): \(error)")
            }
            effectiveBuffer = await Self.setReceiveBuffer(channel, bytes: settings.receiveBufferBytes ?? Settings.defaultReceiveBufferBytes)
            // Port 0: every further socket joins the port the first one got.
            if port == 0 { port = channel.localAddress?.port ?? 0 }
            channels.append(channel)
        }
        let kernel = settings.sockets > 1 ? await Steering.attachProgram(to: channels[0], sockets: settings.sockets) : true
        return UDPIntake(channels: channels, localPort: port, receiveBufferBytes: effectiveBuffer,
                         kernelSteering: kernel, steering: steering, filter: settings.filter)
    }

    init(
        channels: [any Channel], localPort: Int, receiveBufferBytes: Int, kernelSteering: Bool, steering: Steering,
        filter: IntakeFilter
    ) {
        self.filter = filter
        self.channels = channels
        self.localPort = localPort
        self.receiveBufferBytes = receiveBufferBytes
        self.kernelSteering = kernelSteering
        self.steering = steering
    }

    public struct BindError: Error, CustomStringConvertible {
        public var description: String
    }

    static func endpoint(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// SO_REUSEPORT lets any process of the same user join the port and silently take a share of
    /// the exporters: a plain bind first, which fails while anything else holds the port.
    static func refuseIfTaken(host: String, port: Int) throws {
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw BindError(description: "cannot listen on UDP \(endpoint(host, port)): \(error)")
        }
        let family = address.protocol == .inet6 ? AF_INET6 : AF_INET
        #if canImport(Glibc)
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        #else
        let fd = socket(family, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return }
        defer { Glibc.close(fd) }
        let result = address.withSockAddr { Glibc.bind(fd, $0, socklen_t($1)) }
        if result != 0 && errno == EADDRINUSE {
            throw BindError(description: "UDP \(endpoint(host, port)) is already in use by another process "
                + "(another collector on the same port would silently take a share of the exporters); stop it or choose another nfacctd_port")
        }
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

    let index: Int
    let steering: Steering
    var filter: IntakeFilterCache
    let sink: any DatagramSink
    let batch: Int
    let coalescing: TimeAmount
    /// Datagrams read in the current read cycle.
    var cycle = 0
    var readScheduled = false
    /// Datagrams of this read cycle that belong to other sockets' sinks, by target.
    var foreign: [Steering.Batch?]

    init(index: Int, steering: Steering, filter: IntakeFilter, batch: Int, coalescing: TimeAmount) {
        self.index = index
        self.steering = steering
        self.filter = IntakeFilterCache(filter)
        self.sink = steering.targets[index].sink.value
        self.batch = batch
        self.coalescing = coalescing
        self.foreign = Array(repeating: nil, count: steering.targets.count)
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let sender = IPAddress(envelope.remoteAddress)
        cycle += 1
        guard filter.allows(sender) else { return }
        let port = UInt16(truncatingIfNeeded: envelope.remoteAddress.port ?? 0)
        let arrival = UInt32(truncatingIfNeeded: time(nil))
        let owner = steering.owner(of: sender)
        if owner == index {
            envelope.data.withUnsafeReadableBytes { bytes in
                sink.receive(bytes, from: sender, port: port, arrival: arrival)
            }
        } else {
            foreign[owner, default: Steering.Batch()].append(envelope.data, from: sender, port: port, arrival: arrival)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        for owner in foreign.indices {
            if let batch = foreign[owner] {
                foreign[owner] = nil
                steering.deliver(batch, to: owner)
            }
        }
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

extension Array where Element == Steering.Batch? {
    subscript(index: Int, default value: @autoclosure () -> Steering.Batch) -> Steering.Batch {
        get { self[index] ?? value() }
        set { self[index] = newValue }
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
