import CNVLBShims
import CPcap
import NVLBIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Plain forwarders and a traffic generator for the live benchmark (`bench/live-bench.sh`):
/// what nvlb's live I/O costs without the data plane. Frames are forwarded unchanged from
/// one interface to another (no NAT, no parsing).
///
/// - ``Mode/naive``: the textbook libpcap forwarder — `pcap_dispatch` with the injecting
///   callback, one `pcap_inject` (one `send`) per frame. The baseline of README.md "Performance".
/// - ``Mode/captureInject``: ``LiveCapture`` batches on receive, still one `pcap_inject`
///   per frame: isolates the cost of transmit.
/// - ``Mode/batched``: ``LiveCapture`` + ``BatchTransmitter`` (one `sendmmsg` per batch):
///   nvlb's live I/O.
public enum LiveForwarder {
    /// Which forwarder.
    public enum Mode: String, CaseIterable, Sendable {
        /// `pcap_dispatch` → `pcap_inject` per frame, from the callback.
        case naive
        /// ``LiveCapture`` → `pcap_inject` per frame.
        case captureInject = "capture-inject"
        /// ``LiveCapture`` → ``BatchTransmitter``.
        case batched
        /// ``LiveCapture`` → ``BatchTransmitter`` with `PACKET_QDISC_BYPASS`.
        case batchedBypass = "batched-bypass"
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
        /// Seconds from the first frame read to the last frame sent (the busy time of a
        /// drain run).
        public var activeSeconds: Double = 0
    }

    /// When a forwarder starts and stops.
    public struct Schedule: Hashable, Sendable {
        /// Stop after this many seconds in all.
        public var seconds: Double
        /// Open the interfaces, then wait this long before reading: frames pile up in the
        /// capture ring (a drain run measures how fast the forwarder empties it).
        public var startDelay: Double = 0
        /// Stop once no frame arrived for this many milliseconds after the first (nil: run
        /// for ``seconds``).
        public var idleStopMilliseconds: Int32? = nil
        /// Capture ring size in bytes (`pcap_set_buffer_size`), for every mode.
        public var bufferBytes: Int = 32 << 20
        /// Pin the forwarding thread to this CPU (nil: leave it to the scheduler).
        public var cpu: Int? = nil

        /// A schedule of `seconds`.
        public init(
            seconds: Double, startDelay: Double = 0, idleStopMilliseconds: Int32? = nil, bufferBytes: Int = 32 << 20,
            cpu: Int? = nil
        ) {
            self.cpu = cpu
            self.seconds = seconds
            self.startDelay = startDelay
            self.idleStopMilliseconds = idleStopMilliseconds
            self.bufferBytes = bufferBytes
        }
    }

    /// Forwards every frame received on `input` to `output` for `seconds`, in `mode`, with
    /// batches of `batch` frames (ignored by ``Mode/naive``).
    ///
    /// - Throws: ``LiveIOError`` when an interface cannot be opened or a read fails.
    public static func run(
        mode: Mode, from input: String, to output: String, seconds: Double, batch: Int = 256
    ) throws(LiveIOError) -> Result {
        try run(mode: mode, from: input, to: output, schedule: Schedule(seconds: seconds), batch: batch)
    }

    /// A start signal from another thread: a drain run opens its capture, then waits until
    /// the generator has filled the ring and ``open()`` is called.
    public final class Gate: Sendable {
        private let isOpen = Atomic<Bool>(false)
        /// A closed gate.
        public init() {}
        /// Lets the waiting forwarder start.
        public func open() { isOpen.store(true, ordering: .releasing) }
        /// Sleeps in 1 ms steps until open.
        public func wait() { while !isOpen.load(ordering: .acquiring) { usleep(1000) } }
    }

