/// What one UPDATE did to a router's table (counters for the session's metrics).
public struct ApplyResult: Sendable, Hashable {
    /// Paths that were not held before.
    public var announced = 0
    /// Implicit replaces: a path announced again under the same prefix and path id (RFC 7911 §2).
    public var replaced = 0
    public var withdrawn = 0
    /// Withdrawals of a (prefix, path id) the table did not hold.
    public var withdrawnUnknown = 0
    /// Announcements refused because the router's table reached its prefix limit.
    public var rejected = 0
    /// The router's totals after the UPDATE.
    public var pathsHeld = 0
    public var prefixesHeld = 0

    public init() {}
}
