import NetCore

/// What one configuration key does; `ConfigKeys` maps every key name to one of these.
enum KeyRule: Sendable {
    /// Sets a daemon-wide field; given as `key[name]` it is still applied daemon-wide (pmacct's
    /// "Globalized"), and reported.
    case global(Global)
    /// Sets a field of every view, or of one view when given as `key[name]`.
    case view(View)
    case plugins
    /// A pmacct knob for performance or operations that pathflow does not need.
    case noEffect
    /// A pmacct feature that changes what the data means and is not implemented: fatal,
    /// unless the value is one that leaves pmacct's default behaviour unchanged.
    case unimplemented(reason: String, harmless: [String])

    /// A value that cannot be used.
    enum Problem: Error, Sendable {
        /// Reported and skipped, as pmacct does for a value it rejects.
        case invalid(String)
        /// Fatal: pmacct would refuse to start, or the value asks for an unimplemented feature.
        case unsupported(String)
    }

    typealias GlobalApply = @Sendable (inout ConfigEvaluator.GlobalDraft, RawConfig.Line) -> Void

    struct Global: Sendable {
        /// Parses once; the result is applied in file order so the last line wins.
        let parse: @Sendable (String) -> Result<GlobalApply, Problem>
    }

    struct ViewUpdate: Sendable {
        let view: @Sendable (inout ConfigEvaluator.ViewDraft) -> Void
        /// For keys that are also daemon-wide (timestamps_utc) when given without a name.
        let global: (@Sendable (inout CollectorConfig) -> Void)?
    }

    struct View: Sendable {
        let parse: @Sendable (String) -> Result<ViewUpdate, Problem>
    }
}

// MARK: - Value kinds shared by many keys

extension KeyRule.Global {
    static func bool(_ set: @escaping @Sendable (inout CollectorConfig, Bool) -> Void) -> Self {
        Self { value in
            guard let flag = ConfigValue.bool(value) else { return .failure(ConfigValue.notBool(value)) }
            return .success { draft, _ in set(&draft.config, flag) }
        }
    }

    static func text(_ set: @escaping @Sendable (inout CollectorConfig, String) -> Void) -> Self {
        Self { value in
            guard !value.isEmpty else { return .failure(.invalid("empty value")) }
            return .success { draft, _ in set(&draft.config, value) }
        }
    }

    static func table<T: Sendable>(
        _ values: [String: Result<T, KeyRule.Problem>], expected: String,
        _ set: @escaping @Sendable (inout CollectorConfig, T) -> Void
    ) -> Self {
        Self { value in
            guard let entry = values[ASCIIText.lowercased(value)] else {
                return .failure(.invalid("invalid value '\(value)': expected \(expected)"))
            }
            return entry.map { parsed in { draft, _ in set(&draft.config, parsed) } }
        }
    }
}

extension KeyRule.View {
    static func bool(_ set: @escaping @Sendable (inout ViewConfig, Bool) -> Void) -> Self {
        Self { value in
            guard let flag = ConfigValue.bool(value) else { return .failure(ConfigValue.notBool(value)) }
            return .success(KeyRule.ViewUpdate(view: { set(&$0.config, flag) }, global: nil))
        }
    }

    static func parsed<T: Sendable>(
        _ parse: @escaping @Sendable (String) -> Result<T, KeyRule.Problem>,
        _ set: @escaping @Sendable (inout ConfigEvaluator.ViewDraft, T) -> Void
    ) -> Self {
        Self { value in
            parse(value).map { parsed in KeyRule.ViewUpdate(view: { set(&$0, parsed) }, global: nil) }
        }
    }
}
