import NVLBWire
import NVLBPolicy
import NVLBBalancing
/// Why a frame was dropped (docs/packets.md "Drop reasons"). The `name` of each case is stable: it is the
/// stats JSON key and the metric label.
@frozen
public enum DropReason: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    /// Truncated, or inconsistent lengths or header fields.
    case malformed
    /// Destination MAC or IP is not nvlb's.
    case notForUs
    /// Ethertype, protocol or packet kind nvlb does not handle (IPv6, outer VLAN, ICMP other than
    /// echo requests and the errors of docs/packets.md "ICMP and path MTU", …).
    case unsupported
    /// GRE flags, version or protocol type wrong for NVGRE.
    case badGRE
    /// VSID 0x000000–0x000FFF or 0xFFFFFF.
    case reservedVSID
    /// VSID not configured in any routing domain.
    case unknownVSID
    /// Inner frame carries an 802.1Q/802.1ad tag.
    case innerVLAN
    /// Outer fragment, or inner non-first fragment.
    case fragment
    /// Source PA or MAC does not match the lookup record of the source CA.
    case spoofed
    /// No frontend for the destination address.
    case noVIP
    /// The VIP is known but not the protocol/port.
    case noRule
    /// Every DIP of the rule has weight 0.
    case noBackend
    /// A reply without flow state that policy cannot attribute to exactly one flow.
    case noFlow
    /// The flow table had no room; the packet was still forwarded statelessly.
    case flowTableFull
    /// Would exceed `underlay.mtu` after encapsulation.
    case tooBig
    /// No MAC for the next hop yet.
    case neighborUnresolved

    /// Number of reasons.
    public static let count = allCases.count

    /// The stable name (`no_vip`, `bad_gre`, …).
    public var name: String {
        switch self {
        case .malformed: "malformed"
        case .notForUs: "not_for_us"
        case .unsupported: "unsupported"
        case .badGRE: "bad_gre"
        case .reservedVSID: "reserved_vsid"
        case .unknownVSID: "unknown_vsid"
        case .innerVLAN: "inner_vlan"
        case .fragment: "fragment"
        case .spoofed: "spoofed"
        case .noVIP: "no_vip"
        case .noRule: "no_rule"
        case .noBackend: "no_backend"
        case .noFlow: "no_flow"
        case .flowTableFull: "flow_table_full"
        case .tooBig: "too_big"
        case .neighborUnresolved: "neighbor_unresolved"
        }
    }

    public var description: String { name }
}
