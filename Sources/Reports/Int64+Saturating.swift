extension Int64 {
    /// The sum, stopping at `Int64.max` or `Int64.min` instead of trapping: report counters come
    /// from tables that may hold anything, and one huge value must not end the report.
    @inline(__always)
    public func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// Adds with saturation; true when the sum did not fit.
    @inline(__always)
    @discardableResult
    public mutating func addSaturated(_ other: Int64) -> Bool {
        let (sum, overflow) = addingReportingOverflow(other)
        self = overflow ? (other > 0 ? .max : .min) : sum
        return overflow
    }
}
