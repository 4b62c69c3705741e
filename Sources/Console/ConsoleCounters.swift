import NIOConcurrencyHelpers

/// What the console refused and closed, as Prometheus metrics: on the collector's /metrics when
/// it runs inside `pathflow collect`, on the console's own /metrics for `pathflow serve`.
public final class ConsoleCounters: Sendable {
    /// One metric's current value; counters only grow.
    public struct Metric: Sendable, Equatable {
        public enum Kind: String, Sendable { case counter, gauge }

        public var name: String
        public var help: String
        public var kind: Kind
        /// One label, as (name, value), or none.
        public var label: Label?
        public var value: UInt64

        public struct Label: Sendable, Equatable {
            public var name: String
            public var value: String
        }
    }

    struct Values {
        var reportsRefused: UInt64 = 0
        var unauthorized: UInt64 = 0
        /// Answers by HTTP status.
        var requests: [Int: UInt64] = [:]
    }

    let gate: ConnectionGate
    private let values = NIOLockedValueBox(Values())

    init(gate: ConnectionGate) {
        self.gate = gate
    }

    func refusedReport() { values.withLockedValue { $0.reportsRefused += 1 } }
    func unauthorizedRequest() { values.withLockedValue { $0.unauthorized += 1 } }
    func answered(status: Int) { values.withLockedValue { $0.requests[status, default: 0] += 1 } }

    /// Every metric, named and explained once for both places they are published.
    public var metrics: [Metric] {
        let v = values.withLockedValue { $0 }
        var list = [
            Metric(name: "pathflow_console_connections_evicted_total",
                   help: "Console connections closed to make room for a new one: the connection limit was reached",
                   kind: .counter, value: gate.evicted),
            Metric(name: "pathflow_console_reports_refused_total",
                   help: "Console reports refused with 503: too many running at once", kind: .counter, value: v.reportsRefused),
            Metric(name: "pathflow_console_unauthorized_total",
                   help: "Console requests refused with 401: no bearer token, or not the console's", kind: .counter, value: v.unauthorized),
            Metric(name: "pathflow_console_connections", help: "Connections open on the console", kind: .gauge, value: UInt64(gate.connections)),
        ]
        for (status, n) in v.requests.sorted(by: { $0.key < $1.key }) {
            list.append(Metric(
                name: "pathflow_console_requests_total", help: "Console requests answered, by HTTP status", kind: .counter,
                label: .init(name: "status", value: String(status)), value: n))
        }
        return list
    }

    /// The metrics in Prometheus' text format.
    public func prometheus() -> String {
        var text = "", described: Set<String> = []
        for m in metrics {
            if described.insert(m.name).inserted {
                text += "# HELP \(m.name) \(m.help)\n# TYPE \(m.name) \(m.kind.rawValue)\n"
            }
            text += m.name + (m.label.map { "{\($0.name)=\"\($0.value)\"}" } ?? "") + " \(m.value)\n"
        }
        return text
    }
}
