import ArgumentParser
import Console
import Foundation
import Logging
import PathflowConfig
import Reports
import Storage

/// A view as reports read it, resolved from the command line and the configuration once: its
/// table (SQLite or ClickHouse), bin size and zone, and where its RIB snapshot is. `open()`
/// gives a fresh reader each time (the console opens one per request while the collector writes).
struct ReportView: Sendable {
    enum Table: Sendable {
        case sqlite(path: String, table: String)
        case clickhouse(ClickHouseTable)
    }

    var table: Table
    var binSeconds: Int?
    var binOrigin: BinSize.Origin
    var utc: Bool
    /// The configuration file and what it says, when the view came from one.
    var file: String?
    var config: CollectorConfig?

    /// The view `target` names (-f CONFIG [--view NAME], or --db FILE --table NAME); `loaded`:
    /// the configuration -f names, when the caller has read it already.
    static func resolve(target: ViewTarget, bin: String?, utc: Bool, loaded: CollectorConfig? = nil) throws -> ReportView {
        var path = target.db, table = target.table, utc = utc
        var binSeconds = try bin.map(Report.Options.seconds)
        var origin = BinSize.Origin.given
        var clickhouse: ClickHouseTable?
        var config: CollectorConfig?
        if let file = target.file {
            let loaded = try loaded ?? loadConfiguration(path: file, strict: false)
            config = loaded
            let views = try target.views(loaded, file: file, plugins: [.sqlite3, .clickhouse])
            guard let v = views.first else {
                throw RuntimeFailure("\(file): no sqlite3 or clickhouse view")
            }
            table = table ?? v.sqlTable
            utc = v.timestampsUTC || loaded.timestampsUTC
            if v.plugin == .clickhouse {
                guard target.db == nil else { throw ValidationError("--db names a SQLite file; view \(v.name) is a clickhouse view") }
                clickhouse = try Self.clickhouseTable(v, table: table ?? v.sqlTable)
            } else {
                path = path ?? v.sqlDB
            }
            if binSeconds == nil, let history = v.history {
                if case .months(let months) = history {
                    throw RuntimeFailure("\(ReportSource.Error.monthBins(table: table ?? v.sqlTable, months: months))")
                }
                binSeconds = history.lengthInSeconds
                origin = .configuration
            }
        }
        let resolved: Table
        if let clickhouse {
            resolved = .clickhouse(clickhouse)
        } else {
            guard let path, let table else { throw ViewTarget.unnamed }
            resolved = .sqlite(path: path, table: table)
        }
        return ReportView(
            table: resolved, binSeconds: binSeconds, binOrigin: origin, utc: utc, file: target.file, config: config)
    }

    /// A clickhouse view's table as reports read it: `<table>`, which in a cluster is the
    /// Distributed table over every shard.
    static func clickhouseTable(_ v: ViewConfig, table: String) throws -> ClickHouseTable {
        var user: String?, password: String?
        if let file = v.clickhouse.credentialsFile {
            do {
                (user, password) = try ClickHouseClient.credentials(file: file)
            } catch {
                throw RuntimeFailure("clickhouse_credentials_file \(file): cannot read a first line 'user:password'")
            }
        }
        let client = ClickHouseClient(
            url: v.clickhouse.url, user: user, password: password, timeoutSeconds: max(60, v.clickhouse.timeoutSeconds))
        return ClickHouseTable(client: client, database: v.clickhouse.database, table: table)
    }

    /// The table opened for reading.
    func open() throws -> ReportSource {
        let source: ReportSource
        do {
            switch table {
            case .clickhouse(let clickhouse):
                source = try ReportSource(clickhouse: clickhouse, binSeconds: binSeconds, utc: utc, binOrigin: binOrigin)
            case .sqlite(let path, let table):
                source = try ReportSource(path: path, table: table, binSeconds: binSeconds, utc: utc, binOrigin: binOrigin)
            }
        } catch {
            throw RuntimeFailure("\(error)")
        }
        if case .assumed = source.bin.origin {
            FileHandle.standardError.write(Data("pathflow report: \(source.table): \(source.bin.originText) (60 s used)\n".utf8))
        }
        return source
    }

    /// Where `report` reads the RIB snapshot, the best-path history and the mismatch examples:
    /// nil for a sqlite3 view (its own database); for a clickhouse view they are in SQLite,
    /// bgp_rib_snapshot_db or the first sqlite3 view's database.
    func snapshot(report: String) throws -> String? {
        guard case .clickhouse = table, let file else { return nil }
        guard let snapshotDatabase = config?.ribSnapshotDatabase else {
            throw RuntimeFailure("\(file): \(report) on a clickhouse view needs the RIB snapshot in SQLite: set bgp_rib_snapshot_db")
        }
        return snapshotDatabase
    }
}

extension ReportView {
    /// The console over this view, as `serve` and `collect` start it: `host`:`port` (set by
    /// `listenKey`), the token in the first line of `tokenFile` (set by `tokenKey`), the capacity
    /// and groups files (the command line's, else the configuration's console_capacities and
    /// console_failure_groups; each read once now so that a bad line stops startup), and where
    /// the RIB snapshot is. `servesMetrics`: its counters on its own GET /metrics (serve; the
    /// collector publishes them on its metrics endpoint).
    func console(
        host: String, port: Int, listenKey: String, tokenFile: String?, tokenKey: String, capacities: String?, groups: String?,
        servesMetrics: Bool, logger: Logger
    ) throws -> ConsoleServer {
        var settings = ConsoleServer.Settings()
        settings.servesMetrics = servesMetrics
        settings.host = host
        settings.port = port
        settings.listenKey = listenKey
        if let tokenFile {
            guard let token = TokenFile.read(tokenFile) else {
                throw RuntimeFailure("\(tokenKey) \(tokenFile): cannot read a token from its first line")
            }
            settings.token = token
        }
        let view = self
        settings.reports = ReportAPI.Setup(
            capacities: capacities ?? config?.consoleCapacities, failureGroups: groups ?? config?.consoleFailureGroups,
            snapshot: { report in try view.snapshot(report: report) })
        do {
            _ = try settings.reports.capacityEntries()
            _ = try settings.reports.groups()
        } catch let failure as ReportAPI.Failure {
            throw RuntimeFailure(failure.description)
        }
        return ConsoleServer(settings: settings, logger: logger) { try view.open() }
    }
}
