import CNVLBXDP
import Foundation
import Synchronization

/// nvlb's XDP program (`bpf/nvlb_xdp.c`) attached to one interface (docs/afxdp.md): it
/// steers every received frame to the AF_XDP socket of the worker that owns its flow.
///
/// Attaching replaces a program of the same name left attached by a run that was killed;
/// any other XDP program makes it fail. ``detach()`` (also run by `deinit`) removes the
/// program when it is still the one attached. Thread-safe.
public final class AFXDPProgram: @unchecked Sendable {
    /// How the program runs on the interface.
    public enum Mode: String, Sendable {
        /// Native (driver) mode where the driver has it, generic (skb) mode otherwise.
        case auto
        /// The driver runs the program (veth, most NICs).
        case driver
        /// The kernel runs it on socket buffers, after the driver.
        case skb
    }

    /// The program's counters (summed over CPUs).
    public struct Counters: Sendable, Equatable {
        /// Frames of a flow, sent to the owner worker.
        public var steered: UInt64 = 0
        /// Frames of no flow (ARP, fragments, other protocols), sent to worker 0.
        public var toWorkerZero: UInt64 = 0
        /// Frames whose owner had no socket on the receive queue, sent to worker 0.
        public var ownerWithoutSocket: UInt64 = 0
        /// Frames dropped because the receive queue had no socket at all.
        public var dropped: UInt64 = 0
        /// Frames of a flow steered to each worker (the last entry also counts higher workers).
        public var byOwner: [UInt64] = []
        /// All zero.
        public init() {}
    }

    /// The interface.
    public let interface: String
    /// The kernel's interface index.
    public let interfaceIndex: Int32
    /// The mode the program runs in (``Mode/driver`` or ``Mode/skb``).
    public let mode: Mode
    /// The kernel's id of the program.
    public let id: UInt32
    private let handle: Mutex<OpaquePointer?>
    private let frontends = Mutex<Set<UInt64>>([])
    /// The counters as of ``detach()``.
    private let finalCounters = Mutex<Counters?>(nil)

    /// Loads the object file at `objectPath` for `workers` workers and the flow hash seed
    /// `hashSeed`, and attaches it to `interface`.
    ///
    /// - Throws: ``LiveIOError`` naming the interface and what failed.
    public init(objectPath: String, interface: String, workers: Int, hashSeed: UInt32, mode: Mode = .auto)
        throws(LiveIOError)
    {
        let index = try Syscalls.interfaceIndex(interface)
        var message = [CChar](repeating: 0, count: 256)
        var pointer: OpaquePointer? = nil
        let modeValue: Int32 =
            switch mode {
            case .auto: Int32(NVLB_XDP_MODE_AUTO)
            case .driver: Int32(NVLB_XDP_MODE_DRIVER)
            case .skb: Int32(NVLB_XDP_MODE_SKB)
            }
        let result = nvlb_xdp_program_attach(
            objectPath, index, UInt32(workers), hashSeed, modeValue, &pointer, &message, message.count)
        guard result == 0, let pointer else {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw LiveIOError(
                kind: result == -EPERM ? .permissionDenied : .other, interface: interface,
                operation: "XDP program", message: text)
        }
        self.interface = interface
        interfaceIndex = index
        self.mode = nvlb_xdp_program_mode(pointer) == Int32(NVLB_XDP_MODE_SKB) ? .skb : .driver
        id = nvlb_xdp_program_id(pointer)
        handle = Mutex(pointer)
    }

    /// Loads the program without attaching it, for ``testRun(_:)`` (the interface is "-").
    package init(loadingOnly objectPath: String, workers: Int, hashSeed: UInt32) throws(LiveIOError) {
        var message = [CChar](repeating: 0, count: 256)
        var pointer: OpaquePointer? = nil
        let result = nvlb_xdp_program_load(objectPath, UInt32(workers), hashSeed, &pointer, &message, message.count)
        guard result == 0, let pointer else {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw LiveIOError(kind: .other, interface: "-", operation: "XDP program", message: text)
        }
        interface = "-"
        interfaceIndex = 0
        mode = .driver
        id = nvlb_xdp_program_id(pointer)
        handle = Mutex(pointer)
    }

    deinit { detach() }

