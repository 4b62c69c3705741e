/// The coverage chart: a curve through (x, y) points, both 0–100 % (share of prefixes, largest
/// first, against the share of traffic they carry), from (0, 0); marked points (the shares the
/// table lists) with their labels.
public struct ChartCurve: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public var label: String

        public init(x: Double, y: Double, label: String = "") {
            self.x = x
            self.y = y
            self.label = label
        }
    }

    public var points: [Point]
    public var marks: [Point]
    public var xLabel: String
    public var yLabel: String

    public init(points: [Point], marks: [Point] = [], xLabel: String, yLabel: String) {
        self.points = points
        self.marks = marks
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    static let width = 1000.0
    static let height = 470.0

    func svg(_ t: ReportTable) -> String {
        let left = 84.0, right = Self.width - 300, top = 20.0, bottom = Self.height - 60
        let scale = ChartScale(maximum: 100, unit: .percent, ticks: 10)
        func px(_ x: Double) -> Double { scale.position(x, from: left, to: right) }
        func py(_ y: Double) -> Double { scale.position(y, from: bottom, to: top) }
        var s = ChartSVG(width: Self.width, height: Self.height)
        s.yAxis(scale, left: left, right: right, top: top, bottom: bottom, caption: yLabel)
        for tick in scale.ticks {
            let x = px(tick)
            s.line(x, top, x, bottom, stroke: tick == 0 ? ChartSVG.axis : ChartSVG.grid,
                   attributes: "class=\"grid-x\" data-tick=\"\(ChartSVG.number(tick))\"")
            s.text(scale.label(tick), x, bottom + 18, anchor: .middle)
        }
        s.text(xLabel, (left + right) / 2, bottom + 44, anchor: .middle)
        if points.isEmpty { s.text("no prefixes with traffic", left + 10, bottom - 10) }
        let line = [(x: px(0), y: py(0))] + points.map { (x: px($0.x), y: py($0.y)) }
        s.polyline(line, stroke: ChartSVG.palette[0], width: 2.2, attributes: "class=\"curve\"")
        // Labels to the right of the plot, one per mark, each joined to its point; moved apart
        // where marks lie closer than a line.
        var labelY = -Double.infinity
        for mark in marks.sorted(by: { $0.y > $1.y }) {
            let x = px(mark.x), y = py(mark.y)
            labelY = max(y + 4, labelY + 17)
            s.line(left, y, x, y, stroke: ChartSVG.palette[1], dash: "3 3")
            s.circle(x, y, r: 4, fill: ChartSVG.palette[1], attributes: "class=\"mark\"")
            s.line(x + 5, y, right + 10, labelY - 4, stroke: "#999")
            s.text(mark.label, right + 14, labelY)
        }
        return s.svg
    }
}
