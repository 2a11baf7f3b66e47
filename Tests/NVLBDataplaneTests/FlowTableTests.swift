import NVLBBalancing
import NVLBDataplane
import Testing

/// `FlowTable` on its own (docs/architecture.md "Flow table"): both keys of an entry, expiry per state at the exact
/// boundaries, tombstone reuse, and eviction that a SYN flood cannot turn against
/// established flows.
@Suite struct FlowTableTests {
    static let established: FlowState = [.clientSeen, .backendSeen, .established]
    static let halfOpen: FlowState = [.clientSeen]

    /// An entry with recognisable field values; `hash` picks the home slot.
    static func entry(
        hash: UInt32 = 0x1234_5671, lastSeen: UInt32 = 1000, protocolNumber: UInt8 = 6, clientPort: UInt16 = 40000,
        idleTimeout: UInt32 = 240, state: FlowState = established
    ) -> FlowEntry {
        FlowEntry(
            hash: hash, lastSeen: lastSeen, protocolNumber: protocolNumber, clientIP: 0xcb00_7107,
            clientPort: clientPort, clientVSID: 5002, vip: 0x0a01_0564, vipPort: 8080, dipVSID: 5001,
            dipCA: 0x0a01_0615, backendPort: 8081, backendSlot: 3, generation: 7, idleTimeout: idleTimeout,
            state: state)
    }

    static func findRequest(_ table: borrowing FlowTable, _ e: FlowEntry, hash: UInt32? = nil, now: UInt32 = 1000)
        -> Int?
    {
        table.findRequest(
            hash: hash ?? e.hash, protocolNumber: e.protocolNumber, clientIP: e.clientIP, clientPort: e.clientPort,
            clientVSID: e.clientVSID, vip: e.vip, vipPort: e.vipPort, now: now)
    }

    static func findReply(_ table: borrowing FlowTable, _ e: FlowEntry, hash: UInt32? = nil, now: UInt32 = 1000) -> Int?
    {
        table.findReply(
            hash: hash ?? e.hash, protocolNumber: e.protocolNumber, clientIP: e.clientIP, clientPort: e.clientPort,
            dipVSID: e.dipVSID, dipCA: e.dipCA, backendPort: e.backendPort, now: now)
    }

    @Test func entryFitsOneCacheLine() {
        #expect(MemoryLayout<FlowEntry>.size <= 64)
        #expect(MemoryLayout<FlowEntry>.stride <= FlowTable.slotSize)
    }

    @Test func bothDirectionsFindTheSameSlot() {
        let table = FlowTable(capacity: 64)
        let e = Self.entry()
        guard case .inserted(let slot) = table.insert(e, hash: e.hash, now: 1000) else {
            Issue.record("insert into an empty table must succeed")
            return
        }
        #expect(Self.findRequest(table, e) == slot)
        #expect(Self.findReply(table, e) == slot)
        var stored = e
        stored.hash = FlowTable.storedHash(e.hash)
        #expect(table[slot: slot].pointee == stored)
        #expect(table.liveCount(now: 1000) == 1)
    }

    /// Request-key fields: one differs, the lookup misses.
    enum RequestField: CaseIterable { case hash, protocolNumber, clientIP, clientPort, clientVSID, vip, vipPort }
    /// Reply-key fields: one differs, the lookup misses.
    enum ReplyField: CaseIterable { case hash, protocolNumber, clientIP, clientPort, dipVSID, dipCA, backendPort }

    @Test(arguments: RequestField.allCases)
    func requestMissesOnEachKeyField(_ field: RequestField) {
        let table = FlowTable(capacity: 64)
        let e = Self.entry()
        _ = table.insert(e, hash: e.hash, now: 1000)
        var probe = e
        var hash = e.hash
        switch field {
        case .hash: hash ^= 0x100  // same home slot, different stored hash
        case .protocolNumber: probe.protocolNumber = 17
        case .clientIP: probe.clientIP ^= 1
        case .clientPort: probe.clientPort ^= 1
        case .clientVSID: probe.clientVSID = 0
        case .vip: probe.vip ^= 1
        case .vipPort: probe.vipPort ^= 1
        }
        #expect(Self.findRequest(table, probe, hash: hash) == nil)
        #expect(Self.findRequest(table, e) != nil)
    }

