import NVLBBalancing
import NVLBWire
import Synchronization

/// Source of snapshot generations: unique within the process, never 0.
private let generations = Atomic<UInt32>(0)

/// The compiled, immutable policy the packet path reads (SPEC §6): indexes over
/// lookup records, frontends and rules, and the Maglev table of every rule.
///
/// Built from a validated `PolicyConfiguration` by the control plane, published
/// to workers by one pointer swap, freed after every worker passed a quiescent
/// point. All hot data lives in `FixedBuffer`s and `StaticMap`s: reading them
/// costs no ARC traffic.
public final class PolicySnapshot: Sendable {
    /// The configuration this snapshot was compiled from.
    public let configuration: PolicyConfiguration
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
    /// (DIP VSID << 32 | DIP CA, protocol << 16 | backend port) → listener index,
    /// or `ambiguous` when several listeners reach that DIP port.
    public let reverseIndex: StaticMap
    /// (PA) → neighbour MAC, static entries.
    public let neighborIndex: StaticMap
    /// (VSID or 0 << 32 | address) → its record, its frontend and the VSID's domain:
    /// `vsidIndex`, `recordIndex` and `vipIndex` in one probe, for the packet path.
    public let addressIndex: AddressMap

    /// `reverseIndex` value when more than one listener maps to the DIP port.
    public static let ambiguous: Int32 = -2

    /// Names for statistics: load balancer names and their DIPs as `VSID/CA`.
    public let loadBalancerNames: [String]
    public let backendNames: [String]
    public let domainNames: [String]

