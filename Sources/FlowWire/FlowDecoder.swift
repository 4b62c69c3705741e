import NetCore

/// Decodes NetFlow v5, v9 and IPFIX datagrams into `FlowRecord`s.
///
/// A value holding the state the protocols need between datagrams, per transport session and
/// observation domain (`Session`): templates, sampling announced in options data, the next
/// expected sequence number. The state is bounded per exporter address and in total, by memory
/// (`TemplateBudget`), and templates nobody refreshes or uses expire. No sockets, clocks or logs:
/// the caller passes the time. A rejected datagram appends no records and leaves other exporters'
/// state alone.
public struct FlowDecoder: Sendable {
    public struct Limits: Sendable {
        /// Templates kept per session (exporter address and port, observation domain).
        public var templatesPerDomain = 2048
        /// Memory one exporter address may hold in templates, samplers and sessions.
        public var bytesPerExporter = 4 << 20
        /// Memory all exporters may hold; past it the exporter holding the most loses its
        /// oldest templates.
        public var bytesTotal = 64 << 20
        /// Sessions (ports × observation domains) one exporter address may open.
        public var sessionsPerExporter = 256
        /// Sessions in all; a sender cycling through domain ids or ports cannot grow the state
        /// past it. When full, sessions idle for a minute make room.
        public var domainsTotal = 65_536
        /// Sampler ids remembered per session.
        public var samplersPerDomain = 4096
        /// Fields in one template.
        public var fieldsPerTemplate = 1024
        /// Seconds after which a template neither refreshed nor used is forgotten, and a session
        /// without templates and datagrams too; 0 keeps them forever.
        public var templateLifetime: UInt32 = 1800
        /// A forward sequence jump larger than this is a restart, not a loss.
        public var maximumSequenceGap: UInt32 = 1 << 24
        public init() {}
    }

    /// Where templates, options data and sequence numbers live: the transport session (the
    /// exporter's address and UDP port) and the observation domain / source id, per version
    /// (RFC 7011 §8, RFC 3954 §5.1). A template sent from another port of the same address is
    /// another session's and never replaces this one's.
    struct DomainKey: Hashable, Sendable {
        var exporter: IPAddress
        var port: UInt16
        var domain: UInt32
        var version: UInt8
    }

    public var limits: Limits
    var sessions: [DomainKey: Session] = [:]
    var budget = TemplateBudget()
    /// When the last expiry sweep ran (unix seconds).
    var lastSweep: UInt32 = 0
    /// When idle sessions were last closed to make room.
    var lastIdleSweep: UInt32 = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Templates currently known, across exporters.
    public var templateCount: Int { sessions.values.reduce(0) { $0 + $1.templates.count } }

    /// Bytes the decoder's state holds (templates, samplers, sessions), by its own accounting.
    public var stateBytes: Int { budget.bytes }

    /// Bytes one exporter address holds.
    public func stateBytes(of exporter: IPAddress) -> Int { budget.used(by: exporter) }

    /// Sessions (exporter address and port, observation domain) the decoder keeps state for.
    public var sessionCount: Int { sessions.count }

    /// Forgets everything learned from one exporter (it went away or restarted).
    public mutating func forget(exporter: IPAddress) {
        for key in budget.exporters[exporter]?.sessions ?? [] { close(key) }
    }

    /// Decodes one datagram from `exporter`'s UDP `port`, appending its flows to `records`.
    /// `now` (unix seconds, 0 for none) dates template refreshes and use, for expiry.
    public mutating func decode(
        _ datagram: UnsafeRawBufferPointer,
        from exporter: IPAddress,
        port: UInt16 = 0,
        now: UInt32 = 0,
        into records: inout [FlowRecord]
    ) -> DecodeOutcome {
        var outcome = DecodeOutcome()
        let start = records.count
        guard datagram.count >= 2, let base = datagram.baseAddress else {
            outcome.error = .truncatedHeader
            return outcome
        }
        if now != 0 && limits.templateLifetime != 0 && now &- lastSweep >= 60 {
            outcome.templatesExpired = expire(now: now)
        }
        let version = readU16(base, 0)
        outcome.version = UInt8(truncatingIfNeeded: version)
        do {
            switch version {
            case 5: try decodeV5(base, datagram.count, exporter, port, now, &records, &outcome)
            case 9, 10: try decodeTemplated(base, datagram.count, exporter, port, now, &records, &outcome)
            default: throw FlowDecodeError.unsupportedVersion
            }
        } catch {
            records.removeSubrange(start...)
            outcome.records = 0
            outcome.error = error as? FlowDecodeError ?? .badSetHeader
        }
        if budget.bytes > limits.bytesTotal {
            outcome.templatesEvicted += evict(down: limits.bytesTotal - limits.bytesTotal / 10)
        }
        if outcome.error == nil { outcome.records = records.count - start }
        return outcome
    }