    /// Runs the loaded program once on `frame` (BPF_PROG_TEST_RUN) and returns the worker it
    /// steered the frame to, or nil when it found no flow in it (worker 0 by default).
    package func testRun(_ frame: [UInt8]) throws(LiveIOError) -> Int? {
        let before = counters().byOwner
        var action: UInt32 = 0
        let result = handle.withLock { h -> Int32 in
            guard let h else { return -EBADF }
            return frame.withUnsafeBytes { nvlb_xdp_program_test_run(h, $0.baseAddress, UInt32($0.count), &action) }
        }
        if result != 0 { throw LiveIOError(Errno(-result), interface: interface, operation: "BPF_PROG_TEST_RUN") }
        let after = counters().byOwner
        return zip(before, after).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    }

    /// Makes `socket` the target of frames of `worker` received on `queue`
    /// (XSKMAP key `queue × workers + worker`).
    public func add(socket: AFXDPSocket, key: Int) throws(LiveIOError) {
        let result = handle.withLock { h -> Int32 in
            guard let h else { return -EBADF }
            return nvlb_xdp_program_add_socket(h, UInt32(key), socket.descriptor.rawValue)
        }
        if result != 0 {
            throw LiveIOError(Errno(-result), interface: interface, operation: "bpf_map_update_elem(xsks, \(key))")
        }
    }

    /// Makes `keys` (VSID << 32 | VIP, VSID 0 for public VIPs) the frontend addresses the
    /// program knows: requests and replies are told apart by them. Returns 0 or an errno value.
    @discardableResult
    public func setFrontends(_ keys: Set<UInt64>) -> Int32 {
        frontends.withLock { current in
            let add = Array(keys.subtracting(current))
            let remove = Array(current.subtracting(keys))
            guard !add.isEmpty || !remove.isEmpty else { return 0 }
            let result = handle.withLock { h -> Int32 in
                guard let h else { return -EBADF }
                return nvlb_xdp_program_update_vips(h, add, add.count, remove, remove.count)
            }
            current = keys
            return -result
        }
    }

    /// The program's counters now.
    public func counters() -> Counters {
        handle.withLock { h in
            var c = Counters()
            guard let h else { return finalCounters.withLock { $0 } ?? c }
            var values = [UInt64](repeating: 0, count: Int(NVLB_XDP_COUNTERS))
            guard nvlb_xdp_program_counters(h, &values) == 0 else { return c }
            c.toWorkerZero = values[1]
            c.ownerWithoutSocket = values[2]
            c.dropped = values[3]
            c.byOwner = Array(values[4...])
            c.steered = c.byOwner.reduce(0, +)
            return c
        }
    }

    /// Detaches the program (when it is still the one attached) and frees it. Idempotent.
    public func detach() {
        let last = counters()
        handle.withLock { h in
            if h != nil { finalCounters.withLock { $0 = last } }
            if let pointer = h { nvlb_xdp_program_detach(pointer) }
            h = nil
        }
    }

    /// The id of the XDP program attached to `interface`, nil when none.
    public static func attachedProgramID(interface: String) -> UInt32? {
        guard let index = try? Syscalls.interfaceIndex(interface) else { return nil }
        let id = nvlb_xdp_attached_program_id(index)
        return id > 0 ? UInt32(id) : nil
    }

    /// The file name of the compiled program.
    public static let objectName = "nvlb_xdp.o"

    /// Where nvlb looks for the compiled program, in order: `$NVLB_XDP_OBJECT`, next to the
    /// running executable (where `make build` and `make release` put it), then
    /// `/usr/local/lib/nvlb/` and `/usr/lib/nvlb/`.
    public static func objectCandidates(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> [String]
    {
        var list: [String] = []
        if let path = environment["NVLB_XDP_OBJECT"], !path.isEmpty { list.append(path) }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        if let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            list.append(URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent(objectName).path)
        }
        list.append(executable.deletingLastPathComponent().appendingPathComponent(objectName).path)
        list.append("/usr/local/lib/nvlb/\(objectName)")
        list.append("/usr/lib/nvlb/\(objectName)")
        return list
    }

    /// The first of ``objectCandidates(environment:)`` that exists, or nil.
    public static func locateObject() -> String? {
        objectCandidates().first { FileManager.default.isReadableFile(atPath: $0) }
    }

    /// Number of receive queues of `interface` (at least 1).
    public static func receiveQueues(interface: String) -> Int {
        Int(nvlb_interface_receive_queues(interface))
    }
}
