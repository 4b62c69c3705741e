import Testing

@testable import Reports

/// ClickHouse's TabSeparated answers, read in place: lines, fields, escapes and numbers.
struct TabSeparatedRowsTests {
    /// Every line's fields as text.
    static func lines(_ text: String) -> [[String]] {
        Array(text.utf8).withUnsafeBytes { bytes in
            var rows = TabSeparatedRows(bytes)
            var out: [[String]] = []
            while rows.next() { out.append(rows.fields.indices.map(rows.text)) }
            return out
        }
    }

    @Test func linesAndFields() {
        // Two groups: key, stamp, bytes, packets, flows.
        #expect(Self.lines("10.0.0.1\t64500\t1796256000\t1500\t3\t1\n10.0.0.2\t64501\t1796256300\t40\t1\t1\n")
            == [["10.0.0.1", "64500", "1796256000", "1500", "3", "1"], ["10.0.0.2", "64501", "1796256300", "40", "1", "1"]])
        // No newline after the last line; empty fields kept; empty lines skipped.
        #expect(Self.lines("a\t\tb\n\nc") == [["a", "", "b"], ["c"]])
        #expect(Self.lines("") == [])
        #expect(Self.lines("\n\n") == [])
        // An empty key (a text primitive with no value) is a field, not a missing one.
        #expect(Self.lines("\t1796256000\t1\t1\t0\n") == [["", "1796256000", "1", "1", "0"]])
    }

    @Test func escapesAreUndone() {
        // A tab, a newline and a backslash inside values arrive escaped (\t, \n, \\).
        #expect(Self.lines("a\\tb\tc\\nd\te\\\\f\n") == [["a\tb", "c\nd", "e\\f"]])
        #expect(Self.lines("AS\\'1\t\\0x\n") == [["AS'1", "\0x"]])
        // Text that is not ASCII stays as it is.
        #expect(Self.lines("Zürich\t東京\n") == [["Zürich", "東京"]])
    }

    @Test func numbers() {
        let text = "0\t18446744073709551615\t18446744073709551616\t12a\t\t-1\t007\n"
        let values: [UInt64?] = Array(text.utf8).withUnsafeBytes { bytes in
            var rows = TabSeparatedRows(bytes)
            guard rows.next() else { return [] }
            return rows.fields.indices.map(rows.unsigned)
        }
        // UInt64.max fits; one more does not; no sign, no letters, no empty number.
        #expect(values == [0, UInt64.max, nil, nil, nil, nil, 7])
    }
}
