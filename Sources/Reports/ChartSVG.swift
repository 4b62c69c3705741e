import Foundation

/// One SVG drawing as text: elements appended in order, coordinates with at most two decimals,
/// every text escaped (`ReportTable.escape`). Sized in pixels with a viewBox, so that a page
/// narrower than the drawing (a printed one) scales it down whole.
struct ChartSVG {
    enum Anchor: String {
        case start, middle, end
    }

    let width: Double
    let height: Double
    private(set) var body = ""

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// Okabe and Ito's palette, which readers with any common colour-vision deficiency tell apart;
    /// its yellow is left out (unreadable as a thin line on white).
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
    /// Past the palette, lines differ by dashes as well (and so do they in black and white).
    static let dashes = ["", "7 3", "2 2", "9 3 2 3"]
    static let threshold = "#D55E00"
    static let axis = "#666"
    static let grid = "#e3e3e3"
    static let text = "#222"
    /// Chart text: never smaller than this (px).
    static let fontSize = 12.0

    static func colour(_ k: Int) -> String { palette[k % palette.count] }
    static func dash(_ k: Int) -> String { dashes[(k / palette.count) % dashes.count] }

    /// A coordinate: at most two decimals, no trailing zeros.
    static func n(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        if r == r.rounded(), abs(r) < 1e15 { return String(Int64(r)) }
        var s = String(format: "%.2f", r)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    /// About how wide `text` is at `size` px in a sans-serif face: a little more than the average
    /// glyph, so that what is laid out by it does not overlap.
    static func textWidth(_ text: String, size: Double = fontSize) -> Double {
        var w = 0.0
        for c in text.unicodeScalars {
            switch c {
            case "i", "l", "j", ".", ",", ":", ";", "'", "|", "!", " ": w += 0.32
            case "m", "w", "M", "W", "@", "%": w += 0.9
            case "A"..."Z": w += 0.7
            default: w += c.value > 0x2000 ? 1.0 : 0.6
            }
        }
        return w * size
    }

    /// `text` cut to about `width` px, with an ellipsis when cut.
    static func fit(_ text: String, width: Double, size: Double = fontSize) -> String {
        guard textWidth(text, size: size) > width else { return text }
        var out = ""
        for c in text {
            if textWidth(out + String(c) + "…", size: size) > width { break }
            out.append(c)
        }
        return out + "…"
    }

    mutating func raw(_ s: String) { body += s }

    mutating func line(
        _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = axis, width: Double = 1, dash: String = "",
        attributes: String = ""
    ) {
        body += "<line x1=\"\(Self.n(x1))\" y1=\"\(Self.n(y1))\" x2=\"\(Self.n(x2))\" y2=\"\(Self.n(y2))\" stroke=\"\(stroke)\""
            + (width == 1 ? "" : " stroke-width=\"\(Self.n(width))\"") + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")
            + (attributes.isEmpty ? "" : " " + attributes) + "/>"
    }

    mutating func text(
        _ s: String, _ x: Double, _ y: Double, anchor: Anchor = .start, size: Double = fontSize, bold: Bool = false,
        fill: String? = nil, rotate: Double? = nil, attributes: String = ""
    ) {
        body += "<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\"" + (anchor == .start ? "" : " text-anchor=\"\(anchor.rawValue)\"")
            + (size == Self.fontSize ? "" : " font-size=\"\(Self.n(size))\"") + (bold ? " font-weight=\"bold\"" : "")
            + (fill.map { " fill=\"\($0)\"" } ?? "")
            + (rotate.map { " transform=\"rotate(\(Self.n($0)) \(Self.n(x)) \(Self.n(y)))\"" } ?? "")
            + (attributes.isEmpty ? "" : " " + attributes) + ">\(ReportTable.escape(s))</text>"
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, attributes: String = "", title: String? = nil) {
        body += "<rect x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" width=\"\(Self.n(max(0, w)))\" height=\"\(Self.n(max(0, h)))\""
            + " fill=\"\(fill)\""
            + (attributes.isEmpty ? "" : " " + attributes)
            + (title.map { "><title>\(ReportTable.escape($0))</title></rect>" } ?? "/>")
    }

    mutating func polyline(
        _ points: [(x: Double, y: Double)], stroke: String, width: Double = 1.5, dash: String = "", attributes: String = ""
    ) {
        body += "<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.n(width))\" stroke-linejoin=\"round\""
            + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") + (attributes.isEmpty ? "" : " " + attributes)
            + " points=\"" + points.map { "\(Self.n($0.x)),\(Self.n($0.y))" }.joined(separator: " ") + "\"/>"
    }

    /// A closed shape filled with `fill` at `opacity`, without an outline.
    mutating func polygon(_ points: [(x: Double, y: Double)], fill: String, opacity: Double = 1, attributes: String = "") {
        body += "<polygon fill=\"\(fill)\"" + (opacity == 1 ? "" : " fill-opacity=\"\(Self.n(opacity))\"")
            + (attributes.isEmpty ? "" : " " + attributes)
            + " points=\"" + points.map { "\(Self.n($0.x)),\(Self.n($0.y))" }.joined(separator: " ") + "\"/>"
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String, attributes: String = "") {
        body += "<circle cx=\"\(Self.n(x))\" cy=\"\(Self.n(y))\" r=\"\(Self.n(r))\" fill=\"\(fill)\""
            + (attributes.isEmpty ? "" : " " + attributes) + "/>"
    }

    /// A legend entry: a short line in the series' colour and dash, then its label; returns the
    /// entry's width.
    @discardableResult
    mutating func legendLine(_ label: String, _ x: Double, _ y: Double, colour: String, dash: String = "", width: Double = 2.5) -> Double {
        line(x, y - 4, x + 22, y - 4, stroke: colour, width: width, dash: dash)
        text(label, x + 28, y)
        return 28 + Self.textWidth(label) + 18
    }

    /// A legend entry with a filled square.
    @discardableResult
    mutating func legendSwatch(_ label: String, _ x: Double, _ y: Double, colour: String) -> Double {
        rect(x, y - 10, 12, 12, fill: colour)
        text(label, x + 18, y)
        return 18 + Self.textWidth(label) + 18
    }

    /// The vertical scale's gridlines and labels between `left` and `right`; the lines carry
    /// their tick's value (`data-tick`), so that a reader of the markup can map values to pixels.
    mutating func yAxis(_ scale: ChartScale, left: Double, right: Double, top: Double, bottom: Double, caption: String) {
        for tick in scale.ticks {
            let y = scale.position(tick, from: bottom, to: top)
            line(left, y, right, y, stroke: tick == 0 ? Self.axis : Self.grid,
                 attributes: "class=\"grid-y\" data-tick=\"\(Self.number(tick))\"")
            text(scale.label(tick), left - 6, y + 4, anchor: .end)
        }
        let middle = (top + bottom) / 2
        text(caption, 14, middle, anchor: .middle, rotate: -90)
    }

    /// The time scale's ticks along the bottom edge `bottom`, gridlines up to `top`; each tick
    /// line carries its time (`data-time`, unix seconds).
    mutating func timeAxis(_ scale: ChartTimeScale, left: Double, right: Double, top: Double, bottom: Double) {
        line(left, bottom, right, bottom)
        for tick in scale.ticks {
            let x = scale.position(tick.time, from: left, to: right)
            line(x, top, x, bottom, stroke: Self.grid)
            line(x, bottom, x, bottom + 5, attributes: "class=\"tick-x\" data-time=\"\(tick.time)\"")
            // Labels near an edge are anchored on the side that keeps them inside.
            let w = max(Self.textWidth(tick.label), tick.date.map { Self.textWidth($0) } ?? 0)
            let anchor: Anchor = x - w / 2 < 2 ? .start : x + w / 2 > width - 2 ? .end : .middle
            text(tick.label, x, bottom + 18, anchor: anchor)
            if let second = tick.date { text(second, x, bottom + 33, anchor: anchor, fill: "#555") }
        }
    }

    /// A number for an attribute: whole numbers without a point, others with up to 6 decimals.
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        var s = String(format: "%.6f", v)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    var svg: String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.n(width))\" height=\"\(Self.n(height))\" "
            + "viewBox=\"0 0 \(Self.n(width)) \(Self.n(height))\" font-size=\"\(Self.n(Self.fontSize))\">" + body + "</svg>"
    }
}