    // MARK: - Sessions

    /// The session's index, opened if new and the limits allow; nil when refused (the datagram is
    /// then decoded with a scratch session that keeps nothing).
    mutating func session(_ key: DomainKey, now: UInt32, outcome: inout DecodeOutcome) -> Dictionary<DomainKey, Session>.Index? {
        if let index = sessions.index(forKey: key) { return index }
        guard budget.sessionCount(of: key.exporter) < limits.sessionsPerExporter,
              budget.used(by: key.exporter) + TemplateBudget.sessionBytes <= limits.bytesPerExporter
        else {
            outcome.sessionsRefused += 1
            return nil
        }
        if sessions.count >= limits.domainsTotal && now >= 60 && now != lastIdleSweep {
            // Sessions idle for a minute make room (a flood of one-datagram senders leaves many);
            // at most one sweep a second, so a flood of new senders cannot make every datagram
            // walk the whole table.
            lastIdleSweep = now
            outcome.sessionsEvicted += closeIdle(before: now - 60)
        }
        if sessions.count >= limits.domainsTotal {
            outcome.sessionsRefused += 1
            return nil
        }
        sessions[key] = Session(lastSeen: now)
        budget.openSession(key)
        return sessions.index(forKey: key)
    }

    mutating func close(_ key: DomainKey) {
        guard let session = sessions.removeValue(forKey: key) else { return }
        budget.closeSession(key, bytes: session.bytes + TemplateBudget.sessionBytes)
    }

    /// Closes sessions without templates whose last datagram came before `cutoff`.
    mutating func closeIdle(before cutoff: UInt32) -> Int {
        let idle = sessions.filter { $0.value.templates.isEmpty && $0.value.lastSeen < cutoff }.map(\.key)
        for key in idle { close(key) }
        return idle.count
    }

    /// Forgets templates neither refreshed nor used within the lifetime, then idle sessions.
    mutating func expire(now: UInt32) -> Int {
        lastSweep = now
        guard now > limits.templateLifetime else { return 0 }
        let cutoff = now - limits.templateLifetime
        var expired = 0
        for index in sessions.indices {
            let exporter = sessions.keys[index].exporter
            let freed = sessions.values[index].dropTemplates { $0.lastActive < cutoff }
            expired += freed.count
            budget.release(exporter, bytes: freed.bytes)
        }
        _ = closeIdle(before: cutoff)
        return expired
    }

    /// Evicts the oldest templates of the exporters holding the most until the total is at
    /// most `target` bytes. Returns the templates evicted.
    mutating func evict(down target: Int) -> Int {
        var evicted = 0
        while budget.bytes > target, let exporter = budget.largestExporter() {
            var oldest: (key: DomainKey, id: UInt16, active: UInt32)?
            for key in budget.exporters[exporter]?.sessions ?? [] {
                guard let session = sessions[key], let (id, active) = session.oldestTemplate() else { continue }
                if oldest == nil || active < oldest!.active { oldest = (key, id, active) }
            }
            guard let oldest else {
                // Nothing but sessions: close them.
                for key in budget.exporters[exporter]?.sessions ?? [] { close(key) }
                continue
            }
            if let index = sessions.index(forKey: oldest.key) {
                budget.release(exporter, bytes: sessions.values[index].removeTemplate(oldest.id))
                evicted += 1
            }
        }
        return evicted
    }

    // MARK: - Sequence numbers

    /// What a datagram adds to its session's sequence counter; IPFIX exporters disagree on
    /// details, so two readings may be given (see `Session.track`).
    struct Advance: Sendable, Equatable {
        var first: UInt32
        var second: UInt32
        static func one(_ n: UInt32) -> Advance { Advance(first: n, second: n) }

        func contains(_ predicate: (UInt32) -> Bool) -> Bool { predicate(first) || predicate(second) }
    }

    // MARK: - NetFlow v5

    static let v5HeaderLength = 24
    static let v5RecordLength = 48

