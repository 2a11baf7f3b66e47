import NVLBDataplane
import NVLBWire
import Testing

/// The ARP neighbour cache (docs/packets.md "ARP and next hops") on a fake clock: milliseconds passed explicitly.
@Suite struct NeighborCacheTests {
    static let ownPA = IPv4Address(192, 168, 6, 2)
    static let ownMAC = MACAddress(rawValue: 0x02_4C_42_00_06_02)
    static let hostPA = IPv4Address(192, 168, 6, 4)
    static let hostMAC = MACAddress(rawValue: 0x02_00_00_00_06_04)

    /// The reply a host sends to nvlb's request.
    static func reply(from pa: IPv4Address = hostPA, mac: MACAddress = hostMAC, to target: IPv4Address = ownPA)
        -> [UInt8]
    {
        FrameBuilder.padded(FrameBuilder.arpReply(senderMAC: mac, senderIP: pa, targetMAC: ownMAC, targetIP: target))
    }

    static func learn(_ cache: inout NeighborCache, _ frame: [UInt8], now: UInt64) -> NeighborUpdate? {
        frame.withUnsafeBytes { cache.learn(arpFrame: $0.baseAddress!, length: $0.count, ownAddress: ownPA, now: now) }
    }

    @Test func unresolvedIsCountedAndRequestedOncePerSecondThenResolved() {
        var cache = NeighborCache()
        let first = cache.lookup(Self.hostPA, now: 1_000)
        #expect(first == NeighborLookup(mac: 0, sendRequest: true))
        // Within the retry interval: still unresolved, no new request.
        let r1 = cache.lookup(Self.hostPA, now: 1_500)
        #expect(r1 == NeighborLookup(mac: 0, sendRequest: false))
        let r2 = cache.lookup(Self.hostPA, now: 2_000)
        #expect(r2 == NeighborLookup(mac: 0, sendRequest: true))
        #expect(cache.counters.unresolvedLookups == 3)
        #expect(cache.counters.requests == 2)
        #expect(cache.entry(Self.hostPA)?.state == .incomplete)

        let update = Self.learn(&cache, Self.reply(), now: 2_100)
        #expect(update == NeighborUpdate(address: Self.hostPA, mac: Self.hostMAC, create: true))
        let r3 = cache.lookup(Self.hostPA, now: 2_200)
        #expect(r3 == NeighborLookup(mac: Self.hostMAC.rawValue, sendRequest: false))
        #expect(cache.entry(Self.hostPA)?.state == .reachable)
        #expect(cache.counters.unresolvedLookups == 3)
        #expect(cache.counters.learned == 1)
    }

    @Test func learnedFromARPIsReachableUntilExpiryThenStaleAndRefreshed() {
        var cache = NeighborCache()
        let r4 = Self.learn(&cache, Self.reply(), now: 0)
        #expect(r4 != nil)
        let r5 = cache.lookup(Self.hostPA, now: 59_999)
        #expect(r5.sendRequest == false)
        // Expired: the MAC is still used during the grace, and one refresh request goes out.
        let expired = cache.lookup(Self.hostPA, now: 60_000)
        #expect(expired == NeighborLookup(mac: Self.hostMAC.rawValue, sendRequest: true))
        #expect(cache.entry(Self.hostPA)?.state == .stale)
        let r6 = cache.lookup(Self.hostPA, now: 60_500)
        #expect(r6 == NeighborLookup(mac: Self.hostMAC.rawValue, sendRequest: false))
        let r7 = cache.lookup(Self.hostPA, now: 61_000)
        #expect(r7.sendRequest == true)
        // The refresh answer (a new MAC: the host's NIC was replaced) makes it reachable again.
        let newMAC = MACAddress(rawValue: 0x02_00_00_00_16_04)
        let r8 = Self.learn(&cache, Self.reply(mac: newMAC), now: 61_200)
        #expect(r8 != nil)
        let r9 = cache.lookup(Self.hostPA, now: 61_300)
        #expect(r9 == NeighborLookup(mac: newMAC.rawValue, sendRequest: false))
        #expect(cache.entry(Self.hostPA)?.state == .reachable)
        #expect(cache.counters.unresolvedLookups == 0)
    }

