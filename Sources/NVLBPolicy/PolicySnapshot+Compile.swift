import NVLBBalancing
import NVLBWire

/// The arrays and index entries of a ``PolicySnapshot``, computed from a validated
/// configuration: records with their precomputed next hops, load balancers and their DIPs,
/// one Maglev table per load balancer shared by its rules, listeners, and the reverse index
/// from a DIP port and a client kind back to its listener (or ``PolicySnapshot/ambiguous``).
struct PolicyCompilation {
    typealias Pair = (key: (UInt64, UInt64), value: Int32)

    var records: [CompiledRecord] = []
    var domains: [CompiledDomain] = []
    var loadBalancers: [CompiledLoadBalancer] = []
    var backends: [CompiledBackend] = []
    var rules: [CompiledRule] = []
    var listeners: [CompiledListener] = []
    var maglevSlots: [UInt16] = []
    /// Per rule with down DIPs: one byte per backend of its load balancer (docs/health.md).
    var downFlags: [UInt8] = []
    /// Rules whose probed DIPs are all down and that use them all.
    var failOpen: [FailOpenRule] = []
    var vips: [CompiledVIP] = []
    var vipPorts: [CompiledVIPPort] = []
    var vsidPairs: [Pair] = []
    /// (VSID << 32 | CA) → record: built here (backends are resolved through it).
    var recordIndex: StaticMap
    var domainCAPairs: [Pair] = []
    var vipPairs: [Pair] = []
    var reversePairs: [Pair] = []
    /// (PA) → index of its static neighbour's MAC: built here (records' next hops use it).
    var neighborIndex: StaticMap
    var addresses: [UInt64: AddressInfo] = [:]
    var loadBalancerNames: [String] = []
    var backendNames: [String] = []

    private struct ReverseKey: Hashable {
        var vsid: UInt32
        var ca: UInt32
        var protocolNumber: UInt8
        var port: UInt16
        /// Internal frontends and external ones are counted apart: a reply's client says
        /// which kind it is before the rule is looked for (docs/packets.md "Replies and flow state").
        var isInternal: Bool
    }

