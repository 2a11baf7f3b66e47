import NVLBWire

/// Next-hop MACs learned by ARP (docs/packets.md "ARP and next hops"): PA → MAC with Linux-like states, for live mode.
/// Pure: no I/O, no clock of its own (every call takes `now`, in milliseconds of a monotonic
/// clock), no allocation after `init`.
///
/// ## States
/// - *incomplete*: a request was sent, no answer yet. Lookups say "unresolved" (the pipeline
///   drops `neighbor_unresolved`); another request every ``Configuration/retryMilliseconds``,
///   up to ``Configuration/maximumProbes``, then *failed*.
/// - *reachable*: learned less than ``Configuration/reachableMilliseconds`` ago.
/// - *stale*: reachable time is over. The MAC is still used for
///   ``Configuration/staleGraceMilliseconds`` while requests are sent again (every retry
///   interval) to refresh it; an answer makes it reachable, no answer within the grace makes
///   it incomplete (unresolved).
/// - *failed*: gave up; unresolved without requests for ``Configuration/failedHoldMilliseconds``
///   (a dead host is not probed every second), then tried again.
///
/// ## Ownership: one cache per worker
/// A worker owns its cache: lookups on the packet path take no lock and touch no shared
/// line. Each worker sends its own (rate-limited) requests. ARP frames, however, reach
/// one worker only — `PACKET_FANOUT_HASH` has no IP addresses or ports to hash in ARP, so
/// all ARP goes to the same fanout member whoever asked. The worker that receives an ARP
/// frame therefore calls ``learn(arpFrame:length:ownAddress:now:)`` on its cache and hands
/// the resulting ``NeighborUpdate`` to every other worker (the handoff rings), which apply
/// it with ``apply(_:now:)``. ARP traffic is a few frames per neighbour per minute, so this
/// costs nothing measurable.
///
/// ## Order of next-hop sources (docs/packets.md "ARP and next hops")
/// A static `underlay.neighbors` entry wins (the snapshot's `nextHopMAC`); then this cache;
/// when this cache says unresolved and `underlay.gateway_mac` is configured, the PA is
/// reached through the gateway and no request is needed — the caller decides, the cache only
/// knows what ARP taught it. Offline modes do not use a cache.
///
/// Storage: open addressing with linear probing, power-of-two slots, keyed by the PA
/// (0.0.0.0 marks an empty slot; it is never a PA). Entries are never removed (failed ones
/// stay as negative entries), so a full table refuses new PAs (``NeighborCounters/tableFull``)
/// rather than evicting; size it to several times the number of Hyper-V hosts.
/// Lookup: O(1) expected.
public struct NeighborCache: ~Copyable {
    /// Timers and sizes. Defaults follow Linux's spirit (reachable ≈ 30–60 s, probes ≈ 1 s).
    public struct Configuration: Hashable, Sendable {
        /// How long a learned MAC is reachable, in milliseconds.
        public var reachableMilliseconds: UInt64 = 60_000
        /// How long an expired (stale) MAC is still used while it is being refreshed.
        public var staleGraceMilliseconds: UInt64 = 30_000
        /// Interval between requests for one PA (the per-PA rate limit).
        public var retryMilliseconds: UInt64 = 1_000
        /// Requests sent for an incomplete entry before it is marked failed.
        public var maximumProbes: Int = 3
        /// How long a failed PA stays unresolved before it is tried again.
        public var failedHoldMilliseconds: UInt64 = 20_000
        /// Slots (rounded up to a power of two, at least 16).
        public var capacity: Int = 1024

        /// The defaults.
        public init() {}
    }

    /// The state of one entry.
    public enum State: UInt8, Hashable, Sendable {
        /// Request sent, no MAC.
        case incomplete = 1
        /// MAC learned recently.
        case reachable
        /// MAC expired, still used while refreshed.
        case stale
        /// No answer after the last probe; not probed again until the hold expires.
        case failed
    }