    @Test(arguments: ReplyField.allCases)
    func replyMissesOnEachKeyField(_ field: ReplyField) {
        let table = FlowTable(capacity: 64)
        let e = Self.entry()
        _ = table.insert(e, hash: e.hash, now: 1000)
        var probe = e
        var hash = e.hash
        switch field {
        case .hash: hash ^= 0x100
        case .protocolNumber: probe.protocolNumber = 17
        case .clientIP: probe.clientIP ^= 1
        case .clientPort: probe.clientPort ^= 1
        case .dipVSID: probe.dipVSID = 6001
        case .dipCA: probe.dipCA ^= 1
        case .backendPort: probe.backendPort ^= 1
        }
        #expect(Self.findReply(table, probe, hash: hash) == nil)
        #expect(Self.findReply(table, e) != nil)
    }

    /// (description, protocol, state, idle timeout, expected lifetime in seconds).
    static let expiryCases: [(String, UInt8, FlowState, UInt32, UInt32)] = [
        ("TCP handshake (SYN seen)", 6, [.clientSeen], 240, 30),
        ("TCP handshake (SYN-ACK seen)", 6, [.clientSeen, .backendSeen], 240, 30),
        ("TCP established", 6, established, 240, 240),
        ("TCP established, custom idle timeout", 6, established, 90, 90),
        ("TCP FIN from the client only", 6, established.union(.clientFIN), 240, 240),
        ("TCP FIN from both sides", 6, established.union([.clientFIN, .backendFIN]), 240, 10),
        ("TCP RST", 6, established.union(.reset), 240, 10),
        ("TCP RST during the handshake", 6, [.clientSeen, .reset], 240, 10),
        ("UDP one way", 17, [.clientSeen], 30, 30),
        ("UDP both ways", 17, established, 30, 30),
        ("UDP default idle timeout", 17, [.clientSeen], 240, 240),
    ]

    @Test(arguments: expiryCases)
    func expiresExactlyAtTheBoundary(_ c: (String, UInt8, FlowState, UInt32, UInt32)) {
        let (name, protocolNumber, state, idle, lifetime) = c
        let table = FlowTable(capacity: 64)
        let e = Self.entry(lastSeen: 1000, protocolNumber: protocolNumber, idleTimeout: idle, state: state)
        _ = table.insert(e, hash: e.hash, now: 1000)
        #expect(e.timeout == lifetime, "\(name)")
        // `now - lastSeen <= timeout` is live.
        #expect(Self.findRequest(table, e, now: 1000 + lifetime) != nil, "\(name): live at the boundary")
        #expect(Self.findReply(table, e, now: 1000 + lifetime) != nil, "\(name): reply key live at the boundary")
        #expect(table.liveCount(now: 1000 + lifetime) == 1, "\(name)")
        #expect(Self.findRequest(table, e, now: 1000 + lifetime + 1) == nil, "\(name): expired one second later")
        #expect(Self.findReply(table, e, now: 1000 + lifetime + 1) == nil, "\(name)")
        #expect(table.liveCount(now: 1000 + lifetime + 1) == 0, "\(name)")
    }

    @Test func clockWrapIsHandled() {
        let table = FlowTable(capacity: 64)
        let e = Self.entry(lastSeen: UInt32.max - 5, state: Self.halfOpen)
        _ = table.insert(e, hash: e.hash, now: UInt32.max - 5)
        #expect(Self.findRequest(table, e, now: 24) != nil)  // 30 s later, across the wrap
        #expect(Self.findRequest(table, e, now: 25) == nil)
    }

