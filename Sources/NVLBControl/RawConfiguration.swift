import NVLBPolicy
import NVLBWire
import Yams

/// The configuration file as written: every section of docs/configuration.md with each value's position,
/// before semantic validation and defaults.
///
/// Reading never fails: a value that is missing or of the wrong type is reported and left
/// `nil` (a list element that is not a mapping is left out), so that validation can still
/// check everything else. Only a file with no diagnostics is turned into a
/// `PolicyConfiguration`, and then every required value is present.
struct RawConfiguration {
    static let keys = ["balancer", "underlay", "external", "routing_domains", "load_balancers", "management", "bgp"]

    var position: SourcePosition
    var balancer: RawBalancer
    var underlay: RawUnderlay?
    var external: RawExternal?
    var routingDomains: Located<[RawRoutingDomain]>?
    var loadBalancers: Located<[RawLoadBalancer]>?
    /// `management:` (docs/management.md); read here so that its errors are reported with the rest.
    var management: RawManagement?
    var bgp: RawBGP?

    /// Reads the document root; `nil` (reported) when the root is not a mapping.
    init?(root: Node, reader: YAMLReader) {
        guard let map = reader.mapping(root, path: "", keys: Self.keys) else { return nil }
        position = map.position
        balancer = RawBalancer(map.mapping("balancer", keys: RawBalancer.keys), parent: map)
        underlay = map.mapping("underlay", required: true, keys: RawUnderlay.keys).map(RawUnderlay.init)
        external = map.mapping("external", keys: RawExternal.keys).map(RawExternal.init)
        routingDomains = map.list(
            "routing_domains", required: true, keys: RawRoutingDomain.keys, element: RawRoutingDomain.init)
        loadBalancers = map.list(
            "load_balancers", required: true, keys: RawLoadBalancer.keys, element: RawLoadBalancer.init)
        management = map.mapping("management", keys: RawManagement.keys).map(RawManagement.init)
        bgp = map.mapping("bgp", keys: RawBGP.keys).map(RawBGP.init)
    }
}

/// `balancer:` (optional as a whole: every key has a default).
struct RawBalancer {
    static let keys = ["workers", "flow_table_capacity", "maglev_table_size", "hash_seed"]

    /// The `balancer:` mapping if written, else the document root.
    var position: SourcePosition
    var path: String
    /// `.count` is not range-checked yet.
    var workers: Located<PolicyConfiguration.Balancer.Workers>?
    var flowTableCapacity: Located<Int>?
    var maglevTableSize: Located<Int>?
    var hashSeed: Located<Int>?

    init(_ map: MappingReader?, parent: MappingReader) {
        position = map?.position ?? parent.position
        path = parent.path("balancer")
        workers = map?.read("workers", Self.readWorkers)
        flowTableCapacity = map?.integer("flow_table_capacity")
        maglevTableSize = map?.integer("maglev_table_size")
        hashSeed = map?.integer("hash_seed")
    }

    /// `auto` or an integer.
    private static func readWorkers(_ reader: YAMLReader) -> (Node, String) -> Located<
        PolicyConfiguration.Balancer.Workers
    >? {
        { node, path in
            let position = SourcePosition(node.mark)
            if case .scalar(let scalar) = node {
                if scalar.string == "auto" { return Located(value: .auto, position: position, path: path) }
                if let count = Int.construct(from: scalar) {
                    return Located(value: .count(count), position: position, path: path)
                }
            }
            reader.report("expected 'auto' or a number of workers, found \(YAMLReader.describe(node))", node, path)
            return nil
        }
    }
}

/// `underlay:` — the provider network side.
struct RawUnderlay {
    static let keys = [
        "interface", "io", "address", "mac", "gateway_mac", "neighbors", "mtu", "ttl", "flow_id", "mss_clamp",
        "icmp_rate",
    ]

    var position: SourcePosition
    var path: String
    var interface: Located<String>?
    var io: Located<PolicyConfiguration.Underlay.IOBackend>?
    var address: Located<IPv4Address>?
    var mac: Located<MACAddress>?
    var gatewayMAC: Located<MACAddress>?
    var neighbors: Located<[RawNeighbor]>?
    var mtu: Located<Int>?
    var ttl: Located<Int>?
    var flowID: Located<PolicyConfiguration.Underlay.FlowIDMode>?
    /// `.value` is not range-checked yet.
    var mssClamp: Located<PolicyConfiguration.Underlay.MSSClamp>?
    var icmpRate: Located<Int>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        interface = map.string("interface")
        io = map.choice("io", options: [("pcap", .pcap), ("af_xdp", .afXDP)])
        address = map.ipv4("address", required: true)
        mac = map.mac("mac", required: true)
        gatewayMAC = map.mac("gateway_mac")
        neighbors = map.list("neighbors", keys: RawNeighbor.keys, element: RawNeighbor.init)
        mtu = map.integer("mtu")
        ttl = map.integer("ttl")
        flowID = map.choice("flow_id", options: [("hash", .hash), ("zero", .zero)])
        mssClamp = map.read("mss_clamp", Self.readMSSClamp)
        icmpRate = map.integer("icmp_rate")
    }

    /// `auto`, `off` or an integer.
    private static func readMSSClamp(_ reader: YAMLReader) -> (Node, String) -> Located<
        PolicyConfiguration.Underlay.MSSClamp
    >? {
        { node, path in
            let position = SourcePosition(node.mark)
            if case .scalar(let scalar) = node {
                if scalar.string == "auto" { return Located(value: .auto, position: position, path: path) }
                if scalar.string == "off" { return Located(value: .off, position: position, path: path) }
                if let value = Int.construct(from: scalar) {
                    return Located(value: .value(value), position: position, path: path)
                }
            }
            reader.report("expected 'auto', 'off' or an MSS in bytes, found \(YAMLReader.describe(node))", node, path)
            return nil
        }
    }
}

