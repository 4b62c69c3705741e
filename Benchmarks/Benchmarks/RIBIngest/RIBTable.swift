import BGPWire
import NIOCore
import NetCore

/// The benchmark's routing table, built the same way on every run (fixed seed), and the
/// UPDATEs a route reflector with ADD-PATH would send to carry it.
///
/// Prefixes: 1,000,000 distinct IPv4 prefixes, addresses uniform over 1.0.0.0–223.255.255.255
/// (without 10/8 and 127/8), lengths drawn with the weights of a full table (`lengthWeights`,
/// the per-length counts of the IPv4 default-free zone, rounded): ≈59% /24, ≈35% /16–/23,
/// ≈0.5% shorter. Random addresses nest naturally (shorter prefixes cover some /24s).
///
/// Paths: four per prefix, path ids 1–4, one per exit router: next-hops and ORIGINATOR_IDs
/// 10.0.0.1–10.0.0.4, CLUSTER_LIST [10.255.0.1] (reflected).
///
/// Attributes: prefixes are cut, in address order, into groups of 1–16 (mean ≈ 3.7) that share
/// an origin, as one organisation's prefixes do. An origin is one of 15,000 origin ASes; path
/// p of an origin takes AS path 4 × origin + (p − 1) from a pool of 60,000: a neighbour AS (one
/// of 40, each a customer, peer or transit: LOCAL_PREF 200, 100 or 80, and a MED for some),
/// 0–4 transit ASes, the origin AS, prepended on 10%, an AS_SET tail on 1%. Communities:
/// neighbour:class, 65000:1000+p, 65000:2000+region (one of 4 per group), NO_EXPORT on 5%.
/// That gives about 290,000 distinct attribute sets.
///
/// UPDATEs: one per (group, path id), all the group's NLRI with that path's attributes, as
/// speakers pack routes that share attributes; in group order, the four paths in turn.
struct RIBTable: Sendable {
    static let prefixCount = 1_000_000
    static let pathsPerPrefix = 4

    /// (prefix length, weight): per-length counts of the IPv4 DFZ, rounded.
    static let lengthWeights: [(UInt8, Int)] = [
        (8, 15), (9, 14), (10, 40), (11, 110), (12, 320), (13, 650), (14, 1_200), (15, 2_200),
        (16, 13_500), (17, 8_500), (18, 14_500), (19, 26_000), (20, 44_000), (21, 50_000),
        (22, 130_000), (23, 110_000), (24, 590_000),
    ]

    /// (address, length), sorted by address.
    let prefixes: [(address: UInt32, length: UInt8)]
    /// UPDATE message bodies (no 19-byte header), ready for `Update.decode`.
    let updates: [[UInt8]]

    static let context = Update.Context(addPath: [.ipv4Unicast], fourOctetAS: true)

    var pathCount: Int { prefixes.count * Self.pathsPerPrefix }

    init(seed: UInt64 = 2026) {
        var random = SplitMix64(seed: seed)
        prefixes = Self.makePrefixes(&random)
        updates = Self.makeUpdates(prefixes, &random)
    }

    func decodedUpdates() -> [Update] {
        updates.map { Self.decode($0) }
    }

    static func decode(_ body: [UInt8]) -> Update {
        // The generator writes valid UPDATEs; a failure here is a bug in it.
        try! Update.decode(ByteBuffer(bytes: body), context: context)
    }

    private static func makePrefixes(_ random: inout SplitMix64) -> [(address: UInt32, length: UInt8)] {
        let total = lengthWeights.reduce(0) { $0 + $1.1 }
        var seen = Set<UInt64>()
        var out: [(address: UInt32, length: UInt8)] = []
        out.reserveCapacity(prefixCount)
        while out.count < prefixCount {
            var pick = Int(random.next() % UInt64(total))
            var length: UInt8 = 24
            for (l, weight) in lengthWeights {
                if pick < weight { length = l; break }
                pick -= weight
            }
            let first = UInt32(1 + random.next() % 223)
            guard first != 10 && first != 127 else { continue }
            let address = (first << 24 | UInt32(truncatingIfNeeded: random.next()) & 0x00ff_ffff) & (UInt32.max << (32 - UInt32(length)))
            if seen.insert(UInt64(address) << 8 | UInt64(length)).inserted {
                out.append((address, length))
            }
        }
        out.sort { ($0.address, $0.length) < ($1.address, $1.length) }
        return out
    }

    struct Neighbour {
        var asn: UInt32
        var localPref: UInt32
        var med: UInt32?
        var kind: UInt32
    }

