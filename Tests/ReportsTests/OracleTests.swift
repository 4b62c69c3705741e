import Foundation
import Reports
import Testing

/// Every report kind against `Oracle` on generated tables (`Oracle.generate`): 100 seeds, each
/// a table with its own bins (given, recorded, inferred, coarser than the stamps), gaps, quiet
/// keys, phase, rollup (whole, partial or none, read or not), flows column or not, stamp index or
/// not, read over five range forms (none, --from/--to on bin boundaries and off them, one bound,
/// --last): 500 range forms, each compared number by number for top (with and without a --where
/// filter, columns or primitive names), matrix (one of the four cells), series and capacity, and
/// half of them for what-if and prefixes.
@Suite struct OracleTests {
    static let seeds: [UInt64] = Array(1...100)

    @Test(arguments: seeds)
    func reportsAgreeWithTheOracle(seed: UInt64) throws {
        let c = Oracle.generate(seed: seed)
        let path = try Oracle.write(c)
        let source: ReportSource
        switch c.binSource {
        case .given(let s): source = try ReportSource(path: path, table: "paths", binSeconds: s, utc: true)
        case .recorded, .inferred: source = try ReportSource(path: path, table: "paths", binSeconds: nil, utc: true)
        }
        let bin = Oracle.binSize(c)
        #expect(source.binSeconds == bin, "\(c): bin size")
        var r = Oracle.Random(state: seed)
        for form in c.ranges {
            var query = form.query
            query.useRollup = r.chance(70)
            let bins = Oracle.bins(c, form, bin: bin)
            let check = Check(
                c: c, form: form, bin: bin, bins: bins, source: source, query: query, rows: Oracle.inRange(c.rows, bins, bin: bin))
            try check.top(alias: r.chance(50), filtered: r.chance(30))
            try check.matrix(maxColumns: 1 + r.int(4), cell: Reports.Cell.allCases[r.int(4)])
            try check.series(limit: 1 + r.int(4))
            try check.capacity(&r)
            // Half the forms each (what-if and prefixes read the same breakdowns as the others).
            if r.chance(50) { try check.whatIf(failed: Oracle.hops[r.int(3)].hop) }
            if r.chance(50) { try check.prefixes() }
            // Every difference of this range form, at most 20 of them.
            #expect(check.failures.isEmpty, "\(check.what):\n\(check.failures.prefix(20).joined(separator: "\n"))")
        }
    }

    /// One case, one range form: what each report must print. Differences are collected (one
    /// `#expect` per form: thousands of them per case would cost more than the reports).
    final class Check {
        var c: Oracle.Case
        var form: Oracle.RangeForm
        var bin: Int
        var bins: [Int]
        var source: ReportSource
        var query: ReportQuery

        var rows: [Oracle.Row]
        var failures: [String] = []

        init(c: Oracle.Case, form: Oracle.RangeForm, bin: Int, bins: [Int], source: ReportSource, query: ReportQuery, rows: [Oracle.Row]) {
            self.c = c
            self.form = form
            self.bin = bin
            self.bins = bins
            self.source = source
            self.query = query
            self.rows = rows
        }

        func want(_ ok: Bool, _ message: @autoclosure () -> String) {
            if !ok { failures.append(message()) }
        }
        var what: String { "\(c); \(form); rollup read \(query.useRollup)" }

        func close(_ a: ReportTable.Value, _ b: Double, _ label: String, tolerance: Double = 0) {
            let value: Double
            switch a {
            case .rate(let v), .percent(let v): value = v
            default:
                failures.append("\(label): \(a) is not a number")
                return
            }
            want(abs(value - b) <= 1e-9 * max(1, abs(b)) + tolerance, "\(label): \(value), oracle \(b)")
        }

        /// Rows grouped by a key, largest first (ties by key): the order of every report.
        func groups(_ rows: [Oracle.Row], _ key: (Oracle.Row) -> [String]) -> [(key: [String], rows: [Oracle.Row])] {
            var by: [[String]: [Oracle.Row]] = [:]
            var bytes: [[String]: Int64] = [:]
            for row in rows {
                by[key(row), default: []].append(row)
                bytes[key(row), default: 0] += row.bytes
            }
            return by.map { (key: $0.key, rows: $0.value) }.sorted {
                let a = bytes[$0.key]!, b = bytes[$1.key]!
                return a != b ? a > b : $0.key.lexicographicallyPrecedes($1.key)
            }
        }

        func notes(_ t: ReportTable) {
            let expected = "# \(bins.count) bin\(bins.count == 1 ? "" : "s") of \(bin) s"
            want(t.notes.first?.hasPrefix(expected) == true, "notes \(t.notes), want \(expected)")
        }

