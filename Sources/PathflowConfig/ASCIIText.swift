/// Text helpers that treat only ASCII whitespace and letters specially, like C's isspace()
/// and tolower() in pmacct, so non-ASCII bytes in values pass through untouched.
enum ASCIIText {
    /// A Character is whitespace when every scalar is: "\r\n" is one Character in Swift.
    static func isSpace(_ c: Character) -> Bool {
        c.unicodeScalars.allSatisfy { s in
            s == " " || s == "\t" || s == "\n" || s == "\r" || s == "\u{0B}" || s == "\u{0C}"
        }
    }

    static func trim<S: StringProtocol>(_ text: S) -> String {
        guard let start = text.firstIndex(where: { !isSpace($0) }),
              let end = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[start...end])
    }

    static func removingSpaces<S: StringProtocol>(_ text: S) -> String {
        String(text.filter { !isSpace($0) })
    }

    static func lowercased<S: StringProtocol>(_ text: S) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { s in
            ("A"..."Z").contains(s) ? Unicode.Scalar(s.value + 32)! : s
        }))
    }

    /// Digits only, no sign, no spaces, no overflow: integers that reject junk.
    static func decimal<S: StringProtocol>(_ text: S) -> Int? {
        guard !text.isEmpty, text.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return Int(text)
    }
}
