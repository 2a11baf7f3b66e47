import NVLBDataplane
import NVLBPolicy

/// Where one worker's frames come from and where they go: the part of the worker loop
/// that differs between the live, replay and bench engines (docs/architecture.md
/// "The worker loop"). ``WorkerLoop`` is generic over it and specialised at compile time,
/// so the packet path calls these requirements directly: no existential, no closure.
///
/// Frames are `Packet`s in buffers the I/O owns; each carries a `Token` (what the
/// engine needs to complete the frame, e.g. its descriptor) through the loop.
protocol WorkerIO: AnyObject {
    /// Per-frame context carried from receive to transmit (a plain value).
    associatedtype Token: BitwiseCopyable

    /// Receive sources polled in each pass (interfaces, an input ring, prebuilt frames).
    var receiveSources: Int { get }

    /// Receives up to `max` frames from `source` into `packets`/`tokens`; returns how many.
    func receive(
        from source: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<Token>, max: Int
    ) -> Int

    /// Frames worker `worker` handed to this one (flows this worker owns), up to `max`.
    func receiveHandoffs(
        from worker: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<Token>, max: Int
    ) -> Int

    /// Hands a received frame of a flow that worker `owner` owns over to it. False when it
    /// cannot; the receiving worker then finishes the frame itself.
    func handOff(_ packet: Packet, token: Token, to owner: Int) -> Bool

    /// A received frame the engine consumes before classification (live ARP learning);
    /// true when consumed (the engine counted it).
    func intercept(_ packet: Packet, from source: Int, dataplane: inout DataplaneWorker) -> Bool

    /// The flow clock (seconds) of a batch about to be finished.
    func flowClock(_ tokens: UnsafeMutablePointer<Token>, count: Int) -> UInt32

    /// Sends (or records) the finished frames `0 ..< count` by their verdicts.
    /// `source` is the receive source of the batch, nil for frames handed over by another
    /// worker (the I/O may then defer sending until the end of the pass). The extra frames
    /// of a `forwardFragments` verdict are in `fragments`, valid until the worker's next
    /// batch: they are sent (or copied) before this returns.
    func transmit(
        _ packets: UnsafeMutablePointer<Packet>, verdicts: UnsafeMutablePointer<Verdict>,
        tokens: UnsafeMutablePointer<Token>, count: Int, receivedFrom source: Int?,
        fragments: borrowing FragmentBuffer)
}

/// A frame with no per-frame context beyond its bytes (live and bench engines).
struct NoToken: BitwiseCopyable, Sendable {
    init() {}
}

extension Verdict {
    /// The port a frame with this verdict leaves by, or nil when it is dropped.
    @inlinable @inline(__always)
    public var egress: Port? {
        switch self {
        case .forward(let port), .answer(let port), .forwardFragments(let port, _, _): port
        case .drop, .consumed: nil
        }
    }
}