    /// One slot. `address == 0`: empty.
    @usableFromInline
    struct Entry {
        @usableFromInline var address: UInt32 = 0
        @usableFromInline var state: State = .incomplete
        @usableFromInline var probes: UInt8 = 0
        @usableFromInline var mac: UInt64 = 0
        /// reachable: end of reachability; stale: end of the grace.
        @usableFromInline var expires: UInt64 = 0
        /// incomplete/stale: earliest next request; failed: end of the hold.
        @usableFromInline var nextProbe: UInt64 = 0
    }

    public let configuration: Configuration
    @usableFromInline let slots: UnsafeMutablePointer<Entry>
    @usableFromInline let mask: Int
    /// Counters since `init`. All state lives behind pointers and the methods do not
    /// mutate `self`: Swift 6.3 miscompiles inout accesses to `self` of this
    /// non-copyable struct under ThreadSanitizer (an invalid `bitcast i64 to ptr`).
    @usableFromInline let counterStorage: UnsafeMutablePointer<NeighborCounters>

    /// Counters since `init`.
    public var counters: NeighborCounters { counterStorage.pointee }

    /// An empty cache with `configuration`'s timers and capacity.
    public init(configuration: Configuration = Configuration()) {
        var size = 16
        while size < configuration.capacity { size <<= 1 }
        self.configuration = configuration
        slots = .allocate(capacity: size)
        slots.initialize(repeating: Entry(), count: size)
        mask = size - 1
        counterStorage = .allocate(capacity: 1)
        counterStorage.initialize(to: NeighborCounters())
    }

    deinit {
        slots.deallocate()
        counterStorage.deallocate()
    }

    // MARK: Lookup

    /// The next hop for `address` now, and whether the caller should send an ARP request for
    /// it (at most one per ``Configuration/retryMilliseconds`` per PA). A PA never seen
    /// becomes incomplete and asks for a request. Unresolved lookups are counted.
    ///
    /// When the result says to send a request, build it with
    /// ``writeRequest(for:sourceMAC:sourceAddress:destination:into:)``: broadcast, or unicast
    /// to the stale MAC when ``NeighborLookup/mac`` is set (as Linux probes).
    public func lookup(_ address: IPv4Address, now: UInt64) -> NeighborLookup {
        guard let index = find(address.rawValue, create: true) else {
            counterStorage.pointee.unresolvedLookups = counterStorage.pointee.unresolvedLookups &+ 1
            return NeighborLookup(mac: 0, sendRequest: false)
        }
        let c = configuration
        switch slots[index].state {
        case .reachable where now < slots[index].expires:
            return NeighborLookup(mac: slots[index].mac, sendRequest: false)
        case .reachable:
            // Expired: keep the MAC for the grace period and refresh it now.
            slots[index].state = .stale
            slots[index].expires = now &+ c.staleGraceMilliseconds
            slots[index].probes = 1
            slots[index].nextProbe = now &+ c.retryMilliseconds
            counterStorage.pointee.requests = counterStorage.pointee.requests &+ 1
            return NeighborLookup(mac: slots[index].mac, sendRequest: true)
        case .stale where now < slots[index].expires:
            let ask = now >= slots[index].nextProbe
            if ask {
                slots[index].probes &+= 1
                slots[index].nextProbe = now &+ c.retryMilliseconds
                counterStorage.pointee.requests = counterStorage.pointee.requests &+ 1
            }
            return NeighborLookup(mac: slots[index].mac, sendRequest: ask)
        case .stale:
            // The grace is over without an answer: the MAC is no longer trusted.
            slots[index].state = .incomplete
            slots[index].mac = 0
            slots[index].probes = 0
            slots[index].nextProbe = now
            return unresolved(index, now: now)
        case .incomplete:
            return unresolved(index, now: now)
        case .failed where now >= slots[index].nextProbe:
            slots[index].state = .incomplete
            slots[index].probes = 0
            return unresolved(index, now: now)
        case .failed:
            counterStorage.pointee.unresolvedLookups = counterStorage.pointee.unresolvedLookups &+ 1
            return NeighborLookup(mac: 0, sendRequest: false)
        }
    }

