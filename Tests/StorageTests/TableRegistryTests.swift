import Aggregation
import Foundation
import GRDB
import Testing
@testable import Storage

/// The bin length the collector records beside a view's table for reports (`pathflow_tables`).
@Suite struct TableRegistryTests {
    func temporaryPath() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-registry-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("flows.db").path
    }

    func schema(_ table: String, version: Int? = nil) throws -> TableSchema {
        try TableSchema(table: table, primitives: [.srcHost, .dstHost, .proto], tableVersion: version, numericProtocols: false)
    }

    func binning(_ unit: TimeBinning.Unit, _ count: Int) -> TimeBinning {
        TimeBinning(unit: unit, count: count, roundoff: "m", now: 1_764_547_200)
    }

    @Test func preparingRecordsTheViewsBins() throws {
        let store = try SQLiteStore(path: temporaryPath())
        try store.prepare(try schema("acct", version: 1), binning: binning(.minutes, 1))
        try store.prepare(try schema("five"), rollup: true, utc: true, binning: binning(.minutes, 5))
        try store.prepare(try schema("monthly"), binning: binning(.months, 1))
        try store.prepare(try schema("unbinned"))
        func recorded(_ table: String) throws -> TableRegistry.Bin? { try store.read { db in try TableRegistry.read(db, table: table) } }
        #expect(try recorded("acct") == .seconds(60))
        #expect(try recorded("five") == .seconds(300))
        #expect(try recorded("monthly") == .months(1))
        #expect(try recorded("unbinned") == nil)
        // The view's own table is pmacct's, column for column: nothing added to it.
        let columns = try store.read { db in try db.columns(in: "acct").map(\.name) }
        #expect(columns == [
            "mac_src", "mac_dst", "ip_src", "ip_dst", "src_port", "dst_port", "ip_proto", "packets", "bytes",
            "stamp_inserted", "stamp_updated",
        ])
        // A view whose sql_history changed: its newest bins are recorded.
        try store.prepare(try schema("five"), rollup: true, utc: true, binning: binning(.hours, 1))
        #expect(try recorded("five") == .seconds(3600))
    }

    /// A registry written by something else may hold anything: nothing usable is nothing recorded.
    @Test func oddRegistriesAreIgnored() throws {
        let store = try SQLiteStore(path: temporaryPath())
        try store.pool.write { db in
            try db.execute(sql: """
                CREATE TABLE pathflow_tables (table_name TEXT PRIMARY KEY, bin_seconds, bin_months, recorded);
                INSERT INTO pathflow_tables VALUES ('text', '300', NULL, 'x'), ('negative', -5, NULL, 'x'), ('zero', 0, 0, 'x'),
                    ('real', 300.5, NULL, 'x'), ('huge', 9223372036854775807, NULL, 'x'), ('fine', 60, NULL, 'x');
                """)
        }
        func recorded(_ store: SQLiteStore, _ table: String) throws -> TableRegistry.Bin? {
            try store.read { db in try TableRegistry.read(db, table: table) }
        }
        for table in ["text", "negative", "zero", "real", "huge", "absent"] { #expect(try recorded(store, table) == nil, "\(table)") }
        #expect(try recorded(store, "fine") == .seconds(60))
        let other = try SQLiteStore(path: temporaryPath())
        try other.pool.write { db in try db.execute(sql: "CREATE TABLE pathflow_tables (name TEXT)") }
        #expect(try recorded(other, "fine") == nil)
    }
}
