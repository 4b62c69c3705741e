/// What the flow cache needs from one captured packet.
public struct PacketSummary: Sendable, Equatable {
    /// Addresses as two 64-bit halves; an IPv4 address is in the low 32 bits of `srcLow`/`dstLow`.
    public var srcHigh: UInt64 = 0
    public var srcLow: UInt64 = 0
    public var dstHigh: UInt64 = 0
    public var dstLow: UInt64 = 0
    public var isV6 = false
    public var proto: UInt8 = 0
    public var tos: UInt8 = 0
    public var tcpFlags: UInt8 = 0
    public var srcPort: UInt16 = 0
    public var dstPort: UInt16 = 0
    /// The outer 802.1Q VLAN id; 0 when untagged.
    public var vlan: UInt16 = 0
    /// Fragments: `.first` carries the transport header the later ones lack; `fragmentID` is
    /// the IPv4 identification or the IPv6 fragment header's identification.
    public var fragment: Fragment = .none
    public var fragmentID: UInt32 = 0
    /// The IP datagram's length as its header gives it (IPv4 total length; IPv6 40 plus the
    /// payload length), whatever part of it was captured: what NetFlow exporters count.
    public var ipLength: UInt32 = 0

    public init() {}
}

public enum Fragment: UInt8, Sendable {
    case none, first, later
}

/// Why a packet was not accounted.
public enum PacketSkip: Int, Sendable, CaseIterable {
    /// Not IPv4 or IPv6 (ARP, LLDP, …).
    case notIP
    /// Too short for its IP header, or a header that contradicts itself.
    case malformed
    /// A link type the parser does not read.
    case linkType

    public var label: String {
        switch self {
        case .notIP: return "not_ip"
        case .malformed: return "malformed"
        case .linkType: return "link_type"
        }
    }
}

/// Reads link, network and transport headers of captured frames: pure, no allocation.
public enum PacketParser {
    /// pcap link types (LINKTYPE_* values as stored in files and returned by pcap_datalink).
    public enum LinkType: Int32, Sendable {
        case null = 0
        case ethernet = 1
        case raw = 12
        case loop = 108
        case raw101 = 101
        case linuxSLL = 113
        case ipv4 = 228
        case ipv6 = 229
        case linuxSLL2 = 276
    }

    /// Parses one frame. `length` is the captured length.
    public static func parse(
        _ base: UnsafeRawPointer, length: Int, linkType: LinkType, into s: inout PacketSummary
    ) -> PacketSkip? {
        var offset = 0
        var ethertype: UInt16 = 0
        s.vlan = 0
        switch linkType {
        case .ethernet:
            guard length >= 14 else { return .malformed }
            ethertype = be16(base, 12)
            offset = 14
            var tags = 0
            while (ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100) && tags < 4 {
                guard length >= offset + 4 else { return .malformed }
                if tags == 0 { s.vlan = be16(base, offset) & 0x0fff }
                ethertype = be16(base, offset + 2)
                offset += 4
                tags += 1
            }
        case .linuxSLL:
            guard length >= 16 else { return .malformed }
            ethertype = be16(base, 14)
            offset = 16
        case .linuxSLL2:
            guard length >= 20 else { return .malformed }
            ethertype = be16(base, 0)
            offset = 20
        case .null, .loop:
            guard length >= 4 else { return .malformed }
            // The address family, in the capturing host's byte order (DLT_NULL) or big-endian
            // (DLT_LOOP); 2 is AF_INET, 10/24/28/30 are AF_INET6 on various systems.
            let raw = base.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
            let family = raw > 0xffff ? raw.byteSwapped : raw
            offset = 4
            switch family {
            case 2: ethertype = 0x0800
            case 10, 24, 28, 30: ethertype = 0x86dd
            default: ethertype = 0
            }
        case .raw, .raw101:
            guard length >= 1 else { return .malformed }
            let version = base.load(fromByteOffset: 0, as: UInt8.self) >> 4
            ethertype = version == 4 ? 0x0800 : (version == 6 ? 0x86dd : 0)
        case .ipv4:
            ethertype = 0x0800
        case .ipv6:
            ethertype = 0x86dd
        }
        if ethertype == 0x8847 || ethertype == 0x8848 {
            // An MPLS label stack: the packet follows the entry with the bottom-of-stack bit;
            // its first nibble says IPv4 or IPv6 (the label does not).
            var labels = 0
            while true {
                guard length >= offset + 4, labels < 16 else { return .malformed }
                let entry = be32(base, offset)
                offset += 4
                labels += 1
                if entry & 0x100 != 0 { break }
            }
            guard length > offset else { return .malformed }
            let version = base.load(fromByteOffset: offset, as: UInt8.self) >> 4
            ethertype = version == 4 ? 0x0800 : (version == 6 ? 0x86dd : 0)
        }
        switch ethertype {
        case 0x0800: return parseIPv4(base, offset, length, &s)
        case 0x86dd: return parseIPv6(base, offset, length, &s)
        default: return .notIP
        }
    }