    @Test func tcpStateMachineReachesEachTimeout() {
        var e = Self.entry(idleTimeout: 240, state: [])
        e.observeTCP(flags: 0x02, fromClient: true)  // SYN
        #expect(e.timeout == 30)
        e.observeTCP(flags: 0x12, fromClient: false)  // SYN-ACK
        #expect(e.timeout == 30)
        e.observeTCP(flags: 0x10, fromClient: true)  // ACK: handshake complete
        #expect(e.state.contains(.established))
        #expect(e.timeout == 240)
        e.observeTCP(flags: 0x11, fromClient: true)  // FIN from the client
        #expect(e.timeout == 240)
        e.observeTCP(flags: 0x11, fromClient: false)  // FIN from the DIP
        #expect(e.timeout == 10)

        var r = Self.entry(idleTimeout: 240, state: [])
        r.observeTCP(flags: 0x02, fromClient: true)
        r.observeTCP(flags: 0x04, fromClient: false)  // RST
        #expect(r.timeout == 10)

        // A client ACK before the DIP answered does not complete a handshake.
        var early = Self.entry(idleTimeout: 240, state: [])
        early.observeTCP(flags: 0x10, fromClient: true)
        #expect(!early.state.contains(.established))
        #expect(early.timeout == 30)

        var u = Self.entry(protocolNumber: 17, idleTimeout: 30, state: [])
        u.observeUDP(fromClient: true)
        #expect(!u.state.contains(.established))
        u.observeUDP(fromClient: false)
        #expect(u.state.contains(.established))
        #expect(u.timeout == 30)
    }

    @Test func expiredSlotIsReused() {
        let table = FlowTable(capacity: 64)
        let old = Self.entry(hash: 0x0000_0011, lastSeen: 1000, clientPort: 1, state: Self.halfOpen)
        guard case .inserted(let slot) = table.insert(old, hash: old.hash, now: 1000) else {
            Issue.record("first insert failed")
            return
        }
        // Still live at 1030: the new flow of the same bucket goes next to it.
        let neighbour = Self.entry(hash: 0x0000_0011, lastSeen: 1030, clientPort: 2, state: Self.halfOpen)
        #expect(table.insert(neighbour, hash: neighbour.hash, now: 1030) == .inserted(slot: (slot + 1) & 63))
        // At 1031 the first has expired: its slot is the first reusable one of the window.
        let fresh = Self.entry(hash: 0x0000_0011, lastSeen: 1031, clientPort: 3, state: Self.halfOpen)
        #expect(table.insert(fresh, hash: fresh.hash, now: 1031) == .inserted(slot: slot))
        #expect(Self.findRequest(table, old, now: 1031) == nil)
        #expect(Self.findRequest(table, fresh, now: 1031) != nil)
        #expect(Self.findRequest(table, neighbour, now: 1031) != nil)
        #expect(table.liveCount(now: 1031) == 2)
    }

