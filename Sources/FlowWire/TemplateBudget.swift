import NetCore

/// What the decoder's state costs, per exporter address and in total, and the rules that keep
/// it bounded: templates, options data (samplers) and sessions are charged to the exporter that
/// sent them. An exporter past its own share is refused; when the total is full, room is made
/// by evicting the oldest template of the exporter holding the most, so one exporter's churn
/// (or a flood of spoofed ones) never evicts or blocks a well-behaved exporter's few templates.
struct TemplateBudget: Sendable {
    struct Exporter: Sendable {
        var bytes = 0
        /// The exporter's sessions, to find its templates when evicting.
        var sessions: [FlowDecoder.DomainKey] = []
    }

    var exporters: [IPAddress: Exporter] = [:]
    var bytes = 0
    var sessions = 0

    /// What one session costs before its templates and samplers (its table entries, sequence
    /// state), and what one sampler entry costs.
    static let sessionBytes = 256
    static let samplerBytes = 32

    /// Bytes a template holds: its fields, its read operations and the table entry.
    static func cost(of template: Template) -> Int {
        template.fields.count * MemoryLayout<Template.Field>.stride
            + template.ops.count * MemoryLayout<Template.Op>.stride + 160
    }

    func used(by exporter: IPAddress) -> Int {
        exporters[exporter]?.bytes ?? 0
    }

    mutating func charge(_ exporter: IPAddress, bytes: Int) {
        self.bytes += bytes
        exporters[exporter, default: Exporter()].bytes += bytes
    }

    mutating func release(_ exporter: IPAddress, bytes: Int) {
        self.bytes -= bytes
        guard let index = exporters.index(forKey: exporter) else { return }
        exporters.values[index].bytes -= bytes
        if exporters.values[index].bytes <= 0 && exporters.values[index].sessions.isEmpty {
            exporters.remove(at: index)
        }
    }

    func sessionCount(of exporter: IPAddress) -> Int {
        exporters[exporter]?.sessions.count ?? 0
    }

    mutating func openSession(_ key: FlowDecoder.DomainKey) {
        sessions += 1
        exporters[key.exporter, default: Exporter()].sessions.append(key)
        charge(key.exporter, bytes: Self.sessionBytes)
    }

    /// Forgets a session that held `bytes` in all (its own cost included).
    mutating func closeSession(_ key: FlowDecoder.DomainKey, bytes: Int) {
        sessions -= 1
        if let index = exporters.index(forKey: key.exporter) {
            exporters.values[index].sessions.removeAll { $0 == key }
        }
        release(key.exporter, bytes: bytes)
    }

    /// The exporter holding the most, the one to evict from when the total is full.
    func largestExporter() -> IPAddress? {
        exporters.max { $0.value.bytes < $1.value.bytes }?.key
    }
}
