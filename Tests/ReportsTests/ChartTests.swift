import Aggregation
import Foundation
import NetCore
@testable import Reports
@testable import Storage
import TestServers
import Testing

/// The HTML charts say what the JSON says: for each kind, a report from a real SQLite table, its
/// SVG read back element by element and every drawn position mapped back to a value through the
/// chart's own axes (the gridlines carry their tick's value, the time ticks their time), then
/// compared with the JSON output's numbers.
@Suite struct ChartTests {
    static let bin = 300
    static let start = ReportsTests.start

    // MARK: Series

    @Test func seriesLinesAreTheJSONNumbersOnTheirAxes() throws {
        let source = try ReportSource(path: try ReportsTests.database(), table: "matrix", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(source, by: ["peer_ip_src", "peer_as_dst"], query: ReportQuery())
        let table = try Reports.series(b, limit: 3, utc: true)
        let json = try Self.json(table)
        let svg = try #require(Self.charts(table.render(.html)).first)
        let lines = svg.elements("polyline", class: "series")
        #expect(lines.count == 3)
        let y = try Self.valueAxis(svg, "grid-y", coordinate: "y1")
        let x = try Self.timeAxis(svg)
        for (k, line) in lines.enumerated() {
            let column = table.columns[k + 1]
            #expect(line["data-series"] == column)
            let want = json.map { $0[column] as? Double }
            let values = (line["data-values"] ?? "").split(separator: " ").map { Double($0) }
            #expect(values == want, "\(column)")
            let points = Self.points(line["points"] ?? "")
            #expect(points.count == 20)
            for (i, p) in points.enumerated() where i < want.count {
                // The point is the exact rate; the JSON rounds it to whole bits.
                #expect(abs(y.value(p.y) - (want[i] ?? .nan)) <= 1 / y.pixelsPerUnit + 0.5, "\(column) bin \(i): y \(p.y)")
                #expect(abs(p.x - x.pixel(Double(Self.start + i * Self.bin))) <= 1, "\(column) bin \(i): x \(p.x)")
            }
        }
        // A legend entry per series, in its colour, naming every key column.
        let texts = svg.elements("text").map(\.text)
        for k in 0..<3 {
            let key = table.columns[k + 1].split(separator: " ")
            #expect(texts.contains { $0.hasPrefix("peer_ip_src=\(key[0]) · peer_as_dst=\(key[1]) (peak ") }, "\(key)")
        }
        // Round ticks with units; times of day under the time ticks, the date under the first.
        let ticks = svg.elements("line", class: "grid-y").compactMap { $0["data-tick"].flatMap(Double.init) }
        #expect(ticks.first == 0 && ticks.count >= 4)
        let step = ticks[1] - ticks[0]
        #expect(ticks.enumerated().allSatisfy { abs($0.element - Double($0.offset) * step) < 1e-9 })
        let mantissa = step / pow(10, log10(step).rounded(.down))
        #expect([1, 2, 2.5, 5].contains { abs($0 - mantissa) < 1e-9 }, "step \(step)")
        #expect(texts.contains { $0.hasSuffix(" kbit/s") })
        for tick in svg.elements("line", class: "tick-x") {
            let t = try #require(tick["data-time"].flatMap(Int.init))
            let clock = String(StampText.format(t, utc: true).dropFirst(11).prefix(5))
            #expect(svg.elements("text").contains { $0["x"] == tick["x1"] && $0.text == clock }, "tick \(t) labelled \(clock)")
        }
        #expect(texts.contains("2025-12-01") && texts.contains("time (UTC)"))
    }

    /// Far more bins than pixels: the line keeps each pixel column's extremes, every peak drawn.
    @Test func longSeriesAreThinnedKeepingPeaks() throws {
        let n = 50_000
        let grid = BinGrid(first: Self.start, seconds: 60, count: n)
        let rows = (0..<n).map { i -> [ReportTable.Value] in
            [.text(StampText.format(grid.start(i), utc: true)), .rate(i == 31_337 ? 5_000 : Double(i % 100))]
        }
        let table = ReportTable(
            columns: ["stamp_inserted", "x"], rows: rows,
            chart: .lines(ChartLines(grid: grid, utc: true, labels: ["x"])))
        let svg = try #require(Self.charts(table.render(.html)).first)
        let line = try #require(svg.elements("polyline", class: "series").first)
        let points = Self.points(line["points"] ?? "")
        #expect(points.count < 4 * 1_300 && points.count > 1_000)
        #expect((line["data-values"] ?? "").split(separator: " ").count == n)
        let y = try Self.valueAxis(svg, "grid-y", coordinate: "y1")
        let top = try #require(points.map(\.y).min())
        #expect(abs(y.value(top) - 5_000) <= 1 / y.pixelsPerUnit)
    }

    // MARK: Top

    @Test func topBarsNameEveryKeyColumnAndScaleWithTheirValue() throws {
        let source = try ReportSource(path: try ReportsTests.database(), table: "matrix", binSeconds: nil, utc: true)
        let table = Reports.top(try Breakdown.compute(source, by: ["peer_ip_src", "peer_as_dst"], query: ReportQuery()), limit: 10)
        let json = try Self.json(table)
        let svg = try #require(Self.charts(table.render(.html)).first)
        let bars = svg.elements("rect", class: "bar")
        #expect(bars.count == json.count && json.count == 4)
        let x = try Self.valueAxis(svg, "grid-x", coordinate: "x1")
        let labels = svg.elements("text", class: "bar-label").map(\.text)
        let values = svg.elements("text", class: "halo")
        for (i, row) in json.enumerated() {
            let share = try #require(row["share"] as? Double)
            #expect(Double(bars[i]["data-value"] ?? "") == share)
            // The bar starts at 0 on the axis and ends at its value.
            let left = try #require(bars[i]["x"].flatMap(Double.init)), width = try #require(bars[i]["width"].flatMap(Double.init))
            #expect(abs(left - x.pixel(0)) <= 0.5)
            #expect(abs(left + width - x.pixel(share)) <= 1, "row \(i): width \(width) for \(share) %")
            let key = ["peer_ip_src", "peer_as_dst"].map { "\($0)=\(row[$0] as? String ?? "?")" }
            #expect(labels[i] == key.joined(separator: " · "))
            // Its value written at its end, with units: share, bytes, average rate.
            let barY = try #require(bars[i]["y"].flatMap(Double.init))
            let value = try #require(values.first { abs(($0["y"].flatMap(Double.init) ?? 0) - barY - 13) < 1 })
            #expect(abs((value["x"].flatMap(Double.init) ?? 0) - (left + width + 6)) < 1)
            let bytes = ReportTable.si(Double(row["bytes"] as? Int ?? -1), "B")
            #expect(value.text.hasSuffix(" % · \(bytes) · avg \(row["avg_bps"] as? Int ?? -1) bit/s"), "row \(i): \(value.text)")
        }
        // Widths in proportion to the values.
        let widths = bars.compactMap { $0["width"].flatMap(Double.init) }
        let shares = json.compactMap { $0["share"] as? Double }
        for i in 1..<widths.count { #expect(abs(widths[i] / widths[0] - shares[i] / shares[0]) < 0.01) }
        #expect(svg.elements("text").contains { $0.text == "share of all keys' bytes" })
    }

    // MARK: Matrix

    @Test func heatmapCellsAreTheJSONCellsShadedInOrder() throws {
        let source = try ReportSource(path: try ReportsTests.database(), table: "matrix", binSeconds: nil, utc: true)
        let table = Reports.matrix(
            try Breakdown.compute(source, by: ["peer_ip_src", "peer_as_dst"], query: ReportQuery()), cell: .peak, maxColumns: 5, maxRows: 5)
        let json = try Self.json(table)
        let svg = try #require(Self.charts(table.render(.html)).first)
        let cells = svg.elements("rect")
        let want = json.flatMap { row in table.columns.dropFirst().dropLast().map { row[$0] as? Double } }
        #expect(cells.map { $0["data-value"].flatMap(Double.init) } == want)
        // Darker for more: lightness falls as the value grows.
        func lightness(_ fill: String) -> Int {
            let hex = fill.dropFirst()
            return stride(from: 0, to: 6, by: 2).map { Int(hex.dropFirst($0).prefix(2), radix: 16) ?? 0 }.reduce(0, +)
        }
        let pairs = zip(want.map { $0 ?? 0 }, cells.map { lightness($0["fill"] ?? "") }).sorted { $0.0 < $1.0 }
        for (a, b) in zip(pairs, pairs.dropFirst()) where a.0 < b.0 { #expect(a.1 > b.1, "\(a) then \(b)") }
        let texts = svg.elements("text").map(\.text)
        #expect(texts.contains("peer_ip_src ↓") && texts.contains("peer_as_dst →"))
        #expect(texts.contains("cells: bit/s of the busiest bin"))
        // The legend's ends: 0 and the largest cell.
        #expect(texts.contains(ReportTable.si(want.compactMap { $0 }.max() ?? 0, "bit/s")))
    }

    // MARK: What-if

    @Test func whatIfDrawsBeforeAfterAndCapacityPerExit() throws {
        let source = try ReportSource(path: try ReportFixtures.whatIfDatabase(), table: "prefixes", binSeconds: nil, utc: true)
        let capacities = try CapacityEntry.parse("b peer_ip_dst=10.0.0.2 100\na peer_ip_dst=10.0.0.1 300", file: "c")
        let table = try WhatIfAnalysis.report(
            source, failure: .nextHop("10.0.0.1"), by: "peer_ip_dst", query: ReportQuery(), capacities: capacities)
        let json = try Self.json(table)
        let svg = try #require(Self.charts(table.render(.html)).first)
        let x = try Self.valueAxis(svg, "grid-x", coordinate: "x1")
        let before = svg.elements("rect", class: "before"), after = svg.elements("rect", class: "after")
        let markers = svg.elements("line", class: "capacity")
        #expect(before.count == json.count && after.count == json.count && markers.count == 2)
        for (i, row) in json.enumerated() {
            for (bar, column) in [(before[i], "p95_bps_before"), (after[i], "p95_bps_after")] {
                let v = try #require(row[column] as? Double)
                #expect(Double(bar["data-value"] ?? "") == v)
                let end = (bar["x"].flatMap(Double.init) ?? 0) + (bar["width"].flatMap(Double.init) ?? 0)
                #expect(abs(end - x.pixel(v)) <= 1, "\(row["peer_ip_dst"] ?? "") \(column)")
            }
            // The capacity marker at the capacity, across both bars of its exit.
            let capacity = try #require(row["capacity"] as? Double)
            let marker = try #require(markers.first { $0["data-capacity"].flatMap(Double.init) == capacity })
            #expect(abs((marker["x1"].flatMap(Double.init) ?? 0) - x.pixel(capacity)) <= 1)
            let top = before[i]["y"].flatMap(Double.init) ?? 0, bottom = (after[i]["y"].flatMap(Double.init) ?? 0) + 14
            #expect((marker["y1"].flatMap(Double.init) ?? 1e9) <= top && (marker["y2"].flatMap(Double.init) ?? 0) >= bottom)
        }
        let texts = svg.elements("text").map(\.text)
        #expect(texts.contains("p95 before") && texts.contains("p95 after") && texts.contains("capacity"))
        #expect(texts.contains { $0.hasPrefix("p95 after 32 bit/s · 32.0 % of 100 bit/s capacity") })
    }

    // MARK: Capacity

    /// Three lines on ten bins of growing traffic: one reaches the threshold within the chart
    /// (the axis stretched past the range to show it), one far beyond, one never (falling).
    @Test func capacityChartsShowUtilisationTrendThresholdAndRunout() throws {
        let source = try ReportSource(path: try Self.growthDatabase(), table: "links", binSeconds: nil, utc: true)
        let entries = try CapacityEntry.parse("""
            near   peer_as_dst=65001 1000
            far    peer_as_dst=65001 100000
            down   peer_as_dst=65002 100000
            """, file: "c")
        let table = try Reports.capacity(source, entries, query: ReportQuery(), threshold: 0.8, now: Self.start)
        let json = try Self.json(table)
        let charts = Self.charts(table.render(.html))
        #expect(charts.count == 3)

        // near: 26.67 × (i + 1) bit/s on 1000 bit/s, 80 % reached at the 30th bin's start.
        let near = charts[0]
        let y = try Self.valueAxis(near, "grid-y", coordinate: "y1"), x = try Self.timeAxis(near)
        let line = try #require(near.elements("polyline", class: "series").first)
        let values = (line["data-values"] ?? "").split(separator: " ").compactMap { Double($0) }
        #expect(values.count == 10)
        #expect(values.max() == json[0]["peak_util"] as? Double)
        for (i, p) in Self.points(line["points"] ?? "").enumerated() {
            #expect(abs(y.value(p.y) - values[i]) <= 1 / y.pixelsPerUnit + 0.01, "bin \(i)")
            #expect(abs(p.x - x.pixel(Double(Self.start + i * Self.bin))) <= 1, "bin \(i)")
        }
        let threshold = try #require(near.elements("line", class: "threshold").first)
        #expect(abs((threshold["y1"].flatMap(Double.init) ?? 0) - y.pixel(80)) <= 1)
        let runoutText = try #require(json[0]["runout"] as? String)
        let runout = try #require(StampText.parse(runoutText, utc: true))
        #expect(runout == Self.start + 29 * Self.bin)
        let marker = try #require(near.elements("line", class: "runout").first)
        #expect(abs((marker["x1"].flatMap(Double.init) ?? 0) - x.pixel(Double(runout))) <= 1)
        #expect(near.elements("text").contains { $0.text == "runout \(runoutText)" })
        // The trend: its slope the JSON's, from the first bin to the threshold at the runout.
        let trend = try #require(near.elements("line", class: "trend").first)
        let (x1, y1, x2, y2) = try Self.ends(trend)
        #expect(abs(x2 - x.pixel(Double(runout))) <= 1 && abs(y2 - y.pixel(80)) <= 1)
        #expect(abs(x1 - x.pixel(Double(Self.start))) <= 1)
        let perDay = (y.value(y2) - y.value(y1)) / ((x.time(x2) - x.time(x1)) / 86_400)
        let want = try #require(json[0]["trend_bps_per_day"] as? Double) * 100 / 1_000
        #expect(abs(perDay - want) / want < 0.01, "\(perDay) %/day, JSON \(want)")

        // far: the runout is after 4 × the range: the axis ends there and says when.
        let far = charts[1]
        let farRunout = try #require(json[1]["runout"] as? String)
        #expect(far.elements("line", class: "runout").isEmpty)
        #expect(far.elements("text").contains { $0.text == "runout beyond chart: \(farRunout)" })
        let farX = try Self.timeAxis(far)
        let edge = try #require(far.elements("line", class: "threshold").first?["x2"].flatMap(Double.init))
        let span = Double(9 * Self.bin)
        #expect(abs(farX.time(edge) - (Double(Self.start) + 4 * span)) <= Double(Self.bin), "axis ends at \(farX.time(edge))")

        // down: falling, no runout; nothing marked, the axis is the range.
        let down = charts[2]
        #expect(json[2]["runout"] as? String == "-")
        #expect(down.elements("line", class: "runout").isEmpty && down.elements("rect", class: "projection").isEmpty)
        let downX = try Self.timeAxis(down)
        let downEdge = try #require(down.elements("line", class: "threshold").first?["x2"].flatMap(Double.init))
        #expect(abs(downX.time(downEdge) - Double(Self.start + 9 * Self.bin)) <= 1)
    }

    // MARK: Coverage

    @Test func coverageMarksSitAtTheTablesShares() throws {
        let source = try ReportSource(path: try ReportsTests.database(), table: "matrix", binSeconds: nil, utc: true)
        let table = Reports.coverage(try Breakdown.compute(source, by: ["net_dst", "mask_dst"], query: ReportQuery()))
        let json = try Self.json(table)
        let svg = try #require(Self.charts(table.render(.html)).first)
        let x = try Self.valueAxis(svg, "grid-x", coordinate: "x1"), y = try Self.valueAxis(svg, "grid-y", coordinate: "y1")
        let marks = svg.elements("circle", class: "mark")
        #expect(marks.count == json.count - 1)
        for row in json.dropLast() {
            let px = x.pixel(row["of_prefixes"] as? Double ?? -1), py = y.pixel(row["covered"] as? Double ?? -1)
            let near = marks.contains { mark in
                abs((mark["cx"].flatMap(Double.init) ?? 0) - px) <= 1 && abs((mark["cy"].flatMap(Double.init) ?? 0) - py) <= 1
            }
            #expect(near, "\(row)")
        }
        let texts = svg.elements("text").map(\.text)
        #expect(texts.contains("share of prefixes, largest first") && texts.contains("share of traffic"))
        #expect(texts.contains("50 % of traffic: 1 prefix (33.3 %)"))
    }

    // MARK: Pages

    @Test func everyPageStatesItsRangeAndBins() throws {
        let path = try ReportsTests.database()
        let source = try ReportSource(path: path, table: "matrix", binSeconds: nil, utc: true)
        let b = try Breakdown.compute(source, by: ["peer_as_dst"], query: ReportQuery())
        let pairs = try Breakdown.compute(source, by: ["peer_ip_src", "peer_as_dst"], query: ReportQuery())
        let nets = try Breakdown.compute(source, by: ["net_dst", "mask_dst"], query: ReportQuery())
        let tables = [
            Reports.top(b, limit: 5), Reports.matrix(pairs, cell: .bytes, maxColumns: 5, maxRows: 5),
            try Reports.series(b, limit: 2, utc: true), Reports.coverage(nets),
            try Reports.capacity(
                source, try CapacityEntry.parse("x peer_as_dst=65001 1k", file: "c"), query: ReportQuery(), threshold: 0.8, now: 0),
            try WhatIfAnalysis.report(
                try ReportSource(path: try ReportFixtures.whatIfDatabase(), table: "prefixes", binSeconds: nil, utc: true),
                failure: .nextHop("10.0.0.1"), by: "peer_ip_dst", query: ReportQuery(from: Self.start, to: Self.start + 20 * Self.bin),
                capacities: []),
        ]
        for t in tables {
            let page = t.render(.html)
            let subtitle = try #require(Self.between(page, "<p class=\"subtitle\">", "</p>"), "\(t.title)")
            let range = "2025-12-01 00:00:00 to 2025-12-01 01:40:00 (UTC), last bin 2025-12-01 01:35:00"
            #expect(subtitle.contains(range), "\(t.title): \(subtitle)")
            #expect(subtitle.contains("5 min bins, 20 bins"), "\(t.title): \(subtitle)")
            // Only the page shows it: text, CSV and JSON are as without it (and without a chart).
            var bare = t
            bare.subtitle = nil
            bare.chart = nil
            for format in [ReportTable.Format.text, .csv, .json] { #expect(t.render(format) == bare.render(format)) }
            // Self-contained, printable, readable.
            #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("href="))
            #expect(page.contains("@media print") && page.contains("break-inside:avoid"))
            for svg in Self.charts(page) {
                #expect(svg.root["viewBox"] != nil)
                let width = svg.root["width"].flatMap(Double.init) ?? 0
                #expect(width > 0 && width <= 1_300, "\(t.title): \(width) px wide")
                let sizes = svg.elements("text").compactMap { $0["font-size"].flatMap(Double.init) }
                    + [svg.root["font-size"].flatMap(Double.init) ?? 0]
                #expect(sizes.allSatisfy { $0 >= 11 }, "\(t.title): \(sizes.min() ?? 0) px")
            }
        }
        // Local stamps: the range in local time with the zone's name or offset.
        let local = try ReportSource(path: path, table: "matrix", binSeconds: 300, utc: false)
        let grid = try BinGrid.resolve(local, ReportQuery(from: Self.start, to: Self.start + 3_600))
        let text = Reports.subtitle(grid, local.bin, utc: false)
        #expect(text.hasPrefix(StampText.format(Self.start, utc: false) + " to " + StampText.format(Self.start + 3_600, utc: false)))
        #expect(text.contains("(\(ChartTimeScale.zone(at: Self.start, utc: false)))") && text.contains("UTC"))
        #expect(Reports.subtitle(BinGrid(first: 0, seconds: 86_400, count: 0), BinSize(seconds: 86_400, origin: .given), utc: true)
            == "No bin in the range · 1 day bins, 0 bins · bin size given")
    }

    // MARK: Axes

    @Test func scalesHaveRoundTicksWithUnits() {
        let rate = ChartScale(maximum: 2_667, unit: .bitsPerSecond, ticks: 6)
        #expect(rate.ticks == [0, 500, 1_000, 1_500, 2_000, 2_500, 3_000])
        #expect(rate.ticks.map(rate.label) == ["0", "0.5 kbit/s", "1.0 kbit/s", "1.5 kbit/s", "2.0 kbit/s", "2.5 kbit/s", "3.0 kbit/s"])
        let big = ChartScale(maximum: 8.7e9, unit: .bitsPerSecond, ticks: 5)
        #expect(big.ticks.last == 1e10 && big.label(2e9) == "2 Gbit/s")
        let share = ChartScale(maximum: 82.85, unit: .percent)
        #expect(share.upper == 100 && share.label(20) == "20 %")
        #expect(ChartScale(maximum: 0, unit: .bitsPerSecond).upper > 0)
        #expect(ChartScale(maximum: .nan, unit: .percent).ticks.allSatisfy { $0.isFinite })
    }

    @Test func timeTicksFallOnRoundTimes() {
        let day = ChartTimeScale(start: Self.start, end: Self.start + 86_400, utc: true, maxTicks: 12)
        #expect(day.step == 7_200)
        #expect(day.ticks.map(\.label).prefix(3) == ["00:00", "02:00", "04:00"])
        #expect(day.ticks.first?.date == "2025-12-01" && day.ticks.dropFirst().first?.date == nil)
        #expect(day.ticks.last?.date == "2025-12-02")
        let year = ChartTimeScale(start: Self.start, end: Self.start + 365 * 86_400, utc: true, maxTicks: 13)
        #expect(year.ticks.map(\.label).prefix(3) == ["2025-12", "2026-01", "2026-02"])
        #expect(year.ticks.allSatisfy { StampText.format($0.time, utc: true).hasSuffix("-01 00:00:00") })
        let week = ChartTimeScale(start: Self.start, end: Self.start + 28 * 86_400, utc: true, maxTicks: 5)
        // Weeks start on Mondays: 2025-12-01 is one.
        #expect(week.step == 604_800 && week.ticks.first?.label == "12-01" && week.ticks.first?.date == "2025")
    }

    // MARK: Reading the SVG

    /// One `<svg>` of a page: its elements, attributes unescaped, with their text.
    struct SVG {
        struct Element {
            var name: String
            var attributes: [String: String]
            var text: String
            subscript(_ key: String) -> String? { attributes[key] }
        }

        var root: Element
        var all: [Element]

        func elements(_ name: String, class wanted: String? = nil) -> [Element] {
            all.filter { e in
                e.name == name && (wanted.map { (e["class"] ?? "").split(separator: " ").contains(Substring($0)) } ?? true)
            }
        }
    }

    static func charts(_ page: String) -> [SVG] {
        page.components(separatedBy: "<svg ").dropFirst().map { chunk in
            let body = chunk.components(separatedBy: "</svg>")[0]
            var elements: [SVG.Element] = []
            for part in ("svg " + body).components(separatedBy: "<") where !part.hasPrefix("/") && !part.isEmpty {
                guard let end = part.firstIndex(of: ">") else { continue }
                let head = part[..<end]
                let name = String(head.prefix { $0 != " " && $0 != "/" })
                var attributes: [String: String] = [:]
                var rest = head.dropFirst(name.count)
                while let eq = rest.range(of: "=\"") {
                    let key = rest[..<eq.lowerBound].trimmingCharacters(in: .whitespaces)
                    let valueStart = eq.upperBound
                    guard let close = rest[valueStart...].firstIndex(of: "\"") else { break }
                    attributes[key] = unescape(String(rest[valueStart..<close]))
                    rest = rest[rest.index(after: close)...]
                }
                elements.append(SVG.Element(name: name, attributes: attributes, text: unescape(String(part[part.index(after: end)...]))))
            }
            return SVG(root: elements[0], all: Array(elements.dropFirst()))
        }
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func points(_ text: String) -> [(x: Double, y: Double)] {
        text.split(separator: " ").compactMap { pair in
            let xy = pair.split(separator: ",").compactMap { Double($0) }
            return xy.count == 2 ? (xy[0], xy[1]) : nil
        }
    }

    static func ends(_ line: SVG.Element) throws -> (Double, Double, Double, Double) {
        let v = try ["x1", "y1", "x2", "y2"].map { try #require(line[$0].flatMap(Double.init)) }
        return (v[0], v[1], v[2], v[3])
    }

    /// A linear map between values and pixels, from two of the chart's own marks.
    struct Axis {
        var v0: Double, p0: Double, v1: Double, p1: Double
        var pixelsPerUnit: Double { abs((p1 - p0) / (v1 - v0)) }
        func pixel(_ v: Double) -> Double { p0 + (v - v0) * (p1 - p0) / (v1 - v0) }
        func value(_ p: Double) -> Double { v0 + (p - p0) * (v1 - v0) / (p1 - p0) }
        func time(_ p: Double) -> Double { value(p) }
    }

    /// The value axis read from its gridlines (`data-tick` and their position).
    static func valueAxis(_ svg: SVG, _ kind: String, coordinate: String) throws -> Axis {
        let ticks = svg.elements("line", class: kind).compactMap { e -> (Double, Double)? in
            guard let v = e["data-tick"].flatMap(Double.init), let p = e[coordinate].flatMap(Double.init) else { return nil }
            return (v, p)
        }
        let first = try #require(ticks.first), last = try #require(ticks.last)
        try #require(last.0 > first.0)
        return Axis(v0: first.0, p0: first.1, v1: last.0, p1: last.1)
    }

    /// The time axis read from its ticks (`data-time` and their x).
    static func timeAxis(_ svg: SVG) throws -> (pixel: (Double) -> Double, time: (Double) -> Double) {
        let ticks = svg.elements("line", class: "tick-x").compactMap { e -> (Double, Double)? in
            guard let t = e["data-time"].flatMap(Double.init), let x = e["x1"].flatMap(Double.init) else { return nil }
            return (t, x)
        }
        let first = try #require(ticks.first), last = try #require(ticks.last)
        try #require(last.0 > first.0)
        let axis = Axis(v0: first.0, p0: first.1, v1: last.0, p1: last.1)
        return (axis.pixel, axis.value)
    }

    static func between(_ s: String, _ a: String, _ b: String) -> String? {
        guard let start = s.range(of: a), let end = s[start.upperBound...].range(of: b) else { return nil }
        return unescape(String(s[start.upperBound..<end.lowerBound]))
    }

    static func json(_ t: ReportTable) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(t.render(.json).utf8)) as? [[String: Any]])
    }

    // MARK: Tables

    /// AS 65001: bin i carries 1,000 × (i + 1) bytes over ten 5-minute bins (26.67 × (i + 1)
    /// bit/s); AS 65002: 10,000 − 1,000 × i bytes.
    static func growthDatabase() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathflow-charts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("c.db").path
        let store = try SQLiteStore(path: path)
        try store.prepare(try TableSchema(table: "links", primitives: [.peerDstAS], tableVersion: nil, numericProtocols: false))
        var rows: [BinnedKey: Counters] = [:]
        for i in 0..<10 {
            for (asn, bytes) in [(UInt32(65001), 1_000 * (i + 1)), (65002, 10_000 - 1_000 * i)] {
                var k = FlowKey()
                k.peerDstAS = asn
                rows[BinnedKey(key: k, bin: UInt32(start + i * bin))] = Counters(packets: 1, bytes: UInt64(bytes), flows: 1)
            }
        }
        try store.write(table: "links", rows: rows, now: start + 10 * bin, utc: true)
        return path
    }
}
