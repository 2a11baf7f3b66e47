import NVLBBalancing
import NVLBPolicy
import NVLBWire

/// The semantic rules of the configuration, including those beyond the basic ones
/// (docs/configuration.md lists every rule with its message).
///
/// Runs over a `RawConfiguration` after reading; a value that could not be read is `nil`
/// and every check that needs it is skipped, so one error is not reported again as a
/// cascade of others. Each problem is reported at the YAML node that causes it.
struct ConfigurationValidator {
    // Ranges of docs/configuration.md.
    static let workers = 1...256
    static let flowTableCapacity = 1024...67_108_864
    /// 101 is the smallest prime ≥ 100 × 1 backend; 16,777,213 the largest prime below 2^24.
    static let maglevTableSize = 101...16_777_213
    static let maglevSlotsPerBackend = 100
    static let hashSeed = 0...Int(UInt32.max)
    static let mtu = 576...9216
    static let ttl = 1...255
    /// Linux's smallest MSS (TCP_MIN_MSS); the largest is what fits `underlay.mtu`.
    static let minimumMSS = 88
    static let icmpRate = 0...1_000_000
    static let port = 1...65535
    static let idleTimeout = 1...86_400
    static let weight = 0...1000

    let raw: RawConfiguration
    let diagnostics: DiagnosticCollector

    func validate() {
        validateBalancer()
        validateUnderlay()
        validateExternal()
        let domains = validateRoutingDomains()
        validateLoadBalancers(domains)
        validateBGP()
    }

    // MARK: - balancer, underlay, external

    private func validateBalancer() {
        let balancer = raw.balancer
        if let workers = balancer.workers, case .count(let count) = workers.value, !Self.workers.contains(count) {
            report("must be 'auto' or between 1 and 256, found \(count)", workers)
        }
        if let capacity = balancer.flowTableCapacity,
            !Self.flowTableCapacity.contains(capacity.value) || capacity.value & (capacity.value - 1) != 0
        {
            report("must be a power of two between 1024 and 67108864, found \(capacity.value)", capacity)
        }
        if let size = balancer.maglevTableSize, !Self.isValidMaglevSize(size.value) {
            report("must be a prime number between 101 and 16777213, found \(size.value)", size)
        }
        if let seed = balancer.hashSeed, !Self.hashSeed.contains(seed.value) {
            report("must be between 0 and 4294967295 (0xffffffff), found \(seed.value)", seed)
        }
    }

    private func validateUnderlay() {
        guard let underlay = raw.underlay else { return }
        checkInterface(underlay.interface)
        checkUnicast(underlay.address)
        checkUnicast(underlay.mac)
        checkUnicast(underlay.gatewayMAC)
        checkRange(underlay.mtu, Self.mtu)
        checkRange(underlay.ttl, Self.ttl)
        if let clamp = underlay.mssClamp, case .value(let mss) = clamp.value {
            // A larger clamp would let through segments that do not fit once encapsulated.
            let mtu = underlay.mtu.map { Self.mtu.contains($0.value) ? $0.value : 1500 } ?? 1500
            let largest = PolicyConfiguration.Underlay.MSSClamp.largest(underlayMTU: mtu)
            let headers = IPv4Header.minimumSize + TCPHeader.minimumSize
            if mss < Self.minimumMSS || mss > largest {
                report(
                    "must be 'auto', 'off' or between \(Self.minimumMSS) and \(largest) (underlay.mtu \(mtu) "
                        + "− \(GREHeader.encapsulationOverhead) NVGRE − \(headers) IPv4/TCP), found \(mss)", clamp)
            }
        }
        checkRange(underlay.icmpRate, Self.icmpRate)
        var seen: [IPv4Address: String] = [:]
        for neighbor in underlay.neighbors?.value ?? [] {
            checkUnicast(neighbor.address)
            checkUnicast(neighbor.mac)
            guard let address = neighbor.address else { continue }
            if address.value == underlay.address?.value {
                report("\(address.value) is nvlb's own address (underlay.address)", address)
            } else if let first = seen[address.value] {
                report("duplicate neighbor \(address.value) (also \(first))", address)
            } else {
                seen[address.value] = neighbor.path
            }
        }
    }

    private func validateExternal() {
        guard let external = raw.external else { return }
        checkInterface(external.interface)
        checkUnicast(external.mac)
        checkUnicast(external.gatewayMAC)
    }

    // MARK: - routing domains

