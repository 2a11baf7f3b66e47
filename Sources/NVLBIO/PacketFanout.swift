import CNVLBShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A `PACKET_FANOUT` group membership (packet(7)): sockets of one process that join the same
/// group on one interface share its received frames, each frame delivered to one member.
///
/// nvlb uses ``Mode/hash``: the kernel's flow hash (`skb_get_hash`), which is symmetric for
/// the two directions of one 5-tuple (the flow dissector orders addresses and ports before
/// hashing), so a plain-IPv4 flow's request and reply reach the same worker. It is *not*
/// symmetric across nvlb's NAT (client→VIP and DIP→client are different tuples), nor for
/// NVGRE, where the dissector follows GRE/TEB into the inner frame and mixes in the GRE key
/// (VSID and FlowID, which differ per direction): those packets reach a worker that may not
/// own the flow, and the engine hands them to the owner (docs/architecture.md "Steering and hand-offs", the `handoffs` counter).
public struct PacketFanout: Hashable, Sendable {
    /// How the kernel picks the member for a frame (`PACKET_FANOUT_*`).
    public enum Mode: UInt16, Hashable, Sendable {
        /// `PACKET_FANOUT_HASH`: by the skb flow hash (symmetric per 5-tuple).
        case hash = 0
        /// `PACKET_FANOUT_LB`: round robin.
        case roundRobin = 1
        /// `PACKET_FANOUT_CPU`: by the CPU that received the frame.
        case cpu = 2
        /// `PACKET_FANOUT_ROLLOVER`: fill one member, then the next.
        case rollover = 3
        /// `PACKET_FANOUT_RND`: random.
        case random = 4
        /// `PACKET_FANOUT_QM`: by the NIC's receive queue.
        case queueMapping = 5
    }

    /// Group identifier, unique per interface and network namespace (16 bits).
    public var groupID: UInt16
    /// Distribution mode.
    public var mode: Mode
    /// `PACKET_FANOUT_FLAG_DEFRAG`: reassemble IP fragments before hashing. Off for nvlb:
    /// outer fragments are dropped (`fragment`), and reassembly in the kernel would hide them.
    public var defragment: Bool
    /// `PACKET_FANOUT_FLAG_ROLLOVER`: spill to another member when the chosen one's ring is
    /// full (breaks flow affinity under overload; off by default).
    public var rolloverOnOverload: Bool

    /// A membership of group `groupID` with `mode` (default hash), defragmentation and
    /// rollover off.
    public init(groupID: UInt16, mode: Mode = .hash, defragment: Bool = false, rolloverOnOverload: Bool = false) {
        self.groupID = groupID
        self.mode = mode
        self.defragment = defragment
        self.rolloverOnOverload = rolloverOnOverload
    }

    /// The flags half of the `PACKET_FANOUT` argument.
    var flags: UInt16 {
        (defragment ? UInt16(NVLB_FANOUT_FLAG_DEFRAG) : 0)
            | (rolloverOnOverload ? UInt16(NVLB_FANOUT_FLAG_ROLLOVER) : 0)
    }
}
