import FlowWireFuzzing

/// libFuzzer entry point for `FlowDecoder`: the input format and the invariants are
/// `FuzzInput`'s (Sources/FlowWireFuzzing), shared with the regression tests.
@_cdecl("LLVMFuzzerTestOneInput")
public func flowWireFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (_, problems) = FuzzInput.replay(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    if let first = problems.first { fatalError(first) }
    return 0
}
