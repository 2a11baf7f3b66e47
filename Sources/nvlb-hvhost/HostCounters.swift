import Foundation

/// Why the host dropped a frame; the names follow nvlb's drop reasons (docs/packets.md "Drop reasons") where the
/// meaning is the same.
enum HostDropReason: String, CaseIterable {
    /// Truncated or inconsistent headers, or a frame longer than the receive buffer.
    case malformed
    /// Underlay frame for another MAC or PA (the underlay socket is promiscuous).
    case notForUs = "not_for_us"
    /// EtherType or protocol the host does not carry (IPv6, multicast IPv4, GRE that is not to us…).
    case unsupported
    /// GRE flags, version or protocol not NVGRE's.
    case badGRE = "bad_gre"
    /// Outer IPv4 fragment.
    case fragment
    /// VSID of no VM on this host.
    case unknownVSID = "unknown_vsid"
    /// Inner frame with an 802.1Q tag.
    case innerVLAN = "inner_vlan"
    /// Inner destination MAC of no VM of the VSID.
    case noVM = "no_vm"
    /// Source (outer PA, inner MAC, inner IP) not matching a lookup record nor the gateway.
    case spoofed
    /// Next-hop PA not resolved by ARP in time, or its queue full.
    case neighborUnresolved = "neighbor_unresolved"
    /// The encapsulated frame would exceed the underlay MTU.
    case tooBig = "too_big"
    /// The kernel refused to send.
    case sendFailed = "send_failed"
}

/// The host's counters, written as JSON for the lab's checks.
struct HostCounters {
    var fromUnderlay = 0
    var toUnderlay = 0
    var encapsulated = 0
    var decapsulated = 0
    var arpAnswered = 0
    var arpRequested = 0
    var arpProxied = 0
    var gatewayReturns = 0
    var hairpinned = 0
    /// Delivered inner frames whose IPv4/TCP/UDP checksums are wrong (still delivered: the
    /// VM's kernel drops them; this says why a connection stalls).
    var innerChecksumErrors = 0
    var drops: [HostDropReason: Int] = [:]

    /// Per VM (`VSID/CA`).
    struct VMCounters {
        var framesFromVM = 0
        var framesToVM = 0
        /// Frames delivered whose outer source was the gateway (nvlb).
        var framesFromGateway = 0
        /// TCP connection attempts delivered to the VM (SYN without ACK), by destination port.
        var connectionsIn: [UInt16: Int] = [:]
    }
    var vms: [VMCounters]

    init(vmCount: Int) { vms = Array(repeating: VMCounters(), count: vmCount) }

    mutating func drop(_ reason: HostDropReason) { drops[reason, default: 0] += 1 }

    /// The counters as a JSON object (keys sorted).
    func json(policy: HostPolicy) -> Data {
        var vmObjects: [String: Any] = [:]
        for (index, vm) in policy.vms.enumerated() {
            let counters = vms[index]
            vmObjects[vm.name] = [
                "interface": vm.interface,
                "frames_from_vm": counters.framesFromVM,
                "frames_to_vm": counters.framesToVM,
                "frames_from_gateway": counters.framesFromGateway,
                "tcp_syns_in": Dictionary(
                    uniqueKeysWithValues: counters.connectionsIn.map { (String($0.key), $0.value) }),
            ]
        }
        let object: [String: Any] = [
            "pa": policy.pa.description,
            "frames_from_underlay": fromUnderlay,
            "frames_to_underlay": toUnderlay,
            "encapsulated": encapsulated,
            "decapsulated": decapsulated,
            "arp_answered": arpAnswered,
            "arp_requested": arpRequested,
            "arp_proxied": arpProxied,
            "gateway_returns": gatewayReturns,
            "hairpinned": hairpinned,
            "inner_checksum_errors": innerChecksumErrors,
            "drops": Dictionary(uniqueKeysWithValues: HostDropReason.allCases.map { ($0.rawValue, drops[$0] ?? 0) }),
            "vms": vmObjects,
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
    }
}