    @Test func windowWrapsAroundTheTableEnd() {
        let table = FlowTable(capacity: 64)
        var inserted: [FlowEntry] = []
        for port in 0..<UInt16(FlowTable.probeWindow) {
            let e = Self.entry(hash: 61, clientPort: port)  // home slot 61: window 61, 62, 63, 0, 1, …
            #expect(table.insert(e, hash: e.hash, now: 1000) == .inserted(slot: (61 + Int(port)) & 63))
            inserted.append(e)
        }
        for e in inserted { #expect(Self.findRequest(table, e, now: 1000) != nil) }
    }

    @Test func evictsTheOldestHalfOpenEntryOfTheWindow() {
        let table = FlowTable(capacity: 64)
        let ages: [UInt32] = [5, 3, 20, 1, 12, 7, 2, 9]  // seconds since last seen at now = 1025
        var entries: [FlowEntry] = []
        for (i, age) in ages.enumerated() {
            let e = Self.entry(hash: 8, lastSeen: 1025 - age, clientPort: UInt16(i), state: Self.halfOpen)
            _ = table.insert(e, hash: e.hash, now: 1025)  // `insert` keeps the entry's `lastSeen`
            entries.append(e)
        }
        let newcomer = Self.entry(hash: 8, lastSeen: 1025, clientPort: 100, state: Self.halfOpen)
        #expect(table.insert(newcomer, hash: newcomer.hash, now: 1025) == .evicted(slot: 8 + 2))
        #expect(Self.findRequest(table, entries[2], now: 1025) == nil)
        #expect(Self.findRequest(table, newcomer, now: 1025) != nil)
        for (i, e) in entries.enumerated() where i != 2 { #expect(Self.findRequest(table, e, now: 1025) != nil) }
    }

    @Test func windowOfEstablishedFlowsIsFull() {
        let table = FlowTable(capacity: 64)
        var entries: [FlowEntry] = []
        for port in 0..<UInt16(FlowTable.probeWindow) {
            let e = Self.entry(hash: 16, clientPort: port)
            _ = table.insert(e, hash: e.hash, now: 1000)
            entries.append(e)
        }
        let syn = Self.entry(hash: 16, clientPort: 999, state: Self.halfOpen)
        #expect(table.insert(syn, hash: syn.hash, now: 1001) == .full)
        // Also a new established flow cannot push one out.
        let other = Self.entry(hash: 16, clientPort: 998)
        #expect(table.insert(other, hash: other.hash, now: 1001) == .full)
        for e in entries { #expect(Self.findRequest(table, e, now: 1001) != nil) }
        #expect(Self.findRequest(table, syn, now: 1001) == nil)
        #expect(table.liveCount(now: 1001) == FlowTable.probeWindow)
    }

    @Test func synFloodDoesNotEvictEstablishedFlows() {
        var rng = SplitMix64(seed: 0x5f10_0d)
        let table = FlowTable(capacity: 64)
        var established: [FlowEntry] = []
        for port in 0..<24 {
            let e = Self.entry(hash: UInt32.random(in: 0...UInt32.max, using: &rng), clientPort: UInt16(port))
            if case .inserted = table.insert(e, hash: e.hash, now: 1000) { established.append(e) }
        }
        #expect(established.count >= 20)
        // A window made entirely of established flows, to see `.full` under the flood.
        for port in 0..<UInt16(FlowTable.probeWindow) {
            let e = Self.entry(hash: 40, clientPort: 5000 + port)
            if case .inserted = table.insert(e, hash: e.hash, now: 1000) { established.append(e) }
        }
        var outcomes = (inserted: 0, evicted: 0, full: 0)
        for i in 0..<5000 {
            let now = 1000 + UInt32(i / 250)  // 20 s of flood: no half-open entry expires
            let syn = Self.entry(
                hash: i % 10 == 0 ? 40 : UInt32.random(in: 0...UInt32.max, using: &rng), lastSeen: now,
                clientPort: UInt16(truncatingIfNeeded: 10_000 + i), state: Self.halfOpen)
            switch table.insert(syn, hash: syn.hash, now: now) {
            case .inserted: outcomes.inserted += 1
            case .evicted: outcomes.evicted += 1
            case .full: outcomes.full += 1
            }
        }
        #expect(outcomes.evicted > 3000)
        #expect(outcomes.full >= 500)  // every SYN homed on slot 40 (10 % of them) at least
        let now: UInt32 = 1000 + 4999 / 250
        for e in established {
            #expect(Self.findRequest(table, e, now: now) != nil, "established flow lost: port \(e.clientPort)")
        }
        #expect(table.liveCount(now: now) == 64)
    }

    @Test func liveCountFollowsTime() {
        let table = FlowTable(capacity: 256)
        for i in 0..<50 {
            let state = i < 20 ? Self.halfOpen : Self.established
            let e = Self.entry(hash: UInt32(i * 5), clientPort: UInt16(i), idleTimeout: 100, state: state)
            _ = table.insert(e, hash: e.hash, now: 1000)
        }
        #expect(table.liveCount(now: 1000) == 50)
        #expect(table.liveCount(now: 1030) == 50)
        #expect(table.liveCount(now: 1031) == 30)  // half-open entries expired
        #expect(table.liveCount(now: 1100) == 30)
        #expect(table.liveCount(now: 1101) == 0)
    }
}
