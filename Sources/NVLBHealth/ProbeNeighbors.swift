import NVLBIO
import NVLBWire

/// Next hops of hosts that have no static neighbour and no `underlay.gateway_mac`, learned
/// by the prober from ARP on the underlay (docs/health.md). The workers' own neighbour
/// caches are theirs alone; the prober keeps this small table instead.
///
/// Learns the sender of every ARP frame seen; asks (at most once a second per address)
/// for an address it does not know, and again for an entry older than `refresh`, still
/// using the old MAC meanwhile.
public struct ProbeNeighborTable: Sendable {
    /// Nanoseconds between two requests for one address.
    public static let requestInterval: UInt64 = 1_000_000_000
    /// Nanoseconds after which a learned MAC is asked for again.
    public static let refresh: UInt64 = 60_000_000_000

    var entries: [IPv4Address: (mac: MACAddress, learned: UInt64)] = [:]
    var requested: [IPv4Address: UInt64] = [:]

    public init() {}

    /// Learns the sender of an Ethernet/ARP frame; other frames are ignored.
    public mutating func learn(_ frame: UnsafeRawBufferPointer, now: UInt64) {
        guard frame.count >= EthernetHeader.size + ARPHeader.size,
            frame[12] == 0x08, frame[13] == 0x06, let base = frame.baseAddress
        else { return }
        let arp = ARPHeader(UnsafeMutableRawPointer(mutating: base + EthernetHeader.size))
        guard arp.isEthernetIPv4, arp.senderIP.rawValue != 0, !arp.senderMAC.isMulticast else { return }
        entries[arp.senderIP] = (arp.senderMAC, now)
    }

    /// The MAC of `address` if known, and whether to send an ARP request for it now.
    public mutating func lookup(_ address: IPv4Address, now: UInt64) -> (mac: MACAddress?, request: Bool) {
        let entry = entries[address]
        let stale = entry.map { now &- $0.learned >= Self.refresh } ?? true
        var request = false
        if stale, now &- (requested[address] ?? 0) >= Self.requestInterval || requested[address] == nil {
            requested[address] = now
            request = true
        }
        return (entry?.mac, request)
    }
}

/// `ProbeNeighborTable` on the live underlay: an ARP-only capture of the interface (a copy
/// of every ARP frame, outside the workers' fanout group) and requests sent by `transmit`.
public final class LiveProbeNeighbors: @unchecked Sendable {
    private var capture: LiveCapture
    private let buffers = FrameBuffers(count: 16, slotSize: 128, headroom: 0)
    private var table = ProbeNeighborTable()
    private let address: IPv4Address
    private let mac: MACAddress
    private let transmit: ([UInt8]) -> Void
    private let clock = MonotonicClock()

    /// Opens the capture on `interface`; requests go out from (`address`, `mac`).
    public init(
        interface: String, address: IPv4Address, mac: MACAddress, transmit: @escaping ([UInt8]) -> Void
    ) throws {
        var options = LiveCapture.Options()
        options.filter = "arp"
        options.snapshotLength = 128
        options.bufferBytes = 1 << 20
        capture = try LiveCapture(interface: interface, options: options)
        self.address = address
        self.mac = mac
        self.transmit = transmit
    }

    /// The next hop toward `pa`, or nil while it is being resolved.
    public func nextHop(for pa: IPv4Address) -> MACAddress? {
        let now = clock.nanoseconds
        let slots = buffers.slots
        while let count = try? capture.read(into: slots, maxFrames: slots.count), count > 0 {
            for i in 0..<count {
                table.learn(UnsafeRawBufferPointer(start: slots.frame(i), count: slots.lengths[i]), now: now)
            }
        }
        let (found, request) = table.lookup(pa, now: now)
        if request {
            transmit(FrameBuilder.arpRequest(senderMAC: mac, senderIP: address, targetIP: pa))
        }
        return found
    }
}
