import Foundation

extension ReportAPI {
    /// One query parameter: the description the API's parsing reads (a parameter it does not
    /// list is refused, and the code cannot read one it does not list) and the OpenAPI document
    /// is made from.
    public struct Parameter: Sendable {
        public enum Kind: String, Sendable {
            case string, integer, number, boolean
        }

        public var name: String
        public var kind: Kind
        /// What an absent parameter means, as it would be written; nil when it has no fixed
        /// default (required, or one that depends on other parameters: the description says).
        public var defaultValue: String?
        public var required = false
        /// Given any number of times (`where`).
        public var repeatable = false
        /// The only values it takes, when they are few.
        public var values: [String]?
        public var description: String

        init(
            _ name: String, _ kind: Kind, default defaultValue: String? = nil, required: Bool = false,
            repeatable: Bool = false, values: [String]? = nil, _ description: String
        ) {
            self.name = name
            self.kind = kind
            self.defaultValue = defaultValue
            self.required = required
            self.repeatable = repeatable
            self.values = values
            self.description = description
        }

        /// A string parameter.
        init(
            _ name: String, default defaultValue: String? = nil, required: Bool = false, repeatable: Bool = false,
            values: [String]? = nil, _ description: String
        ) {
            self.init(
                name, .string, default: defaultValue, required: required, repeatable: repeatable, values: values, description)
        }
    }

    /// One report: its name (the path's last part), what it answers, and its own parameters
    /// (besides `common`).
    public struct Description: Sendable {
        public var name: String
        public var summary: String
        public var parameters: [Parameter]

        /// Every parameter the report takes: the common ones, then its own.
        public var allParameters: [Parameter] { ReportAPI.common + parameters }

        public func parameter(_ name: String) -> Parameter? {
            allParameters.first { $0.name == name }
        }
    }

    /// The range, filters and rendering every report takes.
    public static let common: [Parameter] = [
        Parameter("from", "Start of the range: the first bin starting at or after YYYY-MM-DD[ HH:MM[:SS]], in the stamps' zone."),
        Parameter("to", "End of the range (exclusive): the bins starting before YYYY-MM-DD[ HH:MM[:SS]]."),
        Parameter("last", "The range of whole bins ending with the one that holds now, at least this long: 30m, 24h, 7d. Not with from or to."),
        Parameter("where", repeatable: true, "COLUMN=VALUE: only rows with that value (a column or a primitive); repeatable."),
        Parameter("bin", "Coarser bins than the table's, on the clock: a whole multiple of them, e.g. 1h over 5-minute bins."),
        Parameter("no_rollup", .boolean, default: "false", "Read every bin from the table, not whole days from its daily rollup."),
        Parameter("format", default: "json", values: ["json", "table", "csv", "text", "html"],
                  "json: an array of objects, one per row; table: one object with the title, range, notes, column types and rows "
                      + "(what the console's pages draw); csv, text, or html (one self-contained page with a chart)."),
    ]

    static let by = "Columns or primitives that make a key, comma-separated (e.g. peer_as_dst, or peer_ip_src,peer_ip_dst)."
    static let capacityNote = " Capacities come from the server's capacity file (console_capacities), when it has one."

