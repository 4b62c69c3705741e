import BGPWireFuzzing

/// libFuzzer entry point for `Update.decode`, `Update.encode` and `BGPMessage.frame`: the input
/// format and the invariants are `UpdateFuzzInput`'s (Sources/BGPWireFuzzing), shared with the
/// regression tests.
@_cdecl("LLVMFuzzerTestOneInput")
public func bgpWireFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (_, problems) = UpdateFuzzInput.check(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    if let first = problems.first { fatalError(first) }
    return 0
}