    /// Compiles `configuration`, which must have passed validation, with the DIPs that
    /// `health` lists as down left out of the Maglev tables of the rules probing them.
    init(_ configuration: PolicyConfiguration, health: HealthState) {
        let underlay = configuration.underlay
        let maglevTableSize = configuration.balancer.maglevTableSize
        var neighborPairs: [Pair] = []
        var neighborMACs: [UInt64] = []
        for neighbor in underlay.neighbors {
            neighborPairs.append(((UInt64(neighbor.address.rawValue), 0), Int32(neighborMACs.count)))
            neighborMACs.append(neighbor.mac.rawValue)
        }
        let neighbors = StaticMap(neighborPairs)
        neighborIndex = neighbors
        func nextHop(_ pa: IPv4Address) -> UInt64 {
            if let index = neighbors.find(UInt64(pa.rawValue)) { return neighborMACs[Int(index)] }
            return underlay.gatewayMAC?.rawValue ?? 0
        }

        // Domains and lookup records (in locals: `self` is complete only with `recordIndex`).
        var domainList: [CompiledDomain] = []
        var recordList: [CompiledRecord] = []
        var vsidList: [Pair] = []
        var recordPairs: [Pair] = []
        var domainCAList: [Pair] = []
        var domainByName: [String: Int] = [:]
        for (d, domain) in configuration.routingDomains.enumerated() {
            domainByName[domain.name] = d
            domainList.append(
                CompiledDomain(gatewayMAC: domain.gatewayMAC.rawValue, probeSource: domain.probeSource?.rawValue ?? 0))
            for vsid in domain.subnets { vsidList.append(((UInt64(vsid), 0), Int32(d))) }
            for record in domain.lookupRecords {
                let index = Int32(recordList.count)
                recordList.append(
                    CompiledRecord(
                        vsid: record.vsid, ca: record.ca.rawValue, pa: record.pa.rawValue, mac: record.mac.rawValue,
                        nextHopMAC: nextHop(record.pa),
                        staticNeighbor: neighbors.find(UInt64(record.pa.rawValue)) != nil,
                        domain: Int32(d)))
                recordPairs.append(((UInt64(record.vsid) << 32 | UInt64(record.ca.rawValue), 0), index))
                domainCAList.append(((UInt64(d) << 32 | UInt64(record.ca.rawValue), 0), index))
            }
        }
        let recordMap = StaticMap(recordPairs)
        recordIndex = recordMap
        domains = domainList
        records = recordList
        vsidPairs = vsidList
        domainCAPairs = domainCAList

        // Load balancers, backends, rules, Maglev tables, listeners.
        var portsByVIP: [UInt64: [CompiledVIPPort]] = [:]
        var vipOrder: [UInt64] = []
        var reverseCounts: [ReverseKey: (listener: Int32, count: Int)] = [:]
        for (l, lb) in configuration.loadBalancers.enumerated() {
            let domain = domainByName[lb.routingDomain] ?? 0
            let backendBase = backends.count
            for backend in lb.backends {
                let record = recordMap.find(UInt64(backend.vsid) << 32 | UInt64(backend.ca.rawValue)) ?? -1
                precondition(record >= 0, "validated configuration has a lookup record for every backend")
                backends.append(
                    CompiledBackend(
                        vsid: backend.vsid, ca: backend.ca.rawValue, record: record, loadBalancer: Int32(l),
                        weight: backend.weight))
                backendNames.append("\(backend.vsid)/\(backend.ca)")
            }
            loadBalancerNames.append(lb.name)
            loadBalancers.append(
                CompiledLoadBalancer(
                    backendBase: Int32(backendBase), backendCount: Int32(lb.backends.count), domain: Int32(domain)))
            let table = MaglevTable(
                backends: lb.backends.map {
                    MaglevBackend(identity: UInt64($0.vsid) << 32 | UInt64($0.ca.rawValue), weight: $0.weight)
                },
                size: maglevTableSize, seed: configuration.balancer.hashSeed)
            let maglevOffset = maglevSlots.count
            maglevSlots.append(contentsOf: table.entries)
            var healthTables = HealthTables()
            for (position, rule) in lb.rules.enumerated() {
                let ruleIndex = Int32(rules.count)
                let tables = PolicySnapshot.healthTable(
                    rule: rule, of: lb, health: health, lbTableOffset: maglevOffset, cache: &healthTables,
                    size: maglevTableSize, seed: configuration.balancer.hashSeed, slots: &maglevSlots,
                    downFlags: &downFlags)
                if tables.failOpen {
                    failOpen.append(FailOpenRule(loadBalancer: lb.name, rule: position, probe: rule.probe ?? ""))
                }
                rules.append(
                    CompiledRule(
                        loadBalancer: Int32(l), maglevOffset: tables.maglevOffset, healthOffset: tables.healthOffset,
                        idleTimeout: rule.idleTimeout,
                        backendPort: rule.backendPort, frontendPort: rule.frontendPort,
                        protocolNumber: rule.protocolNumber.rawValue,
                        distributionRawValue: FlowDistribution(rule.loadDistribution).rawValue))
                for frontend in lb.frontends {
                    let vsid = UInt64(frontend.vsid ?? 0)
                    let listener = Int32(listeners.count)
                    listeners.append(
                        CompiledListener(
                            rule: ruleIndex, vsid: frontend.vsid ?? 0, vip: frontend.vip.rawValue,
                            port: rule.frontendPort, protocolNumber: rule.protocolNumber.rawValue))
                    let vipKey = vsid << 32 | UInt64(frontend.vip.rawValue)
                    if portsByVIP[vipKey] == nil { vipOrder.append(vipKey) }
                    portsByVIP[vipKey, default: []].append(
                        CompiledVIPPort(
                            key: UInt32(rule.protocolNumber.rawValue) << 16 | UInt32(rule.frontendPort),
                            listener: listener))
                    for backend in lb.backends {
                        let key = ReverseKey(
                            vsid: backend.vsid, ca: backend.ca.rawValue, protocolNumber: rule.protocolNumber.rawValue,
                            port: rule.backendPort, isInternal: frontend.vsid != nil)
                        let previous = reverseCounts[key]
                        reverseCounts[key] = (previous?.listener ?? listener, (previous?.count ?? 0) + 1)
                    }
                }
            }
        }
        reversePairs = reverseCounts.map { key, value in
            (
                (
                    UInt64(key.vsid) << 32 | UInt64(key.ca),
                    PolicySnapshot.reverseKey(
                        isInternal: key.isInternal, protocolNumber: key.protocolNumber, backendPort: key.port)
                ),
                value.count == 1 ? value.listener : PolicySnapshot.ambiguous
            )
        }

        // Frontend addresses, their ports, and the combined address index.
        for key in vipOrder {
            let ports = portsByVIP[key] ?? []
            vipPairs.append(((key, 0), Int32(vips.count)))
            vips.append(CompiledVIP(firstPort: Int32(vipPorts.count), portCount: Int32(ports.count)))
            vipPorts += ports
        }
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
        self.addresses = addresses
    }
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
