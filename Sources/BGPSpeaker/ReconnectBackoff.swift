import NIOCore

/// Delays between connection attempts to an active neighbour: `initial`, doubling up to
/// `maximum`, each scaled by a random factor in [1 - jitter, 1] (RFC 4271 §10's 0.75–1.0 by
/// default) so that neighbours lost together do not reconnect together.
public struct ReconnectBackoff: Sendable, Equatable {
    public struct Policy: Sendable, Equatable {
        public var initial: TimeAmount = .seconds(1)
        public var maximum: TimeAmount = .seconds(60)
        public var jitter = 0.25
        /// A session that stayed established this long starts the next series from `initial`.
        public var stableAfter: TimeAmount = .seconds(60)

        public init() {}
    }

    public let policy: Policy
    /// Failed attempts since the last reset.
    public private(set) var attempts = 0

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// The delay before the next attempt; counts one more attempt.
    public mutating func next(using random: inout some RandomNumberGenerator) -> TimeAmount {
        // 2^attempts with the exponent bounded, so it cannot overflow however long a peer stays away.
        let doubled = policy.initial.nanoseconds.multipliedReportingOverflow(by: 1 << Int64(min(attempts, 32)))
        let base = doubled.overflow ? policy.maximum.nanoseconds : min(doubled.partialValue, policy.maximum.nanoseconds)
        attempts += 1
        let jitter = max(0, min(1, policy.jitter))
        let factor = jitter == 0 ? 1 : Double.random(in: (1 - jitter)...1, using: &random)
        return .nanoseconds(Int64(Double(base) * factor))
    }

    public mutating func reset() {
        attempts = 0
    }
}
