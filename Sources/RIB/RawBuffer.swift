#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Growable storage of plain values, owned and freed by whoever holds it.
///
/// The tables readers walk live in these rather than in Swift arrays: readers on other threads
/// read elements while the writer changes different elements, and element access must not
/// retain, copy on write or check exclusivity on the hot path. Storage is aligned to a cache
/// line; from 2 MiB up it is aligned to 2 MiB and asks for transparent huge pages, because
/// random lookups over tables of tens of megabytes otherwise spend most of their time in TLB
/// misses (and page walks are dearer still under virtualisation).
struct RawBuffer<Element: BitwiseCopyable>: BitwiseCopyable {
    private(set) var base: UnsafeMutablePointer<Element>?
    private(set) var capacity: Int = 0

    static var hugePageSize: Int { 2 << 20 }

    init() {}

    init(repeating value: Element, count: Int) {
        grow(to: count, filling: value)
    }

    @inline(__always)
    subscript(index: Int) -> Element {
        get { base.unsafelyUnwrapped[index] }
        nonmutating set { base.unsafelyUnwrapped[index] = newValue }
    }

    @inline(__always)
    func pointer(_ index: Int) -> UnsafeMutablePointer<Element> {
        base.unsafelyUnwrapped + index
    }

    /// Enlarges to `newCapacity` elements, setting the new ones to `value`. Elements move.
    mutating func grow(to newCapacity: Int, filling value: Element) {
        precondition(newCapacity >= capacity)
        guard newCapacity > capacity else { return }
        let bytes = newCapacity * MemoryLayout<Element>.stride
        let huge = bytes >= Self.hugePageSize
        var raw: UnsafeMutableRawPointer?
        let alignment = huge ? Self.hugePageSize : Swift.max(64, MemoryLayout<Element>.alignment)
        guard posix_memalign(&raw, alignment, bytes) == 0, let raw else {
            fatalError("RIB: out of memory growing a table to \(bytes) bytes")
        }
        #if canImport(Glibc)
        // Advice only: without huge pages the table works the same, just slower.
        if huge { _ = madvise(raw, bytes & ~(Self.hugePageSize - 1), MADV_HUGEPAGE) }
        #endif
        let typed = raw.bindMemory(to: Element.self, capacity: newCapacity)
        if let base {
            typed.update(from: base, count: capacity)
            releaseMemory(base)
        }
        (typed + capacity).initialize(repeating: value, count: newCapacity - capacity)
        base = typed
        capacity = newCapacity
    }

    /// Enlarges to at least `minimum` elements, doubling so appends stay amortised O(1).
    mutating func reserve(_ minimum: Int, filling value: Element) {
        guard minimum > capacity else { return }
        grow(to: Swift.max(minimum, capacity * 2, 16), filling: value)
    }

    /// Frees the storage; the buffer is empty afterwards.
    mutating func free() {
        if let base { releaseMemory(base) }
        base = nil
        capacity = 0
    }

    var bytes: Int { capacity * MemoryLayout<Element>.stride }
}

/// A stack of `UInt32` (free-slot lists) that stays `BitwiseCopyable`.
struct RawStack: BitwiseCopyable {
    private var storage = RawBuffer<UInt32>()
    private(set) var count = 0

    mutating func push(_ value: UInt32) {
        storage.reserve(count + 1, filling: 0)
        storage[count] = value
        count += 1
    }

    mutating func pop() -> UInt32? {
        guard count > 0 else { return nil }
        count -= 1
        return storage[count]
    }

    var bytes: Int { storage.bytes }

    mutating func free() {
        storage.free()
        count = 0
    }
}

/// `free` itself, out of reach of the methods of the same name.
private func releaseMemory(_ pointer: UnsafeMutableRawPointer) {
    free(pointer)
}
