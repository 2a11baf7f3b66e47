import NVLBWire

/// A worker's preallocated room for the extra frames of fragmented packets (docs/packets.md
/// "ICMP and path MTU"): frames are appended one after the other during a frame or batch,
/// read by the caller through `frame(_:)` as `Verdict.forwardFragments` names them, and
/// forgotten when the worker starts the next frame or batch. Allocated once.
public struct FragmentBuffer: ~Copyable {
    /// Bytes of frames one frame or batch may produce.
    public static let byteCapacity = 256 * 1024
    /// Frames one frame or batch may produce.
    public static let frameCapacity = 1024

    @usableFromInline let bytes: UnsafeMutableRawPointer
    @usableFromInline let starts: UnsafeMutablePointer<Int32>
    @usableFromInline let lengths: UnsafeMutablePointer<Int32>
    @usableFromInline var storedCount = 0
    /// Frames held.
    @inlinable public var count: Int { storedCount }
    @usableFromInline var used = 0

    public init() {
        bytes = .allocate(byteCount: Self.byteCapacity, alignment: 64)
        starts = .allocate(capacity: Self.frameCapacity)
        lengths = .allocate(capacity: Self.frameCapacity)
    }

    deinit {
        bytes.deallocate()
        starts.deallocate()
        lengths.deallocate()
    }

    /// Frame `index` (`0 ..< count`): its first byte and length.
    @inlinable
    public func frame(_ index: Int) -> (bytes: UnsafeMutableRawPointer, length: Int) {
        precondition(index >= 0 && index < count)
        return (bytes + Int(starts[index]), Int(lengths[index]))
    }

    /// Forgets every frame.
    @inlinable @inline(__always)
    mutating func reset() {
        if storedCount != 0 {
            storedCount = 0
            used = 0
        }
    }

    /// True when `frames` more frames of `totalBytes` bytes in all fit.
    @inlinable
    func hasRoom(frames: Int, totalBytes: Int) -> Bool {
        count &+ frames <= Self.frameCapacity && used &+ totalBytes &+ frames &* 8 <= Self.byteCapacity
    }

    /// Where the next frame is written (room checked with `hasRoom` first).
    @inlinable
    var next: UnsafeMutableRawPointer { bytes + used }

    /// Adds the `length`-byte frame written at `next`.
    @inlinable
    mutating func commit(length: Int) {
        starts[storedCount] = Int32(truncatingIfNeeded: used)
        lengths[storedCount] = Int32(truncatingIfNeeded: length)
        storedCount &+= 1
        // Keep each frame 8-byte aligned.
        used = (used &+ length &+ 7) & ~7
    }
}
