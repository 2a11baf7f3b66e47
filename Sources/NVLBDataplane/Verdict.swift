import NVLBWire
import NVLBPolicy
import NVLBBalancing
/// Where an emitted frame leaves nvlb.
@frozen
public enum Port: UInt8, Sendable, Equatable {
    /// The provider network (NVGRE toward Hyper-V hosts).
    case underlay
    /// The non-virtualized side (replies to Internet clients). The same interface as
    /// the underlay when `external.interface` is absent.
    case external
}

/// The outcome of one received frame (docs/packets.md "Outcomes of a frame"): exactly one of these.
@frozen
public enum Verdict: Sendable, Equatable {
    /// The rewritten frame (at the packet's new `start`/`length`) leaves by `port`.
    case forward(Port)
    /// The inner packet was fragmented to fit `underlay.mtu` (docs/packets.md "ICMP and
    /// path MTU"): the packet holds the first fragment, and frames `first ..< first + count`
    /// of `DataplaneWorker.fragments` the others, all leaving by `port`. Valid until the
    /// worker processes its next frame or batch.
    case forwardFragments(Port, first: UInt16, count: UInt16)
    /// nvlb answers itself (ARP, ICMP); the answer is in the packet and leaves by `port`.
    case answer(Port)
    /// Handled by nvlb itself and nothing leaves (a health probe reply, handed to the
    /// prober: docs/health.md); counted as answered.
    case consumed
    /// Dropped and counted under `reason`.
    case drop(DropReason)
}

/// A frame in a worker buffer: bytes `base[start ..< start + length]`, with
/// `start` ≥ `Packet.headroom` on receive so that encapsulation can prepend in place.
@frozen
public struct Packet {
    /// Bytes reserved in front of a received frame: room for the 42-byte NVGRE
    /// encapsulation, rounded up to a cache line.
    public static let headroom = 64

    public var base: UnsafeMutableRawPointer
    public var start: Int
    public var length: Int

    @inlinable
    public init(base: UnsafeMutableRawPointer, start: Int, length: Int) {
        self.base = base
        self.start = start
        self.length = length
    }

    /// The first byte of the frame.
    @inlinable
    public var bytes: UnsafeMutableRawPointer { base + start }
}
