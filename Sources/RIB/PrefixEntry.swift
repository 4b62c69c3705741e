import NetCore

/// A prefix with every path a router holds for it, ordered by path id.
public struct PrefixEntry: Sendable, Hashable {
    public var prefix: IPPrefix
    public var paths: [Path]
    /// Index in `paths` of the best path (RFC 4271 §9.1.2.2 with RFC 4456 tie-breaks).
    public var bestIndex: Int

    public init(prefix: IPPrefix, paths: [Path], bestIndex: Int) {
        self.prefix = prefix
        self.paths = paths
        self.bestIndex = bestIndex
    }

    public var best: Path { paths[bestIndex] }
}
