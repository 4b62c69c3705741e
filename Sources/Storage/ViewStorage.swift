import Aggregation

/// One flush of one view: the rows every shard drained since the last flush, not merged (a key
/// drained by two shards is in two parts; a backend that cannot add rows up merges them).
public struct FlushBatch: Sendable {
    public var parts: [DrainedRows]
    /// The flush time, Unix seconds: pmacct's stamp_updated.
    public var now: Int
    /// Resolves the AS path and community numbers of the keys.
    public var texts: TextPool?

    public init(parts: [DrainedRows], now: Int, texts: TextPool?) {
        self.parts = parts
        self.now = now
        self.texts = texts
    }

    public var rowCount: Int { parts.reduce(0) { $0 + $1.count } }
}

/// How long a write took and how many rows it stored.
public struct WriteResult: Sendable {
    public var rows: Int
    public var seconds: Double

    public init(rows: Int, seconds: Double) {
        self.rows = rows
        self.seconds = seconds
    }
}

/// What every storage backend has beside its writes: where it writes (for logs), work of its own
/// (e.g. sending a spool to a server), run by the collector from its start until `finish` is
/// called, which it does after the final flush at a stop, and its own metrics, published with
/// the collector's (each labelled with the view).
public protocol StorageBackend: Sendable {
    /// Where the rows go, for logs: e.g. `sqlite3 /var/lib/pathflow/flows.db table acct`.
    var location: String { get }
    func run() async
    /// Asks `run` to finish what it can and return.
    func finish()
    var counters: [StorageCounter] { get }
}

extension StorageBackend {
    public func run() async {}
    public func finish() {}
    public var counters: [StorageCounter] { [] }
}

/// The write side of a storage backend for one view: the seam every plugin (`sqlite3`, `print`,
/// …) sits behind. The collector drains its views every refresh interval and hands each batch
/// to its view's storage; a batch that failed is handed again, with the next one, until it is
/// written or the view's backlog bound drops it (counted).
public protocol ViewStorage: StorageBackend {
    /// Stores a batch all or nothing: when it throws, nothing of the batch may be kept, so the
    /// same batch written again is not counted twice.
    func write(_ batch: FlushBatch) throws -> WriteResult
}

/// One of a backend's metrics.
public struct StorageCounter: Sendable, Equatable {
    public enum Kind: Sendable { case counter, gauge }

    public var name: String
    public var help: String
    public var kind: Kind
    public var value: Double

    public init(_ name: String, _ kind: Kind, _ value: Double, help: String) {
        self.name = name
        self.kind = kind
        self.value = value
        self.help = help
    }
}

/// A sqlite3 view: one table (and its daily rollup) in a `SQLiteStore` shared by the views
/// writing to the same file.
public struct SQLiteViewStorage: ViewStorage {
    public let store: SQLiteStore
    public let schema: TableSchema
    /// timestamps_utc: stamps written in UTC instead of local time.
    public let utc: Bool

    public init(store: SQLiteStore, schema: TableSchema, utc: Bool) {
        self.store = store
        self.schema = schema
        self.utc = utc
    }

    public func write(_ batch: FlushBatch) throws -> WriteResult {
        try store.write(table: schema.table, parts: batch.parts, now: batch.now, utc: utc, texts: batch.texts)
    }

    public var location: String { "sqlite3 \(store.path) table \(schema.table)" }
}
