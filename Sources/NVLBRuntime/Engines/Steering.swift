import NVLBDataplane

/// Which worker owns a flow (docs/architecture.md "Steering and hand-offs").
///
/// The owner is a function of the flow hash, which covers protocol and the client's
/// address and port — the half of a connection that NAT leaves unchanged: a request
/// (client → VIP) and its reply (DIP → client) carry the same client IP and port,
/// so both directions land on the same worker while the server half differs. The
/// high bits of the hash pick the worker (multiply-shift), leaving the low bits,
/// which pick the flow-table bucket, independent of the choice.
public enum Steering {
    /// The owner of a flow with `hash` among `workers` workers.
    @inlinable @inline(__always)
    public static func owner(hash: UInt32, workers: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(hash) &* UInt64(workers)) >> 32)
    }

    /// The owner of a classified frame, or nil when the frame needs no flow state
    /// (finished in classification: drops, ARP answers) and any worker may finish it.
    @inlinable @inline(__always)
    public static func owner(of classification: Classification, workers: Int) -> Int? {
        classification.kind == .done ? nil : owner(hash: classification.hash, workers: workers)
    }
}

/// How a received frame is spread over workers before nvlb knows its flow, as a
/// NIC's receive-side scaling or a `PACKET_FANOUT_HASH` group would do: a hash of
/// the outer IPv4 addresses, symmetric in source and destination. It does not
/// follow NAT (a request and its reply have different outer addresses), which is
/// why workers hand frames to the flow's owner.
public enum ReceiveSideScaling {
    /// The receiving worker for a frame.
    @inlinable
    public static func worker(frame p: UnsafeRawPointer, length: Int, workers: Int) -> Int {
        guard workers > 1, length >= 34, p.load(fromByteOffset: 12, as: UInt16.self) == UInt16(0x0800).bigEndian else {
            return 0
        }
        let a = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 26, as: UInt32.self))
        let b = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 30, as: UInt32.self))
        var h = UInt64(min(a, b)) << 32 | UInt64(max(a, b))
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return Steering.owner(hash: UInt32(truncatingIfNeeded: h >> 32), workers: workers)
    }
}
