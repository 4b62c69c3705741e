import Aggregation
import NetCore

/// `print_output`: the text formats of pmacct's print plugin.
public enum PrintOutput: String, Sendable, Hashable {
    /// Fixed-width columns under a title line.
    case formatted
    /// Values separated by `print_output_separator` under a title line.
    case csv
    /// One JSON object per line, no title.
    case json
}

/// Renders a print view's title, rows and markers exactly as nfacctd's print plugin does
/// (print_plugin.c, plugin_cmn_json.c): pmacct's column order, titles, widths, separators,
/// empty values and JSON keys.
struct PrintFormat: Sendable {
    enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case variableLengthInFormatted([Primitive])

        var description: String {
            switch self {
            case .variableLengthInFormatted(let primitives):
                return "variable-length primitives (\(primitives.map(\.rawValue).joined(separator: ", "))) "
                    + "cannot be printed with print_output: formatted (nfacctd refuses them too); use csv or json"
            }
        }
    }

    let output: PrintOutput
    /// The view's primitives in `Primitive.printOrder`.
    let primitives: [Primitive]
    /// csv only.
    let separator: String
    /// print_num_protos: the protocol as a number.
    let numericProtocols: Bool
    /// timestamps_utc, for json's stamps.
    let utc: Bool
    /// print_history is set: json rows carry stamp_inserted and stamp_updated.
    let history: Bool

    init(output: PrintOutput, primitives: [Primitive], separator: String = ",", numericProtocols: Bool = false,
         utc: Bool = false, history: Bool = false) throws {
        let chosen = Set(primitives)
        self.primitives = Primitive.printOrder.filter { chosen.contains($0) }
        if output == .formatted {
            let refused = self.primitives.filter { $0.formattedColumn == nil }
            guard refused.isEmpty else { throw Error.variableLengthInFormatted(refused) }
        }
        self.output = output
        self.separator = separator
        self.numericProtocols = numericProtocols
        self.utc = utc
        self.history = history
    }

    // MARK: title

    /// The title line, newline included; nil for json.
    var header: String? {
        switch output {
        case .json:
            return nil
        case .csv:
            return (primitives.map(\.printHeader) + ["PACKETS", "BYTES"]).joined(separator: separator) + "\n"
        case .formatted:
            var line = ""
            for p in primitives {
                let (width, gap) = p.formattedColumn!
                Self.pad(p.printHeader, to: width + gap, into: &line)
            }
            Self.pad("PACKETS", to: 22, into: &line)
            return line + "BYTES\n"
        }
    }

    // MARK: rows

    /// One row, newline included. `texts` resolves the key's AS path and community numbers;
    /// `updated` is the flush time as a stamp (json with print_history only).
    func line(_ row: BinnedKey, _ counters: Counters, texts: [String], updated: String) -> String {
        var out = ""
        out.reserveCapacity(output == .formatted ? 64 + primitives.count * 24 : 32 + primitives.count * 20)
        switch output {
        case .csv:
            for p in primitives {
                out += text(of: p, in: row.key, texts: texts)
                out += separator
            }
            out += "\(counters.packets)\(separator)\(counters.bytes)\n"
        case .formatted:
            for p in primitives {
                let (width, gap) = p.formattedColumn!
                Self.pad(text(of: p, in: row.key, texts: texts), to: width, into: &out)
                out += String(repeating: " ", count: gap)
            }
            Self.pad(String(counters.packets), to: 20, into: &out)
            out += "  \(counters.bytes)\n"
        case .json:
            // jansson's json_dumps() with JSON_PRESERVE_ORDER: ", " between members, ": " after keys.
            out += "{\"event_type\": \"purge\""
            for p in primitives {
                out += ", \""
                out += p.jsonKey
                out += "\": "
                let value = text(of: p, in: row.key, texts: texts)
                if p.jsonIsString { JSONText.append(value, to: &out) } else { out += value }
            }
            if history && row.bin != 0 {
                out += ", \"stamp_inserted\": "
                JSONText.append(SQLTime.format(Int(row.bin), utc: utc), to: &out)
                out += ", \"stamp_updated\": "
                JSONText.append(updated, to: &out)
            }
            out += ", \"packets\": \(counters.packets), \"bytes\": \(counters.bytes)}\n"
        }
        return out
    }

    /// A primitive's value as this format prints it: an absent address is "" in csv and json and
    /// "::" in formatted output; spaces in AS paths and community lists become '_'.
    func text(of p: Primitive, in key: FlowKey, texts: [String]) -> String {
        switch key.value(of: p, texts: texts, numericProtocols: numericProtocols) {
        case .address(let address):
            if address.isNone { return output == .formatted ? "::" : "" }
            return address.description
        case .integer(let n):
            return String(n)
        case .text(let text):
            guard p.isText, text.utf8.contains(UInt8(ascii: " ")) else { return text }
            return String(text.map { $0 == " " ? "_" : $0 })
        }
    }

    // MARK: markers (print_markers)

    /// The line opening a flush: `writer` is the view's name, `pid` the writing process.
    func startMarker(writer: String, pid: Int32) -> String {
        switch output {
        case .csv, .formatted:
            return "--START (\(pid))--\n"
        case .json:
            var out = "{\"event_type\": \"purge_init\", \"writer_id\": "
            JSONText.append("\(writer)/\(pid)", to: &out)
            return out + "}\n"
        }
    }

    /// The line closing a flush: json's counts the rows written so far in this flush
    /// (`purged`), the rows of the whole flush (`total`) and the seconds it took.
    func endMarker(writer: String, pid: Int32, purged: Int, total: Int, seconds: Int) -> String {
        switch output {
        case .csv, .formatted:
            return "--END (\(pid))--\n"
        case .json:
            var out = "{\"event_type\": \"purge_close\", \"writer_id\": "
            JSONText.append("\(writer)/\(pid)", to: &out)
            return out + ", \"purged_entries\": \(purged), \"total_entries\": \(total), \"duration\": \(seconds)}\n"
        }
    }

    /// printf's "%-Ns": `text` left-justified in at least `width` characters.
    static func pad(_ text: String, to width: Int, into out: inout String) {
        out += text
        let count = text.utf8.count
        if count < width { out += String(repeating: " ", count: width - count) }
    }
}
