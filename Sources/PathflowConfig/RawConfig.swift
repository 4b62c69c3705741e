/// A configuration file split into `key[name]: value` lines, before any key is interpreted.
public struct RawConfig: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        /// Lowercased, with whitespace removed, as pmacct normalises keys.
        public var key: String
        /// The plugin instance from `key[name]`, case kept (pmacct matches names exactly).
        public var instance: String?
        /// Trimmed at both ends; case kept (each key decides whether case matters).
        public var value: String
        public var file: String
        public var line: Int

        public init(key: String, instance: String?, value: String, file: String, line: Int) {
            self.key = key
            self.instance = instance
            self.value = value
            self.file = file
            self.line = line
        }

        /// The key as the user wrote it, for messages.
        public var displayKey: String {
            instance.map { "\(key)[\($0)]" } ?? key
        }
    }

    public var file: String
    public var lines: [Line]
    /// Syntax errors; pmacct exits on each of them, so they are fatal.
    public var diagnostics: [ConfigDiagnostic]

    public init(file: String, lines: [Line], diagnostics: [ConfigDiagnostic] = []) {
        self.file = file
        self.lines = lines
        self.diagnostics = diagnostics
    }
}
