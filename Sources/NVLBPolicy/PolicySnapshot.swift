import NVLBBalancing
import NVLBWire
import Synchronization

/// Source of snapshot generations: unique within the process, never 0.
private let generations = Atomic<UInt32>(0)

/// The compiled, immutable policy the packet path reads (docs/architecture.md "Snapshot publication"): indexes over
/// lookup records, frontends and rules, and the Maglev table of every rule.
///
/// Built from a validated `PolicyConfiguration` by the control plane, published
/// to workers by one pointer swap, freed after every worker passed a quiescent
/// point. All hot data lives in `FixedBuffer`s and `StaticMap`s: reading them
/// costs no ARC traffic.
///
/// This file holds the stored layout; `PolicySnapshot+Compile.swift` builds it,
/// `PolicySnapshot+Lookups.swift` holds the packet path's queries and
/// `CompiledPolicyTypes.swift` the compiled element types.
public final class PolicySnapshot: Sendable {
    /// The configuration this snapshot was compiled from.
    public let configuration: PolicyConfiguration
    /// The probe results this snapshot was compiled with (docs/health.md).
    public let health: HealthState
    /// Distinguishes snapshots: flow entries remember the generation their
    /// `backendSlot` belongs to.
    public let generation: UInt32

    // MARK: Underlay and external side
    public let underlayAddress: UInt32
    public let underlayMAC: UInt64
    /// Next hop for PAs without a neighbour entry; 0 when absent.
    public let underlayGatewayMAC: UInt64
    public let mtu: Int
    public let ttl: UInt8
    public let flowIDFromHash: Bool
    /// `underlay.mss_clamp` in effect (0: off): SYN and SYN-ACK MSS options above it are lowered.
    public let mssClamp: UInt16
    /// `underlay.icmp_rate`: "fragmentation needed" messages per second and worker.
    public let icmpRate: UInt32
    /// `bgp.next_hop` (0: no `bgp:`): nvlb answers ARP for it instead of for the shared
    /// `underlay.address`, and takes external traffic sent to `underlay.mac` (docs/operations.md
    /// "Several instances behind ECMP").
    public let bgpNextHop: UInt32
    public let hasExternal: Bool
    public let externalMAC: UInt64
    public let externalGatewayMAC: UInt64
    public let hasher: FlowHasher
    /// One's-complement sum of the constant words of every outer IPv4 header nvlb
    /// sends (version/IHL, DF, TTL and protocol, source address): the checksum of a
    /// header is this plus TOS, length and destination, folded.
    public let outerChecksumBase: UInt32
    /// Maglev table size (slots per rule).
    public let maglevTableSize: Int

    // MARK: Compiled arrays
    public let records: FixedBuffer<CompiledRecord>
    public let domains: FixedBuffer<CompiledDomain>
    public let loadBalancers: FixedBuffer<CompiledLoadBalancer>
    public let backends: FixedBuffer<CompiledBackend>
    public let rules: FixedBuffer<CompiledRule>
    public let listeners: FixedBuffer<CompiledListener>
    /// All rules' Maglev tables, `maglevTableSize` slots each; a slot holds the
    /// index of a backend within its load balancer, or `UInt16.max`.
    public let maglev: FixedBuffer<UInt16>
    /// Per rule with down DIPs, from its `healthOffset`: one byte per backend of its load
    /// balancer, 1 when that DIP is down for the rule's probe.
    public let backendDown: FixedBuffer<UInt8>
    /// Rules whose DIPs are all down: they use them all (fail open, docs/health.md).
    public let failOpenRules: [FailOpenRule]

    // MARK: Indexes
    /// (VSID) → domain index.
    public let vsidIndex: StaticMap
    /// (VSID << 32 | CA) → record index.
    public let recordIndex: StaticMap
    /// (domain << 32 | CA) → record index.
    public let domainCAIndex: StaticMap
    /// (VSID or 0 << 32 | VIP) → index in `vips`.
    public let vipIndex: StaticMap
    /// Frontend addresses; each names its range of `vipPorts`.
    public let vips: FixedBuffer<CompiledVIP>
    /// (protocol, port) → listener of each VIP, grouped by VIP.
    public let vipPorts: FixedBuffer<CompiledVIPPort>
    /// (DIP VSID << 32 | DIP CA, `reverseKey(isInternal:protocolNumber:backendPort:)`) →
    /// listener index, or `ambiguous` when several listeners of that kind (internal or
    /// external frontends) reach that DIP port.
    public let reverseIndex: StaticMap
    /// (PA) → neighbour MAC, static entries.
    public let neighborIndex: StaticMap
    /// (VSID or 0 << 32 | address) → its record, its frontend and the VSID's domain:
    /// `vsidIndex`, `recordIndex` and `vipIndex` in one probe, for the packet path.
    public let addressIndex: AddressMap

