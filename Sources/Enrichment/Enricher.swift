import Aggregation
import BGPWire
import FlowWire
import NetCore
import RIB

/// Maps each flow of a datagram to the BGP path it took (DESIGN §3) and writes what the path says
/// into the record: the BGP primitives, and the ASN, mask and next-hop fields as `nfacctd_as` and
/// `nfacctd_net` direct. One per shard, used on the shard's thread only.
///
/// A datagram costs one read section of the RIB: router selection once per exporter, then the
/// destinations (and sources, when a primitive needs them) in one batched lookup each. What an
/// attribute set formats to (AS path, communities) is cached per set, so the text pool's lock is
/// taken only the first time a shard meets a set.
public final class Enricher {
    public struct Settings: Sendable {
        /// `nfacctd_as`.
        public var asSource: Source = .none
        /// `nfacctd_net`.
        public var netSource: Source = .netflow
        /// `bgp_peer_src_as_type: bgp`: peer_src_as from the source address's best path.
        public var peerSrcASFromBGP = false
        /// `bgp_nexthop_mismatch: best`: a flow whose next-hop no path carries takes the best
        /// path's attributes instead of none.
        public var mismatchUsesBest = false
        /// `use_ip_next_hop`: the IP next-hop stands in for a missing BGP next-hop.
        public var useIPNextHop = false
        /// `bgp_agent_map`: the first entry whose exporters hold a flow's exporter (for the
        /// flow's address family) names the BGP peer whose RIB the flow uses.
        public var agentMap: [AgentMapEntry] = []

        public init() {}
    }

    public enum Source: Sendable, Equatable {
        /// Fields stay 0 (pmacct without `nfacctd_as`).
        case none
        /// What the exporter put in the record.
        case netflow
        /// The BGP RIB; 0 when no path was found.
        case bgp
        /// Whichever knows the longer prefix; BGP on a tie (pmacct's `longest`).
        case longest
    }

    /// One `bgp_agent_map` line: flows of these exporters, of the families allowed (pmacct's
    /// `filter='ip'` / `'ip6'` for separate IPv4 and IPv6 sessions), use `bgpIP`'s RIB.
    public struct AgentMapEntry: Sendable, Equatable {
        public var exporters: IPPrefix
        public var bgpIP: IPAddress
        public var v4: Bool
        public var v6: Bool

        public init(exporters: IPPrefix, bgpIP: IPAddress, v4: Bool, v6: Bool) {
            self.exporters = exporters
            self.bgpIP = bgpIP
            self.v4 = v4
            self.v6 = v6
        }
    }

    public private(set) var settings: Settings
    let rib: RIB
    let texts: TextPool
    /// Flows enriched, by `PathMatchCode` raw value.
    public private(set) var matches = [UInt64](repeating: 0, count: PathMatchCode.allCases.count)

    /// What an attribute set gives a flow, by `AttributesRef.rawValue`; valid while `serial`
    /// equals the set's.
    struct Cached {
        var serial: UInt32 = 0
        /// peer_dst_as / peer_src_as and dst_as / src_as, as pmacct derives them (see `asns`).
        var firstASN: UInt32 = 0
        var lastASN: UInt32 = 0
        var localPref: UInt32 = 0
        var med: UInt32 = 0
        var asPath: UInt32 = 0
        var stdComm: UInt32 = 0
        var extComm: UInt32 = 0
        var lrgComm: UInt32 = 0
    }

    /// A flow whose BGP next-hop no path of its prefix carries (`path_match` mismatch), as an
    /// example for `report quality`: per exporter, flow next-hop and prefix, the prefix's paths'
    /// next-hops, and the flows and bytes (as exported) seen since the last `takeMismatches`.
    public struct MismatchSample: Sendable, Equatable {
        public var exporter: IPAddress
        public var flowNextHop: IPAddress
        public var prefix: IPPrefix
        public var pathNextHops: [IPAddress]
        public var flows: UInt64
        public var bytes: UInt64

