import NVLBWire

/// Underlay next hops: PA → MAC from static entries, else learned by ARP.
///
/// Frames for an unresolved PA wait (at most `queueLimit` per PA, like Linux's
/// `unres_qlen`) while ARP requests go out once a second, `maximumTries` times; then they
/// are dropped as `neighbor_unresolved`. A learned entry older than `staleAfter` is still
/// used, and refreshed by a new request (Linux's STALE state), so traffic never stalls on
/// a refresh.
struct NeighborCache {
    struct Entry {
        var mac: MACAddress?
        var updated: UInt64 = 0
        var lastRequest: UInt64 = 0
        var tries = 0
        /// Whole frames whose destination MAC (bytes 0–5) is filled in on resolution.
        var pending: [[UInt8]] = []
    }

    static let second: UInt64 = 1_000_000_000
    let staleAfter: UInt64 = 60 * second
    let retryInterval: UInt64 = second
    let maximumTries = 3
    let queueLimit = 64

    private(set) var statics: [IPv4Address: MACAddress]
    private(set) var entries: [IPv4Address: Entry] = [:]

    init(statics: [IPv4Address: MACAddress]) { self.statics = statics }

    /// What to do with a frame for `pa`.
    enum Resolution {
        /// Send now with this destination MAC; `refresh` asks for an ARP request as well.
        case resolved(MACAddress, refresh: Bool)
        /// Queued; `request` asks for an ARP request now.
        case queued(request: Bool)
        /// Queue full: drop.
        case overflow
    }

    /// Resolves `pa` for `frame` (queued when unresolved).
    mutating func resolve(_ pa: IPv4Address, frame: [UInt8], now: UInt64) -> Resolution {
        if let mac = statics[pa] { return .resolved(mac, refresh: false) }
        var entry = entries[pa] ?? Entry()
        defer { entries[pa] = entry }
        if let mac = entry.mac {
            let refresh = now &- entry.updated > staleAfter && now &- entry.lastRequest > retryInterval
            if refresh { entry.lastRequest = now }
            return .resolved(mac, refresh: refresh)
        }
        guard entry.pending.count < queueLimit else { return .overflow }
        entry.pending.append(frame)
        if entry.tries == 0 {
            entry.tries = 1
            entry.lastRequest = now
            return .queued(request: true)
        }
        return .queued(request: false)
    }

    /// Records `pa` at `mac` (from any ARP packet); returns the frames that waited for it,
    /// with their destination MAC filled in.
    mutating func learn(_ pa: IPv4Address, mac: MACAddress, now: UInt64) -> [[UInt8]] {
        guard statics[pa] == nil else { return [] }
        var entry = entries[pa] ?? Entry()
        entry.mac = mac
        entry.updated = now
        entry.tries = 0
        let pending = entry.pending
        entry.pending = []
        entries[pa] = entry
        return pending.map { frame in
            var frame = frame
            for index in 0..<6 { frame[index] = UInt8(truncatingIfNeeded: mac.rawValue >> UInt64(40 - 8 * index)) }
            return frame
        }
    }

    /// Periodic work: the PAs to ask for again, and the number of frames given up on.
    mutating func tick(now: UInt64) -> (requests: [IPv4Address], dropped: Int) {
        var requests: [IPv4Address] = []
        var dropped = 0
        for (pa, var entry) in entries where entry.mac == nil && !entry.pending.isEmpty {
            guard now &- entry.lastRequest >= retryInterval else { continue }
            if entry.tries >= maximumTries {
                dropped += entry.pending.count
                entry.pending = []
                entry.tries = 0
            } else {
                entry.tries += 1
                entry.lastRequest = now
                requests.append(pa)
            }
            entries[pa] = entry
        }
        return (requests, dropped)
    }
}
