import Aggregation
import Foundation
import Logging
import NIOCore
import Synchronization

/// A clickhouse view's settings (the `clickhouse_*` keys).
public struct ClickHouseSettings: Sendable, Equatable {
    /// The server this collector inserts into (its shard's node in a cluster).
    public var url: String
    public var user: String?
    public var password: String?
    /// Seconds an insert or a statement may take before it counts as failed.
    public var timeoutSeconds: Int
    /// Where batches wait for the server; one directory per view.
    public var spoolDirectory: String
    public var spoolBytes: Int
    /// Days of partitions kept; nil keeps everything.
    public var retentionDays: Int?
    /// At a stop, seconds spent sending what is left; the rest stays in the spool for the next run.
    public var drainSeconds: Double = 10

    public init(
        url: String, user: String? = nil, password: String? = nil, timeoutSeconds: Int = 30,
        spoolDirectory: String, spoolBytes: Int = 1 << 30, retentionDays: Int? = nil
    ) {
        self.url = url
        self.user = user
        self.password = password
        self.timeoutSeconds = timeoutSeconds
        self.spoolDirectory = spoolDirectory
        self.spoolBytes = spoolBytes
        self.retentionDays = retentionDays
    }
}

/// A clickhouse view: each flush is encoded (RowBinary), cut into inserts of one UTC day and at
/// most `maximumRows` rows (one part each on the server: stored whole or not at all) and put in
/// the on-disk spool; a sender sends the spool in order.
///
/// Nothing lost: a batch leaves the spool only when the server has confirmed it, or when a check
/// finds it there. Nothing counted twice: every insert carries a random `batch_id` in its rows
/// and the same `query_id` on every try. After a try whose outcome is unknown (timeout, reset,
/// an error answer), the sender waits until the server answers, waits until no query with that
/// id runs (a frozen server finishes the first try when it resumes; a second try with the same
/// id while it runs is refused by the server), then counts the batch's rows: all there, it is
/// done; none, it is sent again; some (an insert cut short), they are deleted first.
public final class ClickHouseViewStorage: ViewStorage {
    public struct Stats: Sendable, Equatable {
        public var insertedBatches: UInt64 = 0
        public var insertedRows: UInt64 = 0
        public var failedInserts: UInt64 = 0
        /// Batches a check found already stored after a try that looked failed: not sent again.
        public var batchesFoundStored: UInt64 = 0
        /// Batches found partly stored, whose rows were deleted before sending them again.
        public var partialBatchesRemoved: UInt64 = 0
        public var spoolBatches: Int = 0
        public var spoolBytes: Int = 0
        public var healthy: Bool = true
        public var droppedPartitions: UInt64 = 0
    }

    public let schema: ClickHouseSchema
    public let settings: ClickHouseSettings
    public let spool: ClickHouseSpool
    let client: ClickHouseClient
    let state = Mutex(SenderState())
    /// Rows per insert: under the server's max_insert_block_size (1,048,576), so one insert is one block.
    public static let maximumRows = 1_000_000

    struct SenderState {
        var stats = Stats()
        var tablesReady = false
        /// Batches whose last try has an unknown outcome.
        var uncertain: Set<UInt64> = []
        var stopping = false
    }

    let logger: Logger

    public init(schema: ClickHouseSchema, settings: ClickHouseSettings, logger: Logger = Logger(label: "pathflow.clickhouse")) throws {
        self.schema = schema
        self.settings = settings
        self.logger = logger
        self.spool = try ClickHouseSpool(directory: settings.spoolDirectory, limit: settings.spoolBytes)
        self.client = ClickHouseClient(
            url: settings.url, user: settings.user, password: settings.password,
            timeout: .seconds(Int64(settings.timeoutSeconds)))
    }

    public var location: String { "clickhouse \(settings.url) table \(schema.database).\(schema.insertTable)" }

    public var stats: Stats {
        var s = state.withLock { $0.stats }
        s.spoolBatches = spool.count
        s.spoolBytes = spool.bytes
        return s
    }

    // MARK: write side

    public func write(_ batch: FlushBatch) throws -> WriteResult {
        let started = Date()
        let count = batch.rowCount
        if count == 0 { return WriteResult(rows: 0, seconds: 0) }
        let texts = schema.primitives.contains(where: \.isText) ? (batch.texts?.snapshot() ?? [""]) : [""]
        let updated = UInt32(clamping: batch.now)
        struct Block {
            var writer = RowBinaryWriter()
            var rows = 0
            var first = UInt32.max
            var last = UInt32.min
            var id = UInt64.random(in: 1...UInt64.max)
        }
        // Blocks are changed in place (an index per open day): taking one out of a dictionary
        // to append a row would copy its bytes every row.
        var blocks: [Block] = []
        var open: [UInt32: Int] = [:]
        for part in batch.parts {
            part.forEach { key, counters in
                let day = key.bin / 86_400
                let i: Int
                if let known = open[day] {
                    i = known
                } else {
                    i = blocks.count
                    blocks.append(Block())
                    open[day] = i
                }
                blocks[i].writer.row(
                    key.key, bin: key.bin, counters: counters, updated: updated, batch: blocks[i].id, schema: schema, texts: texts)
                blocks[i].rows += 1
                blocks[i].first = min(blocks[i].first, key.bin)
                blocks[i].last = max(blocks[i].last, key.bin)
                if blocks[i].rows >= Self.maximumRows { open[day] = nil }
            }
        }
        let done = blocks
        try spool.addAll(done.map { ($0.id, $0.rows, $0.first, $0.last, $0.writer.bytes) })
        return WriteResult(rows: count, seconds: Date().timeIntervalSince(started))
    }

