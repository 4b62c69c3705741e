import Foundation
import Logging
import NIOCore
import Synchronization

/// The table a sender inserts into: what `ClickHouseSender` needs to create it, check it and
/// send RowBinary bodies to it. Every such table has `stamp_inserted` and `batch_id` columns.
public struct ClickHouseTarget: Sendable, Equatable {
    public var database: String
    /// The table rows are inserted into (the local one in a cluster).
    public var insertTable: String
    /// Column names, in the order RowBinary bodies carry them.
    public var columns: [String]
    /// Creates the database and tables when missing (every statement can run again).
    public var createStatements: [String]

    public init(database: String, insertTable: String, columns: [String], createStatements: [String]) {
        self.database = database
        self.insertTable = insertTable
        self.columns = columns
        self.createStatements = createStatements
    }

    /// The INSERT a body follows.
    public var insertStatement: String {
        "INSERT INTO \(database).\(insertTable) (\(columns.joined(separator: ", "))) FORMAT RowBinary"
    }
}

/// Sends an on-disk spool of RowBinary inserts to one ClickHouse table, in order.
///
/// Nothing lost: a batch leaves the spool only when the server has confirmed it, or when a check
/// finds it there. Nothing counted twice: every insert carries a random `batch_id` in its rows
/// and the same `query_id` on every try. After a try whose outcome is unknown (timeout, reset,
/// an error answer), the sender waits until the server answers, waits until no query with that
/// id runs (a frozen server finishes the first try when it resumes; a second try with the same
/// id while it runs is refused by the server), then counts the batch's rows: all there, it is
/// done; none, it is sent again; some (an insert cut short), they are deleted first.
public final class ClickHouseSender: Sendable {
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

    struct SenderState {
        var stats = Stats()
        var tablesReady = false
        /// Batches whose last try has an unknown outcome.
        var uncertain: Set<UInt64> = []
        var stopping = false
    }

    public let target: ClickHouseTarget
    public let settings: ClickHouseSettings
    public let spool: ClickHouseSpool
    let client: ClickHouseClient
    let state = Mutex(SenderState())
    let logger: Logger

    public init(target: ClickHouseTarget, settings: ClickHouseSettings, logger: Logger) throws {
        self.target = target
        self.settings = settings
        self.logger = logger
        self.spool = try ClickHouseSpool(directory: settings.spoolDirectory, limit: settings.spoolBytes)
        self.client = ClickHouseClient(
            url: settings.url, user: settings.user, password: settings.password,
            timeout: .seconds(Int64(settings.timeoutSeconds)))
    }

    public var location: String { "clickhouse \(settings.url) table \(target.database).\(target.insertTable)" }

    public var stats: Stats {
        var s = state.withLock { $0.stats }
        s.spoolBatches = spool.count
        s.spoolBytes = spool.bytes
        return s
    }

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
            try await client.insert(target.insertStatement, body: body, queryID: queryID)
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

    var qualifiedTable: String { "\(target.database).\(target.insertTable)" }

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
        for statement in target.createStatements { try await client.query(statement) }
        let text = try await client.query(
            "SELECT name FROM system.columns WHERE database = '\(target.database)' AND table = '\(target.insertTable)'")
        let present = Set(text.split(separator: "\n").map(String.init))
        for column in target.columns where !present.contains(column) {
            throw ClickHouseClient.Error.server(
                status: 200, message: "table \(qualifiedTable) exists but has no column '\(column)' that this collector writes")
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
            SELECT DISTINCT partition FROM system.parts WHERE database = '\(target.database)' \
            AND table = '\(target.insertTable)' AND active
            """)
        for line in text.split(separator: "\n") {
            guard let partition = Int(line.trimmingCharacters(in: CharacterSet(charactersIn: "' "))), partition < oldest else { continue }
            try await client.query("ALTER TABLE \(qualifiedTable) DROP PARTITION \(partition)")
            state.withLock { $0.stats.droppedPartitions += 1 }
        }
    }

    let retentionChecked = Mutex(Date.distantPast)
}
