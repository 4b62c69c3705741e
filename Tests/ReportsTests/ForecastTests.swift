import Aggregation
import Foundation
import NetCore
@testable import Reports
@testable import Storage
import Testing

/// `report forecast`: the seasonal model recovers a known trend and weekly pattern, forecasts it,
/// and its backtest beats the straight line where the week matters.
@Suite struct ForecastTests {
    static let weekly: [Double] = [-30, 10, 25, 20, 15, 5, -45]   // sums to 0

    static func truth(_ day: Int) -> Double { 1_000 + 4 * Double(day - 20_000) + weekly[day % 7] }

    @Test func fitRecoversTrendAndWeek() throws {
        let points = (20_000..<20_035).map { (day: $0, value: Self.truth($0)) }
        let m = try #require(SeasonalForecast.fit(points))
        #expect(abs(m.slope - 4) < 1e-6)
        for d in 20_035..<20_050 { #expect(abs(m.value(day: d) - Self.truth(d)) < 1e-6) }
        for w in 0..<7 { #expect(abs(m.weekly[w] - Self.weekly[w]) < 1e-6) }
        #expect(m.sigma < 1e-6)
        // Thirteen days, or a missing weekday: no model.
        #expect(SeasonalForecast.fit(Array(points.prefix(13))) == nil)
        #expect(SeasonalForecast.fit(points.filter { $0.day % 7 != 3 }) == nil)
        // Noise: the band covers about 95 % of days.
        var random = SeededRandom(seed: 5)
        let noisy = (20_000..<20_120).map { (day: $0, value: Self.truth($0) + Double(random(41) - 20)) }
        let n = try #require(SeasonalForecast.fit(noisy))
        let inside = noisy.filter { abs($0.value - n.value(day: $0.day)) <= 1.96 * n.sigma }.count
        #expect(Double(inside) / Double(noisy.count) > 0.9 && n.sigma > 5 && n.sigma < 20, "\(inside) \(n.sigma)")
    }

    /// Five weeks of hourly bins for one exit, every bin of a day carrying that day's rate.
    @Test func reportOnATable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-forecast-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("f.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "m", primitives: [.peerDstIP], tableVersion: nil, numericProtocols: false))
        var rows: [BinnedKey: Counters] = [:]
        let firstDay = 20_000
        for day in firstDay..<(firstDay + 35) {
            for hour in 0..<24 {
                var k = FlowKey()
                k.peerDst = IPAddress("10.0.0.1")!
                // bytes per hour so that the hour's bit/s is the day's value
                let bytes = UInt64(Self.truth(day) * 3600 / 8)
                rows[BinnedKey(key: k, bin: UInt32(day * 86_400 + hour * 3600))] = Counters(packets: 1, bytes: bytes, flows: 1)
            }
        }
        try store.write(table: "m", rows: rows, now: (firstDay + 35) * 86_400, utc: true)
        let source = try ReportSource(path: path, table: "m", binSeconds: 3600, utc: true)
        let capacity = try CapacityEntry.parse("x peer_ip_dst=10.0.0.1 2001", file: "c")
        let t = try SeasonalForecast.report(
            source, by: ["peer_ip_dst"], query: ReportQuery(), horizonDays: 30, capacities: capacity, threshold: 0.8, limit: 10)
        #expect(t.rows.count == 1)
        let row = t.rows[0]
        #expect(row[1] == .integer(35))
        func number(_ v: ReportTable.Value) -> Double? {
            switch v {
            case .rate(let r), .percent(let r): r
            default: nil
            }
        }
        // Bytes are whole numbers: the day's rate is within 8/3600 bit/s of the truth.
        #expect(abs(number(row[2])! - 4) < 0.01)
        #expect(abs(number(row[3])! - 70) < 0.01)   // 25 - (-45)
        let lastDay = firstDay + 34
        #expect(abs(number(row[4])! - Self.truth(lastDay + 30)) < 0.05)
        #expect(number(row[7])! < 0.01)              // the seasonal backtest: exact
        #expect(number(row[8])! > 1)                 // the straight line misses the week
        // 1,600.8 bit/s (80 % of 2,001): the trend's days past the last one where the forecast first reaches it.
        let want = (lastDay + 1...lastDay + 400).first { Self.truth($0) >= 1_600.8 }!
        #expect(row[9] == .text(StampText.format(want * 86_400, utc: true).prefix(10).description), "\(row[9])")
    }
}
