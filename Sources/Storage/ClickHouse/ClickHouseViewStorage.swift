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
/// the on-disk spool; its `ClickHouseSender` sends the spool in order, nothing lost and nothing
/// counted twice.
public final class ClickHouseViewStorage: ViewStorage {
    public typealias Stats = ClickHouseSender.Stats

    public let schema: ClickHouseSchema
    public let sender: ClickHouseSender
    public var settings: ClickHouseSettings { sender.settings }
    public var spool: ClickHouseSpool { sender.spool }
    /// Rows per insert: under the server's max_insert_block_size (1,048,576), so one insert is one block.
    public static let maximumRows = 1_000_000

    public init(schema: ClickHouseSchema, settings: ClickHouseSettings, logger: Logger = Logger(label: "pathflow.clickhouse")) throws {
        self.schema = schema
        self.sender = try ClickHouseSender(target: schema.target, settings: settings, logger: logger)
    }

    public var location: String { sender.location }
    public var stats: Stats { sender.stats }

    public func write(_ batch: FlushBatch) throws -> WriteResult {
        let started = Date()
        let count = batch.rowCount
        if count == 0 { return WriteResult(rows: 0, seconds: 0) }
        let texts = schema.primitives.contains(where: \.isText) ? (batch.texts?.snapshot() ?? [""]) : [""]
        let updated = UInt32(clamping: batch.now)
        var blocks = ClickHouseDayBlocks(maximumRows: Self.maximumRows)
        for part in batch.parts {
            part.forEach { key, counters in
                blocks.row(stamp: key.bin) { writer, id in
                    writer.row(key.key, bin: key.bin, counters: counters, updated: updated, batch: id, schema: schema, texts: texts)
                }
            }
        }
        try spool.addAll(blocks.spooled)
        return WriteResult(rows: count, seconds: Date().timeIntervalSince(started))
    }

    public func run() async { await sender.runSender(drainSeconds: settings.drainSeconds) }
    public func finish() { sender.finish() }
    public var counters: [StorageCounter] { sender.counters }
    public func runSender(drainSeconds: Double = 10) async { await sender.runSender(drainSeconds: drainSeconds) }
    public func prepareTables() async throws { try await sender.prepareTables() }
}

/// A flush's rows cut into inserts: one per UTC day of `stamp_inserted` and at most `maximumRows`
/// rows, each with its own random batch id. Blocks are changed in place (an index per open day):
/// taking one out of a dictionary to append a row would copy its bytes every row.
struct ClickHouseDayBlocks {
    struct Block {
        var writer = RowBinaryWriter()
        var rows = 0
        var first = UInt32.max
        var last = UInt32.min
        var id = UInt64.random(in: 1...UInt64.max)
    }

    let maximumRows: Int
    var blocks: [Block] = []
    var open: [UInt32: Int] = [:]

    init(maximumRows: Int) { self.maximumRows = maximumRows }

    /// Appends one row stamped `stamp`: `encode` writes it with the block's batch id.
    mutating func row(stamp: UInt32, _ encode: (inout RowBinaryWriter, UInt64) -> Void) {
        let day = stamp / 86_400
        let i: Int
        if let known = open[day] {
            i = known
        } else {
            i = blocks.count
            blocks.append(Block())
            open[day] = i
        }
        encode(&blocks[i].writer, blocks[i].id)
        blocks[i].rows += 1
        blocks[i].first = min(blocks[i].first, stamp)
        blocks[i].last = max(blocks[i].last, stamp)
        if blocks[i].rows >= maximumRows { open[day] = nil }
    }

    /// What `ClickHouseSpool.addAll` takes.
    var spooled: [(UInt64, Int, UInt32, UInt32, [UInt8])] {
        blocks.map { ($0.id, $0.rows, $0.first, $0.last, $0.writer.bytes) }
    }
}
