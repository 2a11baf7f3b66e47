import CNuma

#if canImport(Glibc)
    import Glibc
#endif

/// Why a ``NUMABuffer`` could not be allocated.
public enum NUMAMemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Neither libnuma nor `posix_memalign` could provide the memory.
    case allocationFailed(byteCount: Int, node: Int32?, errno: Int32)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .allocationFailed(let byteCount, let node, let code):
            let place = node.map { " on NUMA node \($0)" } ?? ""
            return "cannot allocate \(byteCount) bytes\(place): \(String(cString: strerror(code)))"
        }
    }
}

/// The unique owner of a zero-filled block of raw memory placed on one NUMA node: a
/// worker's flow table, packet buffers, counters. Freed when the owner goes away.
///
/// Allocation is `numa_alloc_onnode` (anonymous pages bound to the node, page-aligned);
/// when libnuma is unavailable or `node` is `nil` or not a node of this machine, an
/// `posix_memalign` block aligned to the page size. Either way the base address is aligned
/// to at least ``alignment`` (64 bytes: a cache line) and every byte is zero. The whole
/// block is written once at allocation, so its pages are faulted in (on the node) at
/// start-up rather than on the packet path; allocation costs O(byteCount).
///
/// Non-copyable: exactly one owner, which may be moved to another thread (`Sendable`);
/// the memory itself is not synchronized — hand it to the worker before it is used.
public struct NUMABuffer: ~Copyable, @unchecked Sendable {
    /// The guaranteed alignment of ``baseAddress``, in bytes (a cache line).
    public static let alignment = 64

    /// The first byte. Valid for ``byteCount`` bytes until the buffer is destroyed; never
    /// keep it beyond the owner's lifetime.
    public let baseAddress: UnsafeMutableRawPointer
    /// The usable size, in bytes, as requested.
    public let byteCount: Int
    /// The node the pages are bound to, or `nil` for plain allocation (libnuma unavailable,
    /// no node requested, or the node does not exist).
    public let node: Int32?
    /// How many bytes were obtained from the allocator (≥ ``byteCount``, ≥ 1).
    @usableFromInline let allocatedByteCount: Int

    /// Allocates `byteCount` zeroed bytes on `node`.
    /// - Parameters:
    ///   - byteCount: the size in bytes, ≥ 0 (0 gives a valid, minimal block).
    ///   - node: the NUMA node, typically ``WorkerSlot/node``; `nil` for no preference.
    /// - Throws: ``NUMAMemoryError/allocationFailed(byteCount:node:errno:)`` when memory is
    ///   exhausted.
    public init(byteCount: Int, node: Int32?) throws(NUMAMemoryError) {
        precondition(byteCount >= 0, "negative byte count")
        let size = max(byteCount, 1)
        var placed: Int32? = nil
        var pointer: UnsafeMutableRawPointer? = nil
        if let node, NUMATopology.memoryNodes.contains(node) {
            pointer = numa_alloc_onnode(size, node)
            if pointer != nil { placed = node }
        }
        if pointer == nil {
            let pageSize = max(Int(sysconf(Int32(_SC_PAGESIZE))), Self.alignment)
            let code = posix_memalign(&pointer, pageSize, size)
            guard code == 0, pointer != nil else {
                throw .allocationFailed(byteCount: byteCount, node: node, errno: code == 0 ? ENOMEM : code)
            }
        }
        // Zero (posix_memalign does not) and fault every page in now, not on the packet path.
        memset(pointer!, 0, size)
        self.baseAddress = pointer!
        self.byteCount = byteCount
        self.allocatedByteCount = size
        self.node = placed
    }

    deinit {
        if node != nil {
            numa_free(baseAddress, allocatedByteCount)
        } else {
            free(baseAddress)
        }
    }

    /// The memory as a raw buffer of ``byteCount`` bytes, for the duration of `body`.
    public func withUnsafeMutableBytes<R: ~Copyable, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: baseAddress, count: byteCount))
    }
}
