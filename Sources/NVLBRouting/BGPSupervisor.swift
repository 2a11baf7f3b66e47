import NVLBWire

/// The BGP speaker's supervision as a pure state machine: inputs (routes wanted, the
/// speaker starting, exiting or printing a line, SIGTERM, time passing) in, actions out.
/// No I/O and no clock of its own, so tests drive it with scripted speaker output and
/// made-up times; ``BGPService`` performs the actions on a real ExaBGP.
///
/// The speaker holds the announcements (ExaBGP re-sends them to a peer whose session comes
/// back), but not across its own restart: after a start, everything wanted is announced
/// again. Withdrawals and announcements are computed as differences, one command per
/// prefix, and each change is logged.
public struct BGPSupervisor: Sendable {
    /// An input.
    public enum Event: Sendable, Equatable {
        /// The /32 prefixes to announce now (policy and health changed).
        case wanted([IPv4Address])
        /// The speaker process is running and reads commands.
        case speakerStarted
        /// The speaker process exited (with its routes: its sessions are gone).
        case speakerExited(status: Int32)
        /// A line the speaker printed to nvlb's API process (ExaBGP's text encoder).
        case speakerLine(String)
        /// SIGTERM: withdraw everything, keep forwarding `drainSeconds`, then stop.
        case drain
        /// Time passed (monotonic seconds).
        case tick
        /// `bgp.next_hop` changed (management API or SIGHUP): every route is announced again
        /// with it, which replaces the route at the peers (one UPDATE per prefix, no withdrawal
        /// in between, so the routers never lose the VIP).
        case nextHop(IPv4Address)
    }

    /// An output, for ``BGPService`` to perform in order.
    public enum Action: Sendable, Equatable {
        /// Start the speaker process.
        case startSpeaker
        /// Send one API command line (without newline).
        case command(String)
        /// Log one line at notice level.
        case log(String)
        /// The drain is over: stop the speaker; nvlb may exit.
        case stop
    }

    /// A peer session as the speaker reported it.
    public enum PeerState: String, Sendable, Equatable {
        case idle, connected, up, down
    }

    /// The next hop of every announcement (`bgp.next_hop`).
    public private(set) var nextHop: IPv4Address
    public let drainSeconds: Double
    /// Seconds between a speaker's exit and its restart (doubling up to `maximumBackoff`).
    public let initialBackoff: Double
    public let maximumBackoff: Double

    public private(set) var wanted: Set<IPv4Address> = []
    /// What the running speaker announces (empty when none runs).
    public private(set) var announced: Set<IPv4Address> = []
    public private(set) var peers: [IPv4Address: PeerState] = [:]
    public private(set) var speakerRunning = false
    public private(set) var starting = false
    public private(set) var drainingSince: Double?
    public private(set) var stopped = false
    private var restartAt: Double? = 0
    private var backoff: Double

    public init(
        nextHop: IPv4Address, peers: [IPv4Address], drainSeconds: Double, initialBackoff: Double = 1,
        maximumBackoff: Double = 30
    ) {
        self.nextHop = nextHop
        self.drainSeconds = drainSeconds
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        backoff = initialBackoff
        for peer in peers { self.peers[peer] = .idle }
    }

