import NVLBWire
import NVLBPolicy
import NVLBBalancing
/// What the first stage of the pipeline learned about a frame: enough to pick its
/// flow-table bucket (so a batch can prefetch before the second stage) and to
/// finish without parsing again.
@frozen
public struct Classification {
    @frozen
    public enum Kind: UInt8 {
        /// Finished in the first stage: see `verdict`.
        case done
        /// Plain IPv4 from the Internet to a public VIP (docs/packets.md "External client to public VIP").
        case externalRequest
        /// NVGRE from a tenant VM to a CA VIP (docs/packets.md "Internal client to CA VIP").
        case internalRequest
        /// NVGRE from a DIP toward a client (docs/packets.md "Packet paths").
        case reply
        /// NVGRE from a DIP to its routing domain's `probe_source`: a health probe
        /// reply for the prober (docs/health.md).
        case probeReply
        /// An ICMP error from the client's side about a packet nvlb sent to the client
        /// (docs/packets.md "ICMP and path MTU"). The flow fields are the quoted packet's
        /// seen as a request (source = client), `ip`/`transport` locate the ICMP packet.
        case clientICMPError
        /// An ICMP error from a DIP's side about a packet nvlb forwarded to it. The flow
        /// fields are the quoted packet's seen as a reply (source = DIP).
        case backendICMPError
    }

    public var kind: Kind = .done
    /// The outcome when `kind == .done`.
    public var verdict: Verdict = .drop(.malformed)
    /// Offset of the (inner) Ethernet header from the packet start.
    public var ethernet: Int = 0
    /// Offset of the (inner) IPv4 header from the packet start.
    public var ip: Int = 0
    /// Offset of the TCP/UDP header from the packet start.
    public var transport: Int = 0
    /// Inner IPv4 total length.
    public var ipLength: Int = 0
    /// VSID of the received NVGRE packet; 0 for plain IPv4.
    public var vsid: UInt32 = 0
    public var protocolNumber: UInt8 = 0
    public var tcpFlags: UInt8 = 0
    public var source: UInt32 = 0
    public var destination: UInt32 = 0
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    /// Flow hash of (protocol, client IP, client port): bucket and owner worker.
    public var hash: UInt32 = 0
    /// Listener (frontend × rule) of a request.
    public var listener: Int32 = -1
    /// Lookup record of the internal client (request) or of the DIP (reply).
    public var record: Int32 = -1

    @inlinable
    public init() {}

    /// Marks the frame finished in classification with `verdict`.
    @inlinable @inline(__always)
    mutating func finish(_ verdict: Verdict) {
        kind = .done
        self.verdict = verdict
    }
}