        func top(alias: Bool, filtered: Bool) throws {
            var q = query
            var rows = self.rows
            if filtered {
                q.filters = [(alias ? "peer_src_ip" : "peer_ip_src", Oracle.routers[1])]
                rows = rows.filter { $0.router == Oracle.routers[1] }
            }
            let b = try Breakdown.compute(source, by: [alias ? "peer_dst_as" : "peer_as_dst"], query: q)
            let t = Reports.top(b, limit: 100)
            notes(t)
            let counters = c.hasFlows ? ["bytes", "packets", "flows"] : ["bytes", "packets"]
            want(t.columns == ["peer_as_dst"] + counters + ["avg_bps", "peak_bps", "p95_bps", "share", "cumulative"], "\(what)")
            let expected = groups(rows) { [String($0.asn)] }
            want(t.rows.count == expected.count, "top: \(t.rows.count) keys, oracle \(expected.count)")
            let total = Double(rows.reduce(Int64(0)) { $0 + $1.bytes })
            var cumulative = 0.0
            for (row, e) in zip(t.rows, expected) {
                guard row.count == t.columns.count, t.columns.count == counters.count + 6 else {
                    failures.append("top row \(row) under \(t.columns)")
                    continue
                }
                let bytes = e.rows.reduce(Int64(0)) { $0 + $1.bytes }
                let perBin = Oracle.perBin(e.rows, bins, bin: bin)
                cumulative += Double(bytes)
                let n = counters.count
                want(row[0] == .text(e.key[0]), "top key")
                want(row[1] == .bytes(bytes), "top bytes of \(e.key)")
                want(row[2] == .integer(e.rows.reduce(Int64(0)) { $0 + $1.packets }), "packets")
                if c.hasFlows { want(row[3] == .integer(e.rows.reduce(Int64(0)) { $0 + $1.flows }), "flows") }
                close(row[1 + n], Oracle.average(bytes, bins: bins.count, bin: bin), "avg of \(e.key)")
                close(row[2 + n], Oracle.peak(perBin, bin: bin), "peak of \(e.key)")
                close(row[3 + n], Oracle.p95(perBin, bin: bin), "p95 of \(e.key)")
                close(row[4 + n], Double(bytes) * 100 / max(1, total), "share of \(e.key)")
                close(row[5 + n], cumulative * 100 / max(1, total), "cumulative of \(e.key)")
            }
        }

        func matrix(maxColumns: Int, cell: Reports.Cell) throws {
            let detail = cell == .peak || cell == .p95
            let b = try Breakdown.compute(source, by: ["peer_ip_src", "peer_as_dst"], query: query, detail: detail)
            let m = Reports.matrix(b, cell: cell, maxColumns: maxColumns, maxRows: 10)
            notes(m)
            let rows = self.rows
            var columnTotals: [String: Int64] = [:], rowTotals: [String: Int64] = [:]
            for row in rows {
                columnTotals[String(row.asn), default: 0] += row.bytes
                rowTotals[row.router, default: 0] += row.bytes
            }
            func order(_ totals: [String: Int64]) -> [String] {
                totals.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
            }
            let shown = Array(order(columnTotals).prefix(maxColumns))
            let columns = shown + (columnTotals.count > shown.count ? ["other"] : [])
            want(m.columns == ["peer_ip_src \\ peer_as_dst"] + columns + ["total"], "matrix columns")
            let routers = order(rowTotals)
            want(m.rows.map { $0[0] } == routers.map { .text($0) }, "matrix rows")
            for (line, router) in zip(m.rows, routers) {
                guard line.count == columns.count + 2 else {
                    failures.append("matrix row \(line), oracle columns \(columns)")
                    continue
                }
                let mine = rows.filter { $0.router == router }
                for (i, column) in (columns + ["total"]).enumerated() {
                    let cellRows = mine.filter {
                        column == "total" || (column == "other" ? !shown.contains(String($0.asn)) : String($0.asn) == column)
                    }
                    let bytes = cellRows.reduce(Int64(0)) { $0 + $1.bytes }
                    let perBin = Oracle.perBin(cellRows, bins, bin: bin)
                    let label = "matrix \(cell) \(router) × \(column)"
                    switch cell {
                    case .bytes: want(line[i + 1] == .bytes(bytes), "\(label)")
                    case .avg: close(line[i + 1], Oracle.average(bytes, bins: bins.count, bin: bin), label)
                    case .peak: close(line[i + 1], Oracle.peak(perBin, bin: bin), label)
                    case .p95: close(line[i + 1], Oracle.p95(perBin, bin: bin), label)
                    }
                }
            }
        }

        static let stampFormat: DateFormatter = {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd HH:mm:ss"
            return f
        }()