        public init(exporter: IPAddress, flowNextHop: IPAddress, prefix: IPPrefix, pathNextHops: [IPAddress], flows: UInt64, bytes: UInt64) {
            self.exporter = exporter
            self.flowNextHop = flowNextHop
            self.prefix = prefix
            self.pathNextHops = pathNextHops
            self.flows = flows
            self.bytes = bytes
        }
    }

    /// A mismatch example's identity, in a shard and across shards.
    public struct MismatchKey: Hashable, Sendable {
        public var exporter: IPAddress
        public var flowNextHop: IPAddress
        public var prefix: IPPrefix

        init(exporter: IPAddress, flowNextHop: IPAddress, prefix: IPPrefix) {
            self.exporter = exporter
            self.flowNextHop = flowNextHop
            self.prefix = prefix
        }

        public init(_ s: MismatchSample) {
            self.init(exporter: s.exporter, flowNextHop: s.flowNextHop, prefix: s.prefix)
        }
    }

    /// Distinct mismatches kept between two `takeMismatches`; further ones are only counted.
    public static let mismatchSampleLimit = 256
    private var mismatches: [MismatchKey: MismatchSample] = [:]
    /// Mismatched flows past `mismatchSampleLimit` since the last `takeMismatches`.
    public private(set) var mismatchesNotSampled: UInt64 = 0

    /// The mismatches seen since the last call, and how many flows did not fit.
    public func takeMismatches() -> (samples: [MismatchSample], notSampled: UInt64) {
        defer {
            mismatches.removeAll(keepingCapacity: true)
            mismatchesNotSampled = 0
        }
        return (Array(mismatches.values), mismatchesNotSampled)
    }

    private var cache: [Cached] = []
    /// `bgp_agent_map` resolved per exporter, until the map is reloaded.
    private var agentTargets: [IPAddress: (v4: IPAddress?, v6: IPAddress?)] = [:]
    private var lookups: [FlowLookup] = []
    /// Results of the batched lookups, reused from datagram to datagram.
    private var results = UnsafeMutableBufferPointer<PathMatch>.allocate(capacity: 64)
    /// Record index of each lookup.
    private var owners: [Int] = []
    private let needsSource: Bool

    public init(rib: RIB, texts: TextPool, settings: Settings) {
        self.rib = rib
        self.texts = texts
        self.settings = settings
        needsSource = settings.asSource == .bgp || settings.asSource == .longest || settings.netSource == .bgp
            || settings.netSource == .longest || settings.peerSrcASFromBGP
    }

    /// A reloaded `bgp_agent_map` (SIGUSR2).
    public func replaceAgentMap(_ map: [AgentMapEntry]) {
        settings.agentMap = map
        agentTargets.removeAll()
    }

    /// Enriches `records` in place: every record gets a `pathMatch`.
    public func enrich(_ records: inout [FlowRecord]) {
        guard !records.isEmpty else { return }
        rib.read { reader in
            var lastExporter = IPAddress.none
            var routers: (v4: RouterID?, v6: RouterID?) = (nil, nil)
            lookups.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            for i in records.indices {
                let exporter = records[i].exporterAddress
                if i == 0 || exporter != lastExporter {
                    lastExporter = exporter
                    routers = router(for: exporter, reader)
                }
                let router = records[i].dstAddr.family == .v6 ? routers.v6 : routers.v4
                guard let router else {
                    noPath(&records[i], .noPeer)
                    if needsSource { noSource(&records[i]) }
                    continue
                }
                // An exporter writes 0.0.0.0 (or ::) when it knows no next-hop: that is none.
                var nextHop = Self.known(records[i].bgpNextHop)
                if nextHop.isNone && settings.useIPNextHop { nextHop = Self.known(records[i].ipNextHop) }
                lookups.append(FlowLookup(destination: records[i].dstAddr, nextHop: nextHop, router: router))
                owners.append(i)
            }
            guard !lookups.isEmpty else { return }
            if results.count < lookups.count {
                results.deallocate()
                results = .allocate(capacity: Swift.max(lookups.count, results.count * 2))
            }
            lookups.withUnsafeBufferPointer { reader.match($0, into: results) }
            for (n, i) in owners.enumerated() {
                if results[n].kind == .mismatch { noteMismatch(records[i], results[n], lookups[n], reader) }
                destination(&records[i], results[n], reader)
            }
            guard needsSource else { return }
            // The source side: the best path of the source address's longest prefix.
            for n in lookups.indices {
                lookups[n].destination = records[owners[n]].srcAddr
                lookups[n].nextHop = .none
            }
            lookups.withUnsafeBufferPointer { reader.match($0, into: results) }
            for (n, i) in owners.enumerated() { source(&records[i], results[n], reader) }
        }
    }

