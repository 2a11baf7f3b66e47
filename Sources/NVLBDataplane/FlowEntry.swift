import NVLBWire
import NVLBPolicy
import NVLBBalancing
/// One connection in a worker's flow table: 60 bytes, stored in a 64-byte slot.
///
/// The entry answers both directions. A request (client → VIP) matches on
/// (protocol, client IP/port, client VSID, VIP/port); a reply (DIP → client) on
/// (protocol, client IP/port, DIP VSID/CA, backend port). Both share the client
/// side, so `hash` — of protocol and client IP/port — is the same for both and
/// picks the bucket (and the owning worker).
@frozen
public struct FlowEntry: Sendable, Equatable {
    /// Bucket hash; 0 marks a slot that was never used (hashes are forced odd).
    public var hash: UInt32
    /// Coarse clock (seconds) of the last packet.
    public var lastSeen: UInt32
    public var clientIP: UInt32
    public var vip: UInt32
    public var dipCA: UInt32
    /// 0 for an external client.
    public var clientVSID: UInt32
    public var dipVSID: UInt32
    /// Index of the DIP in `PolicySnapshot.backends`, valid while `generation`
    /// equals the snapshot's.
    public var backendSlot: UInt32
    public var generation: UInt32
    /// Seconds: the rule's `idle_timeout`.
    public var idleTimeout: UInt32
    public var clientPort: UInt16
    public var vipPort: UInt16
    public var backendPort: UInt16
    public var protocolNumber: UInt8
    /// `FlowState` bits.
    public var state: FlowState
    /// NVGRE FlowID of packets toward the DIP and toward an internal client,
    /// computed once per flow (docs/packets.md "What nvlb sends": a hash of the emitted inner 5-tuple).
    public var requestFlowID: UInt8
    public var replyFlowID: UInt8
    /// Index of the flow's listener in `PolicySnapshot.listeners`, valid while
    /// `generation` equals the snapshot's (per-VIP counters of replies).
    public var listener: UInt32
    /// Lookup record of an internal client in `PolicySnapshot.records` (-1 for an external
    /// client or when unknown), valid while `generation` equals the snapshot's: a reply
    /// toward the client then needs no probe of the address index, which misses the
    /// cache under a large policy (docs/architecture.md "Flow table").
    public var clientRecord: Int32

    @inlinable
    public init(
        hash: UInt32, lastSeen: UInt32, protocolNumber: UInt8, clientIP: UInt32, clientPort: UInt16,
        clientVSID: UInt32, vip: UInt32, vipPort: UInt16, dipVSID: UInt32, dipCA: UInt32, backendPort: UInt16,
        backendSlot: UInt32, generation: UInt32, idleTimeout: UInt32, state: FlowState = [],
        requestFlowID: UInt8 = 0, replyFlowID: UInt8 = 0, listener: UInt32 = 0, clientRecord: Int32 = -1
    ) {
        self.hash = hash
        self.lastSeen = lastSeen
        self.clientIP = clientIP
        self.vip = vip
        self.dipCA = dipCA
        self.clientVSID = clientVSID
        self.dipVSID = dipVSID
        self.backendSlot = backendSlot
        self.generation = generation
        self.idleTimeout = idleTimeout
        self.clientPort = clientPort
        self.vipPort = vipPort
        self.backendPort = backendPort
        self.protocolNumber = protocolNumber
        self.state = state
        self.requestFlowID = requestFlowID
        self.replyFlowID = replyFlowID
        self.listener = listener
        self.clientRecord = clientRecord
    }
}

/// Connection tracking bits of a flow (docs/architecture.md "Flow timeouts and eviction").
@frozen
public struct FlowState: OptionSet, Sendable, Equatable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A packet from the client was seen.
    public static let clientSeen = FlowState(rawValue: 1 << 0)
    /// A packet from the DIP was seen.
    public static let backendSeen = FlowState(rawValue: 1 << 1)
    /// TCP handshake completed (client ACK after the DIP answered), or UDP seen both ways.
    public static let established = FlowState(rawValue: 1 << 2)
    public static let clientFIN = FlowState(rawValue: 1 << 3)
    public static let backendFIN = FlowState(rawValue: 1 << 4)
    public static let reset = FlowState(rawValue: 1 << 5)

    /// TCP timeouts of docs/architecture.md "Flow timeouts and eviction", in seconds.
    public static let handshakeTimeout: UInt32 = 30
    public static let closingTimeout: UInt32 = 10
}

extension FlowEntry {
    /// Seconds this entry may stay idle before it expires.
    @inlinable
    public var timeout: UInt32 {
        if protocolNumber != 6 { return idleTimeout }
        if state.contains(.reset) || state.contains([.clientFIN, .backendFIN]) { return FlowState.closingTimeout }
        return state.contains(.established) ? idleTimeout : FlowState.handshakeTimeout
    }

    /// Seconds since the last packet, wrap-safe. Negative when `now` is older than the
    /// last packet's clock (frames of one flow can be timed by different batches).
    @inlinable
    public func age(now: UInt32) -> Int32 { Int32(bitPattern: now &- lastSeen) }

    /// True while the entry has not timed out at `now`.
    @inlinable
    public func isLive(now: UInt32) -> Bool { hash != 0 && age(now: now) <= Int32(bitPattern: timeout) }

    /// Records a packet at `now`; the clock never moves backwards.
    @inlinable
    public mutating func touch(now: UInt32) { if age(now: now) > 0 { lastSeen = now } }

    /// Updates the state for a TCP packet with `flags` (TCP flag byte) seen from the client
    /// or from the DIP.
    @inlinable
    public mutating func observeTCP(flags: UInt8, fromClient: Bool) {
        let fin: UInt8 = 0x01, rst: UInt8 = 0x04, ack: UInt8 = 0x10, syn: UInt8 = 0x02
        if flags & rst != 0 { state.insert(.reset) }
        if fromClient {
            state.insert(.clientSeen)
            if flags & fin != 0 { state.insert(.clientFIN) }
            if flags & (ack | syn) == ack, state.contains(.backendSeen) { state.insert(.established) }
        } else {
            state.insert(.backendSeen)
            if flags & fin != 0 { state.insert(.backendFIN) }
        }
    }

    /// Updates the state for a UDP datagram: established once seen both ways.
    @inlinable
    public mutating func observeUDP(fromClient: Bool) {
        state.insert(fromClient ? .clientSeen : .backendSeen)
        if state.contains([.clientSeen, .backendSeen]) { state.insert(.established) }
    }
}