    /// The actions for `event` at monotonic time `now` (seconds).
    public mutating func handle(_ event: Event, now: Double) -> [Action] {
        guard !stopped else { return [] }
        var actions: [Action] = []
        switch event {
        case .wanted(let prefixes):
            wanted = Set(prefixes)
            if drainingSince == nil && speakerRunning { reconcile(&actions) }
        case .speakerStarted:
            starting = false
            speakerRunning = true
            announced = []
            actions.append(.log("bgp: speaker started; announcing \(wanted.count) prefixes"))
            if drainingSince == nil { reconcile(&actions) }
        case .speakerExited(let status):
            starting = false
            speakerRunning = false
            if !announced.isEmpty {
                actions.append(
                    .log("bgp: speaker exited (status \(status)); its \(announced.count) announcements are gone"))
            } else {
                actions.append(.log("bgp: speaker exited (status \(status))"))
            }
            announced = []
            for peer in peers.keys { peers[peer] = .down }
            if drainingSince == nil {
                restartAt = now + backoff
                actions.append(.log("bgp: restarting the speaker in \(Self.format(backoff)) s"))
                backoff = min(backoff * 2, maximumBackoff)
            }
        case .speakerLine(let line):
            if let (peer, state, detail) = Self.parsePeerLine(line), let previous = peers[peer], previous != state {
                peers[peer] = state
                // Sessions that come up and go down are logged; the connection attempts of a
                // speaker retrying an unreachable router are not (one line every few seconds).
                if state == .up || previous == .up {
                    actions.append(.log("bgp: peer \(peer) \(state.rawValue)" + (detail.isEmpty ? "" : " (\(detail))")))
                }
                // A session that came up proves the speaker works: restart quickly next time.
                if state == .up { backoff = initialBackoff }
            }
        case .drain:
            guard drainingSince == nil else { break }
            drainingSince = now
            restartAt = nil
            let seconds = Self.format(drainSeconds)
            actions.append(.log("bgp: draining: withdrawing \(announced.count) prefixes, forwarding for \(seconds) s"))
            for prefix in announced.sorted(by: { $0.rawValue < $1.rawValue }) {
                actions.append(.command(withdraw(prefix)))
            }
            announced = []
            if drainSeconds <= 0 {
                stopped = true
                actions.append(.stop)
            }
        case .tick:
            break
        case .nextHop(let new):
            guard new != nextHop else { break }
            actions.append(.log("bgp: next hop \(nextHop) → \(new); announcing \(announced.count) prefixes again"))
            nextHop = new
            // Withdrawn routes (draining) stay withdrawn; a stopped speaker announces with the
            // new next hop when it starts.
            if drainingSince == nil && speakerRunning {
                for prefix in announced.sorted(by: { $0.rawValue < $1.rawValue }) {
                    actions.append(.command(announce(prefix)))
                }
            }
        }
        if let since = drainingSince, !stopped, now >= since + drainSeconds {
            stopped = true
            actions.append(.log("bgp: drain over"))
            actions.append(.stop)
        }
        if !stopped, drainingSince == nil, !speakerRunning, !starting, let at = restartAt, now >= at {
            restartAt = nil
            starting = true
            actions.append(.startSpeaker)
        }
        return actions
    }

    /// Seconds until the next time-driven action, for the caller's wait; nil: none pending.
    public func nextDeadline(now: Double) -> Double? {
        if let since = drainingSince { return stopped ? nil : max(0, since + drainSeconds - now) }
        if let at = restartAt, !speakerRunning, !starting { return max(0, at - now) }
        return nil
    }

    private mutating func reconcile(_ actions: inout [Action]) {
        for prefix in announced.subtracting(wanted).sorted(by: { $0.rawValue < $1.rawValue }) {
            actions.append(.command(withdraw(prefix)))
            actions.append(.log("bgp: withdraw \(prefix)/32"))
        }
        for prefix in wanted.subtracting(announced).sorted(by: { $0.rawValue < $1.rawValue }) {
            actions.append(.command(announce(prefix)))
            actions.append(.log("bgp: announce \(prefix)/32 next-hop \(nextHop)"))
        }
        announced = wanted
    }

    func announce(_ prefix: IPv4Address) -> String { "announce route \(prefix)/32 next-hop \(nextHop)" }
    func withdraw(_ prefix: IPv4Address) -> String { "withdraw route \(prefix)/32 next-hop \(nextHop)" }

    /// ExaBGP's text encoder: `neighbor 192.168.7.1 up`, `neighbor 192.168.7.1 connected`,
    /// `neighbor 192.168.7.1 down - <reason>`. Other lines (updates, notifications) are nil.
    static func parsePeerLine(_ line: String) -> (IPv4Address, PeerState, String)? {
        let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
        guard words.count >= 3, words[0] == "neighbor", let address = IPv4Address(String(words[1])) else { return nil }
        switch words[2] {
        case "up": return (address, .up, "")
        case "connected": return (address, .connected, "")
        case "down":
            var reason = words.count > 3 ? String(words[3]) : ""
            if reason.hasPrefix("- ") { reason.removeFirst(2) }
            return (address, .down, reason)
        default: return nil
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