    static func parseIPv4(_ base: UnsafeRawPointer, _ start: Int, _ length: Int, _ s: inout PacketSummary) -> PacketSkip? {
        guard length >= start + 20 else { return .malformed }
        let first = base.load(fromByteOffset: start, as: UInt8.self)
        let headerLength = Int(first & 0x0f) * 4
        guard first >> 4 == 4, headerLength >= 20 else { return .malformed }
        let total = be16(base, start + 2)
        guard Int(total) >= headerLength else { return .malformed }
        s.isV6 = false
        s.tos = base.load(fromByteOffset: start + 1, as: UInt8.self)
        s.ipLength = UInt32(total)
        s.proto = base.load(fromByteOffset: start + 9, as: UInt8.self)
        s.srcHigh = 0
        s.dstHigh = 0
        s.srcLow = UInt64(be32(base, start + 12))
        s.dstLow = UInt64(be32(base, start + 16))
        // A fragment after the first carries no transport header: ports stay 0 here.
        let flagsAndOffset = be16(base, start + 6)
        let fragmentOffset = flagsAndOffset & 0x1fff
        s.fragmentID = UInt32(be16(base, start + 4))
        if fragmentOffset != 0 {
            s.fragment = .later
            s.srcPort = 0
            s.dstPort = 0
            s.tcpFlags = 0
            return nil
        }
        s.fragment = flagsAndOffset & 0x2000 != 0 ? .first : .none
        transport(base, start + headerLength, length, s.proto, &s)
        return nil
    }

    static func parseIPv6(_ base: UnsafeRawPointer, _ start: Int, _ length: Int, _ s: inout PacketSummary) -> PacketSkip? {
        guard length >= start + 40 else { return .malformed }
        let first = be32(base, start)
        guard first >> 28 == 6 else { return .malformed }
        s.isV6 = true
        s.tos = UInt8(truncatingIfNeeded: first >> 20)
        s.ipLength = 40 + UInt32(be16(base, start + 4))
        s.srcHigh = be64(base, start + 8)
        s.srcLow = be64(base, start + 16)
        s.dstHigh = be64(base, start + 24)
        s.dstLow = be64(base, start + 32)
        var next = base.load(fromByteOffset: start + 6, as: UInt8.self)
        var offset = start + 40
        s.srcPort = 0
        s.dstPort = 0
        s.tcpFlags = 0
        s.fragment = .none
        // Extension headers, at most a few: hop-by-hop, routing, destination options, AH, fragment.
        var hops = 0
        while hops < 8 {
            hops += 1
            switch next {
            case 0, 43, 60:
                guard length >= offset + 2 else { s.proto = next; return nil }
                let following = base.load(fromByteOffset: offset, as: UInt8.self)
                offset += (Int(base.load(fromByteOffset: offset + 1, as: UInt8.self)) + 1) * 8
                next = following
            case 51:
                guard length >= offset + 2 else { s.proto = next; return nil }
                let following = base.load(fromByteOffset: offset, as: UInt8.self)
                offset += (Int(base.load(fromByteOffset: offset + 1, as: UInt8.self)) + 2) * 4
                next = following
            case 44:
                guard length >= offset + 8 else { s.proto = next; return nil }
                let following = base.load(fromByteOffset: offset, as: UInt8.self)
                let offsetAndFlags = be16(base, offset + 2)
                s.fragmentID = be32(base, offset + 4)
                offset += 8
                next = following
                if offsetAndFlags >> 3 != 0 {
                    s.fragment = .later
                    s.proto = next
                    return nil
                }
                s.fragment = offsetAndFlags & 1 != 0 ? .first : .none
            default:
                s.proto = next
                transport(base, offset, length, next, &s)
                return nil
            }
        }
        s.proto = next
        return nil
    }

    /// Ports, TCP flags, or ICMP type and code as nfprobe carries them (dst_port = type*256+code).
    static func transport(_ base: UnsafeRawPointer, _ offset: Int, _ length: Int, _ proto: UInt8, _ s: inout PacketSummary) {
        s.srcPort = 0
        s.dstPort = 0
        s.tcpFlags = 0
        switch proto {
        case 6:
            guard length >= offset + 14 else { return }
            s.srcPort = be16(base, offset)
            s.dstPort = be16(base, offset + 2)
            s.tcpFlags = base.load(fromByteOffset: offset + 13, as: UInt8.self)
        case 17, 132, 136:
            guard length >= offset + 4 else { return }
            s.srcPort = be16(base, offset)
            s.dstPort = be16(base, offset + 2)
        case 1, 58:
            guard length >= offset + 2 else { return }
            s.dstPort = be16(base, offset)
        default:
            return
        }
    }

    static func be16(_ base: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    static func be32(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    static func be64(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