    /// What load balancers need to know about the routing domains.
    struct DomainIndex {
        struct Record {
            var vsid: Int
            var path: String
        }
        /// Name → index in `raw.routingDomains` (the first domain of that name).
        var byName: [String: Int] = [:]
        /// Names of more than one domain (reported): load balancers naming them are not checked further.
        var ambiguousNames: Set<String> = []
        /// VSID → index of the domain that lists it (the first one).
        var owner: [Int: Int] = [:]
        /// Per domain index: CA → its lookup record.
        var records: [Int: [IPv4Address: Record]] = [:]
        var names: [Int: String] = [:]
        /// Domains whose `subnets` could not be read (reported): membership is not checked against them.
        var unreadableSubnets: Set<Int> = []
    }

    private func validateRoutingDomains() -> DomainIndex {
        var index = DomainIndex()
        var namePaths: [String: String] = [:]
        var subnetPaths: [Int: String] = [:]
        for (domainIndex, domain) in (raw.routingDomains?.value ?? []).enumerated() {
            let domainName = domain.name?.value ?? domain.path
            index.names[domainIndex] = domainName
            if let name = domain.name, checkName(name) {
                if let first = namePaths[name.value] {
                    report("duplicate routing domain name \(name.value) (also \(first))", name)
                    index.ambiguousNames.insert(name.value)
                } else {
                    namePaths[name.value] = domain.name?.path
                    index.byName[name.value] = domainIndex
                }
            }
            checkUnicast(domain.gatewayMAC)

            var ownSubnets: Set<Int> = []
            if domain.subnets == nil { index.unreadableSubnets.insert(domainIndex) }
            if let subnets = domain.subnets {
                if subnets.value.isEmpty {
                    report("a routing domain needs at least one subnet (VSID)", subnets)
                }
                for vsid in subnets.value where checkVSID(vsid) {
                    if ownSubnets.contains(vsid.value) {
                        report("duplicate VSID \(vsid.value) (also \(subnetPaths[vsid.value] ?? ""))", vsid)
                    } else if let owner = index.owner[vsid.value] {
                        report(
                            "VSID \(vsid.value) already belongs to routing domain \(index.names[owner] ?? "")"
                                + " (\(subnetPaths[vsid.value] ?? ""))", vsid)
                    } else {
                        ownSubnets.insert(vsid.value)
                        index.owner[vsid.value] = domainIndex
                        subnetPaths[vsid.value] = vsid.path
                    }
                }
            }

            var records: [IPv4Address: DomainIndex.Record] = [:]
            for record in domain.lookupRecords {
                checkUnicast(record.ca)
                checkUnicast(record.pa)
                checkUnicast(record.mac)
                if let pa = record.pa, pa.value == raw.underlay?.address?.value {
                    report("PA \(pa.value) is nvlb's own address (underlay.address)", pa)
                }
                guard let vsid = record.vsid, checkVSID(vsid) else { continue }
                if !ownSubnets.contains(vsid.value), domain.subnets != nil {
                    report("VSID \(vsid.value) is not a subnet of routing domain \(domainName)", vsid)
                }
                guard let ca = record.ca else { continue }
                if let first = records[ca.value] {
                    if first.vsid == vsid.value {
                        report(
                            "duplicate lookup record for VSID \(vsid.value) CA \(ca.value) (also \(first.path))",
                            path: record.path, at: record.position)
                    } else {
                        report(
                            "CA \(ca.value) is already used by VSID \(first.vsid) in routing domain \(domainName)"
                                + " (\(first.path)); a CA must be unique within a routing domain", ca)
                    }
                } else {
                    records[ca.value] = DomainIndex.Record(vsid: vsid.value, path: record.path)
                }
            }
            index.records[domainIndex] = records
            validateProbeSource(domain, records: records)
        }
        return index
    }

    // MARK: - load balancers

    /// What a rule claims: traffic to (VSID or external, VIP, protocol, frontend port).
    private struct Claim: Hashable {
        var vsid: Int?
        var vip: IPv4Address
        var protocolNumber: TransportProtocol
        var port: Int

        var description: String {
            "\(protocolNumber) port \(port) of VIP \(vip) (\(vsid.map { "VSID \($0)" } ?? "external"))"
        }
    }

    /// A frontend's identity: (VSID or external, VIP).
    private struct FrontendKey: Hashable {
        var vsid: Int?
        var vip: IPv4Address
    }

