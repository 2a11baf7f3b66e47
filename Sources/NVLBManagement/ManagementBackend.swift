import NVLBPolicy

/// What the management server needs from the running data plane, and nothing more: the
/// runtime is reached only through this protocol (a thin adapter in the executable
/// implements it), so the server is tested without workers.
public protocol ManagementBackend: Sendable {
    /// Publishes a validated policy to the workers (one snapshot swap; never blocks them).
    func publish(_ configuration: PolicyConfiguration)
    /// Counters, flows and health at this moment, read from the workers' plain counters.
    func figures() -> RuntimeFigures
}

/// One worker's flow table and packets.
public struct WorkerFigures: Sendable, Equatable {
    /// Live flows in the table, when the runtime reports them.
    public var flows: UInt64?
    /// Entries the table can hold.
    public var capacity: UInt64
    /// Frames this worker's data plane took in (a frame handed off counts at its flow's owner);
    /// `RuntimeFigures.packetsIn` is the sum over workers.
    public var packetsIn: UInt64
    /// Frames this worker forwarded; `RuntimeFigures.packetsOut` is the sum over workers.
    public var packetsOut: UInt64

    /// Creates figures.
    public init(flows: UInt64?, capacity: UInt64, packetsIn: UInt64 = 0, packetsOut: UInt64 = 0) {
        self.flows = flows
        self.capacity = capacity
        self.packetsIn = packetsIn
        self.packetsOut = packetsOut
    }
}

/// Packets and bytes of one VIP in one direction (`in`: clients → VIP, `out`: replies).
public struct VIPTraffic: Sendable, Equatable {
    /// Load balancer name.
    public var loadBalancer: String
    /// The VIP (`VSID/VIP` for an internal frontend, the address for an external one).
    public var vip: String
    /// `in` or `out`.
    public var direction: String
    /// Packets.
    public var packets: UInt64
    /// Bytes (frames as received or sent).
    public var bytes: UInt64

    /// Creates a record.
    public init(loadBalancer: String, vip: String, direction: String, packets: UInt64, bytes: UInt64) {
        self.loadBalancer = loadBalancer
        self.vip = vip
        self.direction = direction
        self.packets = packets
        self.bytes = bytes
    }
}

/// The runtime's figures at one moment (docs/metrics.md lists how each is exported).
public struct RuntimeFigures: Sendable, Equatable {
    /// Frames received.
    public var packetsIn: UInt64 = 0
    /// Frames forwarded.
    public var packetsOut: UInt64 = 0
    /// Frames answered by nvlb itself (ARP, ICMP, probe replies).
    public var answered: UInt64 = 0
    /// Frames dropped.
    public var dropped: UInt64 = 0
    /// Every drop reason by its stable name, zeros included, in the order of docs/packets.md.
    public var drops: [(name: String, count: UInt64)] = []
    /// Frames handed from one worker to another.
    public var handoffs: UInt64 = 0
    /// Events of docs/packets.md "ICMP and path MTU": extra frames of fragmented packets, SYN
    /// and SYN-ACK MSS options lowered, echo replies, "fragmentation needed" sent, ICMP errors
    /// forwarded along their flow (docs/statistics.md "Counters").
    public var fragmentsOut: UInt64 = 0
    public var mssClamped: UInt64 = 0
    public var echoReplies: UInt64 = 0
    public var fragmentationNeeded: UInt64 = 0
    public var icmpErrorsForwarded: UInt64 = 0
    /// One entry per worker.
    public var workers: [WorkerFigures] = []
    /// Packets forwarded to each DIP: load balancer → `VSID/CA` → packets.
    public var backendPackets: [String: [String: UInt64]] = [:]
    /// Live flows to each DIP (`VSID/CA`, over every load balancer that has it), when the
    /// runtime counts them.
    public var dipFlows: [String: UInt64]? = nil
    /// Gratuitous ARP frames sent (docs/packets.md "ARP and next hops").
    public var gratuitousARPs: UInt64 = 0
    /// Per-VIP traffic, when the runtime counts it.
    public var vipTraffic: [VIPTraffic] = []
    /// Health of each DIP (load balancer → `VSID/CA` → up); a DIP absent here is up
    /// (no probes configured).
    public var backendUp: [String: [String: Bool]] = [:]
    /// Health probes of each probed DIP (load balancer → `VSID/CA`), when probes run.
    public var probes: [String: [String: ProbeFigures]] = [:]
    /// BGP sessions (peer address → established), when BGP is configured.
    public var bgpPeers: [String: Bool] = [:]
    /// Announced VIPs (address → announced), when BGP is configured.
    public var vipAnnounced: [String: Bool] = [:]

    /// Empty figures.
    public init() {}

    public static func == (lhs: RuntimeFigures, rhs: RuntimeFigures) -> Bool {
        lhs.packetsIn == rhs.packetsIn && lhs.packetsOut == rhs.packetsOut && lhs.answered == rhs.answered
            && lhs.dropped == rhs.dropped && lhs.drops.map(\.name) == rhs.drops.map(\.name)
            && lhs.drops.map(\.count) == rhs.drops.map(\.count) && lhs.handoffs == rhs.handoffs
            && lhs.workers == rhs.workers && lhs.backendPackets == rhs.backendPackets
            && lhs.vipTraffic == rhs.vipTraffic && lhs.backendUp == rhs.backendUp && lhs.bgpPeers == rhs.bgpPeers
            && lhs.vipAnnounced == rhs.vipAnnounced && lhs.probes == rhs.probes && lhs.dipFlows == rhs.dipFlows
            && lhs.gratuitousARPs == rhs.gratuitousARPs && lhs.fragmentsOut == rhs.fragmentsOut
            && lhs.mssClamped == rhs.mssClamped && lhs.echoReplies == rhs.echoReplies
            && lhs.fragmentationNeeded == rhs.fragmentationNeeded && lhs.icmpErrorsForwarded == rhs.icmpErrorsForwarded
    }
}

/// The health probes of one DIP: how many were sent and failed, and how long they took.
public struct ProbeFigures: Sendable, Equatable {
    /// Probes sent.
    public var sent: UInt64
    /// Probes that failed.
    public var failed: UInt64
    /// Upper bounds (seconds) of `durationBuckets` (the last bucket: longer).
    public var durationBounds: [Double]
    /// Completed probes per duration bucket (not cumulative).
    public var durationBuckets: [UInt64]
    /// Sum of the durations, in seconds.
    public var durationSum: Double

    /// Creates figures.
    public init(sent: UInt64, failed: UInt64, durationBounds: [Double], durationBuckets: [UInt64], durationSum: Double)
    {
        self.sent = sent
        self.failed = failed
        self.durationBounds = durationBounds
        self.durationBuckets = durationBuckets
        self.durationSum = durationSum
    }
}
