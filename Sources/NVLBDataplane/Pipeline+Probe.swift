import NVLBPolicy
import NVLBWire

extension DataplaneWorker {
    /// True when a frame from a DIP (sender already checked against its lookup record) is
    /// addressed to its routing domain's `probe_source`: a health probe reply
    /// (docs/health.md). One load and compare on the reply path.
    @inlinable @inline(__always)
    static func isProbeReply(_ c: Classification, domain: Int32, snapshot s: PolicySnapshot) -> Bool {
        let source = s.domains[Int(domain)].probeSource
        return source != 0 && c.destination == source
    }

    /// Hands a probe reply to the prober (live mode) or discards it (offline modes, or a
    /// full queue, counted by the queue): it is answered by nvlb, nothing leaves.
    @usableFromInline
    func deliverProbeReply(_ packet: Packet) -> Verdict {
        if let queue = probeReplies { _ = queue.enqueue(UnsafeRawPointer(packet.bytes), length: packet.length) }
        return .consumed
    }
}