    // MARK: sender

    public func run() async { await runSender(drainSeconds: settings.drainSeconds) }

    /// Asks the sender to finish: it sends what it can within its drain budget, then returns.
    public func finish() {
        state.withLock { $0.stopping = true }
    }

    public var counters: [StorageCounter] {
        let s = stats
        return [
            StorageCounter("pathflow_clickhouse_inserted_batches_total", .counter, Double(s.insertedBatches),
                           help: "Inserts ClickHouse confirmed"),
            StorageCounter("pathflow_clickhouse_inserted_rows_total", .counter, Double(s.insertedRows),
                           help: "Rows in the inserts ClickHouse confirmed"),
            StorageCounter("pathflow_clickhouse_failed_inserts_total", .counter, Double(s.failedInserts),
                           help: "Inserts that failed or timed out (kept in the spool and tried again)"),
            StorageCounter("pathflow_clickhouse_batches_found_stored_total", .counter, Double(s.batchesFoundStored),
                           help: "Inserts that looked failed but were found stored: not sent again"),
            StorageCounter("pathflow_clickhouse_partial_batches_removed_total", .counter, Double(s.partialBatchesRemoved),
                           help: "Inserts found partly stored, whose rows were deleted before sending them again"),
            StorageCounter("pathflow_clickhouse_dropped_partitions_total", .counter, Double(s.droppedPartitions),
                           help: "Days dropped by clickhouse_retention_days"),
            StorageCounter("pathflow_clickhouse_spool_batches", .gauge, Double(s.spoolBatches),
                           help: "Inserts waiting in the spool"),
            StorageCounter("pathflow_clickhouse_spool_bytes", .gauge, Double(s.spoolBytes),
                           help: "Bytes waiting in the spool (bounded by clickhouse_spool_bytes)"),
            StorageCounter("pathflow_clickhouse_healthy", .gauge, s.healthy ? 1 : 0,
                           help: "1 when the last insert or check succeeded, 0 while they fail"),
        ]
    }

