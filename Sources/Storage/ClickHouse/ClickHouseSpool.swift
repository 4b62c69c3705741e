import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Batches waiting for ClickHouse, on disk, in order: one file per insert, written whole
/// (temporary file, fsync, rename) so a crash leaves either the batch or nothing. A collector
/// that restarts sends what its last run left. Bounded in bytes: past the bound, `add` throws
/// and the collector keeps the rows in memory (sql_backlog_rows) until there is room.
public final class ClickHouseSpool: @unchecked Sendable {
    /// One spooled insert.
    public struct Batch: Sendable, Equatable {
        public var sequence: UInt64
        public var id: UInt64
        public var rows: Int
        /// The oldest and newest stamp_inserted in it: the range a check for the batch reads.
        public var firstStamp: UInt32
        public var lastStamp: UInt32
        public var path: String
        public var bytes: Int
    }

    public enum Error: Swift.Error, CustomStringConvertible {
        case full(directory: String, bytes: Int, limit: Int)
        case io(path: String, reason: String)
        case damaged(path: String)
        case inUse(directory: String)

        public var description: String {
            switch self {
            case .full(let directory, let bytes, let limit):
                "spool \(directory) is full (\(bytes) of \(limit) bytes, clickhouse_spool_bytes): ClickHouse has not taken batches for a while"
            case .io(let path, let reason): "spool \(path): \(reason)"
            case .damaged(let path): "spool file \(path) is damaged"
            case .inUse(let directory):
                "spool \(directory) is in use by another pathflow collector; give each collector its own clickhouse_spool_dir"
            }
        }
    }

    public let directory: String
    public let limit: Int
    private let lock = NSLock()
    private var batches: [Batch] = []
    private var totalBytes = 0
    private var nextSequence: UInt64 = 1
    /// An exclusive lock on the directory for the spool's life: two collectors sending one
    /// spool would each send the other's batches.
    private let lockDescriptor: Int32

    static let magic = "pathflow-clickhouse-batch 1"

    /// Opens (creating it if needed) a spool directory and takes the batches a previous run
    /// left in it; temporary files of an interrupted write are removed.
    public init(directory: String, limit: Int) throws {
        self.directory = directory
        self.limit = limit
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Error.io(path: directory, reason: "\(error)")
        }
        let fd = open(directory + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Error.io(path: directory + "/.lock", reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw Error.inUse(directory: directory)
        }
        lockDescriptor = fd
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() {
            let path = directory + "/" + name
            if name.hasSuffix(".tmp") {
                unlink(path)
                continue
            }
            guard name.hasSuffix(".batch"), let batch = try? Self.readHeader(path) else { continue }
            batches.append(batch)
            totalBytes += batch.bytes
            nextSequence = max(nextSequence, batch.sequence + 1)
        }
        batches.sort { $0.sequence < $1.sequence }
    }

    deinit {
        flock(lockDescriptor, LOCK_UN)
        close(lockDescriptor)
    }

    public var count: Int { lock.withLock { batches.count } }
    public var bytes: Int { lock.withLock { totalBytes } }

    /// The oldest batch, if any.
    public var oldest: Batch? { lock.withLock { batches.first } }

    /// Writes the inserts of one flush to disk and queues them, all or none: throws, writing
    /// nothing, when they would pass the bound or a write fails.
    public func addAll(_ inserts: [(id: UInt64, rows: Int, firstStamp: UInt32, lastStamp: UInt32, body: [UInt8])]) throws {
        let size = inserts.reduce(0) { $0 + $1.body.count + 96 }
        let first: UInt64 = try lock.withLock {
            // An empty spool takes one flush whatever its size: the bound never blocks everything.
            guard totalBytes + size <= limit || batches.isEmpty else {
                throw Error.full(directory: directory, bytes: totalBytes, limit: limit)
            }
            defer { nextSequence += UInt64(inserts.count) }
            return nextSequence
        }
        var written: [Batch] = []
        do {
            for (i, insert) in inserts.enumerated() {
                let sequence = first + UInt64(i)
                let path = directory + "/" + String(format: "%016llu.batch", sequence)
                let header = "\(Self.magic) \(sequence) \(insert.id) \(insert.rows) \(insert.firstStamp) \(insert.lastStamp)\n"
                var data = Array(header.utf8)
                data.append(contentsOf: insert.body)
                try Self.writeDurably(data, to: path, directory: directory)
                written.append(Batch(
                    sequence: sequence, id: insert.id, rows: insert.rows, firstStamp: insert.firstStamp,
                    lastStamp: insert.lastStamp, path: path, bytes: data.count))
            }
        } catch {
            for batch in written { unlink(batch.path) }
            throw error
        }
        lock.withLock {
            batches.append(contentsOf: written)
            batches.sort { $0.sequence < $1.sequence }
            totalBytes += written.reduce(0) { $0 + $1.bytes }
        }
    }

    /// The batch's insert body.
    public func body(of batch: Batch) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: batch.path) else {
            throw Error.io(path: batch.path, reason: "cannot read")
        }
        guard let newline = data.firstIndex(of: 0x0A) else { throw Error.damaged(path: batch.path) }
        return [UInt8](data[data.index(after: newline)...])
    }

    /// Removes a batch ClickHouse has.
    public func remove(_ batch: Batch) {
        unlink(batch.path)
        lock.withLock {
            if let i = batches.firstIndex(where: { $0.sequence == batch.sequence }) {
                totalBytes -= batches[i].bytes
                batches.remove(at: i)
            }
        }
    }

    static func readHeader(_ path: String) throws -> Batch {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Error.damaged(path: path) }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 256)) ?? Data()
        guard let newline = head.firstIndex(of: 0x0A),
              let line = String(data: head[..<newline], encoding: .utf8), line.hasPrefix(magic + " ") else {
            throw Error.damaged(path: path)
        }
        let fields = line.dropFirst(magic.count + 1).split(separator: " ")
        guard fields.count == 5, let sequence = UInt64(fields[0]), let id = UInt64(fields[1]), let rows = Int(fields[2]),
              let first = UInt32(fields[3]), let last = UInt32(fields[4]) else {
            throw Error.damaged(path: path)
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw Error.damaged(path: path) }
        return Batch(sequence: sequence, id: id, rows: rows, firstStamp: first, lastStamp: last, path: path, bytes: Int(info.st_size))
    }

    /// Temporary file, fsync, rename, fsync of the directory.
    static func writeDurably(_ data: [UInt8], to path: String, directory: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Error.io(path: temporary, reason: String(cString: strerror(errno))) }
        var written = 0
        let ok: Bool = data.withUnsafeBytes { raw in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return fsync(fd) == 0
        }
        let reason = String(cString: strerror(errno))
        close(fd)
        guard ok else {
            unlink(temporary)
            throw Error.io(path: temporary, reason: reason)
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Error.io(path: path, reason: reason)
        }
        let dir = open(directory, O_RDONLY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }
}
