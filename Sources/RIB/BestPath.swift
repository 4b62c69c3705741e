/// Best-path selection among one router's paths for one prefix: RFC 4271 §9.1.1 (LOCAL_PREF as
/// the degree of preference of iBGP routes) and §9.1.2.2 with RFC 4456 §9.
///
/// Every path comes over one iBGP session, so §9.1.2.2 d) (eBGP over iBGP), e) (IGP cost) and
/// g) (peer address) cannot tell them apart; the ADD-PATH identifier breaks the last tie.
enum BestPath {
    /// Index of the best of `paths`, which are sorted by path id. `peerBGPID` stands in for a
    /// missing ORIGINATOR_ID (RFC 4456 §9).
    ///
    /// Candidates are eliminated step by step over the whole set, as §9.1.2.2 describes,
    /// because the MED step is not a total order: a pairwise "better than" would depend on the
    /// order paths arrived in.
    static func select(_ paths: UnsafeBufferPointer<Path>, summaries: RawBuffer<AttributeSummary>, peerBGPID: UInt32) -> Int {
        let n = paths.count
        if n <= 1 { return 0 }
        return withUnsafeTemporaryAllocation(of: AttributeSummary.self, capacity: n) { s in
            for i in 0..<n { s.initializeElement(at: i, to: summaries[Int(paths[i].attributes.rawValue)]) }
            return withUnsafeTemporaryAllocation(of: Bool.self, capacity: n) { alive in
                alive.initialize(repeating: true)
                func keepLowest(_ key: (AttributeSummary) -> UInt32) {
                    var lowest = UInt32.max
                    for i in 0..<n where alive[i] { lowest = min(lowest, key(s[i])) }
                    for i in 0..<n where alive[i] && key(s[i]) != lowest { alive[i] = false }
                }
                keepLowest { ~$0.localPref }                 // §9.1.1: highest LOCAL_PREF
                keepLowest { UInt32($0.asPathLength) }       // a) shortest AS_PATH
                keepLowest { UInt32($0.origin) }             // b) lowest ORIGIN
                // c) lowest MED, compared only between paths from the same neighbouring AS: a path
                // goes if some candidate from its neighbour AS has a lower MED.
                withUnsafeTemporaryAllocation(of: Bool.self, capacity: n) { beaten in
                    for i in 0..<n {
                        var lost = false
                        if alive[i] {
                            for j in 0..<n where alive[j] && s[j].firstASN == s[i].firstASN && s[j].med < s[i].med {
                                lost = true
                                break
                            }
                        }
                        beaten.initializeElement(at: i, to: lost)
                    }
                    for i in 0..<n where beaten[i] { alive[i] = false }
                }
                keepLowest { $0.hasOriginatorID ? $0.originatorID : peerBGPID }  // f) with RFC 4456
                keepLowest { UInt32($0.clusterListLength) }  // RFC 4456 §9: shortest CLUSTER_LIST
                for i in 0..<n where alive[i] { return i }   // lowest path id
                return 0
            }
        }
    }

    /// Whether a path joining a set whose best is `best` goes out before the MED step: lower
    /// LOCAL_PREF, or equal and a longer AS_PATH, or both equal and a higher ORIGIN. Such a
    /// path changes neither the extremes of those steps nor the set that reaches the MED step,
    /// so the best path stays the same and the full elimination can be skipped.
    @inline(__always)
    static func losesEarly(_ path: Path, to best: Path, summaries: RawBuffer<AttributeSummary>) -> Bool {
        let p = summaries[Int(path.attributes.rawValue)]
        let b = summaries[Int(best.attributes.rawValue)]
        if p.localPref != b.localPref { return p.localPref < b.localPref }
        if p.asPathLength != b.asPathLength { return p.asPathLength > b.asPathLength }
        return p.origin > b.origin
    }
}