    private func router(for exporter: IPAddress, _ reader: borrowing RIBReader) -> (v4: RouterID?, v6: RouterID?) {
        guard !settings.agentMap.isEmpty else {
            let id = reader.router(matching: exporter)
            return (id, id)
        }
        let targets = agentTargets[exporter] ?? {
            let v4 = settings.agentMap.first { $0.v4 && $0.exporters.contains(exporter) }?.bgpIP
            let v6 = settings.agentMap.first { $0.v6 && $0.exporters.contains(exporter) }?.bgpIP
            // Bounded: a flood of spoofed exporters only costs lookups again.
            if agentTargets.count >= 65_536 { agentTargets.removeAll(keepingCapacity: true) }
            agentTargets[exporter] = (v4, v6)
            return (v4, v6)
        }()
        // An exporter the map does not name keeps its own sessions.
        if targets.v4 == nil && targets.v6 == nil {
            let id = reader.router(matching: exporter)
            return (id, id)
        }
        return (targets.v4.flatMap { reader.router(matching: $0) }, targets.v6.flatMap { reader.router(matching: $0) })
    }

    @inline(__always)
    private func destination(_ r: inout FlowRecord, _ m: PathMatch, _ reader: borrowing RIBReader) {
        let code: PathMatchCode
        switch m.kind {
        case .exact: code = .exact
        case .covering: code = .covering
        case .best: code = .best
        case .mismatch: code = .mismatch
        case .noRoute: code = .noRoute
        }
        guard let path = m.path, let prefix = m.prefix, code != .mismatch || settings.mismatchUsesBest else {
            noPath(&r, code)
            return
        }
        matches[Int(code.rawValue)] &+= 1
        r.pathMatch = code.rawValue
        let a = path.attributes
        let c = cached(a, reader)
        if Self.bgpWins(settings.asSource, prefix.length, r.dstMask) {
            r.dstAS = c.lastASN
            r.peerDstAS = c.firstASN
        }
        if Self.bgpWins(settings.netSource, prefix.length, r.dstMask) {
            r.dstMask = prefix.length
            r.bgpNextHop = reader.nextHop(a)
        }
        r.localPref = c.localPref
        r.med = c.med
        r.asPathText = c.asPath
        r.stdCommText = c.stdComm
        r.extCommText = c.extComm
        r.lrgCommText = c.lrgComm
    }

    /// Keeps an example of a mismatch (off the flow path's fast lane: mismatches only).
    @inline(never)
    private func noteMismatch(_ r: FlowRecord, _ m: PathMatch, _ lookup: FlowLookup, _ reader: borrowing RIBReader) {
        guard let prefix = m.prefix else { return }
        let key = MismatchKey(exporter: r.exporterAddress, flowNextHop: lookup.nextHop, prefix: prefix)
        if mismatches[key] != nil {
            mismatches[key]!.flows &+= 1
            mismatches[key]!.bytes &+= r.bytes
            return
        }
        guard mismatches.count < Self.mismatchSampleLimit else {
            mismatchesNotSampled &+= 1
            return
        }
        let hops = reader.paths(of: prefix, router: lookup.router)?.paths.map { reader.nextHop($0.attributes) } ?? []
        mismatches[key] = MismatchSample(
            exporter: r.exporterAddress, flowNextHop: lookup.nextHop, prefix: prefix, pathNextHops: hops, flows: 1, bytes: r.bytes)
    }

