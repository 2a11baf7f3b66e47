import CNVLBShims
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Why a ``WorkerThread`` could not be started.
public enum WorkerThreadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `pthread_create` failed with this errno value (e.g. `EAGAIN`: thread limit reached).
    case creationFailed(errno: Int32)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .creationFailed(let code): return "cannot create thread: \(String(cString: strerror(code)))"
        }
    }
}

/// An OS thread running one closure, optionally pinned to one CPU, named `nvlb-w<N>`:
/// the home of one data-plane worker.
///
/// ``start(index:cpu:name:body:)`` returns once the thread has named and pinned itself,
/// so ``pinning`` reports the outcome synchronously; a pin failure (e.g. the CPU is not in
/// the process's affinity mask) is reported there and the body still runs, unpinned —
/// the caller decides whether that is fatal. ``join()`` waits for the body to return.
///
/// Thread-safety: all members may be used from any thread; ``join()`` may be called
/// concurrently and repeatedly (every call returns once the thread has ended). A thread
/// that is never joined is detached when this object is destroyed.
public final class WorkerThread: Sendable {
    /// The outcome of pinning a thread to a CPU.
    public enum Pinning: Sendable, Equatable, CustomStringConvertible {
        /// No CPU was requested: the thread runs wherever the scheduler puts it.
        case unpinned
        /// The thread is pinned to this CPU.
        case pinned(cpu: Int32)
        /// `pthread_setaffinity_np` failed with this errno value; the thread runs unpinned.
        case failed(cpu: Int32, errno: Int32)

        /// Whether the thread is pinned to the requested CPU.
        public var isPinned: Bool {
            if case .pinned = self { return true }
            return false
        }

        /// E.g. `pinned to CPU 3` or `pinning to CPU 9 failed: Invalid argument`.
        public var description: String {
            switch self {
            case .unpinned: return "unpinned"
            case .pinned(let cpu): return "pinned to CPU \(cpu)"
            case .failed(let cpu, let code): return "pinning to CPU \(cpu) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// The worker number given at start.
    public let index: Int
    /// The thread name (at most 15 bytes are visible to the OS, e.g. in `top -H`).
    public let name: String
    /// The CPU requested, or `nil` for an unpinned thread.
    public let requestedCPU: Int32?
    /// What became of the pinning request.
    public let pinning: Pinning

    /// The pthread handle until joined; the lock also serializes joiners.
    private let handle: Mutex<pthread_t?>

    private init(index: Int, name: String, requestedCPU: Int32?, pinning: Pinning, handle: pthread_t) {
        self.index = index
        self.name = name
        self.requestedCPU = requestedCPU
        self.pinning = pinning
        self.handle = Mutex(handle)
    }

    /// Starts a thread that names itself, pins itself to `cpu` (if given) and runs `body`.
    /// Returns after the pinning attempt, typically within tens of microseconds.
    /// - Parameters:
    ///   - index: the worker number; the default name is `nvlb-w<index>`.
    ///   - cpu: the CPU to pin to, or `nil` to leave the thread unpinned.
    ///   - name: a thread name instead of the default (truncated to 15 bytes by the OS).
    ///   - body: the work; runs exactly once, on the new thread.
    /// - Throws: ``WorkerThreadError/creationFailed(errno:)`` if the OS refuses a thread.
    public static func start(
        index: Int, cpu: Int32?, name: String? = nil, body: @escaping @Sendable () -> Void
    ) throws(WorkerThreadError) -> WorkerThread {
        let name = name ?? "nvlb-w\(index)"
        let context = StartContext(name: name, cpu: cpu, body: body)
        let argument = Unmanaged.passRetained(context).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(
            &thread, nil,
            { argument in
                let context = Unmanaged<StartContext>.fromOpaque(argument!).takeRetainedValue()
                context.run()
                return nil
            }, argument)
        guard code == 0 else {
            Unmanaged<StartContext>.fromOpaque(argument).release()
            throw .creationFailed(errno: code)
        }
        let pinning = context.awaitPinning()
        return WorkerThread(index: index, name: name, requestedCPU: cpu, pinning: pinning, handle: thread)
    }

    /// Waits until the body has returned. Idempotent; blocks the caller (control plane).
    public func join() {
        handle.withLock { handle in
            guard let thread = handle else { return }
            pthread_join(thread, nil)
            handle = nil
        }
    }

    /// Whether ``join()`` has completed.
    public var isJoined: Bool { handle.withLock { $0 == nil } }

    deinit {
        // Never joined: let the thread finish on its own without leaking its resources.
        if let thread = handle.withLock({ $0 }) { pthread_detach(thread) }
    }
}

/// What the new thread needs; retained once for the thread, released when it starts.
private final class StartContext: Sendable {
    /// `Int32.min` until the thread has tried to pin itself, then 0 or an errno value
    /// (`-1` when no CPU was requested).
    let pinResult = Atomic<Int32>(.min)
    let name: String
    let cpu: Int32?
    let body: @Sendable () -> Void

    init(name: String, cpu: Int32?, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.cpu = cpu
        self.body = body
    }

    /// On the new thread: name, pin, report, run.
    func run() {
        _ = name.withCString { nvlb_set_current_thread_name($0) }
        let result = cpu.map { nvlb_pin_current_thread($0) } ?? -1
        pinResult.store(result, ordering: .releasing)
        body()
    }

    /// On the starting thread: waits (yielding) for the new thread's pinning attempt.
    func awaitPinning() -> WorkerThread.Pinning {
        var result = pinResult.load(ordering: .acquiring)
        while result == .min {
            sched_yield()
            result = pinResult.load(ordering: .acquiring)
        }
        guard let cpu else { return .unpinned }
        return result == 0 ? .pinned(cpu: cpu) : .failed(cpu: cpu, errno: result)
    }
}
