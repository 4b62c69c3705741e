import NIOCore
import NetCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Which socket's sink owns an exporter: a hash of its address, the same in user space and in
/// the classic BPF program the kernel runs on the socket group (SO_ATTACH_REUSEPORT_CBPF).
final class Steering: Sendable {
    struct Target: Sendable {
        var loop: any EventLoop
        var sink: NIOLoopBound<any DatagramSink>
    }

    /// Datagrams read on one socket for another's sink, copied into one buffer per read cycle.
    struct Batch: Sendable {
        struct Entry: Sendable {
            var end: Int
            var sender: IPAddress
            var port: UInt16
            var arrival: UInt32
        }
        var bytes: [UInt8] = []
        var entries: [Entry] = []

        mutating func append(_ buffer: ByteBuffer, from sender: IPAddress, port: UInt16, arrival: UInt32) {
            buffer.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
            entries.append(Entry(end: bytes.count, sender: sender, port: port, arrival: arrival))
        }
    }

    let targets: [Target]
    let steered = Atomic<UInt64>(0)

    init(targets: [Target]) {
        self.targets = targets
    }

    static let multiplier: UInt32 = 0x9E37_79B1

    /// The 32 bits of an address the kernel's program reads: an IPv4 address, or the last
    /// 32 bits of an IPv6 one.
    @inline(__always)
    static func word(_ address: IPAddress) -> UInt32 {
        UInt32(truncatingIfNeeded: address.low)
    }

    @inline(__always)
    func owner(of sender: IPAddress) -> Int {
        let count = UInt32(targets.count)
        if count == 1 { return 0 }
        return Int(((Self.word(sender) &* Self.multiplier) >> 16) % count)
    }

    /// Hands a read cycle's datagrams to their owner, on its event loop.
    func deliver(_ batch: Batch, to owner: Int) {
        steered.add(UInt64(batch.entries.count), ordering: .relaxed)
        let target = targets[owner]
        target.loop.execute {
            let sink = target.sink.value
            batch.bytes.withUnsafeBytes { all in
                var start = 0
                for entry in batch.entries {
                    sink.receive(UnsafeRawBufferPointer(rebasing: all[start..<entry.end]),
                                 from: entry.sender, port: entry.port, arrival: entry.arrival)
                    start = entry.end
                }
            }
        }
    }

    // MARK: - The kernel's side

    /// Classic BPF instructions (struct sock_filter).
    struct Instruction {
        var code: UInt16
        var jt: UInt8
        var jf: UInt8
        var k: UInt32
    }

    /// The program: `owner(of:)` on the datagram's source address. Loads are relative to the
    /// network header (SKF_NET_OFF); the kernel falls back to its own hash when the result is
    /// not a socket of the group (while sockets are still joining).
    static func program(sockets: Int) -> [Instruction] {
        let net: UInt32 = 0xFFF0_0000   // SKF_NET_OFF, -0x100000
        return [
            Instruction(code: 0x30, jt: 0, jf: 0, k: net),            // ldb [net+0]
            Instruction(code: 0x74, jt: 0, jf: 0, k: 4),              // rsh #4: IP version
            Instruction(code: 0x15, jt: 2, jf: 0, k: 6),              // jeq #6 → IPv6
            Instruction(code: 0x20, jt: 0, jf: 0, k: net &+ 12),      // ld [net+12]: IPv4 source
            Instruction(code: 0x05, jt: 0, jf: 0, k: 1),              // ja hash
            Instruction(code: 0x20, jt: 0, jf: 0, k: net &+ 20),      // ld [net+20]: IPv6 source's last word
            Instruction(code: 0x24, jt: 0, jf: 0, k: multiplier),     // hash: mul
            Instruction(code: 0x74, jt: 0, jf: 0, k: 16),             // rsh #16
            Instruction(code: 0x94, jt: 0, jf: 0, k: UInt32(sockets)), // mod #sockets
            Instruction(code: 0x16, jt: 0, jf: 0, k: 0),              // ret a
        ]
    }

    /// Attaches the program to the socket group; false when the kernel refuses it (then
    /// steering in user space alone keeps the result the same, at the cost of a copy).
    static func attachProgram(to channel: any Channel, sockets: Int) async -> Bool {
        guard let provider = channel as? any SocketOptionProvider else { return false }
        let instructions = program(sockets: sockets)
        let filter = UnsafeMutablePointer<Instruction>.allocate(capacity: instructions.count)
        filter.initialize(from: instructions, count: instructions.count)
        defer { filter.deallocate() }
        // struct sock_fprog: the instruction count, then (8-byte aligned) the pointer.
        let fprog: (UInt64, UInt64) = (UInt64(instructions.count), UInt64(UInt(bitPattern: filter)))
        let attachReuseportCBPF = NIOBSDSocket.Option(rawValue: 51)   // SO_ATTACH_REUSEPORT_CBPF
        do {
            try await provider.unsafeSetSocketOption(
                level: NIOBSDSocket.OptionLevel(rawValue: CInt(SOL_SOCKET)), name: attachReuseportCBPF, value: fprog
            ).get()
            return true
        } catch {
            return false
        }
    }
}
