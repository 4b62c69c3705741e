import NetCore

extension RIBReader {
    /// Longest-prefix match alone over one router's IPv4 prefixes, for many addresses:
    /// `lengths[i]` is the length of the longest prefix covering `addresses[i]` (the prefix is
    /// the address masked to it), or -1 when none does, or when the router is unknown.
    ///
    /// The trie alone answers this (a slot value carries its prefix's length), so no prefix entry
    /// is read: this is the lookup a FIB would do, and what `nfacctd_net`-style mask fields need.
    /// Addresses go through the trie in groups, a level at a time, as in `match(_:into:)`.
    public func longestPrefixLengths(
        _ addresses: UnsafeBufferPointer<UInt32>, router: RouterID, into lengths: UnsafeMutableBufferPointer<Int8>
    ) {
        precondition(lengths.count >= addresses.count, "RIBReader.longestPrefixLengths: lengths shorter than addresses")
        guard let table = RIBCore.table(core, router), let root = table.pointee.trie.root.base else {
            for i in 0..<addresses.count { lengths[i] = -1 }
            return
        }
        let level2 = table.pointee.trie.level2
        let level3 = table.pointee.trie.level3
        let link = IPv4Trie.link
        let group = 16
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: group) { slots in
            var start = 0
            while start < addresses.count {
                let n = Swift.min(group, addresses.count - start)
                let a = addresses.baseAddress! + start
                for i in 0..<n { slots[i] = root[Int(a[i] >> 16)] }
                for i in 0..<n where slots[i] & link != 0 {
                    slots[i] = level2[IPv4Trie.runIndex(level2, Int(slots[i] & ~link), Int((a[i] >> 8) & 0xff))]
                }
                for i in 0..<n where slots[i] & link != 0 {
                    slots[i] = level3[Int(slots[i] & ~link) << 8 | Int(a[i] & 0xff)]
                }
                for i in 0..<n {
                    lengths[start + i] = slots[i] == 0 ? -1 : Int8(IPv4Trie.length(slots[i]))
                }
                start += n
            }
        }
    }
}
