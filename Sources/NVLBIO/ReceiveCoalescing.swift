import CNVLBShims

/// Receive coalescing (GRO, LRO) on nvlb's own interfaces: turned off at start, because a
/// coalesced frame is a super-frame nvlb would have to cut again, and LRO loses the
/// original segment boundaries (docs/operations.md "Offloads").
public enum ReceiveCoalescing {
    /// What ``disable(on:)`` changed.
    public struct Outcome: Hashable, Sendable {
        /// GRO was on and is now off.
        public var groTurnedOff: Bool
        /// LRO was on and is now off.
        public var lroTurnedOff: Bool
    }

    /// Turns GRO and LRO off on `interface` (`SIOCETHTOOL`), each only when it was on.
    ///
    /// - Throws: ``LiveIOError`` naming the interface when the kernel refused (without
    ///   `CAP_NET_ADMIN`, or a driver that cannot turn LRO off).
    public static func disable(on interface: String) throws(LiveIOError) -> Outcome {
        _ = try Syscalls.interfaceIndex(interface)
        var gro: Int32 = 0
        var lro: Int32 = 0
        let result = nvlb_disable_receive_coalescing(interface, &gro, &lro)
        if result < 0 {
            throw LiveIOError(Errno(-result), interface: interface, operation: "ioctl(SIOCETHTOOL, GRO/LRO off)")
        }
        return Outcome(groTurnedOff: gro != 0, lroTurnedOff: lro != 0)
    }
}
