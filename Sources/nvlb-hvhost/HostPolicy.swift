import NVLBPolicy
import NVLBWire

/// What one emulated Hyper-V host knows: the HNV policy of the nvlb configuration (routing
/// domains, lookup records), its own PA and MAC, the gateway (nvlb) and the VMs it hosts.
struct HostPolicy {
    /// A VM on this host: one lookup record of this host's PA, attached to one interface.
    struct VM {
        /// The VM's virtual subnet.
        var vsid: UInt32
        /// The VM's customer address.
        var ca: IPv4Address
        /// The VM's MAC (from its lookup record).
        var mac: MACAddress
        /// The host-side interface (veth or tap) the VM's frames come in on.
        var interface: String
        /// Index into `domains`.
        var domain: Int
        /// `VSID/CA`, as nvlb's statistics name a DIP.
        var name: String { "\(vsid)/\(ca)" }
    }

    /// A tenant's routing domain.
    struct Domain {
        var name: String
        /// The inner MAC of the domain's gateway: what the ARP proxy answers for off-VM
        /// addresses, and nvlb's inner source MAC.
        var gatewayMAC: MACAddress
    }

    /// Key of a lookup record inside one routing domain (CAs are unique per domain).
    struct RecordKey: Hashable {
        var domain: Int
        var ca: IPv4Address
    }

    /// This host's provider address.
    var pa: IPv4Address
    /// This host's MAC on the underlay.
    var mac: MACAddress
    /// The gateway's (nvlb's) PA: `underlay.address`.
    var gatewayPA: IPv4Address
    /// The gateway's MAC on the underlay: `underlay.mac`.
    var gatewayUnderlayMAC: MACAddress
    /// Largest outer IPv4 datagram this host sends (the underlay MTU).
    var mtu: Int
    var domains: [Domain]
    var domainOfVSID: [UInt32: Int]
    var records: [RecordKey: PolicyConfiguration.LookupRecord]
    var vms: [VM]
    /// Static PA → MAC entries (`underlay.neighbors`, and the gateway).
    var staticNeighbors: [IPv4Address: MACAddress]

    /// A `--vm` argument: `VSID:CA:INTERFACE`.
    struct VMArgument {
        var vsid: UInt32
        var ca: IPv4Address
        var interface: String

        init?(_ text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, let vsid = UInt32(parts[0]), let ca = IPv4Address(parts[1]), !parts[2].isEmpty
            else { return nil }
            self.vsid = vsid
            self.ca = ca
            self.interface = String(parts[2])
        }
    }

    /// Derives the host's view; every inconsistency with the configuration is a message.
    init(
        configuration: PolicyConfiguration, pa: IPv4Address, mac: MACAddress, vms arguments: [VMArgument],
        gatewayPA: IPv4Address?, gatewayMAC: MACAddress?, mtu: Int
    ) throws(HostPolicyError) {
        self.pa = pa
        self.mac = mac
        self.gatewayPA = gatewayPA ?? configuration.underlay.address
        self.gatewayUnderlayMAC = gatewayMAC ?? configuration.underlay.mac
        self.mtu = mtu
        domains = []
        domainOfVSID = [:]
        records = [:]
        for (index, domain) in configuration.routingDomains.enumerated() {
            domains.append(Domain(name: domain.name, gatewayMAC: domain.gatewayMAC))
            for vsid in domain.subnets { domainOfVSID[vsid] = index }
            for record in domain.lookupRecords { records[RecordKey(domain: index, ca: record.ca)] = record }
        }
        var neighbors: [IPv4Address: MACAddress] = [:]
        for neighbor in configuration.underlay.neighbors { neighbors[neighbor.address] = neighbor.mac }
        neighbors[self.gatewayPA] = gatewayUnderlayMAC
        staticNeighbors = neighbors

        vms = []
        var interfaces: Set<String> = []
        for argument in arguments {
            guard let domain = domainOfVSID[argument.vsid] else {
                throw HostPolicyError(
                    "--vm \(argument.vsid):\(argument.ca): VSID \(argument.vsid) is in no routing domain")
            }
            guard let record = records[RecordKey(domain: domain, ca: argument.ca)], record.vsid == argument.vsid
            else {
                throw HostPolicyError(
                    "--vm \(argument.vsid):\(argument.ca): no lookup record for this VSID and CA")
            }
            guard record.pa == pa else {
                throw HostPolicyError(
                    "--vm \(argument.vsid):\(argument.ca): its lookup record names PA \(record.pa), not this host's \(pa)"
                )
            }
            guard interfaces.insert(argument.interface).inserted else {
                throw HostPolicyError("--vm: interface \(argument.interface) is given twice")
            }
            vms.append(
                VM(vsid: argument.vsid, ca: argument.ca, mac: record.mac, interface: argument.interface, domain: domain)
            )
        }
    }

    /// The lookup record of `ca` in routing domain `domain`.
    func record(domain: Int, ca: IPv4Address) -> PolicyConfiguration.LookupRecord? {
        records[RecordKey(domain: domain, ca: ca)]
    }
}

/// An inconsistency between the command line and the configuration.
struct HostPolicyError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
