import NetCore
import Testing
@testable import BGPSpeaker

/// The pre-OPEN bounds as a value (DESIGN §8).
@Suite struct PreOpenConnectionsTests {
    static let a = IPAddress("192.0.2.1")!
    static let b = IPAddress("192.0.2.2")!
    static let c = IPAddress("192.0.2.3")!
    static let router = IPAddress("198.51.100.1")!

    @Test func perAddressBoundClosesThatAddressesOldest() {
        var table = PreOpenConnections(perAddress: 2, total: 10)
        #expect(table.admit(1, from: Self.a).isEmpty)
        #expect(table.admit(2, from: Self.a).isEmpty)
        #expect(table.admit(3, from: Self.b).isEmpty)
        #expect(table.admit(4, from: Self.a) == [.init(id: 1, address: Self.a, bound: .addressBound)])
        #expect(table.count == 3 && table.count(from: Self.a) == 2)
    }

    @Test func totalBoundClosesTheBusiestSendersOldest() {
        var table = PreOpenConnections(perAddress: 3, total: 5)
        for (id, address) in [(1, Self.a), (2, Self.b), (3, Self.b), (4, Self.a), (5, Self.c)] {
            #expect(table.admit(id, from: address).isEmpty)
        }
        // a and b hold two each; a's oldest (1) is older than b's (2).
        #expect(table.admit(6, from: Self.router) == [.init(id: 1, address: Self.a, bound: .totalBound)])
        // Now b holds the most.
        #expect(table.admit(7, from: Self.c) == [.init(id: 2, address: Self.b, bound: .totalBound)])
        #expect(table.count == 5)
        // A router waiting alongside many one-connection senders outlives the older ones.
        #expect(table.count(from: Self.router) == 1)
    }

    /// Churn from one address past its bound never closes another address's connection.
    @Test func oneSendersChurnClosesOnlyItsOwn() {
        var table = PreOpenConnections(perAddress: 4, total: 16)
        #expect(table.admit(0, from: Self.router).isEmpty)
        var closed: [PreOpenConnections.Eviction] = []
        for id in 1...1000 { closed += table.admit(id, from: Self.a) }
        #expect(closed.count == 996)
        #expect(closed.allSatisfy { $0.address == Self.a && $0.bound == .addressBound })
        #expect(table.count(from: Self.router) == 1 && table.count == 5)
    }

    @Test func removeIsIdempotent() {
        var table = PreOpenConnections(perAddress: 2, total: 2)
        _ = table.admit(1, from: Self.a)
        _ = table.admit(2, from: Self.b)
        table.remove(1, from: Self.a)
        table.remove(1, from: Self.a)
        table.remove(9, from: Self.b)
        #expect(table.count == 1 && table.count(from: Self.a) == 0)
        #expect(table.admit(3, from: Self.c).isEmpty)
    }
}
