import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import NetCore
import Testing
@testable import FlowCollector

#if canImport(Glibc)
import Glibc
#endif

/// Every datagram of an exporter reaches the one sink that owns its address, whichever socket of
/// the SO_REUSEPORT group the kernel gave it to: templates and sequence numbers then never split
/// between sinks, whatever the number of sockets.
@Suite struct SteeringTests {
    final class Recorder: DatagramSink, @unchecked Sendable {
        let index: Int
        let seen: NIOLockedValueBox<[(sink: Int, sender: IPAddress, port: UInt16, bytes: Int)]>
        init(index: Int, seen: NIOLockedValueBox<[(sink: Int, sender: IPAddress, port: UInt16, bytes: Int)]>) {
            self.index = index
            self.seen = seen
        }
        func receive(_ datagram: UnsafeRawBufferPointer, from sender: IPAddress, port: UInt16, arrival: UInt32) {
            seen.withLockedValue { $0.append((index, sender, port, datagram.count)) }
        }
    }

    /// Sends `count` datagrams of `size` bytes from `address`:`sourcePort` to 127.0.0.1:`port`.
    static func send(from address: String, sourcePort: UInt16, to port: Int, count: Int, size: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = sourcePort.bigEndian
        inet_pton(AF_INET, address, &local.sin_addr)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0)
        let payload = [UInt8](repeating: 0x0a, count: size)
        for _ in 0..<count {
            _ = withUnsafePointer(to: &remote) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    @Test(arguments: [1, 3, 4])
    func eachExporterReachesOneSink(sockets: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let seen = NIOLockedValueBox<[(sink: Int, sender: IPAddress, port: UInt16, bytes: Int)]>([])
        let intake = try await UDPIntake.bind(
            settings: .init(host: "127.0.0.1", port: 0, sockets: sockets), group: group
        ) { index, _ in Recorder(index: index, seen: seen) }
        let exporters = (2...13).map { "127.0.0.\($0)" }
        for (i, address) in exporters.enumerated() {
            // Two transport sessions per address, datagrams of distinct sizes to tell them apart.
            try Self.send(from: address, sourcePort: 40_000 + UInt16(i), to: intake.localPort, count: 20, size: 100 + i)
            try Self.send(from: address, sourcePort: 50_000 + UInt16(i), to: intake.localPort, count: 20, size: 300 + i)
        }
        let deadline = Date().addingTimeInterval(10)
        while seen.withLockedValue({ $0.count }) < exporters.count * 40 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        await intake.close()
        try await group.shutdownGracefully()

        let all = seen.withLockedValue { $0 }
        #expect(all.count == exporters.count * 40)
        let steering = intake.steering
        for (i, address) in exporters.enumerated() {
            let sender = IPAddress(address)!
            let mine = all.filter { $0.sender == sender }
            #expect(mine.count == 40)
            #expect(Set(mine.map(\.sink)) == [steering.owner(of: sender)], "\(address)")
            #expect(Set(mine.map(\.port)) == [40_000 + UInt16(i), 50_000 + UInt16(i)])
        }
        if sockets > 1 {
            // Twelve addresses over three or four sinks: steering spreads them.
            #expect(Set(all.map(\.sink)).count > 1)
        }
    }

    /// The kernel's program and `owner(of:)` compute the same function: checked on the program's
    /// instructions by running them on the two header layouts.
    @Test func programMatchesOwner() {
        for sockets in 2...5 {
            let program = Steering.program(sockets: sockets)
            for address in ["192.0.2.1", "10.1.2.3", "127.0.0.9", "2001:db8::1", "2001:db8::abcd:ef01"] {
                let ip = IPAddress(address)!
                var header = [UInt8](repeating: 0, count: 40)
                if ip.family == .v4 {
                    header[0] = 0x45
                    let v = UInt32(truncatingIfNeeded: ip.low)
                    header[12...15] = [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
                } else {
                    header[0] = 0x60
                    for i in 0..<8 { header[8 + i] = UInt8(ip.high >> (56 - 8 * UInt64(i)) & 0xff) }
                    for i in 0..<8 { header[16 + i] = UInt8(ip.low >> (56 - 8 * UInt64(i)) & 0xff) }
                }
                let expected = Int(((Steering.word(ip) &* Steering.multiplier) >> 16) % UInt32(sockets))
                #expect(Self.run(program, networkHeader: header) == UInt32(expected), "\(address) over \(sockets)")
            }
        }
    }

    /// A classic BPF interpreter for the instructions the program uses, loads relative to the
    /// network header (SKF_NET_OFF).
    static func run(_ program: [Steering.Instruction], networkHeader h: [UInt8]) -> UInt32? {
        var a: UInt32 = 0
        var pc = 0
        func offset(_ k: UInt32) -> Int { Int(k &- 0xFFF0_0000) }
        while pc < program.count {
            let i = program[pc]
            pc += 1
            switch i.code {
            case 0x30: a = UInt32(h[offset(i.k)])
            case 0x20:
                let o = offset(i.k)
                a = UInt32(h[o]) << 24 | UInt32(h[o + 1]) << 16 | UInt32(h[o + 2]) << 8 | UInt32(h[o + 3])
            case 0x74: a >>= i.k
            case 0x24: a = a &* i.k
            case 0x94: a %= i.k
            case 0x15: pc += a == i.k ? Int(i.jt) : Int(i.jf)
            case 0x05: pc += Int(i.k)
            case 0x16: return a
            default: return nil
            }
        }
        return nil
    }
}
