import CNuma

#if canImport(Glibc)
    import Glibc
#endif

/// Why a ``NUMABuffer`` could not be allocated.
public enum NUMAMemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kernel could not map the memory.
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
/// Allocation is an anonymous mapping bound to the node with libnuma
/// (`numa_tonode_memory`, i.e. `mbind`) before its first touch; when libnuma is
/// unavailable or `node` is `nil` or not a node of this machine, the pages are not bound.
/// Blocks of at least ``hugePageThreshold`` bytes are 2 MiB-aligned and advised for
/// transparent huge pages. The base address is aligned to at least ``alignment``
/// (64 bytes: a cache line) and every byte is zero. The whole
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
    /// Bytes mapped at ``baseAddress`` (``byteCount`` rounded up to the page size used).
    @usableFromInline let mappedByteCount: Int
    /// True when the block is 2 MiB-aligned and transparent huge pages were requested
    /// for it (`madvise(MADV_HUGEPAGE)`; the kernel grants them as it can).
    public let hugePages: Bool

    /// Blocks at least this large are 2 MiB-aligned and backed by huge pages where
    /// the kernel allows: a flow table of 64 MiB then needs 32 TLB entries instead of
    /// 16,384, which matters when every packet touches a random line of it.
    public static let hugePageThreshold = 4 << 20
    static let hugePageSize = 2 << 20

    /// Allocates `byteCount` zeroed bytes on `node`.
    /// - Parameters:
    ///   - byteCount: the size in bytes, ≥ 0 (0 gives a valid, minimal block).
    ///   - node: the NUMA node, typically ``WorkerSlot/node``; `nil` for no preference.
    /// - Throws: ``NUMAMemoryError/allocationFailed(byteCount:node:errno:)`` when memory is
    ///   exhausted.
    public init(byteCount: Int, node: Int32?) throws(NUMAMemoryError) {
        precondition(byteCount >= 0, "negative byte count")
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let huge = byteCount >= Self.hugePageThreshold
        let unit = huge ? Self.hugePageSize : pageSize
        let length = (max(byteCount, 1) + unit - 1) / unit * unit
        // Map one unit more than needed, then trim the head and tail so the block starts
        // on a `unit` boundary and exactly `length` bytes stay mapped.
        let reserve = length + (huge ? unit : 0)
        guard let mapped = mmap(nil, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mapped != MAP_FAILED
        else { throw .allocationFailed(byteCount: byteCount, node: node, errno: errno) }
        let address = Int(bitPattern: mapped)
        let aligned = (address + unit - 1) / unit * unit
        if aligned > address { munmap(mapped, aligned - address) }
        let tail = address + reserve - (aligned + length)
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: aligned + length), tail) }
        let base = UnsafeMutableRawPointer(bitPattern: aligned)!
        if huge { _ = madvise(base, length, MADV_HUGEPAGE) }
        var placed: Int32? = nil
        if let node, NUMATopology.memoryNodes.contains(node) {
            // Bind before the first touch, so every page is allocated on the node.
            numa_tonode_memory(base, length, node)
            placed = node
        }
        // Fault every page in now (mmap memory is zero), not on the packet path.
        memset(base, 0, length)
        self.baseAddress = base
        self.byteCount = byteCount
        self.mappedByteCount = length
        self.hugePages = huge
        self.node = placed
    }

    deinit {
        munmap(baseAddress, mappedByteCount)
    }

    /// The memory as a raw buffer of ``byteCount`` bytes, for the duration of `body`.
    public func withUnsafeMutableBytes<R: ~Copyable, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: baseAddress, count: byteCount))
    }
}