    private func validateLoadBalancers(_ domains: DomainIndex) {
        var namePaths: [String: String] = [:]
        var claims: [Claim: (name: String, path: String)] = [:]
        for balancer in raw.loadBalancers?.value ?? [] {
            let balancerName = balancer.name?.value ?? balancer.path
            if let name = balancer.name, checkName(name) {
                if let first = namePaths[name.value] {
                    report("duplicate load balancer name \(name.value) (also \(first))", name)
                } else {
                    namePaths[name.value] = name.path
                }
            }
            var domain: Int?
            if let routingDomain = balancer.routingDomain, !domains.ambiguousNames.contains(routingDomain.value) {
                domain = domains.byName[routingDomain.value]
                if domain == nil {
                    report("no routing domain named \(routingDomain.value)", routingDomain)
                }
            }

            let frontends = validateFrontends(balancer, domain: domain, domains: domains)

            if let rules = balancer.rules {
                if rules.value.isEmpty { report("a load balancer needs at least one rule", rules) }
                for rule in rules.value {
                    checkRange(rule.frontendPort, Self.port)
                    checkRange(rule.backendPort, Self.port)
                    checkRange(rule.idleTimeout, Self.idleTimeout)
                    guard let protocolNumber = rule.protocolNumber?.value, let port = rule.frontendPort?.value,
                        Self.port.contains(port)
                    else { continue }
                    for frontend in frontends {
                        let claim = Claim(
                            vsid: frontend.vsid, vip: frontend.vip, protocolNumber: protocolNumber, port: port)
                        if let first = claims[claim] {
                            report(
                                "\(claim.description) is already claimed by load balancer \(first.name)"
                                    + " (\(first.path))", path: rule.path, at: rule.position)
                        } else {
                            claims[claim] = (balancerName, rule.path)
                        }
                    }
                }
            }

            if let backends = balancer.backends {
                if backends.value.isEmpty { report("a load balancer needs at least one backend", backends) }
                validateBackends(backends.value, domain: domain, domains: domains)
                checkMaglevSize(backendCount: backends.value.count, balancer: balancer, name: balancerName)
            }
            validateProbes(balancer, domain: domain, domains: domains)
        }
    }

    /// Checks the frontends of one load balancer; returns the well-formed, distinct ones.
    private func validateFrontends(
        _ balancer: RawLoadBalancer, domain: Int?, domains: DomainIndex
    ) -> [FrontendKey] {
        guard let frontends = balancer.frontends else { return [] }
        if frontends.value.isEmpty { report("a load balancer needs at least one frontend", frontends) }
        let domainName = domain.flatMap { domains.names[$0] } ?? ""
        var keys: [FrontendKey] = []
        var seen: [FrontendKey: String] = [:]
        for frontend in frontends.value {
            checkUnicast(frontend.vip)
            if frontend.isInternal {
                guard let vsid = frontend.vsid, checkVSID(vsid) else { continue }
                if let domain {
                    checkSubnet(vsid, domain: domain, domains: domains)
                    if let vip = frontend.vip, let record = domains.records[domain]?[vip.value] {
                        report(
                            "VIP \(vip.value) is the CA of a VM in routing domain \(domainName)"
                                + " (VSID \(record.vsid), \(record.path)); it would shadow that VM", vip)
                    }
                }
            } else {
                if raw.external == nil {
                    report(
                        "an external frontend (no vsid) needs the 'external' section",
                        path: frontend.path, at: frontend.position)
                }
                if let vip = frontend.vip, vip.value == raw.underlay?.address?.value {
                    report("VIP \(vip.value) is nvlb's own provider address (underlay.address)", vip)
                }
            }
            guard let vip = frontend.vip?.value else { continue }
            let key = FrontendKey(vsid: frontend.vsid?.value, vip: vip)
            if let first = seen[key] {
                report("duplicate frontend (also \(first))", path: frontend.path, at: frontend.position)
            } else {
                seen[key] = frontend.path
                keys.append(key)
            }
        }
        return keys
    }

    private func validateBackends(_ backends: [RawBackend], domain: Int?, domains: DomainIndex) {
        var seen: [FrontendKey: String] = [:]
        for backend in backends {
            checkRange(backend.weight, Self.weight)
            guard let vsid = backend.vsid, checkVSID(vsid), let ca = backend.ca else { continue }
            let key = FrontendKey(vsid: vsid.value, vip: ca.value)
            if let first = seen[key] {
                report(
                    "duplicate backend VSID \(vsid.value) CA \(ca.value) (also \(first))",
                    path: backend.path, at: backend.position)
                continue
            }
            seen[key] = backend.path
            guard let domain, checkSubnet(vsid, domain: domain, domains: domains) else { continue }
            if domains.records[domain]?[ca.value]?.vsid != vsid.value {
                report(
                    "no lookup record for VSID \(vsid.value) CA \(ca.value) in routing domain"
                        + " \(domains.names[domain] ?? "")", path: backend.path, at: backend.position)
            }
        }
    }

