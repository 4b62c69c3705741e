import Reports
import Testing

@Suite struct BinSeriesTests {
    func pairs(_ s: BinSeries) -> [[Int]] { s.bins.map { [$0.start, Int($0.bytes)] } }

    @Test func binsStaySortedAndUnique() {
        var s = BinSeries()
        s.add(600, 1)
        s.add(900, 2)
        s.add(900, 3)
        s.add(300, 4)  // out of order
        s.add(600, 5)
        s.normalize()
        #expect(pairs(s) == [[300, 4], [600, 6], [900, 5]])
        #expect(s[600] == 6 && s[450] == 0 && s[1200] == 0 && s.peak == 6)
        var t = BinSeries([1200: 7, 600: 1])
        t.add(s)
        #expect(pairs(t) == [[300, 4], [600, 7], [900, 5], [1200, 7]])
    }

    @Test func sumsOnAndOffTheGrid() {
        let a = BinSeries([0: 1, 300: 2, 600: 3])
        let b = BinSeries([300: 10, 450: 100, 5_000: 1_000])  // 450 is off the grid, 5,000 past its end
        let dense = BinSeries.sum([a, b], first: 0, step: 300, count: 3)
        #expect(pairs(dense) == [[0, 1], [300, 12], [450, 100], [600, 3], [5_000, 1_000]])
        var merged = a
        merged.add(b)
        #expect(dense == merged)
        #expect(BinSeries.sum([a, b], first: nil, step: 300, count: 0) == merged)
    }
}
