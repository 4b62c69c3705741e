import BGPWire
import NetCore

/// Cease subcodes (RFC 4486 §4, NOTIFICATION code 6).
public enum Cease: UInt8, Sendable, CaseIterable {
    case maximumPrefixesReached = 1
    case administrativeShutdown = 2
    case peerDeconfigured = 3
    case administrativeReset = 4
    case connectionRejected = 5
    case otherConfigurationChange = 6
    case connectionCollisionResolution = 7
    case outOfResources = 8

    /// RFC 9003 §2: the shutdown communication is at most 255 octets of UTF-8.
    public static let maximumCommunicationLength = 255

    /// A Cease NOTIFICATION. For shutdown and reset, `message` becomes the RFC 8203/9003
    /// communication (length octet, UTF-8, cut at a character boundary to fit).
    public func notification(message: String? = nil) -> Notification {
        guard self == .administrativeShutdown || self == .administrativeReset,
              let message, !message.isEmpty else {
            return Notification(code: 6, subcode: rawValue)
        }
        var bytes: [UInt8] = []
        for scalar in message.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            guard bytes.count + encoded.count <= Self.maximumCommunicationLength else { break }
            bytes += encoded
        }
        return Notification(code: 6, subcode: rawValue, data: [UInt8(bytes.count)] + bytes)
    }

    /// RFC 4486 §4: the data of subcode 1 is AFI (2), SAFI (1) and the upper bound (4).
    public static func maximumPrefixes(family: AddressFamily, limit: UInt32) -> Notification {
        let data: [UInt8] = [
            UInt8(family.afi >> 8), UInt8(truncatingIfNeeded: family.afi), family.safi,
            UInt8(limit >> 24), UInt8(truncatingIfNeeded: limit >> 16),
            UInt8(truncatingIfNeeded: limit >> 8), UInt8(truncatingIfNeeded: limit),
        ]
        return Notification(code: 6, subcode: maximumPrefixesReached.rawValue, data: data)
    }
}

extension Notification {
    /// Error names of RFC 4271 §4.5, RFC 4486, RFC 6608 and RFC 7313, keyed by code << 8 | subcode.
    static let names: [UInt16: String] = [
        0x0100: "Message Header Error", 0x0101: "Connection Not Synchronized",
        0x0102: "Bad Message Length", 0x0103: "Bad Message Type",
        0x0200: "OPEN Message Error", 0x0201: "Unsupported Version Number", 0x0202: "Bad Peer AS",
        0x0203: "Bad BGP Identifier", 0x0204: "Unsupported Optional Parameter",
        0x0206: "Unacceptable Hold Time", 0x0207: "Unsupported Capability",
        0x0300: "UPDATE Message Error", 0x0301: "Malformed Attribute List",
        0x0302: "Unrecognized Well-known Attribute", 0x0303: "Missing Well-known Attribute",
        0x0304: "Attribute Flags Error", 0x0305: "Attribute Length Error", 0x0306: "Invalid ORIGIN Attribute",
        0x0308: "Invalid NEXT_HOP Attribute", 0x0309: "Optional Attribute Error",
        0x030a: "Invalid Network Field", 0x030b: "Malformed AS_PATH",
        0x0400: "Hold Timer Expired",
        0x0500: "Finite State Machine Error", 0x0501: "Unexpected Message in OpenSent",
        0x0502: "Unexpected Message in OpenConfirm", 0x0503: "Unexpected Message in Established",
        0x0600: "Cease", 0x0601: "Maximum Number of Prefixes Reached", 0x0602: "Administrative Shutdown",
        0x0603: "Peer De-configured", 0x0604: "Administrative Reset", 0x0605: "Connection Rejected",
        0x0606: "Other Configuration Change", 0x0607: "Connection Collision Resolution",
        0x0608: "Out of Resources",
        0x0700: "ROUTE-REFRESH Message Error", 0x0701: "Invalid Message Length",
    ]

    /// "6/2 Administrative Shutdown: "text"" — for logs and close reasons.
    public var summary: String {
        var text = "\(code)/\(subcode)"
        if let name = Self.names[UInt16(code) << 8 | UInt16(subcode)] ?? Self.names[UInt16(code) << 8] {
            text += " " + name
        }
        if let message = shutdownCommunication {
            text += ": \"\(message)\""
        }
        return text
    }
}