    /// docs/architecture.md "Maglev tables": the Maglev table needs ≥ 100 slots per DIP of every rule.
    private func checkMaglevSize(backendCount: Int, balancer: RawLoadBalancer, name: String) {
        let explicit = raw.balancer.maglevTableSize
        let size = explicit?.value ?? PolicyConfiguration.Balancer().maglevTableSize
        let needed = backendCount * Self.maglevSlotsPerBackend
        guard Self.isValidMaglevSize(size), size < needed, !(balancer.rules?.value.isEmpty ?? true) else { return }
        if let explicit {
            report(
                "\(size) is too small for load balancer \(name): its \(backendCount) backends need at least"
                    + " \(needed) slots (100 per backend)", explicit)
        } else if let backends = balancer.backends {
            report(
                "load balancer \(name) has \(backendCount) backends: balancer.maglev_table_size must be at least"
                    + " \(needed) (100 per backend), the default is \(size)", backends)
        }
    }

    // MARK: - single values

    static func isValidMaglevSize(_ size: Int) -> Bool {
        maglevTableSize.contains(size) && MaglevTable.isPrime(size)
    }

    /// Reports a VSID outside 4096–16777214; true if it is valid.
    @discardableResult
    private func checkVSID(_ vsid: Located<Int>) -> Bool {
        guard VSID.valid.contains(UInt32(clamping: vsid.value)), vsid.value >= 0 else {
            report("VSID \(vsid.value) is reserved or out of range (valid: 4096–16777214)", vsid)
            return false
        }
        return true
    }

    /// Reports a VSID that is not a subnet of `domain`; true if it is one.
    @discardableResult
    private func checkSubnet(_ vsid: Located<Int>, domain: Int, domains: DomainIndex) -> Bool {
        let owner = domains.owner[vsid.value]
        if owner == domain { return true }
        if owner == nil && domains.unreadableSubnets.contains(domain) { return false }
        let name = domains.names[domain] ?? ""
        if let owner {
            report(
                "VSID \(vsid.value) belongs to routing domain \(domains.names[owner] ?? ""), not to \(name)", vsid)
        } else {
            report("VSID \(vsid.value) is not a subnet of routing domain \(name)", vsid)
        }
        return false
    }

    func checkRange(_ value: Located<Int>?, _ range: ClosedRange<Int>) {
        guard let value, !range.contains(value.value) else { return }
        report("must be between \(range.lowerBound) and \(range.upperBound), found \(value.value)", value)
    }

    /// Names appear in stats keys and metric labels: non-empty, no spaces or punctuation.
    func checkName(_ name: Located<String>) -> Bool {
        if name.value.isEmpty {
            report("must not be empty", name)
            return false
        }
        let allowed = name.value.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "-_.".unicodeScalars.contains(scalar))
        }
        if !allowed {
            report("may contain only letters, digits, '-', '_' and '.', found '\(name.value)'", name)
        }
        return true
    }

    private func checkInterface(_ interface: Located<String>?) {
        if let interface, interface.value.isEmpty {
            report("must not be empty", interface)
        }
    }

    /// Host addresses: not 0.0.0.0/8, 127.0.0.0/8, multicast or reserved (224.0.0.0/3).
    func checkUnicast(_ address: Located<IPv4Address>?) {
        guard let address else { return }
        let first = address.value.rawValue >> 24
        if first == 0 || first == 127 || first >= 224 {
            report("\(address.value) is not a unicast address (0/8, 127/8 and 224/3 are excluded)", address)
        }
    }

    /// MACs nvlb sends from or to: not multicast, broadcast or all zero.
    private func checkUnicast(_ mac: Located<MACAddress>?) {
        guard let mac else { return }
        if mac.value.isMulticast || mac.value == .zero {
            report("\(mac.value) is not a unicast MAC address", mac)
        }
    }

    func report<Value>(_ message: String, _ located: Located<Value>) {
        diagnostics.report(message, at: located)
    }

    func report(_ message: String, path: String, at position: SourcePosition) {
        diagnostics.report(message, path: path, at: position)
    }
}
