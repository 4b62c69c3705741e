/// Sizes of the whole RIB.
public struct RIBStatistics: Sendable, Hashable {
    public var routers = 0
    public var prefixes = 0
    public var paths = 0
    /// Distinct attribute sets interned (shared across prefixes and routers).
    public var attributeSets = 0
    /// Bytes held by the RIB's own tables (prefix tables, tries, interning arena and index).
    /// The attribute values' own arrays (AS paths, communities) are not included.
    public var tableBytes = 0

    public init() {}
}