    /// Sends the spool until `finish`; then, for at most `drainSeconds`, what is left.
    public func runSender(drainSeconds: Double = 10) async {
        var backoff = 0.5
        var drainUntil: Date?
        var failures = 0
        if spool.count > 0 {
            logger.notice("batches left in the spool by the last run are sent first", metadata: [
                "storage": "\(location)", "batches": "\(spool.count)", "bytes": "\(spool.bytes)",
            ])
        }
        while true {
            if drainUntil == nil, state.withLock({ $0.stopping }) {
                drainUntil = Date().addingTimeInterval(drainSeconds)
            }
            if let drainUntil, spool.oldest == nil || Date() >= drainUntil {
                if spool.count > 0 {
                    logger.warning("stopping with batches in the spool; the next run sends them", metadata: [
                        "storage": "\(location)", "batches": "\(spool.count)", "spool": "\(spool.directory)",
                    ])
                }
                return
            }
            guard let batch = spool.oldest else {
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            do {
                try await send(batch)
                if failures > 0 {
                    logger.notice("ClickHouse takes inserts again", metadata: [
                        "storage": "\(location)", "failed_tries": "\(failures)", "spool_batches": "\(spool.count)",
                    ])
                }
                failures = 0
                backoff = 0.5
                state.withLock { $0.stats.healthy = true }
                try await dropExpiredPartitions()
            } catch {
                failures += 1
                // Every failure while it lasts a few times, then about once a minute.
                if failures <= 3 || failures % 30 == 0 {
                    logger.error("ClickHouse insert failed; the batch stays in the spool", metadata: [
                        "storage": "\(location)", "failed_tries": "\(failures)", "spool_batches": "\(spool.count)",
                        "spool_bytes": "\(spool.bytes)", "error": "\(error)",
                    ])
                }
                state.withLock { $0.stats.healthy = false }
                try? await Task.sleep(for: .milliseconds(Int(backoff * 1000)))
                backoff = min(backoff * 2, 30)
            }
        }
    }


    func send(_ batch: ClickHouseSpool.Batch) async throws {
        if !state.withLock({ $0.tablesReady }) {
            try await prepareTables()
        }
        let queryID = "pathflow-\(String(batch.id, radix: 16))"
        if state.withLock({ $0.uncertain.contains(batch.id) }) {
            // The server answers again: give a first try it held a moment to register.
            try await client.query("SELECT 1")
            try await Task.sleep(for: .seconds(1))
            let running = try await client.query("SELECT count() FROM system.processes WHERE query_id = '\(queryID)'")
            if Int(running.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1 > 0 {
                throw ClickHouseClient.Error.transport(url: settings.url, reason: "the first try of batch \(queryID) still runs")
            }
            let stored = try await storedRows(batch)
            if stored == batch.rows {
                spool.remove(batch)
                state.withLock {
                    $0.uncertain.remove(batch.id)
                    $0.stats.batchesFoundStored += 1
                }
                logger.notice("an insert that looked failed was stored; not sent again", metadata: [
                    "storage": "\(location)", "batch_id": "\(batch.id)", "rows": "\(batch.rows)",
                ])
                return
            }
            if stored > 0 {
                try await removeRows(batch)
                state.withLock { $0.stats.partialBatchesRemoved += 1 }
                logger.warning("an insert was partly stored; its rows were deleted before sending it again", metadata: [
                    "storage": "\(location)", "batch_id": "\(batch.id)", "rows": "\(batch.rows)", "stored": "\(stored)",
                ])
            }
        }
        let body = try spool.body(of: batch)
        do {
            try await client.insert(schema.insertStatement, body: body, queryID: queryID)
        } catch {
            state.withLock {
                $0.uncertain.insert(batch.id)
                $0.stats.failedInserts += 1
            }
            throw error
        }
        spool.remove(batch)
        state.withLock {
            $0.uncertain.remove(batch.id)
            $0.stats.insertedBatches += 1
            $0.stats.insertedRows += UInt64(batch.rows)
        }
    }

    var qualifiedTable: String { "\(schema.database).\(schema.insertTable)" }

    func storedRows(_ batch: ClickHouseSpool.Batch) async throws -> Int {
        let text = try await client.query("""
            SELECT count() FROM \(qualifiedTable) WHERE stamp_inserted >= toDateTime(\(batch.firstStamp)) \
            AND stamp_inserted <= toDateTime(\(batch.lastStamp)) AND batch_id = \(batch.id)
            """)
        guard let n = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ClickHouseClient.Error.server(status: 200, message: "unexpected count: \(text)")
        }
        return n
    }

    /// Deletes a batch's rows and waits until the server has (a mutation runs in the background).
    func removeRows(_ batch: ClickHouseSpool.Batch) async throws {
        try await client.query("ALTER TABLE \(qualifiedTable) DELETE WHERE batch_id = \(batch.id)")
        for _ in 0..<600 {
            if try await storedRows(batch) == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ClickHouseClient.Error.server(status: 200, message: "rows of batch \(batch.id) still there after DELETE")
    }

    /// Creates the database and tables if missing; an existing table must have every column.
    public func prepareTables() async throws {
        for statement in schema.createStatements { try await client.query(statement) }
        let text = try await client.query(
            "SELECT name FROM system.columns WHERE database = '\(schema.database)' AND table = '\(schema.insertTable)'")
        let present = Set(text.split(separator: "\n").map(String.init))
        for column in schema.columns where !present.contains(column.name) {
            throw ClickHouseClient.Error.server(
                status: 200, message: "table \(qualifiedTable) exists but has no column '\(column.name)' that this view writes")
        }
        state.withLock { $0.tablesReady = true }
    }

    /// With clickhouse_retention_days: drops whole days (partitions) older than that, hourly.
    func dropExpiredPartitions() async throws {
        guard let days = settings.retentionDays else { return }
        // One check an hour is enough: partitions are whole days.
        guard Date().timeIntervalSince(retentionChecked.withLock { $0 }) >= 3600 else { return }
        retentionChecked.withLock { $0 = Date() }
        let cutoff = (Int(Date().timeIntervalSince1970) / 86_400 - days) * 86_400
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd"
        let oldest = Int(formatter.string(from: Date(timeIntervalSince1970: Double(cutoff)))) ?? 0
        let text = try await client.query("""
            SELECT DISTINCT partition FROM system.parts WHERE database = '\(schema.database)' \
            AND table = '\(schema.insertTable)' AND active
            """)
        for line in text.split(separator: "\n") {
            guard let partition = Int(line.trimmingCharacters(in: CharacterSet(charactersIn: "' "))), partition < oldest else { continue }
            try await client.query("ALTER TABLE \(qualifiedTable) DROP PARTITION \(partition)")
            state.withLock { $0.stats.droppedPartitions += 1 }
        }
    }

    let retentionChecked = Mutex(Date.distantPast)
}
