/// An IPv4 or IPv6 address held in 128 bits, or no address at all.
///
/// IPv4 addresses are stored in the low 32 bits with `family == .v4`, so an
/// IPv4-mapped IPv6 address stays distinct from the IPv4 address it maps.
public struct IPAddress: Hashable, Sendable, Comparable {
    public enum Family: UInt8, Sendable, Comparable {
        case none = 0
        case v4 = 4
        case v6 = 6
        public static func < (a: Family, b: Family) -> Bool { a.rawValue < b.rawValue }
    }

    public var high: UInt64
    public var low: UInt64
    public var family: Family

    @inlinable
    public init(high: UInt64, low: UInt64, family: Family) {
        self.high = high
        self.low = low
        self.family = family
    }

    /// No address: what a record without this field carries.
    public static let none = IPAddress(high: 0, low: 0, family: .none)

    @inlinable
    public init(v4 value: UInt32) {
        self.init(high: 0, low: UInt64(value), family: .v4)
    }

    @inlinable
    public init(v6High high: UInt64, low: UInt64) {
        self.init(high: high, low: low, family: .v6)
    }

    @inlinable public var isNone: Bool { family == .none }
    @inlinable public var v4Value: UInt32 { UInt32(truncatingIfNeeded: low) }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        (a.family, a.high, a.low) < (b.family, b.high, b.low)
    }

    /// The address with all bits past `length` cleared (a network address).
    public func masked(to length: Int) -> IPAddress {
        switch family {
        case .none:
            return self
        case .v4:
            let l = max(0, min(32, length))
            let mask: UInt32 = l == 0 ? 0 : ~UInt32(0) << UInt32(32 - l)
            return IPAddress(v4: v4Value & mask)
        case .v6:
            let l = max(0, min(128, length))
            let hiMask: UInt64 = l >= 64 ? ~0 : (l == 0 ? 0 : ~UInt64(0) << UInt64(64 - l))
            let loMask: UInt64 = l <= 64 ? 0 : (l == 128 ? ~0 : ~UInt64(0) << UInt64(128 - l))
            return IPAddress(v6High: high & hiMask, low: low & loMask)
        }
    }
}

extension IPAddress: CustomStringConvertible {
    /// Dotted quad for IPv4, RFC 5952 text for IPv6, "" for no address.
    public var description: String {
        switch family {
        case .none: return ""
        case .v4:
            let v = v4Value
            return "\(v >> 24).\((v >> 16) & 0xff).\((v >> 8) & 0xff).\(v & 0xff)"
        case .v6:
            return IPAddress.formatV6(high: high, low: low)
        }
    }

    static func formatV6(high: UInt64, low: UInt64) -> String {
        var groups = [UInt16](repeating: 0, count: 8)
        for i in 0..<4 {
            groups[i] = UInt16(truncatingIfNeeded: high >> UInt64(48 - 16 * i))
            groups[4 + i] = UInt16(truncatingIfNeeded: low >> UInt64(48 - 16 * i))
        }
        // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first on a tie.
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                let length = i - runStart
                if length > bestLength && length >= 2 { bestStart = runStart; bestLength = length }
                runStart = -1
            }
        }
        // RFC 5952 §5: IPv4-mapped addresses keep their dotted tail.
        if high == 0 && (low >> 32) == 0xffff {
            let v = UInt32(truncatingIfNeeded: low)
            return "::ffff:\(v >> 24).\((v >> 16) & 0xff).\((v >> 8) & 0xff).\(v & 0xff)"
        }
        var text = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                text += "::"
                i += bestLength
                continue
            }
            if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
            text += String(groups[i], radix: 16)
            i += 1
        }
        return text
    }
}

extension IPAddress {
    /// Parses dotted-quad IPv4 or IPv6 text (with `::` and an optional dotted tail).
    public init?(_ text: Substring) {
        if text.contains(":") {
            guard let v = IPAddress.parseV6(text) else { return nil }
            self = v
        } else {
            guard let v = IPAddress.parseV4(text) else { return nil }
            self.init(v4: v)
        }
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    static func parseV4(_ text: Substring) -> UInt32? {
        var value: UInt32 = 0
        var parts = 0
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 3, let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
            parts += 1
        }
        return parts == 4 ? value : nil
    }

    /// Splits at each "::" (no Foundation on the hot path's module).
    static func splitDoubleColon(_ text: Substring) -> [String] {
        var parts: [String] = []
        var current = ""
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == ":" && next < text.endIndex && text[next] == ":" {
                parts.append(current)
                current = ""
                index = text.index(after: next)
                continue
            }
            current.append(text[index])
            index = next
        }
        parts.append(current)
        return parts
    }

    static func parseV6(_ text: Substring) -> IPAddress? {
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawDouble = false
        let halves = splitDoubleColon(text)
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let pieces = s.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if piece.contains(".") && index == pieces.count - 1 {
                    guard let v4 = parseV4(piece) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xffff))
                } else {
                    guard !piece.isEmpty, piece.count <= 4, let g = UInt16(piece, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        guard let h = groups(halves[0]) else { return nil }
        head = h
        if halves.count == 2 {
            sawDouble = true
            guard let t = groups(halves[1]) else { return nil }
            tail = t
        }
        let total = head.count + tail.count
        if sawDouble { guard total <= 7 else { return nil } } else { guard total == 8 else { return nil } }
        let all = head + [UInt16](repeating: 0, count: 8 - total) + tail
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        return IPAddress(v6High: hi, low: lo)
    }
}
