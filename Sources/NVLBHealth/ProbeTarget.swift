import NVLBPolicy
import NVLBWire

/// One DIP under one probe: what to send, where, and how often (docs/health.md).
public struct ProbeTarget: Sendable, Equatable {
    /// Identity, as in `HealthState` and log lines.
    public var key: HealthState.Target
    public var kind: PolicyConfiguration.Probe.Kind
    /// DIP port probed.
    public var port: UInt16
    /// HTTP request path.
    public var path: String
    /// Nanoseconds.
    public var interval: UInt64
    /// Nanoseconds.
    public var timeout: UInt64
    public var rise: UInt32
    public var fall: UInt32
    public var addressing: Addressing

    /// The headers of a probe frame, as for a request nvlb forwards to the DIP
    /// (docs/packets.md): outer from nvlb's PA to the DIP's host in the DIP's VSID,
    /// inner from `probe_source` and the domain's gateway MAC to the DIP.
    public struct Addressing: Sendable, Equatable {
        public var vsid: UInt32
        public var dip: IPv4Address
        public var dipMAC: MACAddress
        public var hostPA: IPv4Address
        /// Static neighbour or `underlay.gateway_mac` toward `hostPA`; nil when neither.
        public var nextHopMAC: MACAddress?
        public var probeSource: IPv4Address
        public var gatewayMAC: MACAddress
        public var underlayAddress: IPv4Address
        public var underlayMAC: MACAddress
        public var ttl: UInt8
        /// `underlay.flow_id: hash` (else 0), with the flow hash seed.
        public var flowIDSeed: UInt32?

        public init(
            vsid: UInt32, dip: IPv4Address, dipMAC: MACAddress, hostPA: IPv4Address, nextHopMAC: MACAddress?,
            probeSource: IPv4Address, gatewayMAC: MACAddress, underlayAddress: IPv4Address,
            underlayMAC: MACAddress, ttl: UInt8, flowIDSeed: UInt32?
        ) {
            self.vsid = vsid
            self.dip = dip
            self.dipMAC = dipMAC
            self.hostPA = hostPA
            self.nextHopMAC = nextHopMAC
            self.probeSource = probeSource
            self.gatewayMAC = gatewayMAC
            self.underlayAddress = underlayAddress
            self.underlayMAC = underlayMAC
            self.ttl = ttl
            self.flowIDSeed = flowIDSeed
        }
    }

    public init(
        key: HealthState.Target, kind: PolicyConfiguration.Probe.Kind, port: UInt16, path: String,
        interval: UInt64, timeout: UInt64, rise: UInt32, fall: UInt32, addressing: Addressing
    ) {
        self.key = key
        self.kind = kind
        self.port = port
        self.path = path
        self.interval = interval
        self.timeout = timeout
        self.rise = rise
        self.fall = fall
        self.addressing = addressing
    }

    /// Every (DIP, probe) pair of `snapshot`'s configuration whose probe a rule uses, in
    /// configuration order. A probe without `port` probes the backend port of its rules
    /// (validation guarantees they agree).
    public static func all(in snapshot: PolicySnapshot) -> [ProbeTarget] {
        let configuration = snapshot.configuration
        let underlay = configuration.underlay
        var targets: [ProbeTarget] = []
        for lb in configuration.loadBalancers where !lb.probes.isEmpty {
            guard let domain = configuration.routingDomains.first(where: { $0.name == lb.routingDomain }),
                let probeSource = domain.probeSource
            else { continue }
            for probe in lb.probes {
                guard let rule = lb.rules.first(where: { $0.probe == probe.name }) else { continue }
                let port = probe.port ?? rule.backendPort
                for backend in lb.backends {
                    guard let index = snapshot.record(vsid: backend.vsid, ca: backend.ca.rawValue) else { continue }
                    let record = snapshot.records[index]
                    let addressing = Addressing(
                        vsid: backend.vsid, dip: backend.ca, dipMAC: MACAddress(rawValue: record.mac),
                        hostPA: IPv4Address(rawValue: record.pa),
                        nextHopMAC: record.nextHopMAC == 0 ? nil : MACAddress(rawValue: record.nextHopMAC),
                        probeSource: probeSource, gatewayMAC: domain.gatewayMAC, underlayAddress: underlay.address,
                        underlayMAC: underlay.mac, ttl: underlay.ttl,
                        flowIDSeed: underlay.flowID == .hash ? configuration.balancer.hashSeed : nil)
                    targets.append(
                        ProbeTarget(
                            key: HealthState.Target(
                                loadBalancer: lb.name, probe: probe.name, vsid: backend.vsid, ca: backend.ca),
                            kind: probe.kind, port: port, path: probe.path,
                            interval: UInt64(probe.interval) * 1_000_000_000,
                            timeout: UInt64(probe.timeout) * 1_000_000_000, rise: probe.rise, fall: probe.fall,
                            addressing: addressing))
                }
            }
        }
        return targets
    }
}
