import NVLBWire

/// A validated configuration: plain values, every reference checked, defaults applied.
///
/// `NVLBControl` produces it from the YAML file (docs/configuration.md) and guarantees every
/// validation rule of the spec; `PolicySnapshot(configuration:)` compiles it into the
/// indexes the packet path reads. Field names follow the YAML keys.
public struct PolicyConfiguration: Sendable, Equatable {
    public var balancer: Balancer
    public var underlay: Underlay
    public var external: External?
    public var routingDomains: [RoutingDomain]
    public var loadBalancers: [LoadBalancer]
    /// `bgp:` — announcements to ECMP routers; nil: none (PolicyConfiguration+BGP.swift).
    public var bgp: BGP? = nil

    public init(
        balancer: Balancer, underlay: Underlay, external: External?,
        routingDomains: [RoutingDomain], loadBalancers: [LoadBalancer]
    ) {
        self.balancer = balancer
        self.underlay = underlay
        self.external = external
        self.routingDomains = routingDomains
        self.loadBalancers = loadBalancers
    }

    /// `balancer:` — engine-wide settings.
    public struct Balancer: Sendable, Equatable {
        /// `workers: auto | N`.
        public enum Workers: Sendable, Equatable {
            case auto
            case count(Int)
        }
        public var workers: Workers = .auto
        /// Flow table entries per worker.
        public var flowTableCapacity: Int = 1_048_576
        /// Maglev lookup table size (prime).
        public var maglevTableSize: Int = 65_537
        /// Seed of the flow hash.
        public var hashSeed: UInt32 = 0x6e76_6c62

        public init() {}
    }

    /// `underlay:` — the provider network side.
    public struct Underlay: Sendable, Equatable {
        /// How the NVGRE FlowID of emitted packets is chosen.
        public enum FlowIDMode: String, Sendable, Equatable {
            /// 8-bit hash of the inner 5-tuple.
            case hash
            /// Always 0, for peers that match the whole 32-bit key.
            case zero
        }
        /// How `nvlb run` receives and sends frames (docs/operations.md "I/O backends").
        public enum IOBackend: String, Sendable, Equatable, CaseIterable {
            /// AF_PACKET sockets in a `PACKET_FANOUT` group (the default).
            case pcap
            /// AF_XDP sockets fed by nvlb's XDP program, which steers frames to their flow's owner (docs/afxdp.md).
            case afXDP = "af_xdp"
        }
        public var interface: String?
        /// `io`: the live I/O backend; `nvlb run --io` overrides it.
        public var io: IOBackend = .pcap
        public var address: IPv4Address
        public var mac: MACAddress
        public var gatewayMAC: MACAddress?
        public var neighbors: [Neighbor] = []
        public var mtu: Int = 1500
        public var ttl: UInt8 = 64
        public var flowID: FlowIDMode = .hash
        /// `mss_clamp`: the largest TCP MSS option nvlb lets through in a SYN or SYN-ACK.
        public var mssClamp: MSSClamp = .auto
        /// `icmp_rate`: ICMP "fragmentation needed" messages per second and worker.
        public var icmpRate: Int = 1000

        /// `mss_clamp: auto | off | N` (docs/configuration.md).
        public enum MSSClamp: Sendable, Equatable {
            /// `underlay.mtu` − 42 (NVGRE) − 40 (IPv4 and TCP headers).
            case auto
            /// MSS options pass unchanged.
            case off
            /// This value.
            case value(Int)

            /// The largest MSS whose segments still fit an underlay of `underlayMTU` bytes once
            /// encapsulated: the MTU − 42 (NVGRE, ``GREHeader/encapsulationOverhead``) − 40 (IPv4
            /// and TCP headers without options). What `auto` clamps to, and the bound of a number.
            public static func largest(underlayMTU: Int) -> Int {
                underlayMTU - GREHeader.encapsulationOverhead - IPv4Header.minimumSize - TCPHeader.minimumSize
            }
        }

        /// The MSS clamp in effect: 0 when off.
        public var effectiveMSSClamp: Int {
            switch mssClamp {
            case .auto: MSSClamp.largest(underlayMTU: mtu)
            case .off: 0
            case .value(let value): value
            }
        }

        public init(address: IPv4Address, mac: MACAddress) {
            self.address = address
            self.mac = mac
        }
    }

