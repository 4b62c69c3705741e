/// What decoding one datagram did, for the collector's counters.
public struct DecodeOutcome: Sendable, Equatable {
    /// Flow records appended to the output.
    public var records = 0
    /// Non-nil when the whole datagram was rejected; no records were appended then.
    public var error: FlowDecodeError?
    /// Data sets skipped because their template was not known (yet).
    public var unknownTemplateSets = 0
    public var templatesLearned = 0
    public var templatesWithdrawn = 0
    /// Templates not kept: past the session's count or the exporter's memory limit.
    public var templatesRefused = 0
    /// Templates of any exporter evicted to keep the total within its limit.
    public var templatesEvicted = 0
    /// Templates of any exporter forgotten because nobody refreshed or used them.
    public var templatesExpired = 0
    /// New sessions (exporter address and port, observation domain) refused: the exporter's or
    /// the total limit; the datagram is decoded but nothing from it is kept.
    public var sessionsRefused = 0
    /// Idle sessions closed to make room for a new one.
    public var sessionsEvicted = 0
    public var optionsRecords = 0
    /// Flow records with a counter above Int64.max, held at it.
    public var countersSaturated = 0
    /// Data records of templates with neither counters nor addresses (events, RFC 7133 frame
    /// sections): decoded past, not flows.
    public var recordsWithoutFlowFields = 0
    /// Records (v5, IPFIX) or datagrams (v9) the sequence numbers say were lost before this one.
    public var sequenceLost: UInt64 = 0
    /// The sequence number went backwards or jumped too far: the exporter restarted or reordered.
    public var sequenceReset = false
    public var version: UInt8 = 0

    public init() {}
}