    private static func makeUpdates(_ prefixes: [(address: UInt32, length: UInt8)], _ random: inout SplitMix64) -> [[UInt8]] {
        let neighbours: [Neighbour] = (0..<40).map { i in
            let kind = UInt32(i % 3)  // 0 customer, 1 peer, 2 transit
            return Neighbour(
                asn: [174, 1299, 2914, 3257, 3356, 6453, 6762, 6939][i % 8] &+ UInt32(i / 8) * 100_000,
                localPref: [200, 100, 80][Int(kind)], med: i % 4 == 0 ? UInt32(i * 10) : nil, kind: kind)
        }
        let origins: [UInt32] = (0..<15_000).map { _ in
            random.next() % 10 == 0 ? UInt32(4_200_000_000 + random.next() % 90_000) : UInt32(1 + random.next() % 400_000)
        }
        // The AS path pool: 4 variants (one per exit) for each origin.
        var pool: [(neighbour: Int, segments: [(UInt8, [UInt32])])] = []
        pool.reserveCapacity(origins.count * 4)
        for origin in origins {
            for _ in 0..<4 {
                let n = Int(random.next() % UInt64(neighbours.count))
                var asns = [neighbours[n].asn]
                for _ in 0..<(random.next() % 5) { asns.append(UInt32(1 + random.next() % 65_000)) }
                asns.append(origin)
                if random.next() % 10 == 0 { asns += [UInt32](repeating: origin, count: 1 + Int(random.next() % 2)) }
                var segments: [(UInt8, [UInt32])] = [(2, asns)]
                if random.next() % 100 == 0 { segments.append((1, [origin &+ 1, origin &+ 2])) }
                pool.append((n, segments))
            }
        }
        var updates: [[UInt8]] = []
        updates.reserveCapacity(prefixes.count * pathsPerPrefix / 3)
        var start = 0
        while start < prefixes.count {
            let size: Int
            switch random.next() % 100 {
            case 0..<35: size = 1
            case 35..<55: size = 2
            case 55..<67: size = 3
            case 67..<77: size = 4
            case 77..<92: size = 5 + Int(random.next() % 4)
            default: size = 9 + Int(random.next() % 8)
            }
            let group = prefixes[start..<min(prefixes.count, start + size)]
            let origin = Int(random.next() % UInt64(origins.count))
            let region = UInt32(random.next() % 4)
            let noExport = random.next() % 20 == 0
            let originCode: UInt8 = origin % 10 == 0 ? 2 : 0
            for pathID in UInt32(1)...UInt32(pathsPerPrefix) {
                let (n, segments) = pool[origin * 4 + Int(pathID - 1)]
                let neighbour = neighbours[n]
                var communities = [neighbour.asn << 16 | (100 + neighbour.kind), 65000 << 16 | (1000 + pathID), 65000 << 16 | (2000 + region)]
                if noExport { communities.append(0xffff_ff01) }
                updates.append(encode(
                    nlri: group, pathID: pathID, origin: originCode, segments: segments, nextHop: 0x0a00_0000 | pathID,
                    med: neighbour.med, localPref: neighbour.localPref, communities: communities,
                    originatorID: 0x0a00_0000 | pathID, clusterList: [0x0aff_0001]))
            }
            start += size
        }
        return updates
    }

    /// An UPDATE body (RFC 4271 §4.3) with ADD-PATH NLRI (RFC 7911 §3) and 4-octet ASNs.
    static func encode(
        nlri: ArraySlice<(address: UInt32, length: UInt8)>, pathID: UInt32, origin: UInt8, segments: [(UInt8, [UInt32])],
        nextHop: UInt32, med: UInt32?, localPref: UInt32, communities: [UInt32], originatorID: UInt32, clusterList: [UInt32]
    ) -> [UInt8] {
        var attributes: [UInt8] = []
        func attribute(_ flags: UInt8, _ code: UInt8, _ value: [UInt8]) {
            attributes += [flags, code, UInt8(value.count)] + value
        }
        func bytes(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
        attribute(0x40, 1, [origin])
        attribute(0x40, 2, segments.flatMap { [$0.0, UInt8($0.1.count)] + $0.1.flatMap(bytes) })
        attribute(0x40, 3, bytes(nextHop))
        if let med { attribute(0x80, 4, bytes(med)) }
        attribute(0x40, 5, bytes(localPref))
        attribute(0xc0, 8, communities.flatMap(bytes))
        attribute(0x80, 9, bytes(originatorID))
        attribute(0x80, 10, clusterList.flatMap(bytes))
        var body: [UInt8] = [0, 0, UInt8(attributes.count >> 8), UInt8(attributes.count & 0xff)] + attributes
        for prefix in nlri {
            body += bytes(pathID) + [prefix.length] + bytes(prefix.address).prefix((Int(prefix.length) + 7) / 8)
        }
        return body
    }
}

/// SplitMix64: small, fast and fixed, so every run builds the same table.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