    @Test func staleWithoutAnswerBecomesUnresolvedAfterTheGraceThenFailsAndRetriesLater() {
        var configuration = NeighborCache.Configuration()
        configuration.maximumProbes = 3
        var cache = NeighborCache(configuration: configuration)
        _ = Self.learn(&cache, Self.reply(), now: 0)
        _ = cache.lookup(Self.hostPA, now: 60_000)  // stale, grace until 90 000
        let r10 = cache.lookup(Self.hostPA, now: 89_999)
        #expect(r10.isResolved)
        let after = cache.lookup(Self.hostPA, now: 90_000)
        #expect(after == NeighborLookup(mac: 0, sendRequest: true))
        let r11 = cache.lookup(Self.hostPA, now: 91_000)
        #expect(r11.sendRequest)
        let r12 = cache.lookup(Self.hostPA, now: 92_000)
        #expect(r12.sendRequest)
        // Third probe unanswered: failed, no requests during the hold.
        let r13 = cache.lookup(Self.hostPA, now: 93_000)
        #expect(r13 == NeighborLookup(mac: 0, sendRequest: false))
        #expect(cache.entry(Self.hostPA)?.state == .failed)
        #expect(cache.counters.failures == 1)
        let r14 = cache.lookup(Self.hostPA, now: 100_000)
        #expect(r14.sendRequest == false)
        // Hold over: tried again.
        let r15 = cache.lookup(Self.hostPA, now: 113_000)
        #expect(r15 == NeighborLookup(mac: 0, sendRequest: true))
        #expect(cache.entry(Self.hostPA)?.state == .incomplete)
    }

    @Test func unrelatedARPOnlyRefreshesKnownEntries() {
        var cache = NeighborCache()
        let other = IPv4Address(192, 168, 6, 9)
        // A request between two other hosts: nothing learned about a PA nvlb never asked for.
        let foreign = FrameBuilder.padded(
            FrameBuilder.arpRequest(senderMAC: Self.hostMAC, senderIP: Self.hostPA, targetIP: other))
        let r16 = Self.learn(&cache, foreign, now: 0)
        #expect(r16 == nil)
        #expect(cache.entry(Self.hostPA) == nil)
        // Once nvlb asked, the same kind of frame refreshes the entry.
        _ = cache.lookup(Self.hostPA, now: 0)
        let r17 = Self.learn(&cache, foreign, now: 10)
        #expect(r17 == NeighborUpdate(address: Self.hostPA, mac: Self.hostMAC, create: false))
        let r18 = cache.lookup(Self.hostPA, now: 20)
        #expect(r18.mac == Self.hostMAC.rawValue)
        // A request for nvlb's own PA teaches the requester's MAC.
        let asking = FrameBuilder.arpRequest(
            senderMAC: MACAddress(rawValue: 0x02_00_00_00_06_07),
            senderIP: IPv4Address(192, 168, 6, 7), targetIP: Self.ownPA)
        let r19 = Self.learn(&cache, asking, now: 30)
        #expect(r19?.create == true)
        #expect(cache.entry(IPv4Address(192, 168, 6, 7))?.state == .reachable)
    }

    @Test func updatesFromAnotherWorkerAndJunkAreHandled() {
        var worker = NeighborCache()
        _ = worker.lookup(Self.hostPA, now: 0)
        let r20 = worker.apply(NeighborUpdate(address: Self.hostPA, mac: Self.hostMAC, create: false), now: 5)
        #expect(r20)
        let r21 = worker.lookup(Self.hostPA, now: 6)
        #expect(r21.mac == Self.hostMAC.rawValue)
        let r22 = worker.apply(NeighborUpdate(address: Self.hostPA, mac: .broadcast, create: true), now: 7)
        #expect(!r22)
        let r23 = worker.apply(NeighborUpdate(address: Self.hostPA, mac: .zero, create: true), now: 7)
        #expect(!r23)
        var junk = Self.reply()
        junk[12] = 0x08
        junk[13] = 0x00  // IPv4, not ARP
        let r24 = Self.learn(&worker, junk, now: 8)
        #expect(r24 == nil)
        let r25 = Self.learn(&worker, Array(Self.reply()[0..<41]), now: 8)
        #expect(r25 == nil)
    }

    @Test func tableFullRefusesNewPAs() {
        var configuration = NeighborCache.Configuration()
        configuration.capacity = 16
        var cache = NeighborCache(configuration: configuration)
        for i in 1...16 { _ = cache.lookup(IPv4Address(rawValue: 0x0A00_0000 + UInt32(i)), now: 0) }
        #expect(cache.counters.entries == 16)
        let r26 = cache.lookup(IPv4Address(10, 0, 1, 1), now: 0)
        #expect(r26 == NeighborLookup(mac: 0, sendRequest: false))
        #expect(cache.counters.tableFull == 1)
        // Known PAs still work.
        let r27 = cache.lookup(IPv4Address(rawValue: 0x0A00_0001), now: 1_000)
        #expect(r27.sendRequest)
    }

    @Test func requestFrameMatchesTheFrameBuilder() {
        var buffer = [UInt8](repeating: 0xFF, count: NeighborCache.requestLength)
        let length = buffer.withUnsafeMutableBytes {
            NeighborCache.writeRequest(
                for: Self.hostPA, sourceMAC: Self.ownMAC, sourceAddress: Self.ownPA, into: $0.baseAddress!)
        }
        #expect(length == 60)
        #expect(
            buffer
                == FrameBuilder.padded(
                    FrameBuilder.arpRequest(senderMAC: Self.ownMAC, senderIP: Self.ownPA, targetIP: Self.hostPA)))
    }
}