    /// An incomplete entry's lookup: request when due, fail after the last probe.
    private func unresolved(_ index: Int, now: UInt64) -> NeighborLookup {
        counterStorage.pointee.unresolvedLookups = counterStorage.pointee.unresolvedLookups &+ 1
        guard now >= slots[index].nextProbe else { return NeighborLookup(mac: 0, sendRequest: false) }
        if Int(slots[index].probes) >= configuration.maximumProbes {
            slots[index].state = .failed
            slots[index].nextProbe = now &+ configuration.failedHoldMilliseconds
            counterStorage.pointee.failures = counterStorage.pointee.failures &+ 1
            return NeighborLookup(mac: 0, sendRequest: false)
        }
        slots[index].probes &+= 1
        slots[index].nextProbe = now &+ configuration.retryMilliseconds
        counterStorage.pointee.requests = counterStorage.pointee.requests &+ 1
        return NeighborLookup(mac: 0, sendRequest: true)
    }

    /// The state and MAC of `address`'s entry without changing anything (for tests, logs).
    public func entry(_ address: IPv4Address) -> (state: State, mac: MACAddress?)? {
        var index = Self.hash(address.rawValue) & mask
        while slots[index].address != 0 {
            if slots[index].address == address.rawValue {
                let e = slots[index]
                return (e.state, e.mac == 0 ? nil : MACAddress(rawValue: e.mac))
            }
            index = (index + 1) & mask
        }
        return nil
    }

    // MARK: Learning

    /// Learns from a received ARP frame (`length` bytes at `frame`, starting with the
    /// Ethernet header, untagged): the sender's (IP, MAC). An entry is created when the frame
    /// concerns nvlb (`ownAddress` is its target: a reply to our request, or a request for our
    /// address, whose sender will be talked to next); other ARP (gratuitous, for other hosts)
    /// only updates PAs already in the cache. Returns the update to hand to the other workers,
    /// or nil when the frame taught nothing (not ARP, malformed, zero or multicast sender).
    @discardableResult
    public func learn(
        arpFrame frame: UnsafeRawPointer, length: Int, ownAddress: IPv4Address, now: UInt64
    ) -> NeighborUpdate? {
        guard length >= EthernetHeader.size + ARPHeader.size,
            frame.loadBigEndian(fromByteOffset: 12, as: UInt16.self) == EthernetHeader.etherTypeARP
        else { return nil }
        let arp = ARPHeader(UnsafeMutableRawPointer(mutating: frame + EthernetHeader.size))
        guard arp.hardwareType == ARPHeader.hardwareTypeEthernet, arp.protocolType == ARPHeader.protocolTypeIPv4,
            arp.hardwareLength == 6, arp.protocolLength == 4,
            arp.operation == ARPHeader.operationRequest || arp.operation == ARPHeader.operationReply
        else { return nil }
        let update = NeighborUpdate(
            address: arp.senderIP, mac: arp.senderMAC, create: arp.targetIP == ownAddress)
        return apply(update, now: now) ? update : nil
    }

    /// Applies a (PA, MAC) learned from ARP (here, or by another worker): the entry becomes
    /// reachable for ``Configuration/reachableMilliseconds``. Returns false when ignored
    /// (zero address, zero/multicast MAC, not cached and `update.create` false, table full).
    @discardableResult
    public func apply(_ update: NeighborUpdate, now: UInt64) -> Bool {
        guard update.address.rawValue != 0, update.mac.rawValue != 0, !update.mac.isMulticast,
            let index = find(update.address.rawValue, create: update.create)
        else { return false }
        slots[index].state = .reachable
        slots[index].mac = update.mac.rawValue
        slots[index].probes = 0
        slots[index].expires = now &+ configuration.reachableMilliseconds
        counterStorage.pointee.learned = counterStorage.pointee.learned &+ 1
        return true
    }

    // MARK: Requests

    /// Size of the request frame ``writeRequest(for:sourceMAC:sourceAddress:destination:into:)``
    /// writes: 42 bytes of Ethernet + ARP padded with zeros to the 60-byte minimum.
    public static let requestLength = 60

