import BGPWire
import NIOCore
import NetCore

/// The input format of the BGPWire fuzz target, and the invariants it checks, in one place for
/// the libFuzzer target (Fuzz/) and the regression tests that replay its inputs.
///
/// Byte 0 picks the session: bit 0 ADD-PATH for IPv4 unicast, bit 1 for IPv6 unicast, bit 2 a
/// 2-octet-AS peer, bit 3 an external peer, bit 4 re-encodes with MP_REACH_NLRI/MP_UNREACH_NLRI
/// first. The rest is one UPDATE body (the message without its 19-byte header).
///
/// Invariants:
/// - `Update.decode` returns or throws a `BGPError` of code 3 (UPDATE Message Error).
/// - What decodes re-encodes to a body that decodes again without error, to an equal `Update`
///   apart from the RFC 7606 records (`discarded`). Exceptions, by design:
///   - treat-as-withdraw: the re-encoding is the withdrawal, so the second decode has the same
///     attributes and the same withdrawn routes (possibly in another order), nothing announced;
///   - an UPDATE that decodes to nothing at all (only attributes the codec drops: discarded ones,
///     unknown optional non-transitive ones, NLRI of other families) re-encodes as the empty
///     UPDATE, which is the IPv4 End-of-RIB.
/// - Encoding is a fixed point: the second decode encodes to the same bytes.
/// - `BGPMessage.frame` on the same bytes returns or throws `BGPError`, with and without extended
///   messages, and the re-encoded UPDATE framed as a message comes back as it went.
public enum UpdateFuzzInput {
    public static func context(_ byte: UInt8) -> Update.Context {
        var addPath: Set<AddressFamily> = []
        if byte & 1 != 0 { addPath.insert(.ipv4Unicast) }
        if byte & 2 != 0 { addPath.insert(.ipv6Unicast) }
        return Update.Context(addPath: addPath, fourOctetAS: byte & 4 == 0, externalPeer: byte & 8 != 0)
    }

    public static func mpAttributesFirst(_ byte: UInt8) -> Bool { byte & 0x10 != 0 }

    /// The first byte for `context`, e.g. to build seeds.
    public static func contextByte(_ context: Update.Context, mpAttributesFirst: Bool = false) -> UInt8 {
        (context.addPath.contains(.ipv4Unicast) ? 1 : 0) | (context.addPath.contains(.ipv6Unicast) ? 2 : 0)
            | (context.fourOctetAS ? 0 : 4) | (context.externalPeer ? 8 : 0) | (mpAttributesFirst ? 0x10 : 0)
    }

    /// What the first decode gave.
    public enum Outcome: Sendable, Equatable {
        case decoded(Update)
        case rejected(BGPError)
        case empty
    }

    public static func check(_ input: [UInt8]) -> (outcome: Outcome, problems: [String]) {
        guard let first = input.first else { return (.empty, []) }
        let context = context(first)
        let mpFirst = mpAttributesFirst(first)
        let body = ByteBuffer(bytes: input.dropFirst())
        var problems: [String] = []

        checkFraming(body, problems: &problems)

        let update: Update
        do {
            update = try Update.decode(body, context: context)
        } catch let error as BGPError {
            if error.code != 3 { problems.append("decode: NOTIFICATION code \(error.code), not 3: \(error)") }
            return (.rejected(error), problems)
        } catch {
            problems.append("decode threw \(type(of: error)), not BGPError: \(error)")
            return (.empty, problems)
        }

        let encoded = update.encode(context: context, mpAttributesFirst: mpFirst)
        let again: Update
        do {
            again = try Update.decode(encoded, context: context)
        } catch {
            problems.append("re-encoding does not decode: \(error); update \(update)")
            return (.decoded(update), problems)
        }
        var expected = update
        expected.discarded = []
        if update.treatedAsWithdraw != nil {
            if again.attributes != update.attributes { problems.append("treat-as-withdraw: attributes changed: \(again.attributes) vs \(update.attributes)") }
            if !again.announced.isEmpty || again.treatedAsWithdraw != nil { problems.append("treat-as-withdraw: re-encoding announces: \(again)") }
            if sorted(again.withdrawn) != sorted(update.withdrawn) {
                problems.append("treat-as-withdraw: withdrawn routes changed: \(again.withdrawn) vs \(update.withdrawn)")
            }
        } else if isNothing(update) {
            if again.endOfRIB != .ipv4Unicast || !isNothing(again, endOfRIB: .ipv4Unicast) {
                problems.append("an UPDATE of nothing re-encodes to \(again)")
            }
        } else if again != expected {
            problems.append("round trip changed the UPDATE:\n  was \(expected)\n  now \(again)")
        }
        let fixed = again.encode(context: context, mpAttributesFirst: mpFirst)
        if fixed != encoded {
            problems.append("encoding is not a fixed point: \(Array(buffer: encoded)) then \(Array(buffer: fixed))")
        }

        if encoded.readableBytes <= BGPMessage.maximumExtendedLength - BGPMessage.headerLength {
            var framed = update.message(context: context, mpAttributesFirst: mpFirst).encoded()
            do {
                let message = try BGPMessage.frame(&framed, extendedMessages: true)
                if message?.kind != .update || message?.body != encoded || framed.readableBytes != 0 {
                    problems.append("the re-encoded UPDATE does not frame back")
                }
            } catch {
                problems.append("the re-encoded UPDATE does not frame: \(error)")
            }
        }
        return (.decoded(update), problems)
    }

    public static func check(_ input: UnsafeRawBufferPointer) -> (outcome: Outcome, problems: [String]) {
        check(Array(input))
    }

    /// Framing the raw bytes: messages until it waits for more or throws; never traps.
    static func checkFraming(_ bytes: ByteBuffer, problems: inout [String]) {
        for extended in [false, true] {
            var buffer = bytes
            var count = 0
            do {
                while let message = try BGPMessage.frame(&buffer, extendedMessages: extended) {
                    count += 1
                    if message.body.readableBytes + BGPMessage.headerLength > (extended ? 65_535 : 4096) {
                        problems.append("framed a message longer than allowed")
                    }
                    if count > bytes.readableBytes { problems.append("framing does not advance"); break }
                }
            } catch is BGPError {
            } catch {
                problems.append("framing threw \(type(of: error)), not BGPError")
            }
        }
    }

    static func isNothing(_ update: Update, endOfRIB: AddressFamily? = nil) -> Bool {
        update.withdrawn.isEmpty && update.announced.isEmpty && update.attributes == PathAttributes()
            && update.mixedNLRI == nil && update.treatedAsWithdraw == nil && update.endOfRIB == endOfRIB
    }

    static func sorted(_ routes: [Update.Route]) -> [Update.Route] {
        routes.sorted {
            ($0.prefix.address, $0.prefix.length, $0.pathID) < ($1.prefix.address, $1.prefix.length, $1.pathID)
        }
    }
}
