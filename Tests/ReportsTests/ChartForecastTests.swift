import Aggregation
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NetCore
@testable import Reports
@testable import Storage
import Testing

/// `report forecast --format html`: per key a small chart whose drawn days, model, band,
/// threshold and runout are the model's and the table's numbers.
extension ChartTests {
    static let firstDay = 20_000
    /// Capacities: 10.0.0.1 reaches 80 % of 1,500 bit/s within 30 days, 10.0.0.2 80 % of 1,000
    /// bit/s only months later; 10.0.0.3 has none.
    static let forecastCapacities = """
        one peer_ip_dst=10.0.0.1 1500
        two peer_ip_dst=10.0.0.2 1000
        """

    /// The forecast of the five-week table: per key its chart, row and series.
    static func forecastReport(
        horizon: Int = 30, capacities: String = forecastCapacities, query: ReportQuery = ReportQuery()
    ) throws -> (table: ReportTable, chart: ChartForecast, svgs: [SVG]) {
        let source = try ReportSource(path: try forecastDatabase(), table: "m", binSeconds: 3600, utc: true)
        let table = try SeasonalForecast.report(
            source, by: ["peer_ip_dst"], query: query, horizonDays: horizon,
            capacities: try CapacityEntry.parse(capacities, file: "c"), threshold: 0.8, limit: 10)
        guard case .forecast(let chart) = table.chart else {
            Issue.record("no forecast chart")
            throw CancellationError()
        }
        return (table, chart, charts(table.render(.html)))
    }

    static func numbers(_ text: String?) -> [Double] { (text ?? "").split(separator: " ").compactMap { Double($0) } }

    static func rate(_ v: ReportTable.Value) -> Double? {
        if case .rate(let r) = v { return r }
        return nil
    }

