import NetCore

/// One line of a pmacct `sampling_map`: the sampling rate to assume for flows from matching
/// exporters (and interfaces), overriding what the exporter reports.
public struct SamplingRule: Sendable, Hashable {
    /// `in=N` / `out=N`; `in=-N` matches every interface but N.
    public struct InterfaceMatch: Sendable, Hashable {
        public var ifIndex: UInt32
        public var negated: Bool

        public init(ifIndex: UInt32, negated: Bool = false) {
            self.ifIndex = ifIndex
            self.negated = negated
        }

        public func matches(_ value: UInt32) -> Bool {
            (value == ifIndex) != negated
        }
    }

    /// `id=`: 1 out of `rate` packets was sampled.
    public var rate: Int
    /// `ip=`: the exporter address or prefix.
    public var exporter: IPPrefix
    public var input: InterfaceMatch?
    public var output: InterfaceMatch?
    /// Where the rule came from, for logs.
    public var file: String
    public var line: Int

    public init(
        rate: Int, exporter: IPPrefix, input: InterfaceMatch? = nil, output: InterfaceMatch? = nil,
        file: String = "", line: Int = 0
    ) {
        self.rate = rate
        self.exporter = exporter
        self.input = input
        self.output = output
        self.file = file
        self.line = line
    }

    /// `input`/`output` are the flow's interface indexes, 0 when the record has none.
    /// An IPv4-mapped IPv6 exporter address (seen on a dual-stack socket) matches as IPv4.
    public func matches(exporter address: IPAddress, input inIndex: UInt32, output outIndex: UInt32) -> Bool {
        exporter.contains(SamplingRule.unmapped(address))
            && (input?.matches(inIndex) ?? true)
            && (output?.matches(outIndex) ?? true)
    }

    static func unmapped(_ address: IPAddress) -> IPAddress {
        guard address.family == .v6, address.high == 0, address.low >> 32 == 0xffff else { return address }
        return IPAddress(v4: UInt32(truncatingIfNeeded: address.low))
    }
}

extension Array where Element == SamplingRule {
    /// The first full match wins, as in pmacct's maps; nil when no rule matches (the rate the
    /// exporter reports then applies).
    public func samplingRate(exporter: IPAddress, input: UInt32, output: UInt32) -> Int? {
        first { $0.matches(exporter: exporter, input: input, output: output) }?.rate
    }
}
