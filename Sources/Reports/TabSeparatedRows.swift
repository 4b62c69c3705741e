/// ClickHouse's TabSeparated output read in place, a line at a time: fields are split on the
/// bytes `\t` and `\n` (which values carry escaped, so never inside a field), numbers are parsed
/// from the bytes, and text is decoded (and unescaped when it holds a backslash) only when asked
/// for. A month of groups is millions of lines: splitting them as `String`s, by `Character`,
/// cost several times what the server took to compute them.
struct TabSeparatedRows {
    let bytes: UnsafeRawBufferPointer
    /// The current line's fields, as byte ranges of `bytes`.
    private(set) var fields: [Range<Int>] = []
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        fields.reserveCapacity(8)
    }

    /// Moves to the next line that is not empty; false past the last.
    mutating func next() -> Bool {
        while position < bytes.count {
            fields.removeAll(keepingCapacity: true)
            var start = position, i = position
            while i < bytes.count, bytes[i] != 0x0A {
                if bytes[i] == 0x09 {
                    fields.append(start..<i)
                    start = i + 1
                }
                i += 1
            }
            fields.append(start..<i)
            position = i + 1
            if fields.count > 1 || !fields[0].isEmpty { return true }
        }
        return false
    }

    /// Field `i` as text, its escapes undone.
    func text(_ i: Int) -> String {
        let field = UnsafeRawBufferPointer(rebasing: bytes[fields[i]])
        let text = String(decoding: field, as: UTF8.self)
        return field.contains(0x5C) ? ClickHouseTable.unescape(text) : text
    }

    /// Field `i` as an unsigned decimal number; nil when it is not one or does not fit.
    func unsigned(_ i: Int) -> UInt64? {
        let range = fields[i]
        guard !range.isEmpty else { return nil }
        var n: UInt64 = 0
        for k in range {
            let digit = bytes[k] &- 0x30
            guard digit < 10 else { return nil }
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            guard !o1, !o2 else { return nil }
            n = sum
        }
        return n
    }
}