    /// Forwards every frame received on `input` to `output` as `schedule` says, in `mode`;
    /// with a `gate`, reading starts only once it opens (after ``Schedule/startDelay``).
    /// `ready` is opened once the interfaces are open (frames sent after that are captured).
    ///
    /// - Throws: ``LiveIOError`` when an interface cannot be opened or a read fails.
    public static func run(
        mode: Mode, from input: String, to output: String, schedule: Schedule, batch: Int = 256,
        ready: Gate? = nil, gate: Gate? = nil
    ) throws(LiveIOError) -> Result {
        if let cpu = schedule.cpu { _ = nvlb_pin_current_thread(Int32(cpu)) }
        let start = nvlb_monotonic_nanoseconds()
        var clock = Clock(
            deadline: start &+ UInt64(schedule.seconds * 1e9), idleStop: schedule.idleStopMilliseconds,
            delay: schedule.startDelay, ready: ready, gate: gate)
        var result: Result
        switch mode {
        case .naive: result = try naive(from: input, to: output, clock: &clock, bufferBytes: schedule.bufferBytes)
        case .captureInject:
            result = try captureInject(
                from: input, to: output, clock: &clock, batch: batch, bufferBytes: schedule.bufferBytes)
        case .batched, .batchedBypass:
            result = try batched(
                from: input, to: output, clock: &clock, batch: batch, bufferBytes: schedule.bufferBytes,
                qdiscBypass: mode == .batchedBypass)
        }
        result.seconds = Double(nvlb_monotonic_nanoseconds() &- start) / 1e9
        result.activeSeconds = clock.activeSeconds
        return result
    }

    /// Deadline, idle stop and busy-time bookkeeping of a forwarder loop.
    struct Clock {
        let deadline: UInt64
        let idleStop: Int32?
        let delay: Double
        let ready: Gate?
        let gate: Gate?
        var first: UInt64 = 0
        var last: UInt64 = 0

        /// Sleeps the start delay (after the interfaces are open).
        func waitForStart() {
            ready?.open()
            if delay > 0 { usleep(UInt32(delay * 1e6)) }
            gate?.wait()
        }

        /// The read timeout to use, in milliseconds.
        var timeout: Int32 { idleStop ?? 100 }

        /// Whether to go on after a read that returned `count` frames.
        mutating func next(after count: Int, readStarted: UInt64) -> Bool {
            let now = nvlb_monotonic_nanoseconds()
            if count > 0 {
                if first == 0 { first = readStarted }
                last = now
            } else if idleStop != nil && first != 0 {
                return false
            }
            return now < deadline
        }

        var activeSeconds: Double { first == 0 ? 0 : Double(last &- first) / 1e9 }
    }

