import NetCore

/// One flow's question for `RIBReader.match(_:into:)`: the path to `destination` through the
/// BGP next-hop `nextHop` (`.none` if the flow has none) in `router`'s table.
public struct FlowLookup: Sendable, Hashable {
    public var destination: IPAddress
    public var nextHop: IPAddress
    public var router: RouterID

    @inlinable
    public init(destination: IPAddress, nextHop: IPAddress, router: RouterID) {
        self.destination = destination
        self.nextHop = nextHop
        self.router = router
    }
}
