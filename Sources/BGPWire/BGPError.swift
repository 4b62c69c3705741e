/// A protocol error with the NOTIFICATION it calls for (RFC 4271 §6).
public struct BGPError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: UInt8
    public var subcode: UInt8
    /// The NOTIFICATION's data field (e.g. the offending length or the bad marker).
    public var data: [UInt8]
    public var reason: String

    public init(code: UInt8, subcode: UInt8, data: [UInt8] = [], reason: String) {
        self.code = code
        self.subcode = subcode
        self.data = data
        self.reason = reason
    }

    public var description: String { "\(reason) (NOTIFICATION \(code)/\(subcode))" }

    // §6.1 Message Header Error.
    static func notSynchronized() -> BGPError {
        BGPError(code: 1, subcode: 1, reason: "marker is not all ones")
    }
    static func badLength(_ length: Int) -> BGPError {
        BGPError(code: 1, subcode: 2, data: [UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)],
                 reason: "bad message length \(length)")
    }
    static func badType(_ type: UInt8) -> BGPError {
        BGPError(code: 1, subcode: 3, data: [type], reason: "unknown message type \(type)")
    }
    // §6.2 OPEN Message Error.
    static func open(_ subcode: UInt8, _ reason: String, data: [UInt8] = []) -> BGPError {
        BGPError(code: 2, subcode: subcode, data: data, reason: reason)
    }
    // §6.3 UPDATE Message Error; subcodes named in `UpdateSubcode`.
    static func update(_ subcode: UpdateSubcode, _ reason: String, data: [UInt8] = []) -> BGPError {
        BGPError(code: 3, subcode: subcode.rawValue, data: data, reason: reason)
    }

    /// RFC 4271 §4.5 and §6.3: the subcodes of UPDATE Message Error (code 3).
    public enum UpdateSubcode: UInt8, Sendable {
        case malformedAttributeList = 1
        case unrecognizedWellKnownAttribute = 2
        case missingWellKnownAttribute = 3
        case attributeFlagsError = 4
        case attributeLengthError = 5
        case invalidOrigin = 6
        case invalidNextHop = 8
        case optionalAttributeError = 9
        case invalidNetworkField = 10
        case malformedASPath = 11
    }
}
