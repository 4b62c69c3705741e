/// An interned attribute set (see `AttributeStore`): equal `PathAttributes` share one reference,
/// across prefixes and routers. Valid while some path holds it; read it only inside `RIB.read`.
public struct AttributesRef: Hashable, Sendable, BitwiseCopyable {
    public let rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) { self.rawValue = rawValue }
}

/// One path of a prefix as a router sent it: its ADD-PATH identifier (RFC 7911; 0 without
/// ADD-PATH) and its attributes. Eight bytes, so four of them sit inline in a prefix entry.
public struct Path: Hashable, Sendable, BitwiseCopyable {
    public var pathID: UInt32
    public var attributes: AttributesRef

    @inlinable
    public init(pathID: UInt32, attributes: AttributesRef) {
        self.pathID = pathID
        self.attributes = attributes
    }
}
