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
/// own the flow, and the engine hands them to the owner (SPEC §6, `handoffs`).
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

/// The AF_PACKET, `setsockopt`, `sendmmsg` and `setns` calls of NVLBIO, each one thin
/// wrapper over a `CNVLBShims` function (which returns -errno instead of setting errno).
package enum PacketSocketCalls {
    /// `if_nametoindex`; nil when there is no such interface.
    package static func interfaceIndex(_ name: String) -> Int32? {
        let index = nvlb_interface_index(name)
        return index == 0 ? nil : Int32(bitPattern: index)
    }

    /// A send-only AF_PACKET raw socket bound to `ifindex`: descriptor or errno.
    static func openSendSocket(interfaceIndex: Int32) -> Result<Int32, Errno> {
        let result = nvlb_packet_socket_open(interfaceIndex)
        return result >= 0 ? .success(result) : .failure(Errno(-result))
    }

    /// `PACKET_QDISC_BYPASS`.
    static func setQdiscBypass(_ descriptor: Int32, _ on: Bool) -> Errno? {
        Errno.check(nvlb_packet_socket_set_qdisc_bypass(descriptor, on ? 1 : 0))
    }

    /// `SO_SNDBUF`, or `SO_SNDBUFFORCE` (root: beyond `wmem_max`).
    static func setSendBuffer(_ descriptor: Int32, bytes: Int32, force: Bool) -> Errno? {
        Errno.check(nvlb_socket_set_send_buffer(descriptor, bytes, force ? 1 : 0))
    }

    /// `setsockopt(SOL_PACKET, PACKET_FANOUT, id | (mode | flags) << 16)`.
    static func joinFanout(_ descriptor: Int32, _ fanout: PacketFanout) -> Errno? {
        Errno.check(nvlb_packet_fanout_join(descriptor, fanout.groupID, fanout.mode.rawValue, fanout.flags))
    }

    /// `sendmmsg(fd, messages, count, flags)`: frames sent, or errno.
    @inline(__always)
    static func sendMultiple(
        _ descriptor: Int32, _ messages: UnsafeMutablePointer<nvlb_mmsghdr>, _ count: Int, flags: Int32
    ) -> Int {
        Int(nvlb_sendmmsg(descriptor, messages, UInt32(truncatingIfNeeded: count), flags))
    }

    /// `MSG_DONTWAIT`.
    static let dontWait: Int32 = nvlb_msg_dontwait()

    /// `poll` on one descriptor for `events`; true when ready, false on timeout or EINTR.
    package static func poll(_ descriptor: Int32, events: Int16, timeoutMilliseconds: Int32) -> Result<Bool, Errno> {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        let result = Glibc.poll(&entry, 1, timeoutMilliseconds)
        if result < 0 {
            let error = Errno(errno)
            return error.rawValue == EINTR ? .success(false) : .failure(error)
        }
        return .success(result > 0)
    }

    /// `setns(fd, CLONE_NEWNET)` for the calling thread.
    package static func enterNetworkNamespace(_ descriptor: Int32) -> Errno? {
        Errno.check(nvlb_enter_network_namespace(descriptor))
    }

    /// `open(path, O_RDONLY | O_CLOEXEC)`.
    package static func openReadOnly(_ path: String) -> Result<Int32, Errno> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        return descriptor >= 0 ? .success(descriptor) : .failure(Errno(errno))
    }

    /// `close(2)`.
    package static func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }

    /// `read(2)` of a whole (small, procfs) file at `path`.
    package static func readFile(_ path: String) -> Result<[UInt8], Errno> {
        let descriptor: Int32
        switch openReadOnly(path) {
        case .success(let value): descriptor = value
        case .failure(let error): return .failure(error)
        }
        defer { closeDescriptor(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(Errno(errno))
            }
            if count == 0 { return .success(contents) }
            contents.append(contentsOf: chunk[0..<count])
        }
    }
}

/// An `errno` value with its `strerror` text.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The value (`EAGAIN`, `ENOBUFS` …).
    public let rawValue: Int32

    /// The error `rawValue`.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// nil for a shim's 0 result, the error for its -errno result.
    static func check(_ result: Int32) -> Errno? { result >= 0 ? nil : Errno(-result) }

    /// `strerror(rawValue)`.
    public var description: String { String(cString: strerror(rawValue)) }

    /// The ``LiveIOError`` kind this errno means.
    package var liveKind: LiveIOError.Kind {
        switch rawValue {
        case EPERM, EACCES: .permissionDenied
        case ENODEV, ENXIO: .noSuchDevice
        case ENETDOWN: .interfaceDown
        default: .other
        }
    }
}