    /// Every report the API answers, in the order it lists them.
    public static let descriptions: [Description] = [
        Description(name: "top", summary: "The largest keys by bytes: bytes, packets, flows, avg, peak and p95 bit/s, share and cumulative share.",
                    parameters: [
                        Parameter("by", required: true, by),
                        Parameter("n", .integer, default: "10", "How many keys."),
                    ]),
        Description(name: "matrix", summary: "A traffic matrix: rows × columns of two primitives, cells in bytes or avg, peak or p95 bit/s, a total per row.",
                    parameters: [
                        Parameter("rows", default: "peer_ip_src", "The rows' primitive."),
                        Parameter("columns", default: "peer_as_dst", "The columns' primitive (peer_as_dst, peer_ip_dst, iface_in, …)."),
                        Parameter("cell", default: "bytes", values: ["bytes", "avg", "peak", "p95"], "Cells: bytes, or the cell's avg, peak or p95 bit/s."),
                        Parameter("max_columns", .integer, default: "12", "At most this many columns; the rest add up in 'other'."),
                        Parameter("max_rows", .integer, default: "50", "At most this many rows."),
                    ]),
        Description(name: "series", summary: "Bit/s per bin for the largest keys: one row per bin of the range, empty bins 0.",
                    parameters: [
                        Parameter("by", required: true, by),
                        Parameter("n", .integer, default: "5", "How many keys (columns)."),
                        Parameter("other", .boolean, default: "false", "One more column, other: the rest of the keys, so that each bin adds up to all traffic."),
                    ]),
        Description(name: "quality", summary: "How far the matrix can be trusted: the share of bytes mapped to a BGP path, and how, per router or exit.",
                    parameters: [Parameter("by", default: "peer_ip_src", "Rows per value of this column (peer_ip_src: the routers).")]),
        Description(name: "demands", summary: "A demand matrix: per source and destination, the pair's p95 (or percentile) bit/s.",
                    parameters: [
                        Parameter("source", default: "peer_ip_src", "Source columns, comma-separated (peer_ip_src, or peer_ip_src,iface_in)."),
                        Parameter("dest", default: "peer_ip_dst", "Destination column: peer_ip_dst, peer_as_dst, or another."),
                        Parameter("percentile", .number, default: "95", "The percentile of each pair's per-bin bit/s (above 0, at most 100)."),
                    ]),
        Description(name: "shifts", summary: "Egress shifts: each change of a prefix's best path and the traffic that moved; or, with a baseline, what changed per exit, demand or routing.",
                    parameters: [
                        Parameter("baseline_from", "The split's baseline: its first bin starts at or after YYYY-MM-DD[ HH:MM[:SS]]; needs baseline_to."),
                        Parameter("baseline_to", "The split's baseline: its bins start before YYYY-MM-DD[ HH:MM[:SS]]."),
                        Parameter("by", default: "peer_ip_dst", "With a baseline: the split per peer_ip_dst or peer_as_dst, optionally with peer_ip_src."),
                    ]),
        Description(name: "prefixes", summary: "How many destination prefixes carry 50/90/95/99 % of the traffic.", parameters: []),
        Description(name: "capacity", summary: "Utilisation against capacities (avg, p95, peak), the trend, and when it reaches the threshold: the lines of the server's capacity file (console_capacities), or with counters every port that sends sFlow counter samples.",
                    parameters: [
                        Parameter("threshold", .number, default: "80", "Utilisation threshold, percent."),
                        Parameter("counters", .boolean, default: "false",
                                  "Capacity and utilisation of every port from its own sFlow counters, beside the flows' rates, instead of the capacity file."),
                    ]),
        Description(name: "what-if", summary: "Load per exit if a next-hop or a peer AS failed: each prefix's traffic moves to its router's next path (the RIB snapshot)." + capacityNote,
                    parameters: [
                        Parameter("fail", required: true, "The failing BGP next-hop (an address) or peer AS (AS65001 or 65001)."),
                        Parameter("by", "Load per peer_ip_dst or peer_as_dst; by default the failure's kind."),
                    ]),
        Description(name: "failures", summary: "Every single failure at once: per exit, its p95, its worst p95 under any one failure and which, headroom and runout; with the server's groups of exits that fail together (console_failure_groups)." + capacityNote,
                    parameters: [
                        Parameter("fail_each", default: "peer_ip_dst",
                                  "Which exits fail one at a time: peer_ip_dst, peer_as_dst, exit_router (comma-separated); none for the groups only."),
                        Parameter("by", "Load per peer_ip_dst or peer_as_dst; by default the first kind of fail_each (peer_ip_dst for groups only)."),
                        Parameter("threshold", .number, default: "0.8", "Runout: the share of capacity that counts as full."),
                    ]),
        Description(name: "forecast", summary: "Each key's daily p95 forecast with its weekly pattern, a band, and the error of a backtest on the last week." + capacityNote,
                    parameters: [
                        Parameter("by", required: true, by),
                        Parameter("horizon", default: "90d", "How far past the last whole day: e.g. 30d, 13w (at least a day)."),
                        Parameter("n", .integer, default: "20", "How many keys."),
                        Parameter("threshold", .number, default: "0.8", "Runout: the share of capacity that counts as full."),
                    ]),
    ]

    /// A report's description by name.
    public static func description(_ report: String) -> Description? {
        descriptions.first { $0.name == report }
    }

    /// A request's parameters as its report's description has them. Every read goes through
    /// `value(_:)`, which refuses a name the description does not list (a 500: the code and the
    /// description disagree) and gives the described default for an absent one.
    final class Arguments {
        let report: Description
        let parameters: Parameters
        /// The names read so far (for the tests that keep the description and the code together).
        private(set) var read: Set<String> = []

        /// Refuses an unknown report (404) and a parameter its description does not list (400).
        init(_ report: String, _ parameters: Parameters) throws {
            guard let description = ReportAPI.description(report) else {
                throw Failure(status: 404, "no report '\(report)': \(reports.joined(separator: ", "))")
            }
            for name in parameters.keys.sorted() where description.parameter(name) == nil {
                let known = description.allParameters.map(\.name).joined(separator: ", ")
                throw Failure("unknown parameter '\(name)' for \(report): it takes \(known)")
            }
            self.report = description
            self.parameters = parameters
        }

        /// The last value given, else the description's default.
        func value(_ name: String) throws -> String? {
            guard let parameter = report.parameter(name) else {
                throw Failure(status: 500, "\(report.name) reads parameter '\(name)', which its description does not list")
            }
            read.insert(name)
            return parameters[name]?.last ?? parameter.defaultValue
        }

        /// Every value given, in order (a repeatable parameter).
        func values(_ name: String) throws -> [String] {
            _ = try value(name)
            return parameters[name] ?? []
        }

        /// Whether the parameter was given at all.
        func given(_ name: String) throws -> Bool {
            _ = try value(name)
            return parameters[name] != nil
        }

        func text(_ name: String, _ fallback: String? = nil) throws -> String {
            guard let v = try value(name) ?? fallback else { throw Failure("\(name) is missing") }
            return v
        }

        func int(_ name: String) throws -> Int {
            let v = try text(name)
            guard let n = Int(v), n > 0 else { throw Failure("\(name)=\(v): a whole number above 0") }
            return n
        }

        func number(_ name: String, zero: Bool = false) throws -> Double {
            let v = try text(name)
            guard let x = Double(v), x.isFinite, x > 0 || (zero && x == 0) else {
                throw Failure("\(name)=\(v): a number \(zero ? "from 0" : "above 0")")
            }
            return x
        }

        /// 1 or true, 0 or false; given without a value, true.
        func flag(_ name: String) throws -> Bool {
            switch try value(name) {
            case nil, "0", "false": return false
            case "", "1", "true": return true
            case let v?: throw Failure("\(name)=\(v): 1 or 0")
            }
        }

        /// A comma-separated list of columns, at least one.
        func columns(_ name: String, _ fallback: String? = nil) throws -> [String] {
            let list = try text(name, fallback).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !list.isEmpty else { throw Failure("\(name): at least one column") }
            return list
        }
    }
}

@available(*, unavailable)
extension ReportAPI.Arguments: Sendable {}
