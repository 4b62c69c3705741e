/// pmacct's names for IP protocols in SQL (its `_protocols` table); others print as numbers.
public enum ProtocolName {
    public static let names: [UInt8: String] = [
        1: "icmp", 2: "igmp", 3: "ggp", 4: "ipencap", 6: "tcp", 8: "egp", 9: "igp", 17: "udp", 18: "mux",
        41: "ipv6", 43: "ipv6-route", 44: "ipv6-frag", 46: "rsvp", 47: "gre", 50: "esp", 51: "ah",
        55: "mobile", 56: "tlsp", 58: "ipv6-icmp", 59: "ipv6-nonxt", 60: "ipv6-opts", 80: "iso-ip",
        83: "vines", 88: "eigrp", 89: "ospf", 91: "larp", 93: "ax.25", 94: "ipip", 98: "encap",
        102: "pnni", 103: "pim", 108: "IPcomp", 111: "ipx-in-ip", 112: "vrrp", 115: "l2tp", 124: "isis",
        132: "sctp", 133: "fc", 143: "ethernet", 255: "others",
    ]

    static let table: [String] = (0...255).map { names[UInt8($0)] ?? String($0) }

    @inline(__always)
    public static func name(_ proto: UInt8) -> String { table[Int(proto)] }
}
