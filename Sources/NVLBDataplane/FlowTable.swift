import NVLBWire
import NVLBPolicy
import NVLBBalancing
import CNVLBShims

/// A worker's flow table (docs/architecture.md "Flow table"): open addressing with linear probing over
/// 64-byte slots (one cache line each), allocated once, never resized.
///
/// - A key lives within `probeWindow` slots of its home slot `hash & mask`.
/// - Slots are never emptied again: an expired entry stays as a reusable tombstone,
///   so a lookup may stop at the first never-used slot.
/// - Insertion takes the first never-used or expired slot of the window; otherwise
///   it evicts the oldest entry that has not completed a handshake. Established
///   flows are never evicted by new flows (a SYN flood cannot push them out); when
///   the whole window is established, insertion fails and the caller forwards
///   statelessly (`flow_table_full`).
///
/// Lookup and insertion are O(`probeWindow`) and touch one to a few cache lines.
/// Not thread-safe: one worker owns it.
public struct FlowTable: ~Copyable {
    /// Slots scanned from the home slot.
    public static let probeWindow = 8
    /// Bytes per slot: one cache line.
    public static let slotSize = 64

    @usableFromInline let slots: UnsafeMutableRawPointer
    @usableFromInline let mask: Int
    @usableFromInline let ownsMemory: Bool

    /// Number of slots (a power of two).
    public var capacity: Int { mask + 1 }

    /// Bytes of memory a table of `capacity` slots needs.
    public static func byteCount(capacity: Int) -> Int { capacity * slotSize }

    /// A table over caller-provided memory (e.g. NUMA-local), zero-filled here unless
    /// the caller says it already is (`zeroed`, e.g. fresh anonymous pages it touched).
    /// The caller keeps the memory alive for the table's lifetime and frees it.
    /// - Precondition: `capacity` is a power of two ≥ `probeWindow`; memory is
    ///   64-byte aligned and `byteCount(capacity:)` long.
    public init(memory: UnsafeMutableRawPointer, capacity: Int, zeroed: Bool = false) {
        self.init(memory: memory, capacity: capacity, ownsMemory: false, zeroed: zeroed)
    }

    /// A table with its own memory from the general allocator.
    public init(capacity: Int) {
        let memory = UnsafeMutableRawPointer.allocate(
            byteCount: Self.byteCount(capacity: capacity), alignment: Self.slotSize)
        self.init(memory: memory, capacity: capacity, ownsMemory: true, zeroed: false)
    }

    private init(memory: UnsafeMutableRawPointer, capacity: Int, ownsMemory: Bool, zeroed: Bool) {
        precondition(capacity >= Self.probeWindow && capacity & (capacity - 1) == 0, "capacity must be a power of two")
        precondition(Int(bitPattern: memory) % Self.slotSize == 0, "flow table memory must be cache-line aligned")
        precondition(MemoryLayout<FlowEntry>.size <= Self.slotSize)
        slots = memory
        mask = capacity - 1
        self.ownsMemory = ownsMemory
        if !zeroed { memory.initializeMemory(as: UInt8.self, repeating: 0, count: Self.byteCount(capacity: capacity)) }
    }

    deinit {
        if ownsMemory { slots.deallocate() }
    }

    /// The bucket hash as stored: never 0 (0 marks an unused slot).
    @inlinable @inline(__always)
    public static func storedHash(_ hash: UInt32) -> UInt32 { hash | 1 }

    @inlinable @inline(__always)
    func entry(_ index: Int) -> UnsafeMutablePointer<FlowEntry> {
        (slots + (index & mask) &* Self.slotSize).assumingMemoryBound(to: FlowEntry.self)
    }

    /// The entry in slot `index`, for reading and updating in place.
    @inlinable @inline(__always)
    public subscript(slot index: Int) -> UnsafeMutablePointer<FlowEntry> { entry(index) }

    /// Starts loading the home cache line of `hash` and the next one (call for a batch
    /// before lookups). A lookup continues past the home slot whenever it holds another
    /// flow (about one lookup in six at a quarter load): without the second line that
    /// probe is a full DRAM miss.
    @inlinable @inline(__always)
    public func prefetch(hash: UInt32) {
        let home = Int(hash) & mask
        nvlb_prefetch(slots + home &* Self.slotSize)
        nvlb_prefetch(slots + ((home &+ 1) & mask) &* Self.slotSize)
    }

