import BGPWire
import NetCore

/// A view of the RIB for the duration of one `RIB.read`; it cannot be kept past it. Paths and
/// attribute references it returns are valid inside that `read` only.
public struct RIBReader: ~Copyable {
    let core: UnsafePointer<RIBCore>
    private let directory: UnsafePointer<RouterDirectory>

    init(core: UnsafePointer<RIBCore>, directory: UnsafePointer<RouterDirectory>) {
        self.core = core
        self.directory = directory
    }

    /// Every router, in the order they were added.
    public var routers: [RouterSummary] {
        directory.pointee.order.compactMap { summary(of: $0) }
    }

    public func summary(of router: RouterID) -> RouterSummary? {
        guard let table = core.pointee.table(router), let peer = directory.pointee.peers[router] else { return nil }
        return RouterSummary(id: router, peer: peer, prefixes: table.pointee.prefixCount, paths: table.pointee.pathCount)
    }

    /// The router a flow exporter is (DESIGN §3 step 1): the one whose session address is
    /// `address`, else the one whose BGP identifier is this IPv4 address. The newest session wins.
    public func router(matching address: IPAddress) -> RouterID? {
        directory.pointee.router(matching: address)
    }

    /// The path for a flow to `destination` whose BGP next-hop is `nextHop` (`.none` if the flow
    /// has none): see `PathMatch.Kind`. IPv4 destinations only match IPv4 prefixes.
    @inline(__always)
    public func match(destination: IPAddress, nextHop: IPAddress, router: RouterID) -> PathMatch {
        guard let table = RIBCore.table(core, router) else { return .noRoute }
        return RouterTable.match(table, destination, nextHop: nextHop, summaries: core.pointee.store.summaries)
    }

    /// The best path of the longest prefix covering `address` (the flow's source side, DESIGN §3
    /// step 7): kind `best`, or `noRoute`.
    @inline(__always)
    public func bestPath(for address: IPAddress, router: RouterID) -> PathMatch {
        match(destination: address, nextHop: IPAddress(high: 0, low: 0, family: .none), router: router)
    }

    /// The longest prefix covering `address`, with all its paths.
    public func longestMatch(_ address: IPAddress, router: RouterID) -> PrefixEntry? {
        core.pointee.table(router)?.pointee.longestMatch(address)
    }

    /// Exactly `prefix`, with all its paths (a looking glass).
    public func paths(of prefix: IPPrefix, router: RouterID) -> PrefixEntry? {
        core.pointee.table(router)?.pointee.entry(prefix)
    }

    /// Every path of a router (table dumps): IPv4 first, prefixes in no particular order.
    public func forEachPath(router: RouterID, _ body: (_ prefix: IPPrefix, _ path: Path, _ isBest: Bool) throws -> Void) rethrows {
        try core.pointee.table(router)?.pointee.forEachPath(body)
    }

    /// The attribute set `ref` names. `ref` must come from a path returned inside this `read`.
    public func attributes(_ ref: AttributesRef) -> PathAttributes {
        core.pointee.store.attributes(ref)
    }

    /// NEXT_HOP (or MP_REACH_NLRI next-hop) of `ref`, without copying the set.
    @inline(__always)
    public func nextHop(_ ref: AttributesRef) -> IPAddress {
        summary(ref).nextHop
    }

    /// First ASN of the AS_PATH, where traffic leaves us (peer_dst_as); 0 for an empty path.
    @inline(__always)
    public func firstASN(_ ref: AttributesRef) -> UInt32 {
        summary(ref).firstASN
    }

    /// Last ASN of the AS_PATH, the origin AS (dst_as); 0 for an empty path.
    @inline(__always)
    public func lastASN(_ ref: AttributesRef) -> UInt32 {
        summary(ref).lastASN
    }

    /// Tells attribute sets apart over time: a reference whose slot was freed and reused for
    /// another set has a different serial. Caches of what a set's attributes format to key on
    /// (reference, serial).
    @inline(__always)
    public func serial(_ ref: AttributesRef) -> UInt32 {
        summary(ref).serial
    }

    @inline(__always)
    private func summary(_ ref: AttributesRef) -> AttributeSummary {
        let summaries = core.pointee.store.summaries
        precondition(Int(ref.rawValue) < summaries.capacity, "RIBReader: \(ref) is not an attribute set of this RIB")
        return summaries[Int(ref.rawValue)]
    }

    /// How many paths use `ref`. Internal: `removeRouter` changes use counts outside the lock.
    func references(_ ref: AttributesRef) -> Int {
        core.pointee.store.references(ref)
    }

    public var statistics: RIBStatistics {
        core.pointee.statistics(routers: directory.pointee.order)
    }
}
