import BGPWire
import NetCore
import Testing
@testable import RIB

/// Longest-prefix match: the IPv4 16-8-8 trie and the IPv6 per-length probes, against nested
/// prefixes, the edges (/0, /32, /128) and a brute-force reference under random churn.
@Suite struct LongestMatchTests {
    static func lpm(_ rib: RIB, _ router: RouterID, _ address: String) -> String? {
        rib.read { r in r.longestMatch(Routes.address(address), router: router)?.prefix.description }
    }

    @Test func nestedIPv4WithMiddleWithdrawals() {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        let nested = ["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/23", "10.1.2.0/24", "10.1.2.128/25", "10.1.2.129/32"]
        rib.apply(Routes.announce(nested.map { ($0, 1) }, Routes.attributes(nextHop: "192.0.2.1")), to: router)
        #expect(Self.lpm(rib, router, "10.1.2.129") == "10.1.2.129/32")
        #expect(Self.lpm(rib, router, "10.1.2.130") == "10.1.2.128/25")
        #expect(Self.lpm(rib, router, "10.1.2.127") == "10.1.2.0/24")
        #expect(Self.lpm(rib, router, "10.1.3.1") == "10.1.2.0/23")
        #expect(Self.lpm(rib, router, "10.1.4.1") == "10.1.0.0/16")
        #expect(Self.lpm(rib, router, "10.200.0.1") == "10.0.0.0/8")
        #expect(Self.lpm(rib, router, "11.0.0.1") == "0.0.0.0/0")
        #expect(Self.lpm(rib, router, "255.255.255.255") == "0.0.0.0/0")

        // Withdraw middle prefixes: their addresses fall to the next covering one, the more
        // specifics inside them stay.
        rib.apply(Routes.withdraw([("10.1.2.0/24", 1)]), to: router)
        #expect(Self.lpm(rib, router, "10.1.2.127") == "10.1.2.0/23")
        #expect(Self.lpm(rib, router, "10.1.2.200") == "10.1.2.128/25")
        #expect(Self.lpm(rib, router, "10.1.2.129") == "10.1.2.129/32")
        rib.apply(Routes.withdraw([("10.1.0.0/16", 1)]), to: router)
        #expect(Self.lpm(rib, router, "10.1.4.1") == "10.0.0.0/8")
        #expect(Self.lpm(rib, router, "10.1.3.1") == "10.1.2.0/23")
        rib.apply(Routes.withdraw([("10.1.2.128/25", 1), ("10.1.2.0/23", 1)]), to: router)
        #expect(Self.lpm(rib, router, "10.1.2.200") == "10.0.0.0/8")
        #expect(Self.lpm(rib, router, "10.1.2.129") == "10.1.2.129/32")
        rib.apply(Routes.withdraw([("10.0.0.0/8", 1), ("0.0.0.0/0", 1)]), to: router)
        #expect(Self.lpm(rib, router, "10.1.2.200") == nil)
        #expect(Self.lpm(rib, router, "10.1.2.129") == "10.1.2.129/32")
        rib.apply(Routes.withdraw([("10.1.2.129/32", 1)]), to: router)
        #expect(Self.lpm(rib, router, "10.1.2.129") == nil)
        // Adding a covering prefix after its more specifics keeps them.
        rib.apply(Routes.announce([("172.16.5.0/24", 1), ("172.16.5.7/32", 1), ("172.16.0.0/12", 1)], Routes.attributes(nextHop: "192.0.2.1")), to: router)
        #expect(Self.lpm(rib, router, "172.16.5.7") == "172.16.5.7/32")
        #expect(Self.lpm(rib, router, "172.16.5.8") == "172.16.5.0/24")
        #expect(Self.lpm(rib, router, "172.31.0.1") == "172.16.0.0/12")
        #expect(Self.lpm(rib, router, "172.32.0.1") == nil)
    }

