import Foundation
import NetCore
@testable import FlowWire

/// Captures of real exporters under fixtures/flows (provenance in fixtures/README.md).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/flows")

    static let captures = [
        "pmacctd-nfprobe-v5", "pmacctd-nfprobe-v9", "pmacctd-nfprobe-v10",
        "softflowd-v5", "softflowd-v9", "softflowd-v10",
    ]

    static func datagrams(_ name: String) throws -> [[UInt8]] {
        let text = try String(contentsOf: directory.appendingPathComponent("\(name).hex"), encoding: .utf8)
        return text.split(separator: "\n").map { hex($0) }
    }

    static func hex<S: StringProtocol>(_ text: S) -> [UInt8] {
        var bytes: [UInt8] = []
        var high: UInt8?
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: continue
            }
            if let h = high { bytes.append(h << 4 | v); high = nil } else { high = v }
        }
        return bytes
    }

    /// Rows of a TSV file with a header line, as dictionaries.
    static func table(_ file: String) throws -> [[String: String]] {
        let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        var lines = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let header = lines.removeFirst()
        return lines.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    static let exporter = IPAddress("127.0.0.1")!

    /// Decodes a whole capture with one decoder, as a collector would.
    static func decode(_ name: String, decoder: inout FlowDecoder) throws -> (records: [FlowRecord], outcomes: [DecodeOutcome]) {
        var records: [FlowRecord] = []
        var outcomes: [DecodeOutcome] = []
        for datagram in try datagrams(name) {
            let outcome = datagram.withUnsafeBytes { decoder.decode($0, from: exporter, into: &records) }
            outcomes.append(outcome)
        }
        return (records, outcomes)
    }
}

extension FlowDecoder {
    mutating func decode(_ bytes: [UInt8], from exporter: IPAddress = Fixtures.exporter, into records: inout [FlowRecord]) -> DecodeOutcome {
        bytes.withUnsafeBytes { decode($0, from: exporter, into: &records) }
    }
}