    /// Compiles `configuration`, which must have passed validation.
    public init(configuration: PolicyConfiguration) {
        self.configuration = configuration
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
        externalMAC = configuration.external?.mac.rawValue ?? 0
        externalGatewayMAC = configuration.external?.gatewayMAC.rawValue ?? 0
        hasher = FlowHasher(seed: configuration.balancer.hashSeed)
        let source = underlay.address.rawValue
        outerChecksumBase = 0x4500 + 0x4000 + (UInt32(underlay.ttl) << 8 | 47) + (source >> 16) + (source & 0xFFFF)
        maglevTableSize = configuration.balancer.maglevTableSize

        var neighborPairs: [(key: (UInt64, UInt64), value: Int32)] = []
        var neighborMACs: [UInt64] = []
        for neighbor in underlay.neighbors {
            neighborPairs.append(((UInt64(neighbor.address.rawValue), 0), Int32(neighborMACs.count)))
            neighborMACs.append(neighbor.mac.rawValue)
        }
        let neighbors = StaticMap(neighborPairs)
        func nextHop(_ pa: IPv4Address) -> UInt64 {
            if let index = neighbors.find(UInt64(pa.rawValue)) { return neighborMACs[Int(index)] }
            return underlay.gatewayMAC?.rawValue ?? 0
        }

        // Domains and lookup records.
        var domainList: [CompiledDomain] = []
        var recordList: [CompiledRecord] = []
        var vsidPairs: [(key: (UInt64, UInt64), value: Int32)] = []
        var recordPairs: [(key: (UInt64, UInt64), value: Int32)] = []
        var domainCAPairs: [(key: (UInt64, UInt64), value: Int32)] = []
        var domainByName: [String: Int] = [:]
        for (d, domain) in configuration.routingDomains.enumerated() {
            domainByName[domain.name] = d
            domainList.append(CompiledDomain(gatewayMAC: domain.gatewayMAC.rawValue))
            for vsid in domain.subnets { vsidPairs.append(((UInt64(vsid), 0), Int32(d))) }
            for record in domain.lookupRecords {
                let index = Int32(recordList.count)
                recordList.append(
                    CompiledRecord(
                        vsid: record.vsid, ca: record.ca.rawValue, pa: record.pa.rawValue, mac: record.mac.rawValue,
                        nextHopMAC: nextHop(record.pa), staticNeighbor: neighbors.find(UInt64(record.pa.rawValue)) != nil,
                        domain: Int32(d)))
                recordPairs.append(((UInt64(record.vsid) << 32 | UInt64(record.ca.rawValue), 0), index))
                domainCAPairs.append(((UInt64(d) << 32 | UInt64(record.ca.rawValue), 0), index))
            }
        }
        let recordMap = StaticMap(recordPairs)

        // Load balancers, backends, rules, Maglev tables, listeners.
        var lbList: [CompiledLoadBalancer] = []
        var backendList: [CompiledBackend] = []
        var ruleList: [CompiledRule] = []
        var listenerList: [CompiledListener] = []
        var maglevSlots: [UInt16] = []
        var portsByVIP: [UInt64: [CompiledVIPPort]] = [:]
        var vipOrder: [UInt64] = []
        var reverseCounts: [ReverseKey: (listener: Int32, count: Int)] = [:]
        var lbNames: [String] = []
        var dipNames: [String] = []
        for (l, lb) in configuration.loadBalancers.enumerated() {
            let domain = domainByName[lb.routingDomain] ?? 0
            let backendBase = backendList.count
            for backend in lb.backends {
                let record = recordMap.find(UInt64(backend.vsid) << 32 | UInt64(backend.ca.rawValue)) ?? -1
                precondition(record >= 0, "validated configuration has a lookup record for every backend")
                backendList.append(
                    CompiledBackend(
                        vsid: backend.vsid, ca: backend.ca.rawValue, record: record, loadBalancer: Int32(l),
                        weight: backend.weight))
                dipNames.append("\(backend.vsid)/\(backend.ca)")
            }
            lbNames.append(lb.name)
            lbList.append(
                CompiledLoadBalancer(
                    backendBase: Int32(backendBase), backendCount: Int32(lb.backends.count), domain: Int32(domain)))
            let table = MaglevTable(
                backends: lb.backends.map {
                    MaglevBackend(identity: UInt64($0.vsid) << 32 | UInt64($0.ca.rawValue), weight: $0.weight)
                },
                size: maglevTableSize, seed: configuration.balancer.hashSeed)
            let maglevOffset = maglevSlots.count
            maglevSlots.append(contentsOf: table.entries)
            for rule in lb.rules {
                let ruleIndex = Int32(ruleList.count)
                ruleList.append(
                    CompiledRule(
                        loadBalancer: Int32(l), maglevOffset: Int32(maglevOffset), idleTimeout: rule.idleTimeout,
                        backendPort: rule.backendPort, frontendPort: rule.frontendPort,
                        protocolNumber: rule.protocolNumber.rawValue,
                        distributionRawValue: FlowDistribution(rule.loadDistribution).rawValue))
                for frontend in lb.frontends {
                    let vsid = UInt64(frontend.vsid ?? 0)
                    let listener = Int32(listenerList.count)
                    listenerList.append(
                        CompiledListener(
                            rule: ruleIndex, vsid: frontend.vsid ?? 0, vip: frontend.vip.rawValue,
                            port: rule.frontendPort, protocolNumber: rule.protocolNumber.rawValue))
                    let vipKey = vsid << 32 | UInt64(frontend.vip.rawValue)
                    if portsByVIP[vipKey] == nil { vipOrder.append(vipKey) }
                    portsByVIP[vipKey, default: []].append(
                        CompiledVIPPort(
                            key: UInt32(rule.protocolNumber.rawValue) << 16 | UInt32(rule.frontendPort), listener: listener))
                    for backend in lb.backends {
                        let key = ReverseKey(
                            vsid: backend.vsid, ca: backend.ca.rawValue, protocolNumber: rule.protocolNumber.rawValue,
                            port: rule.backendPort)
                        let previous = reverseCounts[key]
                        reverseCounts[key] = (previous?.listener ?? listener, (previous?.count ?? 0) + 1)
                    }
                }
            }
        }
        let reversePairs: [(key: (UInt64, UInt64), value: Int32)] = reverseCounts.map { key, value in
            ((UInt64(key.vsid) << 32 | UInt64(key.ca), UInt64(key.protocolNumber) << 16 | UInt64(key.port)),
             value.count == 1 ? value.listener : Self.ambiguous)
        }

        records = FixedBuffer(recordList)
        domains = FixedBuffer(domainList)
        loadBalancers = FixedBuffer(lbList)
        backends = FixedBuffer(backendList)
        rules = FixedBuffer(ruleList)
        listeners = FixedBuffer(listenerList)
        maglev = FixedBuffer(maglevSlots)
        vsidIndex = StaticMap(vsidPairs)
        recordIndex = recordMap
        domainCAIndex = StaticMap(domainCAPairs)
        var vipList: [CompiledVIP] = []
        var portList: [CompiledVIPPort] = []
        var vipPairs: [(key: (UInt64, UInt64), value: Int32)] = []
        for key in vipOrder {
            let ports = portsByVIP[key] ?? []
            vipPairs.append(((key, 0), Int32(vipList.count)))
            vipList.append(CompiledVIP(firstPort: Int32(portList.count), portCount: Int32(ports.count)))
            portList += ports
        }
        vipIndex = StaticMap(vipPairs)
        var vsidDomain: [UInt32: Int32] = [:]
        for pair in vsidPairs { vsidDomain[UInt32(truncatingIfNeeded: pair.key.0)] = pair.value }
        var addresses: [UInt64: AddressInfo] = [:]
        func info(_ key: UInt64) -> AddressInfo {
            addresses[key]
                ?? AddressInfo(record: -1, vip: -1, domain: vsidDomain[UInt32(truncatingIfNeeded: key >> 32)] ?? -1)
        }
        for pair in recordPairs {
            var entry = info(pair.key.0)
            entry.record = pair.value
            addresses[pair.key.0] = entry
        }
        for pair in vipPairs {
            var entry = info(pair.key.0)
            entry.vip = pair.value
            addresses[pair.key.0] = entry
        }
        addressIndex = AddressMap(addresses)
        vips = FixedBuffer(vipList)
        vipPorts = FixedBuffer(portList)
        reverseIndex = StaticMap(reversePairs)
        neighborIndex = neighbors
        loadBalancerNames = lbNames
        backendNames = dipNames
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

    private struct ReverseKey: Hashable {
        var vsid: UInt32
        var ca: UInt32
        var protocolNumber: UInt8
        var port: UInt16
    }

    // MARK: Lookups used by the packet path

    /// The record of (VSID, CA), or nil.
    @inlinable @inline(__always)
    public func record(vsid: UInt32, ca: UInt32) -> Int? {
        recordIndex.find(UInt64(vsid) << 32 | UInt64(ca)).map(Int.init)
    }

    /// The record of a CA in a routing domain (CAs are unique within a domain), or nil.
    @inlinable @inline(__always)
    public func record(domain: Int32, ca: UInt32) -> Int? {
        domainCAIndex.find(UInt64(UInt32(bitPattern: domain)) << 32 | UInt64(ca)).map(Int.init)
    }

    /// `frontend(...)` result: the address is not a VIP.
    public static let notAVIP: Int32 = -1
    /// `frontend(...)` result: a VIP without a rule for the protocol and port.
    public static let noRuleForPort: Int32 = -2

    /// The listener reached by (VSID or 0, VIP, protocol, port): its index, or
    /// `notAVIP` / `noRuleForPort`. One map lookup and a scan of the VIP's few ports.
    @inlinable @inline(__always)
    public func frontend(vsid: UInt32, vip: UInt32, protocolNumber: UInt8, port: UInt16) -> Int32 {
        guard let index = vipIndex.find(UInt64(vsid) << 32 | UInt64(vip)) else { return Self.notAVIP }
        let entry = vips[Int(index)]
        let key = UInt32(protocolNumber) << 16 | UInt32(port)
        var i = Int(entry.firstPort)
        let end = i &+ Int(entry.portCount)
        while i < end {
            if vipPorts[i].key == key { return vipPorts[i].listener }
            i &+= 1
        }
        return Self.noRuleForPort
    }

    /// The listener of frontend `vip` (an index in `vips`, ≥ 0) for (protocol, port),
    /// or `noRuleForPort`. A scan of the VIP's few ports.
    @inlinable @inline(__always)
    public func listener(vip: Int32, protocolNumber: UInt8, port: UInt16) -> Int32 {
        let entry = vips[Int(vip)]
        let key = UInt32(protocolNumber) << 16 | UInt32(port)
        var i = Int(entry.firstPort)
        let end = i &+ Int(entry.portCount)
        while i < end {
            if vipPorts[i].key == key { return vipPorts[i].listener }
            i &+= 1
        }
        return Self.noRuleForPort
    }

    /// True when (VSID or 0, VIP) is a frontend address.
    @inlinable
    public func isVIP(vsid: UInt32, vip: UInt32) -> Bool {
        vipIndex.find(UInt64(vsid) << 32 | UInt64(vip)) != nil
    }

    /// The Maglev choice for `hash` under `rule`: a global backend index, or nil
    /// when every DIP of the rule has weight 0.
    @inlinable
    public func selectBackend(rule: Int, hash: UInt64) -> Int? {
        let r = rules.pointer(rule)
        let slot = MaglevTable.slot(forHash: hash, size: maglevTableSize)
        let entry = maglev[Int(r.pointee.maglevOffset) + slot]
        if entry == UInt16.max { return nil }
        return Int(loadBalancers[Int(r.pointee.loadBalancer)].backendBase) + Int(entry)
    }

    /// The global index of DIP (VSID, CA) among the backends of load balancer `lb`, or nil.
    public func backendIndex(loadBalancer lb: Int, vsid: UInt32, ca: UInt32) -> Int? {
        let info = loadBalancers[lb]
        for index in Int(info.backendBase)..<Int(info.backendBase + info.backendCount) {
            if backends[index].vsid == vsid && backends[index].ca == ca { return index }
        }
        return nil
    }
}

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
    /// ARP in live mode, SPEC §3.5).
    public var staticNeighbor: Bool
    public var domain: Int32
}

/// A routing domain.
@frozen
public struct CompiledDomain: Sendable, BitwiseCopyable {
    /// Inner source MAC nvlb uses toward this domain's VMs.
    public var gatewayMAC: UInt64
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

extension FlowDistribution {
    /// The balancing module's name for a configured `load_distribution`.
    public init(_ distribution: PolicyConfiguration.LoadDistribution) {
        switch distribution {
        case .fiveTuple: self = .fiveTuple
        case .sourceIP: self = .sourceIP
        case .sourceIPProtocol: self = .sourceIPProtocol
        }
    }
}