    /// Writes an ARP request "who has `target`? tell `sourceAddress`" from `sourceMAC` to
    /// `destination` (broadcast, or the stale MAC for a unicast refresh) at `buffer`, which
    /// must hold ``requestLength`` bytes; returns ``requestLength``. No allocation.
    public static func writeRequest(
        for target: IPv4Address, sourceMAC: MACAddress, sourceAddress: IPv4Address,
        destination: MACAddress = .broadcast, into buffer: UnsafeMutableRawPointer
    ) -> Int {
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: requestLength)
        let ethernet = EthernetHeader(buffer)
        ethernet.destination = destination
        ethernet.source = sourceMAC
        ethernet.etherType = EthernetHeader.etherTypeARP
        let arp = ARPHeader(buffer + EthernetHeader.size)
        arp.hardwareType = ARPHeader.hardwareTypeEthernet
        arp.protocolType = ARPHeader.protocolTypeIPv4
        arp.hardwareLength = 6
        arp.protocolLength = 4
        arp.operation = ARPHeader.operationRequest
        arp.senderMAC = sourceMAC
        arp.senderIP = sourceAddress
        arp.targetMAC = .zero
        arp.targetIP = target
        return requestLength
    }

    // MARK: Table

    @inline(__always)
    static func hash(_ address: UInt32) -> Int {
        // Fibonacci hashing: PAs are often consecutive; spread them over the slots.
        Int(truncatingIfNeeded: (UInt64(address) &* 0x9E37_79B9_7F4A_7C15) >> 32)
    }

    /// The slot of `address`, created (incomplete, never probed) when absent and `create`;
    /// nil when absent and not created (or the table is full).
    private func find(_ address: UInt32, create: Bool) -> Int? {
        var index = Self.hash(address) & mask
        for _ in 0...mask {
            if slots[index].address == address { return index }
            if slots[index].address == 0 {
                guard create else { return nil }
                slots[index] = Entry(address: address, state: .incomplete, probes: 0, mac: 0, expires: 0, nextProbe: 0)
                counterStorage.pointee.entries = counterStorage.pointee.entries &+ 1
                return index
            }
            index = (index + 1) & mask
        }
        if create { counterStorage.pointee.tableFull = counterStorage.pointee.tableFull &+ 1 }
        return nil
    }
}

/// The answer of ``NeighborCache/lookup(_:now:)``.
@frozen
public struct NeighborLookup: Hashable, Sendable {
    /// The next-hop MAC (48 bits in a `UInt64`, as in the snapshot), or 0 when unresolved:
    /// drop `neighbor_unresolved` (or use the gateway MAC when one is configured).
    public var mac: UInt64
    /// Send an ARP request for the PA now (broadcast when `mac` is 0, else unicast to `mac`).
    public var sendRequest: Bool

    /// A lookup answer.
    @inlinable
    public init(mac: UInt64, sendRequest: Bool) {
        self.mac = mac
        self.sendRequest = sendRequest
    }

    /// True when ``mac`` can be used.
    @inlinable public var isResolved: Bool { mac != 0 }
}

/// A (PA, MAC) pair learned from ARP by one worker, for the others (``NeighborCache/apply(_:now:)``).
@frozen
public struct NeighborUpdate: Hashable, Sendable {
    /// The neighbour's IPv4 address (a PA).
    public var address: IPv4Address
    /// Its MAC.
    public var mac: MACAddress
    /// Create the entry when absent (the ARP frame concerned nvlb), rather than only refresh.
    public var create: Bool

    /// An update.
    public init(address: IPv4Address, mac: MACAddress, create: Bool) {
        self.address = address
        self.mac = mac
        self.create = create
    }
}

/// Counters of a ``NeighborCache``.
public struct NeighborCounters: Hashable, Sendable {
    /// Lookups answered "unresolved" (each one a `neighbor_unresolved` drop unless a gateway MAC is used).
    public var unresolvedLookups: UInt64 = 0
    /// Lookups that asked for an ARP request.
    public var requests: UInt64 = 0
    /// Entries made reachable by ARP.
    public var learned: UInt64 = 0
    /// Entries given up on (no answer after the last probe).
    public var failures: UInt64 = 0
    /// PAs entered in the table.
    public var entries: UInt64 = 0
    /// PAs refused because the table was full.
    public var tableFull: UInt64 = 0
}
