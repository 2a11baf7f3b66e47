import NVLBWire

/// Which DIPs failed their health probes (docs/health.md), as the policy compiler sees it.
///
/// Keyed by names and addresses rather than indexes, so the same state applies to a
/// reloaded configuration: a DIP keeps its state while its load balancer, probe and
/// address stay. Every DIP not listed is up (a restart starts with every DIP up).
public struct HealthState: Sendable, Equatable {
    /// One DIP under one probe of one load balancer.
    public struct Target: Sendable, Hashable, CustomStringConvertible {
        public var loadBalancer: String
        public var probe: String
        public var vsid: UInt32
        public var ca: IPv4Address

        public init(loadBalancer: String, probe: String, vsid: UInt32, ca: IPv4Address) {
            self.loadBalancer = loadBalancer
            self.probe = probe
            self.vsid = vsid
            self.ca = ca
        }

        /// `load balancer/probe VSID/CA`, as in log lines.
        public var description: String { "\(loadBalancer)/\(probe) \(vsid)/\(ca)" }
    }

    /// The targets that are down.
    public var down: Set<Target>

    /// Every DIP up.
    public static let allUp = HealthState(down: [])

    public init(down: Set<Target>) {
        self.down = down
    }

    /// True when `target` is down.
    public func isDown(_ target: Target) -> Bool { down.contains(target) }
}
