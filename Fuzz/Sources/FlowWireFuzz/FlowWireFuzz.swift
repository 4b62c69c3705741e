import FlowWire
import NetCore

/// libFuzzer entry point for `FlowDecoder`.
///
/// Input format (the same one `Tests/FlowWireTests/FuzzRegressionTests.swift` replays):
/// chunks separated by the 4 bytes `FuzzInput.marker`; the first byte of a chunk picks the
/// exporter (modulo the number of exporters), the rest is one datagram. One decoder with small
/// limits sees every chunk in order, so templates, sampling and sequence state carry across
/// datagrams and exporters interleave.
@_cdecl("LLVMFuzzerTestOneInput")
public func flowWireFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzInput.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

enum FuzzInput {
    static let marker: [UInt8] = [0xf1, 0x0f, 0x1f, 0x0f]

    static let exporters: [IPAddress] = [
        IPAddress(v4: 0x7f00_0001), IPAddress(v4: 0x7f00_0002),
        IPAddress(v6High: 0, low: 1), IPAddress(v4: 0x7f00_0003),
    ]

    /// Small enough that the template limits are reachable from one input.
    static var limits: FlowDecoder.Limits {
        var limits = FlowDecoder.Limits()
        limits.templatesPerDomain = 6
        limits.templatesTotal = 12
        limits.fieldsPerTemplate = 64
        limits.maximumSequenceGap = 1 << 16
        return limits
    }

    /// Byte ranges of the chunks between markers.
    static func chunks(_ input: UnsafeRawBufferPointer) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var i = 0
        while i + marker.count <= input.count {
            if input[i] == marker[0] && input[i + 1] == marker[1] && input[i + 2] == marker[2] && input[i + 3] == marker[3] {
                ranges.append(start..<i)
                i += marker.count
                start = i
            } else {
                i += 1
            }
        }
        ranges.append(start..<input.count)
        return ranges
    }

    static func run(_ input: UnsafeRawBufferPointer) {
        let limits = limits
        var decoder = FlowDecoder(limits: limits)
        var records: [FlowRecord] = []
        for range in chunks(input) where !range.isEmpty {
            let exporter = exporters[Int(input[range.lowerBound]) % exporters.count]
            let datagram = UnsafeRawBufferPointer(rebasing: input[(range.lowerBound + 1)..<range.upperBound])
            let replay = decoder
            let before = records.count
            let outcome = decoder.decode(datagram, from: exporter, into: &records)
            if outcome.error != nil {
                require(records.count == before, "a rejected datagram appended records")
                require(outcome.records == 0, "a rejected datagram reports records")
            } else {
                require(records.count - before == outcome.records, "outcome.records differs from the records appended")
            }
            for record in records[before...] {
                require(record.exporter == exporter, "record from another exporter")
                require(record.version == outcome.version, "record of another version")
            }
            require(decoder.templateCount <= limits.templatesTotal, "more templates than the limit")
            // The decoder is a value: the same state and datagram decode the same way again.
            var again = replay
            var replayed: [FlowRecord] = []
            let second = again.decode(datagram, from: exporter, into: &replayed)
            require(second == outcome, "decoding is not deterministic")
            require(replayed[...] == records[before...], "decoded records are not deterministic")
        }
    }

    static func require(_ condition: Bool, _ message: StaticString) {
        if !condition { fatalError("\(message)") }
    }
}