    /// The slot of the live flow whose request key matches, or nil.
    @inlinable @inline(__always)
    public func findRequest(
        hash: UInt32, protocolNumber: UInt8, clientIP: UInt32, clientPort: UInt16, clientVSID: UInt32,
        vip: UInt32, vipPort: UInt16, now: UInt32
    ) -> Int? {
        find(
            hash: hash, protocolNumber: protocolNumber, clientIP: clientIP, clientPort: clientPort, reply: false,
            vsid: clientVSID, address: vip, port: vipPort, now: now)
    }

    /// The slot of the live flow whose reply key matches, or nil.
    @inlinable @inline(__always)
    public func findReply(
        hash: UInt32, protocolNumber: UInt8, clientIP: UInt32, clientPort: UInt16, dipVSID: UInt32,
        dipCA: UInt32, backendPort: UInt16, now: UInt32
    ) -> Int? {
        find(
            hash: hash, protocolNumber: protocolNumber, clientIP: clientIP, clientPort: clientPort, reply: true,
            vsid: dipVSID, address: dipCA, port: backendPort, now: now)
    }

    /// The probe of both lookups: the client half of the key, then the VIP half
    /// (client VSID, VIP, VIP port) of a request or the DIP half (DIP VSID, DIP CA,
    /// backend port) of a reply.
    @inlinable @inline(__always)
    func find(
        hash: UInt32, protocolNumber: UInt8, clientIP: UInt32, clientPort: UInt16, reply: Bool, vsid: UInt32,
        address: UInt32, port: UInt16, now: UInt32
    ) -> Int? {
        let stored = Self.storedHash(hash)
        var index = Int(hash) & mask
        for _ in 0..<Self.probeWindow {
            let e = entry(index)
            if e.pointee.hash == 0 { return nil }
            if e.pointee.hash == stored && e.pointee.clientIP == clientIP && e.pointee.clientPort == clientPort
                && e.pointee.protocolNumber == protocolNumber
                && (reply
                    ? e.pointee.dipVSID == vsid && e.pointee.dipCA == address && e.pointee.backendPort == port
                    : e.pointee.clientVSID == vsid && e.pointee.vip == address && e.pointee.vipPort == port)
                && e.pointee.isLive(now: now)
            {
                return index & mask
            }
            index &+= 1
        }
        return nil
    }

    /// Outcome of `insert`.
    public enum Insertion: Equatable {
        /// Stored in a free or expired slot.
        case inserted(slot: Int)
        /// Stored in place of a live flow that had not completed its handshake.
        case evicted(slot: Int)
        /// Every slot of the window holds a live established flow.
        case full
    }

    /// Stores `newEntry` (its `hash` field is set from `hash`) in the window of `hash`.
    /// The caller has checked that no live entry with the same key exists.
    @inlinable
    public func insert(_ newEntry: FlowEntry, hash: UInt32, now: UInt32) -> Insertion {
        var value = newEntry
        value.hash = Self.storedHash(hash)
        var index = Int(hash) & mask
        var victim = -1
        var victimAge: Int32 = 0
        for _ in 0..<Self.probeWindow {
            let e = entry(index)
            if e.pointee.hash == 0 || !e.pointee.isLive(now: now) {
                e.pointee = value
                return .inserted(slot: index & mask)
            }
            if !e.pointee.state.contains(.established) {
                let age = e.pointee.age(now: now)
                if victim < 0 || age > victimAge {
                    victim = index
                    victimAge = age
                }
            }
            index &+= 1
        }
        guard victim >= 0 else { return .full }
        entry(victim).pointee = value
        return .evicted(slot: victim & mask)
    }

    /// Number of live entries (O(capacity): for tests and statistics, not the packet path).
    public func liveCount(now: UInt32) -> Int {
        var count = 0
        for index in 0...mask where entry(index).pointee.isLive(now: now) { count += 1 }
        return count
    }
}