    /// A static PA → MAC entry.
    public struct Neighbor: Sendable, Equatable {
        public var address: IPv4Address
        public var mac: MACAddress
        public init(address: IPv4Address, mac: MACAddress) {
            self.address = address
            self.mac = mac
        }
    }

    /// `external:` — the non-virtualized side (public VIPs).
    public struct External: Sendable, Equatable {
        /// `nil`: the underlay interface carries external traffic too.
        public var interface: String?
        public var mac: MACAddress
        public var gatewayMAC: MACAddress
        public init(interface: String?, mac: MACAddress, gatewayMAC: MACAddress) {
            self.interface = interface
            self.mac = mac
            self.gatewayMAC = gatewayMAC
        }
    }

    /// HNV policy: (VSID, CA) → (PA of the host, MAC of the VM).
    public struct LookupRecord: Sendable, Equatable {
        public var vsid: UInt32
        public var ca: IPv4Address
        public var pa: IPv4Address
        public var mac: MACAddress
        public init(vsid: UInt32, ca: IPv4Address, pa: IPv4Address, mac: MACAddress) {
            self.vsid = vsid
            self.ca = ca
            self.pa = pa
            self.mac = mac
        }
    }

    /// A tenant's virtual network.
    public struct RoutingDomain: Sendable, Equatable {
        public var name: String
        /// Inner source MAC nvlb uses in this domain's subnets.
        public var gatewayMAC: MACAddress
        public var subnets: [UInt32]
        public var lookupRecords: [LookupRecord]
        /// `probe_source`: the inner source CA of health probes into this domain
        /// (docs/health.md); nil when no load balancer of the domain has probes.
        public var probeSource: IPv4Address?
        public init(name: String, gatewayMAC: MACAddress, subnets: [UInt32], lookupRecords: [LookupRecord]) {
            self.name = name
            self.gatewayMAC = gatewayMAC
            self.subnets = subnets
            self.lookupRecords = lookupRecords
        }
    }

    /// A VIP address: external (public, no VSID) or internal (`vsid` set, a CA VIP).
    public struct Frontend: Sendable, Equatable {
        public var vsid: UInt32?
        public var vip: IPv4Address
        public init(vsid: UInt32?, vip: IPv4Address) {
            self.vsid = vsid
            self.vip = vip
        }
    }

    /// How the flow hash selects a DIP (SDN SLB names).
    public enum LoadDistribution: String, Sendable, Equatable, CaseIterable {
        /// Protocol, client IP/port, VIP/port, VSID.
        case fiveTuple = "five_tuple"
        /// Client IP and VIP.
        case sourceIP = "source_ip"
        /// Client IP, VIP and protocol.
        case sourceIPProtocol = "source_ip_protocol"
    }

    public struct Rule: Sendable, Equatable {
        public var protocolNumber: TransportProtocol
        public var frontendPort: UInt16
        public var backendPort: UInt16
        /// Seconds.
        public var idleTimeout: UInt32 = 240
        public var loadDistribution: LoadDistribution = .fiveTuple
        /// `probe`: name of a probe of the load balancer; its DIPs that fail it take no new flows.
        public var probe: String?
        public init(
            protocolNumber: TransportProtocol, frontendPort: UInt16, backendPort: UInt16,
            idleTimeout: UInt32 = 240, loadDistribution: LoadDistribution = .fiveTuple
        ) {
            self.protocolNumber = protocolNumber
            self.frontendPort = frontendPort
            self.backendPort = backendPort
            self.idleTimeout = idleTimeout
            self.loadDistribution = loadDistribution
        }
    }

    public struct Backend: Sendable, Equatable {
        public var vsid: UInt32
        public var ca: IPv4Address
        /// 0–1000; 0 drains the DIP.
        public var weight: UInt32 = 1
        public init(vsid: UInt32, ca: IPv4Address, weight: UInt32 = 1) {
            self.vsid = vsid
            self.ca = ca
            self.weight = weight
        }
    }

    public struct LoadBalancer: Sendable, Equatable {
        public var name: String
        /// Name of a routing domain.
        public var routingDomain: String
        public var frontends: [Frontend]
        public var rules: [Rule]
        public var backends: [Backend]
        /// `probes`: health checks rules refer to by name (docs/health.md).
        public var probes: [Probe] = []
        public init(name: String, routingDomain: String, frontends: [Frontend], rules: [Rule], backends: [Backend]) {
            self.name = name
            self.routingDomain = routingDomain
            self.frontends = frontends
            self.rules = rules
            self.backends = backends
        }
    }
}
