import Foundation
import NIOCore
import NetCore
import BGPFixtures
import Testing
@testable import BGPWire
import BGPWireFuzzing

/// Inputs of the UPDATE fuzz target (fixtures/fuzz/bgpwire/: seeds from the captures, and every
/// input the fuzzer saved), replayed with its own format and invariants (`UpdateFuzzInput`).
enum UpdateFuzzReplay {
    static let directory = BGPFixtures.directory.deletingLastPathComponent().appendingPathComponent("fuzz/bgpwire")

    static func stored(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }.sorted()
    }
}

@Suite struct UpdateFuzzRegressionTests {
    /// A new crasher only needs to be dropped in fixtures/fuzz/bgpwire/.
    @Test func everyStoredInputReplays() throws {
        let names = try UpdateFuzzReplay.names()
        #expect(names.filter { $0.hasPrefix("seed-") }.count == 4 * 17)
        for name in names {
            let (_, problems) = UpdateFuzzInput.check(try UpdateFuzzReplay.stored(name))
            #expect(problems.isEmpty, "\(name): \(problems)")
        }
    }

    /// The seeds are the captures' UPDATE bodies behind the captured session's context byte, so
    /// the target starts from what real speakers send.
    @Test(arguments: BGPFixtures.speakers)
    func seedsAreTheCapturedBodies(speaker: String) throws {
        let bodies = try UpdateEncodingTests.bodies(speaker)
        let byte = UpdateFuzzInput.contextByte(UpdateTests.context)
        #expect(byte == 0x03)
        for (index, body) in bodies.enumerated() {
            let seed = try UpdateFuzzReplay.stored(String(format: "seed-%@-%02d", speaker, index + 1))
            #expect(seed == [byte] + body)
            guard case .decoded(let update) = UpdateFuzzInput.check(seed).outcome else {
                Issue.record("\(speaker) seed \(index + 1) does not decode")
                continue
            }
            #expect(update.treatedAsWithdraw == nil)
        }
    }

    /// The first byte is the session: the same body reads differently under ADD-PATH.
    @Test func theContextByteChangesTheReading() {
        // ORIGIN igp, AS_PATH [65001], NEXT_HOP 192.0.2.1, 10.0.0.0/8: fine as it is.
        let body: [UInt8] = [0, 0, 0, 20, 0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9,
                             0x40, 3, 4, 192, 0, 2, 1, 8, 10]
        #expect(UpdateFuzzInput.check([0x00] + body).problems == [])
        // The same bytes under ADD-PATH for IPv4: the NLRI "0x08 0x0a" is a path id cut short.
        guard case .rejected(let error) = UpdateFuzzInput.check([0x01] + body).outcome else {
            Issue.record("decoded")
            return
        }
        #expect(error.subcode == BGPError.UpdateSubcode.invalidNetworkField.rawValue)
    }
}
