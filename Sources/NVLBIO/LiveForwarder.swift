import CNVLBShims
import CPcap

/// Plain forwarders and a traffic generator for the live benchmark (`bench/live-bench.sh`):
/// what nvlb's live I/O costs without the data plane. Frames are forwarded unchanged from
/// one interface to another (no NAT, no parsing).
///
/// - ``Mode/naive``: the textbook libpcap forwarder — blocking `pcap_dispatch`, one
///   `pcap_inject` (one `send`) per frame. The baseline of SPEC §9.
/// - ``Mode/captureInject``: ``LiveCapture`` batches on receive, still one `pcap_inject`
///   per frame: isolates the cost of transmit.
/// - ``Mode/batched``: ``LiveCapture`` + ``BatchTransmitter`` (one `sendmmsg` per batch):
///   nvlb's live I/O.
public enum LiveForwarder {
    /// Which forwarder.
    public enum Mode: String, CaseIterable, Sendable {
        /// `pcap_dispatch` → `pcap_inject` per frame.
        case naive
        /// ``LiveCapture`` → `pcap_inject` per frame.
        case captureInject = "capture-inject"
        /// ``LiveCapture`` → ``BatchTransmitter``.
        case batched
    }

    /// What a run did.
    public struct Result: Hashable, Sendable {
        /// Frames read from the input interface.
        public var received: UInt64 = 0
        /// Frames handed to the kernel on the output interface.
        public var sent: UInt64 = 0
        /// Frames that could not be sent.
        public var failed: UInt64 = 0
        /// Transmit system calls (`send` per frame, or `sendmmsg` per batch).
        public var transmitCalls: UInt64 = 0
        /// Wall-clock duration of the run, in seconds.
        public var seconds: Double = 0
    }

    /// Forwards every frame received on `input` to `output` for `seconds`, in `mode`, with
    /// batches of `batch` frames (ignored by ``Mode/naive``).
    ///
    /// - Throws: ``LiveIOError`` when an interface cannot be opened or a read fails.
    public static func run(
        mode: Mode, from input: String, to output: String, seconds: Double, batch: Int = 256
    ) throws(LiveIOError) -> Result {
        let deadline = nvlb_monotonic_nanoseconds() &+ UInt64(seconds * 1e9)
        let start = nvlb_monotonic_nanoseconds()
        var result: Result
        switch mode {
        case .naive: result = try naive(from: input, to: output, deadline: deadline)
        case .captureInject: result = try captureInject(from: input, to: output, deadline: deadline, batch: batch)
        case .batched: result = try batched(from: input, to: output, deadline: deadline, batch: batch)
        }
        result.seconds = Double(nvlb_monotonic_nanoseconds() &- start) / 1e9
        return result
    }