    /// Sends `frames` round and round on `interface` for `seconds`, `batch` per `sendmmsg`, as
    /// fast as the kernel takes them (or `limit` frames in all, when given), optionally
    /// pinned to `cpu`.
    public static func generate(
        on interface: String, frames: [[UInt8]], seconds: Double, batch: Int = 256, limit: UInt64? = nil,
        qdiscBypass: Bool = true, cpu: Int? = nil
    ) throws(LiveIOError) -> Result {
        precondition(!frames.isEmpty)
        if let cpu { _ = nvlb_pin_current_thread(Int32(cpu)) }
        var transmitter = try BatchTransmitter(interface: interface, capacity: batch, qdiscBypass: qdiscBypass)
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

    private static func naive(
        from input: String, to output: String, clock: inout Clock, bufferBytes: Int
    ) throws(LiveIOError) -> Result {
        let capture = try openPlain(input, receive: true, bufferBytes: bufferBytes, timeout: clock.timeout)
        defer { LibPcap.close(capture) }
        let injector = try openPlain(output, receive: false, bufferBytes: 1 << 20, timeout: clock.timeout)
        defer { LibPcap.close(injector) }
        let state = UnsafeMutablePointer<InjectState>.allocate(capacity: 1)
        state.initialize(to: InjectState(output: injector))
        defer { state.deallocate() }
        // Non-blocking read + poll even here: a blocking `pcap_dispatch` on a TPACKET_V3
        // ring does not return while the link is idle (libpcap polls again after its timeout;
        // observed), so the loop could never stop.
        let (status, message) = LibPcap.setNonblocking(capture, true)
        if status != 0 {
            throw LiveIOError(kind: .other, interface: input, operation: "pcap_setnonblock", message: message)
        }
        guard let pollDescriptor = LibPcap.selectableDescriptor(capture) else {
            throw LiveIOError(kind: .other, interface: input, operation: "pcap_get_selectable_fd", message: "none")
        }
        clock.waitForStart()
        while true {
            let readStarted = nvlb_monotonic_nanoseconds()
            var count = LibPcap.dispatch(
                capture, count: -1, callback: naiveInjectFrame,
                user: UnsafeMutableRawPointer(state).assumingMemoryBound(to: UInt8.self))
            if count == 0,
                case .success(true) = Syscalls.poll(
                    pollDescriptor, events: Int16(POLLIN), timeoutMilliseconds: clock.timeout)
            {
                count = LibPcap.dispatch(
                    capture, count: -1, callback: naiveInjectFrame,
                    user: UnsafeMutableRawPointer(state).assumingMemoryBound(to: UInt8.self))
            }
            if count < 0 {
                throw LiveIOError(
                    kind: .other, interface: input, operation: "pcap_dispatch", message: LibPcap.lastError(capture))
            }
            if !clock.next(after: Int(count), readStarted: readStarted) { break }
        }
        let s = state.pointee
        return Result(received: s.received, sent: s.sent, failed: s.failed, transmitCalls: s.received)
    }

    private static func captureInject(
        from input: String, to output: String, clock: inout Clock, batch: Int, bufferBytes: Int
    ) throws(LiveIOError) -> Result {
        var options = LiveCapture.Options()
        options.bufferBytes = bufferBytes
        let capture = try LiveCapture(interface: input, options: options)
        let injector = try openPlain(output, receive: false, bufferBytes: 1 << 20, timeout: clock.timeout)
        defer { LibPcap.close(injector) }
        let buffers = FrameBuffers(count: batch)
        let slots = buffers.slots
        var result = Result()
        clock.waitForStart()
        while true {
            let readStarted = nvlb_monotonic_nanoseconds()
            let count = try capture.receive(into: slots, maxFrames: batch, timeoutMilliseconds: clock.timeout)
            result.received &+= UInt64(count)
            for i in 0..<count {
                if LibPcap.inject(injector, slots.frame(i), slots.lengths[i]) >= 0 {
                    result.sent &+= 1
                } else {
                    result.failed &+= 1
                }
            }
            result.transmitCalls &+= UInt64(count)
            if !clock.next(after: count, readStarted: readStarted) { break }
        }
        return result
    }

    private static func batched(
        from input: String, to output: String, clock: inout Clock, batch: Int, bufferBytes: Int, qdiscBypass: Bool
    ) throws(LiveIOError) -> Result {
        var options = LiveCapture.Options()
        options.bufferBytes = bufferBytes
        let capture = try LiveCapture(interface: input, options: options)
        var transmitter = try BatchTransmitter(interface: output, capacity: batch, qdiscBypass: qdiscBypass)
        let buffers = FrameBuffers(count: batch)
        let slots = buffers.slots
        var received: UInt64 = 0
        clock.waitForStart()
        while true {
            let readStarted = nvlb_monotonic_nanoseconds()
            let count = try capture.receive(into: slots, maxFrames: batch, timeoutMilliseconds: clock.timeout)
            received &+= UInt64(count)
            for i in 0..<count { transmitter.append(slots.frame(i), length: slots.lengths[i]) }
            transmitter.flush()
            if !clock.next(after: count, readStarted: readStarted) { break }
        }
        let counters = transmitter.counters
        return Result(
            received: received, sent: counters.framesSent, failed: counters.framesFailed, transmitCalls: counters.calls)
    }

    /// A plain blocking libpcap handle: the textbook settings (promiscuous, immediate, a read
    /// timeout, the ring size of the other modes); receive handles see incoming frames only.
    private static func openPlain(
        _ interface: String, receive: Bool, bufferBytes: Int, timeout: Int32
    ) throws(LiveIOError) -> OpaquePointer {
        _ = try Syscalls.interfaceIndex(interface)
        let handle = try LibPcap.create(interface: interface).get()
        _ = LibPcap.setSnapshotLength(handle, 2048)
        _ = LibPcap.setPromiscuous(handle, receive)
        _ = LibPcap.setImmediateMode(handle, true)
        _ = LibPcap.setTimeout(handle, timeout)
        _ = LibPcap.setBufferSize(handle, Int32(clamping: bufferBytes))
        let status = LibPcap.activate(handle)
        if status < 0 {
            let message = LibPcap.lastError(handle)
            LibPcap.close(handle)
            throw LiveIOError(kind: .other, interface: interface, operation: "pcap_activate", message: message)
        }
        // Incoming only, also on the output handle: otherwise the kernel copies every frame
        // this forwarder sends into the output handle's own ring (a cost of the naive form
        // we do not want to count against it).
        _ = LibPcap.setDirectionIn(handle)
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
