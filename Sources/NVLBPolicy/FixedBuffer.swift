/// A fixed-size array of trivial values in manually managed memory, owned by a
/// `PolicySnapshot` (which frees it in `deinit`). Reading it costs no ARC traffic
/// and, with `unsafe` indexing, no bounds check on paths proven safe by construction.
@frozen
public struct FixedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<Element>
    /// Number of elements.
    public let count: Int

    /// Copies `elements` into new memory.
    public init(_ elements: [Element]) {
        count = elements.count
        base = .allocate(capacity: max(count, 1))
        if count > 0 {
            elements.withUnsafeBufferPointer { base.initialize(from: $0.baseAddress!, count: count) }
        }
    }

    /// Releases the memory. The buffer must not be used afterwards.
    public func deallocate() { base.deallocate() }

    /// The element at `index`. - Precondition (checked in debug builds): `0 <= index < count`.
    @inlinable
    public subscript(index: Int) -> Element {
        @inline(__always) get {
            assert(index >= 0 && index < count)
            return base[index]
        }
    }

    /// Pointer to the element at `index`, for read access to large elements.
    @inlinable @inline(__always)
    public func pointer(_ index: Int) -> UnsafeMutablePointer<Element> { base + index }
}
