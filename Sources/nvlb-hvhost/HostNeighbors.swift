import NVLBDataplane
import NVLBWire

/// Underlay next hops of the host: static entries (the gateway, `underlay.neighbors`), else
/// ARP through the data plane's ``NeighborCache`` (the one nvlb's workers use), plus the queue
/// a host's kernel keeps: frames for an unresolved PA wait (at most `queueLimit` per PA, like
/// Linux's `unres_qlen`) and leave when the answer arrives, or are given up on
/// (`neighbor_unresolved`) when the cache marks the PA failed after its probes.
///
/// Times are nanoseconds of the monotonic clock; the cache counts milliseconds.
struct HostNeighbors: ~Copyable {
    let statics: [IPv4Address: MACAddress]
    let cache: NeighborCache
    /// Frames waiting for their PA, whole (the destination MAC is filled in on resolution).
    private(set) var pending: [IPv4Address: [[UInt8]]] = [:]
    let queueLimit = 64

    init(statics: [IPv4Address: MACAddress]) {
        self.statics = statics
        var configuration = NeighborCache.Configuration()
        // A host retries a failed PA at its next frame, as Linux does, rather than holding it.
        configuration.failedHoldMilliseconds = configuration.retryMilliseconds
        cache = NeighborCache(configuration: configuration)
    }

    /// What to do with a frame for a PA.
    enum Resolution {
        /// Send now with this destination MAC.
        case resolved(MACAddress)
        /// Queued until the PA resolves.
        case queued
        /// The PA's queue is full: drop.
        case overflow
    }

    /// Resolves `pa` for `frame` (queued when unresolved), and the destination of an ARP
    /// request to send for it (broadcast, or the stale MAC to refresh), if one is due.
    mutating func resolve(_ pa: IPv4Address, frame: [UInt8], now: UInt64) -> (Resolution, requestTo: MACAddress?) {
        if let mac = statics[pa] { return (.resolved(mac), nil) }
        let lookup = cache.lookup(pa, now: Self.milliseconds(now))
        let request = Self.requestDestination(lookup)
        if lookup.isResolved { return (.resolved(MACAddress(rawValue: lookup.mac)), request) }
        guard pending[pa, default: []].count < queueLimit else { return (.overflow, request) }
        pending[pa, default: []].append(frame)
        return (.queued, request)
    }

    /// Learns `pa` at `mac` from an ARP packet (`create`: the packet concerned this host;
    /// otherwise only a PA already asked for is updated). Returns the frames that waited for
    /// it, with their destination MAC filled in.
    mutating func learn(_ pa: IPv4Address, mac: MACAddress, create: Bool, now: UInt64) -> [[UInt8]] {
        guard statics[pa] == nil,
            cache.apply(NeighborUpdate(address: pa, mac: mac, create: create), now: Self.milliseconds(now)),
            let frames = pending.removeValue(forKey: pa)
        else { return [] }
        return frames.map { frame in
            var frame = frame
            frame.withUnsafeMutableBytes { EthernetHeader($0.baseAddress!).destination = mac }
            return frame
        }
    }

    /// Periodic work for the PAs frames wait for: the ARP requests now due (PA, destination),
    /// and the number of frames given up on.
    mutating func tick(now: UInt64) -> (requests: [(IPv4Address, MACAddress)], dropped: Int) {
        var requests: [(IPv4Address, MACAddress)] = []
        var dropped = 0
        for pa in Array(pending.keys) {
            if let destination = Self.requestDestination(cache.lookup(pa, now: Self.milliseconds(now))) {
                requests.append((pa, destination))
            } else if cache.entry(pa)?.state == .failed {
                dropped += pending.removeValue(forKey: pa)?.count ?? 0
            }
        }
        return (requests, dropped)
    }

    private static func requestDestination(_ lookup: NeighborLookup) -> MACAddress? {
        guard lookup.sendRequest else { return nil }
        return lookup.isResolved ? MACAddress(rawValue: lookup.mac) : .broadcast
    }

    private static func milliseconds(_ nanoseconds: UInt64) -> UInt64 { nanoseconds / 1_000_000 }
}
