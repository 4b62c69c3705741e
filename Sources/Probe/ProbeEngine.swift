import FlowWire
import PathflowConfig
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The probe's counters, published by the capture thread now and then and read by the
/// metrics endpoint.
public final class ProbeCounters: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var packets: UInt64 = 0
        /// IP bytes of the packets accounted.
        public var bytes: UInt64 = 0
        /// Packets left out by 1-in-N sampling.
        public var sampledOut: UInt64 = 0
        /// By `PacketSkip`.
        public var skipped = [UInt64](repeating: 0, count: PacketSkip.allCases.count)
        public var kernelDrops: UInt64 = 0
        public var interfaceDrops: UInt64 = 0
        public var flowsExported: UInt64 = 0
        /// By `ExpiryReason`.
        public var expired = [UInt64](repeating: 0, count: ExpiryReason.allCases.count)
        public var cacheFull: UInt64 = 0
        public var cacheFlows: UInt64 = 0
        public var messagesSent: UInt64 = 0
        public var sendErrors: UInt64 = 0
        /// IPv6 flows NetFlow v5 cannot carry.
        public var v6NotExportable: UInt64 = 0
        /// Later fragments whose first fragment was not seen: counted without ports.
        public var fragmentsUnmatched: UInt64 = 0

        public init() {}
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func store(_ snapshot: Snapshot) {
        state.withLock { $0 = snapshot }
    }
}

/// Reads packets, keeps the flow cache, exports what expires: one thread, no locks.
public final class ProbeEngine {
    let config: ProbeConfig
    let source: PacketSource
    let sockets: [ExportSocket]
    public let counters: ProbeCounters
    /// Set by a signal handler: every running engine ends its loop and exports what it holds.
    public static let stopRequested = Atomic<Bool>(false)
    private var ended = false

    private var cache: FlowCache
    private var fragments = FragmentPorts()
    private var encoder: ExportEncoder?
    private var expiredFlows: [ProbeFlow] = []
    private var clock: UInt64 = 0
    private var nextCheckSeconds: UInt64 = 0
    /// What the engine counts itself; `published()` adds what the cache, the encoder and the
    /// fragment table count.
    private var tally = ProbeCounters.Snapshot()

    public init(config: ProbeConfig, source: PacketSource, sockets: [ExportSocket], counters: ProbeCounters) {
        self.config = config
        self.source = source
        self.sockets = sockets
        self.counters = counters
        cache = FlowCache(
            timeouts: config.timeouts, maxFlows: config.maxFlows, fields: config.keyFields,
            byteLimit: config.version == 5 ? 1 << 31 : 1 << 63)
    }

    /// Ends `run()` of every engine after the packet in hand (a live capture within its read
    /// timeout), with the final export. Async-signal-safe: one atomic store.
    public static func requestStopAll() {
        stopRequested.store(true, ordering: .relaxed)
    }

    /// Reads until the file ends or `requestStop()`, then exports every flow still cached.
    public func run() throws -> ProbeCounters.Snapshot {
        guard let linkType = source.linkType else {
            throw CaptureError("link type \(source.linkTypeName) is not supported (Ethernet, Linux cooked, raw IP, BSD loopback are)")
        }
        if !source.isFile { start(at: Self.wallMicros()) }
        var summary = PacketSummary()
        var sampleCount = 0
        let rate = max(1, config.samplingRate)
        var lastPublish: UInt64 = 0
        while !ended && !Self.stopRequested.load(ordering: .relaxed) {
            switch try source.next() {
            case .packet(let data, let captured, let micros):
                if encoder == nil { start(at: micros) }
                tally.packets &+= 1
                if micros > clock { clock = micros }
                if rate > 1 {
                    sampleCount += 1
                    if sampleCount < rate {
                        tally.sampledOut &+= 1
                        break
                    }
                    sampleCount = 0
                }
                if let skip = PacketParser.parse(data, length: captured, linkType: linkType, into: &summary) {
                    tally.skipped[skip.rawValue] &+= 1
                } else {
                    if summary.fragment != .none { fragments.resolve(&summary, seconds: micros / 1_000_000) }
                    tally.bytes &+= UInt64(summary.ipLength)
                    cache.account(summary, micros: micros, expiredInto: &expiredFlows)
                    if !expiredFlows.isEmpty { export() }
                }
                if clock / 1_000_000 >= nextCheckSeconds { check() }
                if micros / 1_000_000 != lastPublish {
                    lastPublish = micros / 1_000_000
                    publish()
                }
            case .timeout:
                let now = Self.wallMicros()
                if now > clock { clock = now }
                if clock / 1_000_000 >= nextCheckSeconds { check() }
                if now / 1_000_000 != lastPublish {
                    lastPublish = now / 1_000_000
                    publish()
                }
            case .end:
                ended = true
            }
        }
        if !source.isFile {
            let now = Self.wallMicros()
            if now > clock { clock = now }
        }
        if encoder == nil { start(at: clock) }
        cache.drain(into: &expiredFlows)
        export()
        publish()
        return published()
    }

    /// The first packet (or the start of live capture) is the exporter's boot time.
    private func start(at micros: UInt64) {
        clock = max(clock, micros)
        let format = ExportEncoder.Format(rawValue: config.version) ?? .ipfix
        var encoder = ExportEncoder(
            format: format, engineType: config.engineType, engineID: config.engineID,
            samplingRate: UInt32(max(1, config.samplingRate)), vlan: config.keyFields.contains(.vlan),
            bootMicros: micros)
        if let templates = encoder.templatesOnly(nowMicros: micros) { send([templates]) }
        self.encoder = encoder
        nextCheckSeconds = micros / 1_000_000 + UInt64(max(1, config.timeouts.expiryInterval))
    }

    private func check() {
        cache.expire(nowSeconds: clock / 1_000_000, into: &expiredFlows)
        export()
        nextCheckSeconds = clock / 1_000_000 + UInt64(max(1, config.timeouts.expiryInterval))
    }

    private func export() {
        guard var encoder else { return }
        let batch = encoder.encode(expiredFlows, nowMicros: clock)
        tally.flowsExported &+= UInt64(expiredFlows.count)
        expiredFlows.removeAll(keepingCapacity: true)
        self.encoder = encoder
        send(batch)
    }

    private func send(_ batch: [[UInt8]]) {
        for message in batch {
            for socket in sockets {
                if socket.send(message) {
                    tally.messagesSent &+= 1
                } else {
                    tally.sendErrors &+= 1
                }
            }
        }
    }

    /// The tally with what the cache, the encoder and the capture count themselves.
    private func published() -> ProbeCounters.Snapshot {
        var c = tally
        let v6 = encoder?.v6Dropped ?? 0
        c.flowsExported -= v6
        c.v6NotExportable = v6
        c.fragmentsUnmatched = fragments.unmatched
        c.expired = cache.expired
        c.cacheFull = cache.fullEvents
        c.cacheFlows = UInt64(cache.count)
        return c
    }

    private func publish() {
        if let drops = source.drops() {
            tally.kernelDrops = drops.kernel
            tally.interfaceDrops = drops.interface
        }
        counters.store(published())
    }

    static func wallMicros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1000)
    }
}