    mutating func decodeV5(
        _ base: UnsafeRawPointer, _ length: Int, _ exporter: IPAddress, _ port: UInt16, _ now: UInt32,
        _ records: inout [FlowRecord], _ outcome: inout DecodeOutcome
    ) throws {
        guard length >= Self.v5HeaderLength else { throw FlowDecodeError.truncatedHeader }
        let count = Int(readU16(base, 2))
        guard count >= 1, count <= 30 else { throw FlowDecodeError.recordCountMismatch }
        guard length >= Self.v5HeaderLength + count * Self.v5RecordLength else { throw FlowDecodeError.lengthMismatch }
        let sysUptime = readU32(base, 4)
        let unixSeconds = readU32(base, 8)
        let sequence = readU32(base, 16)
        let engine = UInt32(readU16(base, 20))
        let sampling = UInt32(readU16(base, 22) & 0x3fff)
        records.reserveCapacity(records.count + count)
        for i in 0..<count {
            let o = Self.v5HeaderLength + i * Self.v5RecordLength
            var r = FlowRecord()
            r.version = 5
            r.exporter = exporter
            r.observationDomain = engine
            r.srcAddr = readV4(base, o)
            r.dstAddr = readV4(base, o + 4)
            r.ipNextHop = readV4(base, o + 8)
            r.inIface = UInt32(readU16(base, o + 12))
            r.outIface = UInt32(readU16(base, o + 14))
            r.packets = UInt64(readU32(base, o + 16))
            r.bytes = UInt64(readU32(base, o + 20))
            r.startSeconds = Self.uptimeToUnix(unixSeconds, sysUptime, readU32(base, o + 24))
            r.endSeconds = Self.uptimeToUnix(unixSeconds, sysUptime, readU32(base, o + 28))
            r.srcPort = readU16(base, o + 32)
            r.dstPort = readU16(base, o + 34)
            r.tcpFlags = readU8(base, o + 37)
            r.proto = readU8(base, o + 38)
            r.tos = readU8(base, o + 39)
            r.srcAS = UInt32(readU16(base, o + 40))
            r.dstAS = UInt32(readU16(base, o + 42))
            r.srcMask = readU8(base, o + 44)
            r.dstMask = readU8(base, o + 45)
            r.samplingRate = sampling
            records.append(r)
        }
        let key = DomainKey(exporter: exporter, port: port, domain: engine, version: 5)
        if let index = session(key, now: now, outcome: &outcome) {
            sessions.values[index].lastSeen = now
            sessions.values[index].track(sequence: sequence, advance: .one(UInt32(count)), limits: limits, outcome: &outcome)
        }
    }

    /// A sysUpTime in milliseconds as unix seconds, given the header's pair (pmacct's arithmetic).
    @inline(__always)
    static func uptimeToUnix(_ unixSeconds: UInt32, _ sysUptime: UInt32, _ at: UInt32) -> UInt32 {
        let delta = Int64(Int32(bitPattern: sysUptime &- at)) / 1000
        return UInt32(truncatingIfNeeded: Int64(unixSeconds) - delta)
    }

    // MARK: - NetFlow v9 (RFC 3954) and IPFIX (RFC 7011)

    static let v9HeaderLength = 20
    static let ipfixHeaderLength = 16

    struct ExportHeader {
        var version: UInt8
        var sysUptime: UInt32
        var unixSeconds: UInt32
        var domain: UInt32
        var sequence: UInt32
        var exporter: IPAddress
        var now: UInt32
    }

    mutating func decodeTemplated(
        _ base: UnsafeRawPointer, _ length: Int, _ exporter: IPAddress, _ port: UInt16, _ now: UInt32,
        _ records: inout [FlowRecord], _ outcome: inout DecodeOutcome
    ) throws {
        let header: ExportHeader
        let end: Int
        if readU16(base, 0) == 9 {
            guard length >= Self.v9HeaderLength else { throw FlowDecodeError.truncatedHeader }
            header = ExportHeader(
                version: 9, sysUptime: readU32(base, 4), unixSeconds: readU32(base, 8), domain: readU32(base, 16),
                sequence: readU32(base, 12), exporter: exporter, now: now)
            end = length
        } else {
            guard length >= Self.ipfixHeaderLength else { throw FlowDecodeError.truncatedHeader }
            let messageLength = Int(readU16(base, 2))
            guard messageLength >= Self.ipfixHeaderLength, messageLength <= length else {
                throw FlowDecodeError.lengthMismatch
            }
            header = ExportHeader(
                version: 10, sysUptime: 0, unixSeconds: readU32(base, 4), domain: readU32(base, 12),
                sequence: readU32(base, 8), exporter: exporter, now: now)
            end = messageLength
        }
        let key = DomainKey(exporter: exporter, port: port, domain: header.domain, version: header.version)
        if let index = session(key, now: now, outcome: &outcome) {
            try sessions.values[index].decode(base, end, header, limits: limits, budget: &budget, &records, &outcome)
        } else {
            var scratch = Session(lastSeen: now)
            var nothing = TemplateBudget()
            try scratch.decode(base, end, header, limits: limits, budget: &nothing, &records, &outcome)
        }
    }
}
