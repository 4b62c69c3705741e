import NetCore

/// Unaligned big-endian reads; callers check bounds first.
@inline(__always)
func readU8(_ base: UnsafeRawPointer, _ offset: Int) -> UInt8 {
    base.load(fromByteOffset: offset, as: UInt8.self)
}

@inline(__always)
func readU16(_ base: UnsafeRawPointer, _ offset: Int) -> UInt16 {
    UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}

@inline(__always)
func readU32(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
    UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

@inline(__always)
func readU64(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
    UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}

/// An IPv4 address (4 bytes) and an IPv6 address (16 bytes).
@inline(__always)
func readV4(_ base: UnsafeRawPointer, _ offset: Int) -> IPAddress {
    IPAddress(v4: readU32(base, offset))
}

@inline(__always)
func readV6(_ base: UnsafeRawPointer, _ offset: Int) -> IPAddress {
    IPAddress(v6High: readU64(base, offset), low: readU64(base, offset + 8))
}

/// An unsigned integer of 1 to 8 bytes (RFC 7011 §6.2 reduced-size encoding).
@inline(__always)
func readUInt(_ base: UnsafeRawPointer, _ offset: Int, _ length: Int) -> UInt64 {
    switch length {
    case 1: return UInt64(readU8(base, offset))
    case 2: return UInt64(readU16(base, offset))
    case 4: return UInt64(readU32(base, offset))
    case 8: return readU64(base, offset)
    default:
        var value: UInt64 = 0
        for i in 0..<length { value = value << 8 | UInt64(readU8(base, offset + i)) }
        return value
    }
}