        func series(limit: Int) throws {
            let b = try Breakdown.compute(source, by: ["peer_ip_dst"], query: query)
            let s = try Reports.series(b, limit: limit, utc: true)
            notes(s)
            let keys = Array(groups(rows) { [$0.hop] }.prefix(limit))
            want(s.columns == ["stamp_inserted"] + keys.map { $0.key[0] }, "series columns")
            want(s.rows.count == bins.count, "series: \(s.rows.count) rows, oracle \(bins.count) bins")
            let perBin = keys.map { Oracle.perBin($0.rows, bins, bin: bin) }
            for (i, line) in zip(bins.indices, s.rows) {
                guard line.count == keys.count + 1 else {
                    failures.append("series row \(line), oracle keys \(keys.map(\.key))")
                    continue
                }
                let stamp = Self.stampFormat.string(from: Date(timeIntervalSince1970: Double(bins[i])))
                want(line[0] == .text(stamp), "series row \(i)")
                for k in keys.indices { close(line[k + 1], Double(perBin[k][i]) * 8 / Double(bin), "series \(keys[k].key) bin \(i)") }
            }
        }

        func capacity(_ r: inout Oracle.Random) throws {
            let lines: [(name: String, spec: String, match: (Oracle.Row) -> Bool)] = [
                ("router", "peer_ip_src=\(Oracle.routers[0])", { $0.router == Oracle.routers[0] }),
                ("exit", (r.chance(50) ? "peer_dst_ip=" : "peer_ip_dst=") + Oracle.hops[0].hop, { $0.hop == Oracle.hops[0].hop }),
                ("pair", "peer_ip_src=\(Oracle.routers[1]),peer_as_dst=\(Oracle.hops[1].asn)",
                 { $0.router == Oracle.routers[1] && $0.asn == Oracle.hops[1].asn }),
                ("nothing", "peer_as_dst=64999", { _ in false }),
            ]
            var text = ""
            var capacities: [Double] = []
            for line in lines {
                let p95 = Oracle.p95(Oracle.perBin(rows.filter(line.match), bins, bin: bin), bin: bin)
                let capacity = p95 > 0 ? p95 / [0.5, 0.9, 1.5, 3, 50][r.int(5)] : 1000
                let written = String(format: "%.3f", capacity)
                capacities.append(Double(written)!)
                text += "\(line.name) \(line.spec) \(written)\n"
            }
            let threshold = 0.8
            let now = (c.rows.map(\.stamp).max() ?? Oracle.day0) + bin
            let t = try Reports.capacity(source, try CapacityEntry.parse(text, file: "c"), query: query, threshold: threshold, now: now)
            notes(t)
            // The header's total: every row of the range.
            let all = rows.reduce(Int64(0)) { $0 + $1.bytes }
            want(t.notes.first?.contains(" \(Self.si(Double(all))) in all") == true, "capacity total \(all): \(t.notes)")
            want(t.rows.count == lines.count, "capacity lines")
            for (i, (line, row)) in zip(lines, t.rows).enumerated() {
                guard row.count == 8 else {
                    failures.append("capacity row \(row)")
                    continue
                }
                let mine = rows.filter(line.match)
                let perBin = Oracle.perBin(mine, bins, bin: bin)
                let bytes = mine.reduce(Int64(0)) { $0 + $1.bytes }
                let capacity = capacities[i]
                let avg = Oracle.average(bytes, bins: bins.count, bin: bin), p95 = Oracle.p95(perBin, bin: bin)
                let peak = Oracle.peak(perBin, bin: bin)
                want(row[0] == .text(line.name), "capacity name")
                close(row[2], avg * 100 / capacity, "capacity \(line.name) avg_util")
                close(row[3], p95 * 100 / capacity, "capacity \(line.name) p95_util")
                close(row[4], peak * 100 / capacity, "capacity \(line.name) peak_util")
                close(row[5], p95, "capacity \(line.name) p95_bps")
                let trend = Oracle.trend(perBin, bins, bin: bin)
                // The slope's rounding: relative to the bit/s a bin can carry.
                let scale = peak * 86_400 / Double(max(1, bins.count * bin))
                close(row[6], (trend?.slope ?? 0) * 86_400, "capacity \(line.name) trend", tolerance: 1e-7 * scale)
                let level = threshold * capacity
                var runout = "-"
                var crossing: Int?
                if !bins.isEmpty && p95 >= level {
                    runout = "over"
                } else if let trend, trend.slope > 0 {
                    let at = ((level - trend.intercept) / trend.slope).rounded(.up)
                    if at < 253_402_300_799 {
                        crossing = Int(max(at, -253_402_300_799))
                        runout = crossing! <= now ? "now" : Self.stampFormat.string(from: Date(timeIntervalSince1970: Double(crossing!)))
                    }
                }
                guard case .text(let got) = row[7] else {
                    failures.append("runout \(row[7])")
                    continue
                }
                if got == runout { continue }
                // A crossing computed two ways may differ by rounding: a second or two, or across `now`.
                let gotTime = got == "now" ? now : Self.stampFormat.date(from: got).map { Int($0.timeIntervalSince1970) }
                var near = false
                if let gotTime, let crossing {
                    near = abs(gotTime - crossing) <= 2 || (got == "now" && crossing <= now + 2) || (runout == "now" && gotTime <= now + 2)
                }
                want(near, "capacity \(line.name) runout \(got), oracle \(runout) (trend \(String(describing: trend)))")
            }
        }

