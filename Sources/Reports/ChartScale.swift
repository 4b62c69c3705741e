import Foundation

/// A value axis from 0 to a round number, with round ticks (1, 2, 2.5 or 5 × a power of ten)
/// labelled in the values' unit: bit/s and bytes with k, M, G…, percentages with %.
struct ChartScale {
    enum Unit: Equatable {
        case bitsPerSecond, bytes, percent, count

        /// The unit of a table cell.
        init(_ v: ReportTable.Value) {
            switch v {
            case .rate: self = .bitsPerSecond
            case .bytes: self = .bytes
            case .percent: self = .percent
            case .integer, .text: self = .count
            }
        }
    }

    let unit: Unit
    let step: Double
    let upper: Double
    /// Labels divide by this (1000^k) and carry the matching prefix.
    let divisor: Double
    let prefix: String
    let decimals: Int

    static let prefixes = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"]

    /// From 0 to at least `maximum` (the largest finite value drawn) in about `ticks` steps.
    init(maximum: Double, unit: Unit, ticks: Int = 5) {
        self.unit = unit
        var top = maximum.isFinite && maximum > 0 ? maximum : 1
        // Counts and bytes do not come in fractions.
        if unit == .count || unit == .bytes { top = max(top, 1) }
        step = Self.roundStep(top / Double(max(1, ticks)), whole: unit == .count || unit == .bytes)
        let n = (top / step - 1e-9).rounded(.up)
        upper = max(1, n) * step
        if unit == .percent || unit == .count {
            divisor = 1
            prefix = ""
        } else {
            let k = min(Self.prefixes.count - 1, max(0, Int((log10(upper) / 3).rounded(.down))))
            divisor = pow(1000, Double(k))
            prefix = Self.prefixes[k]
        }
        decimals = Self.decimals(upper: upper, step: step, divisor: divisor)
    }

    /// As few decimals as show every tick exactly.
    static func decimals(upper: Double, step: Double, divisor: Double) -> Int {
        let values = stride(from: 0.0, through: upper + step / 2, by: step).map { $0 / divisor }
        for d in 0..<4 {
            let f = pow(10, Double(d))
            if values.allSatisfy({ abs(($0 * f).rounded() - $0 * f) <= 1e-6 }) { return d }
        }
        return 4
    }

    /// 1, 2, 2.5 or 5 times a power of ten, at least `raw` (whole when `whole`).
    static func roundStep(_ raw: Double, whole: Bool) -> Double {
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let r = raw / magnitude
        let step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * magnitude
        return whole ? max(1, step.rounded(.up)) : step
    }

    var ticks: [Double] {
        let n = Int((upper / step).rounded())
        return (0...n).map { Double($0) * step }
    }

    /// The pixel of `v` on an axis from `a` (value 0) to `b` (value `upper`); values past the
    /// ends stay at the ends.
    func position(_ v: Double, from a: Double, to b: Double) -> Double {
        let r = v.isFinite ? min(max(v / upper, 0), 1) : 0
        return a + (b - a) * r
    }

    /// A value in `unit` as the tables write it: 1.23 Mbit/s, 4.50 GB, 12.3 %.
    static func text(_ v: Double, _ unit: Unit) -> String {
        switch unit {
        case .bitsPerSecond: ReportTable.si(v, "bit/s")
        case .bytes: ReportTable.si(v, "B")
        case .percent: String(format: "%.1f %%", v)
        case .count: ChartSVG.number(v)
        }
    }

    func label(_ v: Double) -> String {
        let digits = String(format: "%.\(decimals)f", v / divisor)
        switch unit {
        case .bitsPerSecond: return v == 0 ? "0" : "\(digits) \(prefix)bit/s"
        case .bytes: return v == 0 ? "0" : "\(digits) \(prefix)B"
        case .percent: return "\(digits) %"
        case .count: return digits
        }
    }
}
