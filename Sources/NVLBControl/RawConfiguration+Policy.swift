import NVLBPolicy
import NVLBWire

extension RawConfiguration {
    /// The `PolicyConfiguration` with every default of docs/configuration.md applied.
    ///
    /// Call only after validation reported nothing: values are taken as they are (ranges
    /// were checked). Returns `nil` if a required value is missing, which validation has
    /// then reported already.
    func policyConfiguration() -> PolicyConfiguration? {
        guard let rawUnderlay = underlay, let address = rawUnderlay.address?.value, let mac = rawUnderlay.mac?.value,
            let rawDomains = routingDomains?.value, let rawBalancers = loadBalancers?.value
        else { return nil }

        var balancer = PolicyConfiguration.Balancer()
        if let workers = self.balancer.workers { balancer.workers = workers.value }
        if let capacity = self.balancer.flowTableCapacity { balancer.flowTableCapacity = capacity.value }
        if let size = self.balancer.maglevTableSize { balancer.maglevTableSize = size.value }
        if let seed = self.balancer.hashSeed { balancer.hashSeed = UInt32(seed.value) }

        var underlay = PolicyConfiguration.Underlay(address: address, mac: mac)
        underlay.interface = rawUnderlay.interface?.value
        underlay.gatewayMAC = rawUnderlay.gatewayMAC?.value
        for neighbor in rawUnderlay.neighbors?.value ?? [] {
            guard let address = neighbor.address?.value, let mac = neighbor.mac?.value else { return nil }
            underlay.neighbors.append(PolicyConfiguration.Neighbor(address: address, mac: mac))
        }
        if let mtu = rawUnderlay.mtu { underlay.mtu = mtu.value }
        if let ttl = rawUnderlay.ttl { underlay.ttl = UInt8(ttl.value) }
        if let flowID = rawUnderlay.flowID { underlay.flowID = flowID.value }
        if let io = rawUnderlay.io { underlay.io = io.value }
        if let clamp = rawUnderlay.mssClamp { underlay.mssClamp = clamp.value }
        if let rate = rawUnderlay.icmpRate { underlay.icmpRate = rate.value }

        var external: PolicyConfiguration.External?
        if let rawExternal = self.external {
            guard let mac = rawExternal.mac?.value, let gatewayMAC = rawExternal.gatewayMAC?.value else { return nil }
            external = PolicyConfiguration.External(
                interface: rawExternal.interface?.value, mac: mac, gatewayMAC: gatewayMAC)
        }

        var domains: [PolicyConfiguration.RoutingDomain] = []
        for domain in rawDomains {
            guard let name = domain.name?.value, let gatewayMAC = domain.gatewayMAC?.value,
                let subnets = domain.subnets?.value
            else { return nil }
            var records: [PolicyConfiguration.LookupRecord] = []
            for record in domain.lookupRecords {
                guard let vsid = record.vsid?.value, let ca = record.ca?.value, let pa = record.pa?.value,
                    let mac = record.mac?.value
                else { return nil }
                records.append(PolicyConfiguration.LookupRecord(vsid: UInt32(vsid), ca: ca, pa: pa, mac: mac))
            }
            var built = PolicyConfiguration.RoutingDomain(
                name: name, gatewayMAC: gatewayMAC, subnets: subnets.map { UInt32($0.value) }, lookupRecords: records)
            built.probeSource = domain.probeSource?.value
            domains.append(built)
        }

        var balancers: [PolicyConfiguration.LoadBalancer] = []
        for rawBalancer in rawBalancers {
            guard let built = rawBalancer.loadBalancer() else { return nil }
            balancers.append(built)
        }

        var configuration = PolicyConfiguration(
            balancer: balancer, underlay: underlay, external: external, routingDomains: domains,
            loadBalancers: balancers)
        if let bgp = self.bgp {
            guard let built = bgp.bgp() else { return nil }
            configuration.bgp = built
        }
        return configuration
    }
}

extension RawLoadBalancer {
    /// The load balancer with rule and backend defaults applied; `nil` if a required value is missing.
    func loadBalancer() -> PolicyConfiguration.LoadBalancer? {
        guard let name = name?.value, let routingDomain = routingDomain?.value, let rawFrontends = frontends?.value,
            let rawRules = rules?.value, let rawBackends = backends?.value
        else { return nil }
        var frontends: [PolicyConfiguration.Frontend] = []
        for frontend in rawFrontends {
            guard let vip = frontend.vip?.value else { return nil }
            frontends.append(PolicyConfiguration.Frontend(vsid: frontend.vsid.map { UInt32($0.value) }, vip: vip))
        }
        var rules: [PolicyConfiguration.Rule] = []
        for rule in rawRules {
            guard let protocolNumber = rule.protocolNumber?.value, let frontendPort = rule.frontendPort?.value else {
                return nil
            }
            var built = PolicyConfiguration.Rule(
                protocolNumber: protocolNumber, frontendPort: UInt16(frontendPort),
                backendPort: UInt16(rule.backendPort?.value ?? frontendPort))
            if let idleTimeout = rule.idleTimeout { built.idleTimeout = UInt32(idleTimeout.value) }
            if let distribution = rule.loadDistribution { built.loadDistribution = distribution.value }
            built.probe = rule.probe?.value
            rules.append(built)
        }
        var backends: [PolicyConfiguration.Backend] = []
        for backend in rawBackends {
            guard let vsid = backend.vsid?.value, let ca = backend.ca?.value else { return nil }
            var built = PolicyConfiguration.Backend(vsid: UInt32(vsid), ca: ca)
            if let weight = backend.weight { built.weight = UInt32(weight.value) }
            backends.append(built)
        }
        var built = PolicyConfiguration.LoadBalancer(
            name: name, routingDomain: routingDomain, frontends: frontends, rules: rules, backends: backends)
        for probe in probes?.value ?? [] {
            guard let probe = probe.probe() else { return nil }
            built.probes.append(probe)
        }
        return built
    }
}
