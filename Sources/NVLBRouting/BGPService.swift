import NVLBWire
import Synchronization

/// The speaker process as ``BGPService`` drives it; ``ExaBGPSpeaker`` is the real one,
/// tests script their own.
public protocol BGPSpeakerIO: AnyObject {
    /// Starts the speaker process.
    func start() throws
    /// Sends one API command line (without newline).
    func send(_ command: String) throws
    /// Waits at most `timeout` seconds for output: the lines the speaker sent nvlb, and
    /// its exit status once it has exited (then the next `start()` starts a new one).
    func poll(timeout: Double) -> (lines: [String], exitStatus: Int32?)
    /// Stops the speaker (terminate, then kill) and waits for it.
    func stop()
}

/// A monotonic clock in seconds.
public protocol MonotonicClock: Sendable {
    func now() -> Double
}

/// Performs a ``BGPSupervisor``'s actions on a speaker: the loop of nvlb's BGP thread.
///
/// Other threads hand it work through ``want(_:)`` (new routes after a reload or a health
/// change) and ``drain()`` (SIGTERM); ``step(maximumWait:)`` is one turn of the loop, so
/// tests run it turn by turn with a scripted speaker and a made-up clock.
public final class BGPService: @unchecked Sendable {
    private struct Mailbox {
        var wanted: [IPv4Address]?
        var nextHop: IPv4Address?
        var drain = false
        var stopped = false
    }

    private let io: BGPSpeakerIO
    private let clock: MonotonicClock
    private let log: @Sendable (String) -> Void
    private var supervisor: BGPSupervisor
    private let mailbox = Mutex(Mailbox())

    public init(
        supervisor: BGPSupervisor, io: BGPSpeakerIO, clock: MonotonicClock, log: @escaping @Sendable (String) -> Void
    ) {
        self.supervisor = supervisor
        self.io = io
        self.clock = clock
        self.log = log
    }

    /// Announce exactly `prefixes` from now on (any thread).
    public func want(_ prefixes: [IPv4Address]) {
        mailbox.withLock { $0.wanted = prefixes }
    }

    /// Announce with `nextHop` from now on, the routes announced already included (any thread).
    public func use(nextHop: IPv4Address) {
        mailbox.withLock { $0.nextHop = nextHop }
    }

    /// Withdraw everything and stop after the drain time (any thread).
    public func drain() {
        mailbox.withLock { $0.drain = true }
    }

    /// True once the drain is over and the speaker stopped (any thread).
    public var isStopped: Bool { mailbox.withLock { $0.stopped } }

    /// The supervisor's view (the BGP thread only).
    public var state: BGPSupervisor { supervisor }

    /// One turn: hands pending work to the supervisor, performs its actions, then waits at
    /// most `maximumWait` seconds for the speaker. Returns false once stopped.
    @discardableResult
    public func step(maximumWait: Double = 0.2) -> Bool {
        let (wanted, nextHop, drain) = mailbox.withLock { box -> ([IPv4Address]?, IPv4Address?, Bool) in
            defer {
                box.wanted = nil
                box.nextHop = nil
            }
            return (box.wanted, box.nextHop, box.drain)
        }
        // The next hop first: routes wanted in the same turn go out with the new one.
        if let nextHop { perform(supervisor.handle(.nextHop(nextHop), now: clock.now())) }
        if let wanted { perform(supervisor.handle(.wanted(wanted), now: clock.now())) }
        if drain { perform(supervisor.handle(.drain, now: clock.now())) }
        perform(supervisor.handle(.tick, now: clock.now()))
        if supervisor.stopped { return false }
        var wait = maximumWait
        if let deadline = supervisor.nextDeadline(now: clock.now()) { wait = min(wait, deadline) }
        let (lines, exit) = io.poll(timeout: wait)
        for line in lines { perform(supervisor.handle(.speakerLine(line), now: clock.now())) }
        if let exit { perform(supervisor.handle(.speakerExited(status: exit), now: clock.now())) }
        return !supervisor.stopped
    }

    /// Runs turns until the drain is over (the BGP thread's body).
    public func run() {
        while step() {}
    }

    private func perform(_ actions: [BGPSupervisor.Action]) {
        for action in actions {
            switch action {
            case .startSpeaker:
                do {
                    try io.start()
                    perform(supervisor.handle(.speakerStarted, now: clock.now()))
                } catch {
                    log("bgp: cannot start the speaker: \(error)")
                    perform(supervisor.handle(.speakerExited(status: -1), now: clock.now()))
                }
            case .command(let line):
                do { try io.send(line) } catch { log("bgp: cannot send '\(line)' to the speaker: \(error)") }
            case .log(let line):
                log(line)
            case .stop:
                io.stop()
                mailbox.withLock { $0.stopped = true }
            }
        }
    }
}
