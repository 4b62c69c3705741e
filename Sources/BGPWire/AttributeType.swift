/// What the RFCs fix for each path attribute type the codec knows: its name, the Optional and
/// Transitive bits it must carry (RFC 4271 §4.3, §5), and RFC 7606's approach when it is
/// malformed. One table serves the decoder (flag checks, error actions) and the encoder (flags).
struct AttributeType: Sendable {
    let code: UInt8
    let name: String
    /// The Optional (0x80) and Transitive (0x40) bits; Partial and Extended Length are not part of it.
    let flags: UInt8
    /// RFC 7606's approach for a malformed value, and (§3 c) for flags that contradict `flags`.
    let malformed: Update.Action

    static let optional: UInt8 = 0x80
    static let transitive: UInt8 = 0x40
    static let partial: UInt8 = 0x20
    static let extendedLength: UInt8 = 0x10

    static let origin = AttributeType(code: 1, name: "ORIGIN", flags: 0x40, malformed: .treatAsWithdraw)                  // RFC 7606 §7.1
    static let asPath = AttributeType(code: 2, name: "AS_PATH", flags: 0x40, malformed: .treatAsWithdraw)                 // §7.2
    static let nextHop = AttributeType(code: 3, name: "NEXT_HOP", flags: 0x40, malformed: .treatAsWithdraw)               // §7.3
    static let med = AttributeType(code: 4, name: "MULTI_EXIT_DISC", flags: 0x80, malformed: .treatAsWithdraw)            // §7.4
    static let localPref = AttributeType(code: 5, name: "LOCAL_PREF", flags: 0x40, malformed: .treatAsWithdraw)           // §7.5
    static let atomicAggregate = AttributeType(code: 6, name: "ATOMIC_AGGREGATE", flags: 0x40, malformed: .discard)      // §7.6, §3 f
    static let aggregator = AttributeType(code: 7, name: "AGGREGATOR", flags: 0xc0, malformed: .discard)                  // §7.7, §3 f
    static let communities = AttributeType(code: 8, name: "COMMUNITIES", flags: 0xc0, malformed: .treatAsWithdraw)        // §7.8
    static let originatorID = AttributeType(code: 9, name: "ORIGINATOR_ID", flags: 0x80, malformed: .treatAsWithdraw)     // §7.9
    static let clusterList = AttributeType(code: 10, name: "CLUSTER_LIST", flags: 0x80, malformed: .treatAsWithdraw)      // §7.10
    // §7.11, §3 j, §5.3: the NLRI cannot be located reliably, so the session goes.
    static let mpReach = AttributeType(code: 14, name: "MP_REACH_NLRI", flags: 0x80, malformed: .sessionReset)
    static let mpUnreach = AttributeType(code: 15, name: "MP_UNREACH_NLRI", flags: 0x80, malformed: .sessionReset)
    static let extendedCommunities = AttributeType(code: 16, name: "EXTENDED_COMMUNITIES", flags: 0xc0, malformed: .treatAsWithdraw)  // §7.14
    // RFC 6793 §6: a malformed AS4_PATH or AS4_AGGREGATOR is discarded.
    static let as4Path = AttributeType(code: 17, name: "AS4_PATH", flags: 0xc0, malformed: .discard)
    static let as4Aggregator = AttributeType(code: 18, name: "AS4_AGGREGATOR", flags: 0xc0, malformed: .discard)
    static let largeCommunity = AttributeType(code: 32, name: "LARGE_COMMUNITY", flags: 0xc0, malformed: .treatAsWithdraw)  // RFC 8092 §6

    static let all: [AttributeType] = [
        origin, asPath, nextHop, med, localPref, atomicAggregate, aggregator, communities, originatorID,
        clusterList, mpReach, mpUnreach, extendedCommunities, as4Path, as4Aggregator, largeCommunity,
    ]

    /// Indexed by type code; nil for types the codec does not interpret.
    static let byCode: [AttributeType?] = {
        var table = [AttributeType?](repeating: nil, count: 256)
        for type in all { table[Int(type.code)] = type }
        return table
    }()

    static func name(_ code: UInt8) -> String {
        byCode[Int(code)]?.name ?? "attribute \(code)"
    }
}