    /// Sends `frames` round and round on `interface` for `seconds`, `batch` per `sendmmsg`, as
    /// fast as the kernel takes them (or `limit` frames in all, when given).
    public static func generate(
        on interface: String, frames: [[UInt8]], seconds: Double, batch: Int = 256, limit: UInt64? = nil
    ) throws(LiveIOError) -> Result {
        precondition(!frames.isEmpty)
        var transmitter = try BatchTransmitter(interface: interface, capacity: batch)
        let buffers = FrameBuffers(count: frames.count, slotSize: 2048, headroom: 0)
        for (i, frame) in frames.enumerated() {
            precondition(frame.count <= 2048)
            frame.withUnsafeBytes { buffers.slots.frame(i).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            buffers.slots.lengths[i] = frame.count
        }
        let start = nvlb_monotonic_nanoseconds()
        let deadline = start &+ UInt64(seconds * 1e9)
        var next = 0
        var queued: UInt64 = 0
        let total = limit ?? .max
        while queued < total && nvlb_monotonic_nanoseconds() < deadline {
            for _ in 0..<batch where queued < total {
                transmitter.append(buffers.slots.frame(next), length: buffers.slots.lengths[next])
                next = next + 1 == frames.count ? 0 : next + 1
                queued += 1
            }
            transmitter.flush()
        }
        let counters = transmitter.counters
        return Result(
            received: 0, sent: counters.framesSent, failed: counters.framesFailed, transmitCalls: counters.calls,
            seconds: Double(nvlb_monotonic_nanoseconds() &- start) / 1e9)
    }

    // MARK: Forwarders

    private static func naive(from input: String, to output: String, deadline: UInt64) throws(LiveIOError) -> Result {
        let capture = try openPlain(input, receive: true)
        defer { LibPcap.close(capture) }
        let injector = try openPlain(output, receive: false)
        defer { LibPcap.close(injector) }
        let state = UnsafeMutablePointer<InjectState>.allocate(capacity: 1)
        state.initialize(to: InjectState(output: injector))
        defer { state.deallocate() }
        while nvlb_monotonic_nanoseconds() < deadline {
            let count = LibPcap.dispatch(
                capture, count: -1, callback: naiveInjectFrame,
                user: UnsafeMutableRawPointer(state).assumingMemoryBound(to: UInt8.self))
            if count < 0 {
                throw LiveIOError(
                    kind: .other, interface: input, operation: "pcap_dispatch", message: LibPcap.lastError(capture))
            }
        }
        let s = state.pointee
        return Result(received: s.received, sent: s.sent, failed: s.failed, transmitCalls: s.received)
    }

    private static func captureInject(
        from input: String, to output: String, deadline: UInt64, batch: Int
    ) throws(LiveIOError) -> Result {
        let capture = try LiveCapture(interface: input)
        let injector = try openPlain(output, receive: false)
        defer { LibPcap.close(injector) }
        let buffers = FrameBuffers(count: batch)
        let slots = buffers.slots
        var result = Result()
        while nvlb_monotonic_nanoseconds() < deadline {
            let count = try capture.receive(into: slots, maxFrames: batch, timeoutMilliseconds: 100)
            result.received &+= UInt64(count)
            for i in 0..<count {
                if LibPcap.inject(injector, slots.frame(i), slots.lengths[i]) >= 0 {
                    result.sent &+= 1
                } else {
                    result.failed &+= 1
                }
            }
            result.transmitCalls &+= UInt64(count)
        }
        return result
    }

    private static func batched(
        from input: String, to output: String, deadline: UInt64, batch: Int
    ) throws(LiveIOError) -> Result {
        let capture = try LiveCapture(interface: input)
        var transmitter = try BatchTransmitter(interface: output, capacity: batch)
        let buffers = FrameBuffers(count: batch)
        let slots = buffers.slots
        var received: UInt64 = 0
        while nvlb_monotonic_nanoseconds() < deadline {
            let count = try capture.receive(into: slots, maxFrames: batch, timeoutMilliseconds: 100)
            received &+= UInt64(count)
            for i in 0..<count { transmitter.append(slots.frame(i), length: slots.lengths[i]) }
            transmitter.flush()
        }
        let counters = transmitter.counters
        return Result(
            received: received, sent: counters.framesSent, failed: counters.framesFailed, transmitCalls: counters.calls)
    }

    /// A plain blocking libpcap handle: the textbook settings (promiscuous, immediate, 100 ms
    /// timeout); receive handles see incoming frames only.
    private static func openPlain(_ interface: String, receive: Bool) throws(LiveIOError) -> OpaquePointer {
        guard PacketSocketCalls.interfaceIndex(interface) != nil else {
            throw LiveIOError(
                kind: .noSuchDevice, interface: interface, operation: "if_nametoindex", message: "No such device")
        }
        let handle = try LibPcap.create(interface: interface).get()
        _ = LibPcap.setSnapshotLength(handle, 2048)
        _ = LibPcap.setPromiscuous(handle, receive)
        _ = LibPcap.setImmediateMode(handle, true)
        _ = LibPcap.setTimeout(handle, 100)
        let status = LibPcap.activate(handle)
        if status < 0 {
            let message = LibPcap.lastError(handle)
            LibPcap.close(handle)
            throw LiveIOError(kind: .other, interface: interface, operation: "pcap_activate", message: message)
        }
        if receive { _ = LibPcap.setDirectionIn(handle) }
        return handle
    }
}

/// The naive forwarder's callback context.
struct InjectState {
    let output: OpaquePointer
    var received: UInt64 = 0
    var sent: UInt64 = 0
    var failed: UInt64 = 0
}

/// `pcap_handler` of the naive forwarder: `pcap_inject` of each frame as it is read.
private func naiveInjectFrame(
    user: UnsafeMutablePointer<UInt8>?, header: UnsafePointer<pcap_pkthdr>?, bytes: UnsafePointer<UInt8>?
) {
    guard let user, let header, let bytes else { return }
    let state = UnsafeMutableRawPointer(user).assumingMemoryBound(to: InjectState.self)
    state.pointee.received &+= 1
    if LibPcap.inject(state.pointee.output, bytes, Int(header.pointee.caplen)) >= 0 {
        state.pointee.sent &+= 1
    } else {
        state.pointee.failed &+= 1
    }
}
