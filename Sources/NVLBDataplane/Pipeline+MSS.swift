import NVLBPolicy
import NVLBWire

extension DataplaneWorker {
    /// MSS clamping (docs/packets.md "ICMP and path MTU"): lowers the MSS option of a TCP
    /// SYN or SYN-ACK nvlb forwards to `underlay.mss_clamp`, so that neither end sends a
    /// segment that does not fit once encapsulated. Costs one flag test on other segments.
    @inlinable @inline(__always)
    mutating func clampMSS(_ p: UnsafeMutableRawPointer, _ c: Classification, snapshot s: PolicySnapshot) {
        guard c.tcpFlags & TCPFlags.syn.rawValue != 0, c.protocolNumber == TransportProtocol.tcp.rawValue,
            s.mssClamp != 0
        else { return }
        clampMSSSlow(p, c, snapshot: s)
    }

    @inlinable @inline(never)
    mutating func clampMSSSlow(_ p: UnsafeMutableRawPointer, _ c: Classification, snapshot s: PolicySnapshot) {
        let segment = p + c.transport
        let headerLength = TCPHeader(segment).headerLength
        // A SYN that is a first fragment may carry fewer header bytes than announced.
        let available = c.ip + c.ipLength - c.transport
        if TCPOptions.clampMSS(segment, headerLength: headerLength, available: available, to: s.mssClamp) {
            counters.add(.mssClamped)
        }
    }
}
