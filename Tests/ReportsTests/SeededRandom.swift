/// A small seeded generator (a 64-bit LCG's high bits) for random tables that a failing seed
/// reproduces exactly.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 }

    /// 0 ..< n.
    mutating func callAsFunction(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(n))
    }
}