    /// The series and the model drawn are the days' p95 and the fit's value per day, where the
    /// axes say; the band lies over the forecast days only, ±1.96 σ about the forecast.
    @Test func forecastChartsDrawTheModelsDaysFitAndBand() throws {
        let (table, chart, svgs) = try Self.forecastReport()
        #expect(table.rows.count == 3 && svgs.count == 3 && chart.lines.count == 3)
        // The table's keys, in the table's order.
        #expect(chart.lines.map { ReportTable.Value.text($0.key[0]) } == table.rows.map { $0[0] })
        #expect(chart.lines.map { $0.key[0] } == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        for (i, svg) in svgs.enumerated() {
            let line = chart.lines[i], row = table.rows[i]
            let model = try #require(line.model)
            let y = try Self.valueAxis(svg, "grid-y", coordinate: "y1"), x = try Self.timeAxis(svg)
            #expect(line.days.count == 35)

            // The days: their p95 (for 10.0.0.1 the table's truth, within the bytes' rounding).
            let series = try #require(svg.elements("polyline", class: "series").first)
            let values = Self.numbers(series["data-values"]), times = Self.numbers(series["data-times"])
            #expect(values.count == 35 && times.count == 35)
            for (k, day) in line.days.enumerated() {
                #expect(abs(values[k] - day.p95) < 1e-5, "key \(i) day \(k)")
                #expect(times[k] == Double(day.start) && day.start == day.day * 86_400)
                if i == 0 { #expect(abs(values[k] - ForecastTests.truth(day.day)) < 0.01) }
            }
            for (k, p) in Self.points(series["points"] ?? "").enumerated() {
                #expect(abs(y.value(p.y) - values[k]) <= 1 / y.pixelsPerUnit, "key \(i) day \(k)")
                #expect(abs(p.x - x.pixel(times[k])) <= 1, "key \(i) day \(k)")
            }
            #expect(svg.elements("circle").count >= 35)

            // The model: its value on every day from the first to 30 past the last, and the
            // table's forecast at the end.
            let fit = try #require(svg.elements("polyline", class: "model").first)
            let fitted = Self.numbers(fit["data-values"]), fitTimes = Self.numbers(fit["data-times"])
            let lastDay = Self.firstDay + 34
            #expect(fitted.count == 65 && fitTimes.count == 65)
            for (k, d) in (Self.firstDay...(lastDay + 30)).enumerated() {
                #expect(abs(fitted[k] - model.value(day: d)) < 1e-5, "key \(i) day \(d)")
                #expect(fitTimes[k] == Double(d * 86_400))
                if i == 0 { #expect(abs(fitted[k] - ForecastTests.truth(d)) < 0.05, "day \(d)") }
            }
            #expect(abs(fitted.last! - (Self.rate(row[4]) ?? -1)) < 1e-5)
            for (k, p) in Self.points(fit["points"] ?? "").enumerated() {
                #expect(abs(y.value(p.y) - fitted[k]) <= 1 / y.pixelsPerUnit, "key \(i) point \(k)")
                #expect(abs(p.x - x.pixel(fitTimes[k])) <= 1)
            }
            // It zig-zags with the week: the fit is no straight line.
            #expect((model.weekly.max() ?? 0) - (model.weekly.min() ?? 0) > 10)

            // The forecast days: shaded from the end of the last whole day.
            let forecastFrom = Double((lastDay + 1) * 86_400)
            let region = try #require(svg.elements("rect", class: "forecast").first)
            #expect(region["data-from"].flatMap(Double.init) == forecastFrom)
            #expect(abs((region["x"].flatMap(Double.init) ?? 0) - x.pixel(forecastFrom)) <= 1)
            #expect(svg.elements("text").contains { $0.text == "forecast" })

            // The band: sigma's, over the forecast days only, from the first to the horizon.
            let band = try #require(svg.elements("polygon", class: "band").first)
            #expect(abs((band["data-sigma"].flatMap(Double.init) ?? -1) - model.sigma) < 1e-5)
            #expect(band["data-from"].flatMap(Double.init) == forecastFrom)
            #expect(band["data-to"].flatMap(Double.init) == Double((lastDay + 30) * 86_400))
            let outline = Self.points(band["points"] ?? "")
            #expect(outline.count == 60)
            #expect(outline.allSatisfy { $0.x >= x.pixel(forecastFrom) - 1 && $0.x <= x.pixel(Double((lastDay + 30) * 86_400)) + 1 })
            for (k, d) in ((lastDay + 1)...(lastDay + 30)).enumerated() {
                let high = outline[k], low = outline[59 - k]
                #expect(abs(high.x - low.x) < 0.01)
                #expect(abs(y.value(high.y) - (model.value(day: d) + 1.96 * model.sigma)) <= 1 / y.pixelsPerUnit)
                #expect(abs(y.value(low.y) - max(0, model.value(day: d) - 1.96 * model.sigma)) <= 1 / y.pixelsPerUnit)
            }
            // At the horizon, the table's band.
            #expect(abs(y.value(outline[29].y) - (Self.rate(row[6]) ?? -1)) <= 1 / y.pixelsPerUnit)
            #expect(abs(y.value(outline[30].y) - (Self.rate(row[5]) ?? -1)) <= 1 / y.pixelsPerUnit)

            // The title: the key and the table's facts.
            let title = svg.elements("text").map(\.text)
            #expect(title.contains(line.key[0]))
            let facts = "forecast p95 \(ReportTable.display(row[4])) (30 d) · backtest MAPE \(ReportTable.display(row[7]))"
            #expect(title.contains { $0.hasPrefix(facts) })
        }
        // 10.0.0.2 and 10.0.0.3 have noise: a band that shows.
        #expect(chart.lines[1].model!.sigma > 5 && chart.lines[2].model!.sigma > 5)
    }

    /// The threshold and the runout appear only with a capacity: within the horizon a marker at
    /// the table's runout day, after it a note at the edge; none without a capacity.
    @Test func forecastChartsMarkThresholdAndRunoutOnlyWithACapacity() throws {
        let (table, _, svgs) = try Self.forecastReport()
        let lastDay = Self.firstDay + 34

        // 10.0.0.1: 80 % of 1,500 bit/s, reached within the 30 days.
        let one = svgs[0]
        let y = try Self.valueAxis(one, "grid-y", coordinate: "y1"), x = try Self.timeAxis(one)
        let threshold = try #require(one.elements("line", class: "threshold").first)
        #expect(threshold["data-threshold"] == "1200")
        #expect(abs((threshold["y1"].flatMap(Double.init) ?? 0) - y.pixel(1_200)) <= 1)
        guard case .text(let runoutText) = table.rows[0][9] else { throw CancellationError() }
        let want = (lastDay + 1...lastDay + 30).first { ForecastTests.truth($0) >= 1_200 }!
        #expect(runoutText == StampText.format(want * 86_400, utc: true).prefix(10).description)
        let marker = try #require(one.elements("line", class: "runout").first)
        let time = try #require(marker["data-time"].flatMap(Int.init))
        #expect(time == want * 86_400)
        #expect(abs((marker["x1"].flatMap(Double.init) ?? 0) - x.pixel(Double(time))) <= 1)
        #expect(one.elements("text").contains { $0.text == "runout \(runoutText)" })
        #expect(one.elements("text").contains { $0.text.hasSuffix("· runout \(runoutText)") })
        #expect(one.elements("text").contains { $0.text == "threshold 80 % of 1.50 kbit/s" })

        // 10.0.0.2: 80 % of 1,000 bit/s, months after the horizon: the threshold, a note, no marker.
        let two = svgs[1]
        guard case .text(let later) = table.rows[1][9] else { throw CancellationError() }
        #expect(later != "-" && later > runoutText)
        #expect(two.elements("line", class: "threshold").first?["data-threshold"] == "800")
        #expect(two.elements("line", class: "runout").isEmpty)
        let beyond = try #require(two.elements("text", class: "runout-beyond").first)
        #expect(beyond.text == "runout beyond chart: \(later)")
        #expect(beyond["data-time"].flatMap(Int.init).map { StampText.format($0, utc: true).hasPrefix(later) } == true)

        // 10.0.0.3: no capacity, no threshold, no runout.
        let three = svgs[2]
        #expect(table.rows[2][9] == .text("-"))
        for kind in ["threshold", "runout"] { #expect(three.elements("line", class: kind).isEmpty) }
        for kind in ["runout-beyond", "threshold-above"] { #expect(three.elements("text", class: kind).isEmpty) }
        #expect(!three.elements("text").contains { $0.text.contains("threshold") || $0.text.contains("runout") })

        // A capacity far above the traffic: written, not drawn; the axis stays the traffic's.
        let (_, _, far) = try Self.forecastReport(capacities: "x peer_ip_dst=10.0.0.3 1T")
        let high = far[2]
        #expect(high.elements("line", class: "threshold").isEmpty && high.elements("line", class: "runout").isEmpty)
        let above = try #require(high.elements("text", class: "threshold-above").first)
        #expect(above["data-threshold"] == "800000000000" && above.text == "threshold 800.00 Gbit/s far above the chart")
        let ticks = high.elements("line", class: "grid-y").compactMap { $0["data-tick"].flatMap(Double.init) }
        #expect((ticks.max() ?? .infinity) < 1_000)
    }

    /// Ten days: the table's dashes, and per key a chart of its days that says why there is no
    /// forecast (no model, band or forecast days drawn).
    @Test func forecastChartsOfTooFewDaysSaySo() throws {
        let query = ReportQuery(from: Self.firstDay * 86_400, to: (Self.firstDay + 10) * 86_400)
        let (table, chart, svgs) = try Self.forecastReport(query: query)
        #expect(svgs.count == table.rows.count && table.rows.count == 3)
        for (i, svg) in svgs.enumerated() {
            #expect(table.rows[i][1] == .integer(10) && table.rows[i][5] == .text("-"))
            #expect(chart.lines[i].model == nil)
            let values = Self.numbers(svg.elements("polyline", class: "series").first?["data-values"])
            #expect(values == chart.lines[i].days.map(\.p95) && values.count == 10)
            #expect(svg.elements("polyline", class: "model").isEmpty && svg.elements("polygon", class: "band").isEmpty)
            #expect(svg.elements("rect", class: "forecast").isEmpty && svg.elements("line", class: "runout").isEmpty)
            let why = svg.elements("text", class: "too-few").first?.text
            #expect(why == "10 whole days: no forecast, the model needs 14 with every weekday")
        }
        // Still the page's threshold where a capacity applies.
        #expect(svgs[0].elements("line", class: "threshold").count == 1 && svgs[2].elements("line", class: "threshold").isEmpty)
    }

    /// The page: self-contained, each chart well-formed XML within the page's width, no text
    /// smaller than 11 px, nothing drawn outside its drawing.
    @Test func forecastPageIsWellFormed() throws {
        let threeDays = ReportQuery(from: Self.firstDay * 86_400, to: (Self.firstDay + 3) * 86_400)
        for (horizon, query) in [(30, ReportQuery()), (1, ReportQuery()), (90, threeDays)] {
            let (table, _, svgs) = try Self.forecastReport(horizon: horizon, query: query)
            let page = table.render(.html)
            #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("href="))
            #expect(page.contains("<div class=\"charts\"><figure><svg "))
            #expect(svgs.count == table.rows.count)
            for chunk in page.components(separatedBy: "<svg ").dropFirst() {
                let xml = "<svg " + chunk.components(separatedBy: "</svg>")[0] + "</svg>"
                let parser = XMLParser(data: Data(xml.utf8))
                #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
            }
            for svg in svgs {
                let width = svg.root["width"].flatMap(Double.init) ?? 0, height = svg.root["height"].flatMap(Double.init) ?? 0
                #expect(width > 0 && width <= 650 && svg.root["viewBox"] == "0 0 \(svg.root["width"]!) \(svg.root["height"]!)")
                let sizes = svg.elements("text").compactMap { $0["font-size"].flatMap(Double.init) }
                    + [svg.root["font-size"].flatMap(Double.init) ?? 0]
                #expect(sizes.allSatisfy { $0 >= 11 })
                let xs = svg.all.flatMap { e in ["x", "x1", "x2", "cx"].compactMap { e[$0].flatMap(Double.init) } }
                let ys = svg.all.flatMap { e in ["y", "y1", "y2", "cy"].compactMap { e[$0].flatMap(Double.init) } }
                #expect(xs.allSatisfy { $0 >= 0 && $0 <= width } && ys.allSatisfy { $0 >= 0 && $0 <= height })
                for e in svg.all where e["points"] != nil {
                    #expect(Self.points(e["points"]!).allSatisfy { $0.x >= 0 && $0.x <= width && $0.y >= 0 && $0.y <= height })
                }
            }
        }
    }

    // MARK: The five-week table

    /// Five weeks of hourly bins (UTC) from day 20,000, each bin of a day at that day's rate:
    /// 10.0.0.1 `ForecastTests.truth`, 10.0.0.2 half of it and 10.0.0.3 300 bit/s, both with a
    /// day's noise of up to ±20 bit/s.
    static func forecastDatabase() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-forecast-chart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("f.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "m", primitives: [.peerDstIP], tableVersion: nil, numericProtocols: false))
        var rows: [BinnedKey: Counters] = [:]
        var random = SeededRandom(seed: 11)
        for day in firstDay..<(firstDay + 35) {
            let rates = [
                ("10.0.0.1", ForecastTests.truth(day)), ("10.0.0.2", ForecastTests.truth(day) / 2 + Double(random(41) - 20)),
                ("10.0.0.3", 300 + Double(random(41) - 20)),
            ]
            for (address, rate) in rates {
                for hour in 0..<24 {
                    var k = FlowKey()
                    k.peerDst = IPAddress(address)!
                    rows[BinnedKey(key: k, bin: UInt32(day * 86_400 + hour * 3600))] = Counters(
                        packets: 1, bytes: UInt64(rate * 3600 / 8), flows: 1)
                }
            }
        }
        try store.write(table: "m", rows: rows, now: (firstDay + 35) * 86_400, utc: true)
        return path
    }
}