/// `underlay.neighbors[i]` — a static PA → MAC entry.
struct RawNeighbor {
    static let keys = ["address", "mac"]

    var position: SourcePosition
    var path: String
    var address: Located<IPv4Address>?
    var mac: Located<MACAddress>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        address = map.ipv4("address", required: true)
        mac = map.mac("mac", required: true)
    }
}

/// `external:` — the non-virtualized side.
struct RawExternal {
    static let keys = ["interface", "mac", "gateway_mac"]

    var position: SourcePosition
    var path: String
    var interface: Located<String>?
    var mac: Located<MACAddress>?
    var gatewayMAC: Located<MACAddress>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        interface = map.string("interface")
        mac = map.mac("mac", required: true)
        gatewayMAC = map.mac("gateway_mac", required: true)
    }
}

/// `routing_domains[i]` — a tenant's virtual network.
struct RawRoutingDomain {
    static let keys = ["name", "gateway_mac", "subnets", "lookup_records", "probe_source"]

    var position: SourcePosition
    var path: String
    var name: Located<String>?
    var gatewayMAC: Located<MACAddress>?
    var subnets: Located<[Located<Int>]>?
    /// Empty when the key is absent.
    var lookupRecords: [RawLookupRecord]
    var probeSource: Located<IPv4Address>?
    /// Whether `probe_source` was written (even if unreadable, which is reported already).
    var hasProbeSource: Bool

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        name = map.string("name", required: true)
        gatewayMAC = map.mac("gateway_mac", required: true)
        subnets = map.node("subnets", required: true).flatMap { node in
            map.reader.list(node, path: map.path("subnets"), element: map.reader.integer(_:path:))
        }
        lookupRecords =
            map.list("lookup_records", keys: RawLookupRecord.keys, element: RawLookupRecord.init)?.value ?? []
        probeSource = map.ipv4("probe_source")
        hasProbeSource = map.node("probe_source") != nil
    }
}

/// `routing_domains[i].lookup_records[j]` — (VSID, CA) → (PA, MAC).
struct RawLookupRecord {
    static let keys = ["vsid", "ca", "pa", "mac"]

    var position: SourcePosition
    var path: String
    var vsid: Located<Int>?
    var ca: Located<IPv4Address>?
    var pa: Located<IPv4Address>?
    var mac: Located<MACAddress>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        vsid = map.integer("vsid", required: true)
        ca = map.ipv4("ca", required: true)
        pa = map.ipv4("pa", required: true)
        mac = map.mac("mac", required: true)
    }
}

/// `load_balancers[i]`.
struct RawLoadBalancer {
    static let keys = ["name", "routing_domain", "frontends", "rules", "backends", "probes"]

    var position: SourcePosition
    var path: String
    var name: Located<String>?
    var routingDomain: Located<String>?
    var frontends: Located<[RawFrontend]>?
    var rules: Located<[RawRule]>?
    var backends: Located<[RawBackend]>?
    var probes: Located<[RawProbe]>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        name = map.string("name", required: true)
        routingDomain = map.string("routing_domain", required: true)
        frontends = map.list("frontends", required: true, keys: RawFrontend.keys, element: RawFrontend.init)
        rules = map.list("rules", required: true, keys: RawRule.keys, element: RawRule.init)
        backends = map.list("backends", required: true, keys: RawBackend.keys, element: RawBackend.init)
        probes = map.list("probes", keys: RawProbe.keys, element: RawProbe.init)
    }
}

/// `load_balancers[i].frontends[j]` — external without `vsid`, internal (CA VIP) with it.
struct RawFrontend {
    static let keys = ["vsid", "vip"]

    var position: SourcePosition
    var path: String
    var vsid: Located<Int>?
    var vip: Located<IPv4Address>?
    /// Whether `vsid` was written (even if unreadable): decides external vs internal.
    var isInternal: Bool

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        isInternal = map.node("vsid") != nil
        vsid = map.integer("vsid")
        vip = map.ipv4("vip", required: true)
    }
}

/// `load_balancers[i].rules[j]`.
struct RawRule {
    static let keys = ["protocol", "frontend_port", "backend_port", "idle_timeout", "load_distribution", "probe"]

    var position: SourcePosition
    var path: String
    var protocolNumber: Located<TransportProtocol>?
    var frontendPort: Located<Int>?
    var backendPort: Located<Int>?
    var idleTimeout: Located<Int>?
    var loadDistribution: Located<PolicyConfiguration.LoadDistribution>?
    var probe: Located<String>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        probe = map.string("probe")
        if let node = map.node("protocol", required: true) {
            protocolNumber = map.reader.choice(
                node, path: map.path("protocol"), options: TransportProtocol.allCases.map { ($0.description, $0) })
        }
        frontendPort = map.integer("frontend_port", required: true)
        backendPort = map.integer("backend_port")
        idleTimeout = map.integer("idle_timeout")
        loadDistribution = map.choice(
            "load_distribution", options: PolicyConfiguration.LoadDistribution.allCases.map { ($0.rawValue, $0) })
    }
}

/// `load_balancers[i].backends[j]` — a DIP.
struct RawBackend {
    static let keys = ["vsid", "ca", "weight"]

    var position: SourcePosition
    var path: String
    var vsid: Located<Int>?
    var ca: Located<IPv4Address>?
    var weight: Located<Int>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        vsid = map.integer("vsid", required: true)
        ca = map.ipv4("ca", required: true)
        weight = map.integer("weight")
    }
}