        /// `ReportTable.si`, restated: 3 significant decimals past the prefix.
        static func si(_ value: Double) -> String {
            let prefixes = ["", "k", "M", "G", "T", "P", "E"]
            var v = value, i = 0
            while abs(v) >= 1000 && i < prefixes.count - 1 {
                v /= 1000
                i += 1
            }
            return i == 0 ? String(format: "%.0f B", v) : String(format: "%.2f %@B", v, prefixes[i])
        }

        func whatIf(failed: String) throws {
            let t = try WhatIfAnalysis.report(source, failure: .nextHop(failed), by: "peer_ip_dst", query: query, capacities: [])
            notes(t)
            // Per prefix route (router, prefix, exit): where its traffic goes when `failed` fails.
            var before: [String: [Oracle.Row]] = [:], after: [String: [Oracle.Row]] = [:]
            var moved = 0, stranded = 0
            for g in groups(rows, { [$0.router, $0.net, String($0.mask), $0.hop] }) {
                before[g.key[3], default: []] += g.rows
                guard g.key[3] == failed else {
                    after[g.key[3], default: []] += g.rows
                    continue
                }
                if let next = c.paths["\(g.key[0])|\(g.key[1])|\(g.key[2])"]?.first(where: { $0.hop != failed }) {
                    after[next.hop, default: []] += g.rows
                    moved += 1
                } else {
                    stranded += 1
                }
            }
            func bytes(_ rows: [Oracle.Row]?) -> Int64 { (rows ?? []).reduce(0) { $0 + $1.bytes } }
            var load: [String: Int64] = [:]
            for key in Set(before.keys).union(after.keys) { load[key] = bytes(after[key]) }
            let keys = load.keys.sorted { load[$0]! != load[$1]! ? load[$0]! > load[$1]! : $0 < $1 }
            want(t.rows.map { $0[0] } == keys.map { .text($0) }, "what-if exits")
            for (row, key) in zip(t.rows, keys) {
                guard row.count == 7 else {
                    failures.append("what-if row \(row)")
                    continue
                }
                want(row[1] == .bytes(bytes(before[key])) && row[2] == .bytes(bytes(after[key])), "what-if bytes of \(key)")
                close(row[3], Oracle.p95(Oracle.perBin(before[key] ?? [], bins, bin: bin), bin: bin), "what-if p95 before \(key)")
                close(row[4], Oracle.p95(Oracle.perBin(after[key] ?? [], bins, bin: bin), bin: bin), "what-if p95 after \(key)")
            }
            want(t.notes.contains { $0.hasPrefix("# moved: \(moved) prefix") && $0.contains("no other path: \(stranded),") },
                    "what-if notes \(t.notes), oracle moved \(moved), stranded \(stranded)")
        }

        func prefixes() throws {
            let b = try Breakdown.compute(source, by: ["dst_net", "dst_mask"], query: query, detail: false)
            let t = Reports.coverage(b)
            notes(t)
            let routed = groups(rows.filter { $0.mask != 0 }) { [$0.net, String($0.mask)] }
            let total = Double(routed.reduce(Int64(0)) { $0 + $1.rows.reduce(0) { $0 + $1.bytes } })
            for (line, share) in zip(t.rows, [50.0, 90, 95, 99]) {
                guard line.count == 4 else {
                    failures.append("prefixes row \(line)")
                    continue
                }
                var sum = 0.0, n = 0
                for g in routed {
                    if sum * 100 / max(1, total) >= share { break }
                    sum += Double(g.rows.reduce(Int64(0)) { $0 + $1.bytes })
                    n += 1
                }
                want(line[1] == .integer(Int64(n)), "prefixes for \(share) %")
                close(line[3], sum * 100 / max(1, total), "prefixes covered at \(share) %")
            }
            want(t.rows.last?[1] == .integer(Int64(routed.count)), "prefixes with traffic")
        }
    }
}