    /// No path for the destination: BGP-sourced fields are empty, as in pmacct.
    @inline(__always)
    private func noPath(_ r: inout FlowRecord, _ code: PathMatchCode) {
        matches[Int(code.rawValue)] &+= 1
        r.pathMatch = code.rawValue
        if settings.asSource == .bgp {
            r.dstAS = 0
            r.peerDstAS = 0
        }
        if settings.netSource == .bgp {
            r.dstMask = 0
            r.bgpNextHop = .none
        }
    }

    @inline(__always)
    private func source(_ r: inout FlowRecord, _ m: PathMatch, _ reader: borrowing RIBReader) {
        guard let path = m.path, let prefix = m.prefix else {
            noSource(&r)
            return
        }
        let c = cached(path.attributes, reader)
        if Self.bgpWins(settings.asSource, prefix.length, r.srcMask) {
            r.srcAS = c.lastASN
        }
        if settings.peerSrcASFromBGP { r.peerSrcAS = c.firstASN }
        if Self.bgpWins(settings.netSource, prefix.length, r.srcMask) {
            r.srcMask = prefix.length
        }
    }

    /// No path for the source (or no router).
    @inline(__always)
    private func noSource(_ r: inout FlowRecord) {
        if settings.asSource == .bgp { r.srcAS = 0 }
        if settings.peerSrcASFromBGP { r.peerSrcAS = 0 }
        if settings.netSource == .bgp { r.srcMask = 0 }
    }

    /// `address`, or none when it is all zeros.
    @inline(__always)
    static func known(_ address: IPAddress) -> IPAddress {
        address.high == 0 && address.low == 0 ? .none : address
    }

    /// The neighbouring AS (peer_dst_as) and the origin AS (dst_as) of an AS_PATH, as pmacct
    /// reads them: the first ASN when the path starts with a sequence (the first member AS when
    /// it starts with a confederation sequence; 0 when it starts with a set), and the last ASN of
    /// the last segment whatever its kind, a set's being its largest member (pmacct sorts sets).
    public static func asns(_ segments: [PathAttributes.Segment]) -> (first: UInt32, last: UInt32) {
        var first: UInt32 = 0
        if let head = segments.first, head.kind == .sequence || head.kind == .confedSequence {
            first = head.asns.first ?? 0
        }
        var last: UInt32 = 0
        if let tail = segments.last {
            last = (tail.kind == .set || tail.kind == .confedSet ? tail.asns.max() : tail.asns.last) ?? 0
        }
        return (first, last)
    }

    /// Whether the BGP value replaces the record's under `source`: always for `bgp`; for
    /// `longest` when BGP's prefix is at least as long as the exporter's mask.
    @inline(__always)
    static func bgpWins(_ source: Source, _ bgpLength: UInt8, _ netflowMask: UInt8) -> Bool {
        source == .bgp || (source == .longest && bgpLength >= netflowMask)
    }

    @inline(__always)
    private func cached(_ a: AttributesRef, _ reader: borrowing RIBReader) -> Cached {
        let i = Int(a.rawValue)
        let serial = reader.serial(a)
        if i < cache.count && cache[i].serial == serial { return cache[i] }
        if i >= cache.count { cache.append(contentsOf: repeatElement(Cached(), count: Swift.max(i + 1 - cache.count, cache.count))) }
        let attributes = reader.attributes(a)
        let (first, last) = Self.asns(attributes.asPath)
        let c = Cached(
            serial: serial, firstASN: first, lastASN: last, localPref: attributes.localPref ?? 0, med: attributes.med ?? 0,
            asPath: texts.number(PmacctText.asPath(attributes.asPath)),
            stdComm: texts.number(PmacctText.communities(attributes.communities)),
            extComm: texts.number(PmacctText.extendedCommunities(attributes.extendedCommunities)),
            lrgComm: texts.number(PmacctText.largeCommunities(attributes.largeCommunities)))
        cache[i] = c
        return c
    }
}

@available(*, unavailable)
extension Enricher: Sendable {}
