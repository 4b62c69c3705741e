import Foundation
import NetCore

/// The shared directory of real exporters' captures and a reader for its classic pcap files.
public enum RealCaptures {
    public static let directory: URL = {
        if let path = ProcessInfo.processInfo.environment["REALDATA_PCAPS"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/realdata-pcaps")
    }()

    public static var available: Bool { FileManager.default.fileExists(atPath: directory.path) }

    public struct Datagram: Sendable {
        public var source: IPAddress
        public var port: UInt16
        public var payload: [UInt8]
    }

    public enum ReadError: Error { case notPcap, linkType(UInt32) }

    /// The UDP datagrams of a capture (Ethernet or Linux cooked, IPv4 or IPv6, VLAN tags).
    public static func datagrams(_ name: String) throws -> [Datagram] {
        try datagrams(at: directory.appendingPathComponent("\(name).pcap"))
    }

    /// The UDP datagrams of the capture at `url`.
    public static func datagrams(at url: URL) throws -> [Datagram] {
        let data = [UInt8](try Data(contentsOf: url))
        guard data.count >= 24, data[0..<4] == [0xd4, 0xc3, 0xb2, 0xa1] || data[0..<4] == [0x4d, 0x3c, 0xb2, 0xa1] else {
            throw ReadError.notPcap
        }
        func le32(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 | Int(data[at + 2]) << 16 | Int(data[at + 3]) << 24 }
        let linkType = UInt32(le32(20))
        var out: [Datagram] = []
        var offset = 24
        while offset + 16 <= data.count {
            let length = le32(offset + 8)
            let packet = Array(data[(offset + 16)..<min(data.count, offset + 16 + length)])
            offset += 16 + length
            if let d = try udp(linkType, packet) { out.append(d) }
        }
        return out
    }

    static func udp(_ linkType: UInt32, _ p: [UInt8]) throws -> Datagram? {
        func be16(_ at: Int) -> Int { Int(p[at]) << 8 | Int(p[at + 1]) }
        var type: Int, at: Int
        switch linkType {
        case 1: (type, at) = (be16(12), 14)
        case 113: (type, at) = (be16(14), 16)
        default: throw ReadError.linkType(linkType)
        }
        while type == 0x8100 || type == 0x88a8 { (type, at) = (be16(at + 2), at + 4) }
        let source: IPAddress
        if type == 0x0800, p[at + 9] == 17 {
            source = IPAddress(v4: UInt32(be16(at + 12)) << 16 | UInt32(be16(at + 14)))
            at += Int(p[at] & 0x0f) * 4
        } else if type == 0x86dd, p[at + 6] == 17 {
            let words = (0..<8).map { UInt64(be16(at + 8 + 2 * $0)) }
            source = IPAddress(v6High: words[0..<4].reduce(0) { $0 << 16 | $1 }, low: words[4..<8].reduce(0) { $0 << 16 | $1 })
            at += 40
        } else {
            return nil
        }
        let length = be16(at + 4)
        return Datagram(source: source, port: UInt16(be16(at)), payload: Array(p[(at + 8)..<(at + length)]))
    }
}