    /// `reverseIndex` value when more than one listener of a kind maps to the DIP port.
    public static let ambiguous: Int32 = -2

    /// Names for statistics: load balancer names and their DIPs as `VSID/CA`.
    public let loadBalancerNames: [String]
    public let backendNames: [String]
    public let domainNames: [String]

    /// Compiles `configuration`, which must have passed validation, with the DIPs that
    /// `health` lists as down left out of the Maglev tables of the rules probing them
    /// (`PolicySnapshot+Compile.swift` builds the arrays and indexes).
    public init(configuration: PolicyConfiguration, health: HealthState = .allUp) {
        self.configuration = configuration
        self.health = health
        self.generation = generations.add(1, ordering: .relaxed).newValue
        let underlay = configuration.underlay
        underlayAddress = underlay.address.rawValue
        underlayMAC = underlay.mac.rawValue
        underlayGatewayMAC = underlay.gatewayMAC?.rawValue ?? 0
        mtu = underlay.mtu
        ttl = underlay.ttl
        flowIDFromHash = underlay.flowID == .hash
        mssClamp = UInt16(clamping: max(0, underlay.effectiveMSSClamp))
        icmpRate = UInt32(clamping: max(0, underlay.icmpRate))
        hasExternal = configuration.external != nil
        bgpNextHop = configuration.bgp?.nextHop.rawValue ?? 0
        externalMAC = configuration.external?.mac.rawValue ?? 0
        externalGatewayMAC = configuration.external?.gatewayMAC.rawValue ?? 0
        hasher = FlowHasher(seed: configuration.balancer.hashSeed)
        let source = underlay.address.rawValue
        outerChecksumBase = 0x4500 + 0x4000 + (UInt32(underlay.ttl) << 8 | 47) + (source >> 16) + (source & 0xFFFF)
        maglevTableSize = configuration.balancer.maglevTableSize

        let compiled = PolicyCompilation(configuration, health: health)
        records = FixedBuffer(compiled.records)
        domains = FixedBuffer(compiled.domains)
        loadBalancers = FixedBuffer(compiled.loadBalancers)
        backends = FixedBuffer(compiled.backends)
        rules = FixedBuffer(compiled.rules)
        listeners = FixedBuffer(compiled.listeners)
        maglev = FixedBuffer(compiled.maglevSlots)
        backendDown = FixedBuffer(compiled.downFlags)
        failOpenRules = compiled.failOpen
        vsidIndex = StaticMap(compiled.vsidPairs)
        recordIndex = compiled.recordIndex
        domainCAIndex = StaticMap(compiled.domainCAPairs)
        vipIndex = StaticMap(compiled.vipPairs)
        vips = FixedBuffer(compiled.vips)
        vipPorts = FixedBuffer(compiled.vipPorts)
        reverseIndex = StaticMap(compiled.reversePairs)
        neighborIndex = compiled.neighborIndex
        addressIndex = AddressMap(compiled.addresses)
        loadBalancerNames = compiled.loadBalancerNames
        backendNames = compiled.backendNames
        domainNames = configuration.routingDomains.map(\.name)
    }

    deinit {
        records.deallocate()
        domains.deallocate()
        loadBalancers.deallocate()
        backends.deallocate()
        rules.deallocate()
        listeners.deallocate()
        maglev.deallocate()
        backendDown.deallocate()
        vsidIndex.deallocate()
        recordIndex.deallocate()
        domainCAIndex.deallocate()
        vips.deallocate()
        vipPorts.deallocate()
        vipIndex.deallocate()
        reverseIndex.deallocate()
        neighborIndex.deallocate()
        addressIndex.deallocate()
    }
}
