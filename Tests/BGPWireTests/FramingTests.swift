import NIOCore
import BGPFixtures
import Testing
@testable import BGPWire

@Suite struct FramingTests {
    /// A whole captured session in one buffer, and the same fed one byte at a time.
    @Test(arguments: BGPFixtures.speakers)
    func framesWholeSessions(speaker: String) throws {
        let messages = try BGPFixtures.messages("\(speaker)-addpath.hex")
        var all = ByteBuffer(bytes: messages.flatMap { $0 })
        var kinds: [BGPMessage.Kind] = []
        while let message = try BGPMessage.frame(&all) { kinds.append(message.kind) }
        #expect(all.readableBytes == 0)
        #expect(kinds.count == messages.count)
        #expect(kinds.first == .open)
        #expect(kinds.filter { $0 == .keepalive }.count >= 1)
        #expect(kinds.filter { $0 == .update }.count == 17)

        var trickle = ByteBuffer()
        var count = 0
        for byte in messages.flatMap({ $0 }) {
            trickle.writeInteger(byte)
            while try BGPMessage.frame(&trickle) != nil { count += 1 }
        }
        #expect(count == messages.count)
    }

    static func header(length: UInt16, type: UInt8, marker: UInt8 = 0xff) -> ByteBuffer {
        var b = ByteBuffer(bytes: [UInt8](repeating: marker, count: 16))
        b.writeInteger(length)
        b.writeInteger(type)
        return b
    }

    @Test func headerErrors() {
        var bad = Self.header(length: 19, type: 4, marker: 0xfe)
        #expect(throws: BGPError.notSynchronized()) { try BGPMessage.frame(&bad) }
        var short = Self.header(length: 18, type: 4)
        #expect(throws: BGPError.badLength(18)) { try BGPMessage.frame(&short) }
        var long = Self.header(length: 4097, type: 2)
        #expect(throws: BGPError.badLength(4097)) { try BGPMessage.frame(&long) }
        var type = Self.header(length: 19, type: 9)
        #expect(throws: BGPError.badType(9)) { try BGPMessage.frame(&type) }
        // KEEPALIVE is exactly 19 bytes; an OPEN at least 29.
        var keepalive = Self.header(length: 20, type: 4)
        #expect(throws: BGPError.badLength(20)) { try BGPMessage.frame(&keepalive) }
        var open = Self.header(length: 28, type: 1)
        #expect(throws: BGPError.badLength(28)) { try BGPMessage.frame(&open) }
    }

    @Test func extendedMessagesOnlyWhenNegotiated() throws {
        var big = Self.header(length: 5000, type: 2)
        big.writeBytes([UInt8](repeating: 0, count: 5000 - 19))
        var copy = big
        #expect(throws: BGPError.badLength(5000)) { try BGPMessage.frame(&copy) }
        let message = try #require(try BGPMessage.frame(&big, extendedMessages: true))
        #expect(message.body.readableBytes == 5000 - 19)
    }

    @Test func incompleteMessagesWait() throws {
        var partial = Self.header(length: 29, type: 1)
        #expect(try BGPMessage.frame(&partial) == nil)
        #expect(partial.readableBytes == 19)
        #expect(BGPMessage.keepalive.encoded().readableBytes == 19)
    }

    @Test func shutdownCommunication() throws {
        let text = "maintenance until 22:00"
        let notification = Notification(code: 6, subcode: 2, data: [UInt8(text.utf8.count)] + Array(text.utf8))
        let decoded = try Notification.decode(notification.encode())
        #expect(decoded == notification)
        #expect(decoded.shutdownCommunication == text)
        #expect(Notification(code: 6, subcode: 3).shutdownCommunication == nil)
        #expect(Notification(BGPError.badType(9)) == Notification(code: 1, subcode: 3, data: [9]))
    }
}