    @Test func nestedIPv6AndFamiliesApart() {
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        let nested = ["::/0", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1:2::/64", "2001:db8:1:2::80/121", "2001:db8:1:2::81/128"]
        rib.apply(Routes.announce(nested.map { ($0, 1) }, Routes.attributes(nextHop: "2001:db8:ffff::1")), to: router)
        #expect(Self.lpm(rib, router, "2001:db8:1:2::81") == "2001:db8:1:2::81/128")
        #expect(Self.lpm(rib, router, "2001:db8:1:2::82") == "2001:db8:1:2::80/121")
        #expect(Self.lpm(rib, router, "2001:db8:1:2::1") == "2001:db8:1:2::/64")
        #expect(Self.lpm(rib, router, "2001:db8:1:3::1") == "2001:db8:1::/48")
        #expect(Self.lpm(rib, router, "2001:db8:2::1") == "2001:db8::/32")
        #expect(Self.lpm(rib, router, "2001:db9::1") == "::/0")
        // An IPv4 destination never matches an IPv6 prefix, not even ::/0 or a mapped one.
        #expect(Self.lpm(rib, router, "10.0.0.1") == nil)
        rib.apply(Routes.withdraw([("2001:db8:1::/48", 1), ("::/0", 1)]), to: router)
        #expect(Self.lpm(rib, router, "2001:db8:1:3::1") == "2001:db8::/32")
        #expect(Self.lpm(rib, router, "2001:db8:1:2::1") == "2001:db8:1:2::/64")
        #expect(Self.lpm(rib, router, "2001:db9::1") == nil)
        rib.apply(Routes.announce([("0.0.0.0/0", 1)], Routes.attributes(nextHop: "192.0.2.1")), to: router)
        #expect(Self.lpm(rib, router, "2001:db9::1") == nil)
        #expect(Self.lpm(rib, router, "::ffff:10.0.0.1") == nil)
        #expect(Self.lpm(rib, router, "10.0.0.1") == "0.0.0.0/0")
    }

    /// Random prefixes of every length, announced and withdrawn at random, against a linear scan.
    @Test(arguments: [4, 6])
    func randomChurnAgainstLinearScan(family: Int) {
        var generator = SplitMix(seed: UInt64(family) * 1_000_003)
        let rib = RIB()
        let router = rib.addRouter(Routes.peer)
        let attributes = Routes.attributes(nextHop: "192.0.2.1")
        let maxLength = family == 4 ? 32 : 128
        // Addresses drawn from a narrow space so prefixes nest, overlap and share trie chunks.
        func address() -> IPAddress {
            let r = generator.next()
            if family == 4 { return IPAddress(v4: 0x0a00_0000 | UInt32(truncatingIfNeeded: r) & 0x0003_ffff | (r & 1 == 0 ? 0x00f0_0000 : 0)) }
            return IPAddress(v6High: 0x2001_0db8_0000_0000 | (r >> 48), low: r << 16)
        }
        func randomLength() -> UInt8 {
            let short = family == 4 ? [0, 8, 12, 14, 16, 17, 20, 22, 23, 24, 24, 24, 25, 28, 30, 31, 32] : [0, 16, 32, 40, 44, 48, 48, 52, 56, 60, 64, 65, 96, 120, 127, 128]
            return UInt8(short[Int(generator.next() % UInt64(short.count))])
        }
        var held: [IPPrefix] = []
        for step in 0..<3000 {
            if !held.isEmpty && generator.next() % 5 < 2 {
                let index = Int(generator.next() % UInt64(held.count))
                let prefix = held.remove(at: index)
                rib.apply(Routes.withdraw([(prefix.description, 1)]), to: router)
            } else {
                let prefix = IPPrefix(address: address(), length: randomLength())
                if !held.contains(prefix) {
                    held.append(prefix)
                    rib.apply(Routes.announce([(prefix.description, 1)], attributes), to: router)
                }
            }
            guard step % 50 == 0 else { continue }
            rib.read { r in
                #expect(r.summary(of: router)?.prefixes == held.count)
                var probes: [UInt32] = [], lengths: [Int8] = []
                for _ in 0..<200 {
                    let probe = generator.next() % 2 == 0 ? address() : held.randomElement(using: &generator).map { prefix in
                        // An address inside a held prefix, to hit nested ones.
                        let random = address()
                        let bits = maxLength - Int(prefix.length)
                        if family == 4 {
                            let host = bits == 0 ? 0 : random.v4Value & (UInt32.max >> UInt32(32 - bits))
                            return IPAddress(v4: prefix.address.v4Value | host)
                        }
                        let hostLow = bits >= 64 ? random.low : (bits == 0 ? 0 : random.low & (UInt64.max >> UInt64(64 - bits)))
                        let hostHigh = bits > 64 ? random.high & (UInt64.max >> UInt64(128 - bits)) : 0
                        return IPAddress(v6High: prefix.address.high | hostHigh, low: prefix.address.low | hostLow)
                    } ?? address()
                    let expected = held.filter { $0.contains(probe) }.max { $0.length < $1.length }
                    let got = r.longestMatch(probe, router: router)?.prefix
                    #expect(got == expected, "\(probe) after \(step) steps")
                    if family == 4 {
                        probes.append(probe.v4Value)
                        lengths.append(expected.map { Int8($0.length) } ?? -1)
                    }
                }
                // The batched trie-only lookup agrees, in order.
                if family == 4 {
                    var batched = [Int8](repeating: 99, count: probes.count)
                    probes.withUnsafeBufferPointer { a in batched.withUnsafeMutableBufferPointer { r.longestPrefixLengths(a, router: router, into: $0) } }
                    #expect(batched == lengths, "after \(step) steps")
                }
            }
        }
        // Withdraw everything: the trie collapses back to empty.
        for prefix in held { rib.apply(Routes.withdraw([(prefix.description, 1)]), to: router) }
        rib.read { r in
            #expect(r.summary(of: router)?.prefixes == 0)
            #expect(r.longestMatch(address(), router: router) == nil)
            // No route, and an unknown router: -1 for every address.
            let probes = (0..<40).map { _ in address().v4Value }
            for id in [router, RouterID(rawValue: 99)] {
                var lengths = [Int8](repeating: 0, count: probes.count)
                probes.withUnsafeBufferPointer { a in lengths.withUnsafeMutableBufferPointer { r.longestPrefixLengths(a, router: id, into: $0) } }
                #expect(lengths == [Int8](repeating: -1, count: probes.count))
            }
        }
    }
}
