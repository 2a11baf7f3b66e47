import NVLBBalancing

// The element types of a ``PolicySnapshot``'s arrays: plain bitwise-copyable records,
// indexes into one another instead of references.

/// A lookup record with its precomputed next hop.
@frozen
public struct CompiledRecord: Sendable, BitwiseCopyable {
    public var vsid: UInt32
    public var ca: UInt32
    public var pa: UInt32
    public var mac: UInt64
    /// Static neighbour or gateway MAC for `pa`; 0 when neither is configured.
    public var nextHopMAC: UInt64
    /// True when `nextHopMAC` is a static `underlay.neighbors` entry (it then wins over
    /// ARP in live mode, docs/packets.md "ARP and next hops").
    public var staticNeighbor: Bool
    public var domain: Int32
}

/// A routing domain.
@frozen
public struct CompiledDomain: Sendable, BitwiseCopyable {
    /// Inner source MAC nvlb uses toward this domain's VMs.
    public var gatewayMAC: UInt64
    /// `probe_source`: inner destination of probe replies; 0 when not configured.
    public var probeSource: UInt32
}

/// A load balancer: its backends are `backends[backendBase ..< backendBase + backendCount]`.
@frozen
public struct CompiledLoadBalancer: Sendable, BitwiseCopyable {
    public var backendBase: Int32
    public var backendCount: Int32
    public var domain: Int32
}

/// A DIP of a load balancer.
@frozen
public struct CompiledBackend: Sendable, BitwiseCopyable {
    public var vsid: UInt32
    public var ca: UInt32
    /// Index of its lookup record.
    public var record: Int32
    public var loadBalancer: Int32
    public var weight: UInt32
}

/// A rule of a load balancer.
@frozen
public struct CompiledRule: Sendable, BitwiseCopyable {
    public var loadBalancer: Int32
    /// Start of this rule's table in `PolicySnapshot.maglev`.
    public var maglevOffset: Int32
    /// Start of this rule's flags in `PolicySnapshot.backendDown`; -1 when none of its
    /// DIPs is down (or all are, and it fails open).
    public var healthOffset: Int32
    /// Seconds.
    public var idleTimeout: UInt32
    public var backendPort: UInt16
    public var frontendPort: UInt16
    public var protocolNumber: UInt8
    /// `FlowDistribution` raw value (stored raw to keep the struct bitwise-copyable).
    public var distributionRawValue: UInt8

    /// How this rule hashes new flows.
    @inlinable
    public var distribution: FlowDistribution { FlowDistribution(rawValue: distributionRawValue) ?? .fiveTuple }
}

/// A frontend address: its (protocol, port) entries are
/// `vipPorts[firstPort ..< firstPort + portCount]`.
@frozen
public struct CompiledVIP: Sendable, BitwiseCopyable {
    public var firstPort: Int32
    public var portCount: Int32
}

/// One (protocol, port) of a VIP and the listener it reaches.
@frozen
public struct CompiledVIPPort: Sendable, BitwiseCopyable {
    /// protocol << 16 | port.
    public var key: UInt32
    public var listener: Int32
}

/// One (frontend, rule) pair: what a packet to VIP:port reaches.
@frozen
public struct CompiledListener: Sendable, BitwiseCopyable {
    public var rule: Int32
    /// 0 for an external frontend.
    public var vsid: UInt32
    public var vip: UInt32
    public var port: UInt16
    public var protocolNumber: UInt8
}
