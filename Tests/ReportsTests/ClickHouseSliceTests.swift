import Testing

@testable import Reports

/// The queries a breakdown sends to ClickHouse: a day of whole bins each, covering the range once.
struct ClickHouseSliceTests {
    @Test func slicesAreWholeBinsOfADay() {
        // Three days and five bins of 5 minutes: three full days, then the five bins.
        let grid = BinGrid(first: 1_796_256_000, seconds: 300, count: 3 * 288 + 5)
        let slices = Breakdown.clickhouseSlices(grid, perBin: true)
        #expect(slices.map(\.count) == [86_400, 86_400, 86_400, 1_500])
        #expect(slices.first?.lowerBound == grid.first && slices.last?.upperBound == grid.end)
        #expect(zip(slices, slices.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        // A bin that does not divide a day: slices stay on the grid (12,342 bins of 7 s).
        let odd = BinGrid(first: 1_000_003, seconds: 7, count: 30_000)
        let oddSlices = Breakdown.clickhouseSlices(odd, perBin: true)
        #expect(oddSlices.allSatisfy { ($0.lowerBound - odd.first) % 7 == 0 && ($0.upperBound - odd.first) % 7 == 0 })
        #expect(oddSlices.count == 3 && oddSlices.last?.upperBound == odd.end)
        // Bins of a day or longer: one bin per slice.
        #expect(Breakdown.clickhouseSlices(BinGrid(first: 0, seconds: 172_800, count: 3), perBin: true).count == 3)
        // Volumes only: the whole range in one query; an empty range: none.
        #expect(Breakdown.clickhouseSlices(grid, perBin: false) == [grid.first..<grid.end])
        #expect(Breakdown.clickhouseSlices(BinGrid(first: 0, seconds: 300, count: 0), perBin: true).isEmpty)
    }
}
