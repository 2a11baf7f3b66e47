import NVLBPolicy
import NVLBWire

/// Gratuitous ARP (docs/packets.md "ARP and next hops"): nvlb announces the addresses it
/// answers ARP for — at start, and whenever a published policy changes one of them or its
/// MAC (a PA, MAC or `bgp.next_hop` changed through the management API or SIGHUP) — so that
/// hosts and routers replace a cached MAC at once instead of after their ARP timeout.
///
/// The frame is an ARP announcement (RFC 5227 section 2.3): a broadcast request with the
/// announced address as sender and target and a zero target MAC, the form Linux
/// (`arping -U`) and Hyper-V hosts accept as an update. Each set of announcements is sent
/// ``rounds`` times, ``intervalMilliseconds`` apart: one frame lost on a busy link does not
/// leave a neighbour with the old MAC.
public enum GratuitousARP {
    /// One address nvlb answers ARP for, with the MAC it answers with and the port it answers on.
    public struct Announcement: Sendable, Equatable {
        /// The interface: the underlay, or the external side.
        public var port: Port
        /// The address announced.
        public var address: IPv4Address
        /// The MAC that answers for it.
        public var mac: MACAddress

        /// Creates an announcement.
        public init(port: Port, address: IPv4Address, mac: MACAddress) {
            self.port = port
            self.address = address
            self.mac = mac
        }
    }

    /// Times each set of announcements is sent.
    public static let rounds = 3
    /// Milliseconds between two rounds.
    public static let intervalMilliseconds: UInt64 = 1000
    /// Bytes of one frame: Ethernet + ARP padded with zeros to the 60-byte minimum.
    public static let frameLength = NeighborCache.requestLength

    /// The addresses `snapshot` answers ARP for, as `answerARP` decides (docs/packets.md
    /// "ARP and next hops"): with `bgp:` only `bgp.next_hop` (at the underlay MAC); without,
    /// the PA on the underlay and, with `external:`, every external VIP at the external MAC.
    /// Sorted by port and address; no duplicates.
    public static func announcements(for snapshot: PolicySnapshot) -> [Announcement] {
        let underlayMAC = MACAddress(rawValue: snapshot.underlayMAC)
        if snapshot.bgpNextHop != 0 {
            return [
                Announcement(port: .underlay, address: IPv4Address(rawValue: snapshot.bgpNextHop), mac: underlayMAC)
            ]
        }
        var list = [
            Announcement(port: .underlay, address: IPv4Address(rawValue: snapshot.underlayAddress), mac: underlayMAC)
        ]
        guard snapshot.hasExternal else { return list }
        let externalMAC = MACAddress(rawValue: snapshot.externalMAC)
        var vips: Set<UInt32> = []
        for lb in snapshot.configuration.loadBalancers {
            for frontend in lb.frontends where frontend.vsid == nil { vips.insert(frontend.vip.rawValue) }
        }
        for vip in vips.sorted() {
            list.append(Announcement(port: .external, address: IPv4Address(rawValue: vip), mac: externalMAC))
        }
        return list
    }

    /// Writes the announcement of `announcement` at `buffer` (``frameLength`` bytes) and
    /// returns ``frameLength``. No allocation.
    @discardableResult
    public static func write(_ announcement: Announcement, into buffer: UnsafeMutableRawPointer) -> Int {
        NeighborCache.writeRequest(
            for: announcement.address, sourceMAC: announcement.mac, sourceAddress: announcement.address,
            destination: .broadcast, into: buffer)
    }
}

/// When to send gratuitous ARP: one worker (worker 0 in `nvlb run`) keeps one of these,
/// shows it every policy it runs with (``adopt(_:now:)``, a generation compare unless the
/// policy changed) and sends what ``due(now:)`` returns. A new set of announcements
/// restarts the ``GratuitousARP/rounds``.
public struct AddressAnnouncer: Sendable {
    /// What is announced now (empty before the first policy).
    public private(set) var current: [GratuitousARP.Announcement] = []
    /// Rounds still to send for `current`.
    public private(set) var remaining = 0
    /// Frames sent so far (every round, every address).
    public private(set) var sent: UInt64 = 0
    private var generation: UInt32 = 0
    private var nextRound: UInt64 = 0

    /// An announcer that has not seen a policy.
    public init() {}

    /// Shows the announcer the policy a pass runs with (clock in milliseconds). Only a new
    /// generation is looked at; a changed set of addresses or MACs schedules its rounds
    /// from `now` on. Returns true when it did.
    @discardableResult
    @inline(__always)
    public mutating func adopt(_ snapshot: PolicySnapshot, now: UInt64) -> Bool {
        guard snapshot.generation != generation else { return false }
        return adoptChanged(snapshot, now: now)
    }

    private mutating func adoptChanged(_ snapshot: PolicySnapshot, now: UInt64) -> Bool {
        generation = snapshot.generation
        let next = GratuitousARP.announcements(for: snapshot)
        guard next != current else { return false }
        current = next
        remaining = GratuitousARP.rounds
        nextRound = now
        return true
    }

    /// The announcements to send now (counted as sent), or nil when no round is due.
    @inline(__always)
    public mutating func due(now: UInt64) -> [GratuitousARP.Announcement]? {
        guard remaining > 0, now >= nextRound else { return nil }
        remaining -= 1
        nextRound = now &+ GratuitousARP.intervalMilliseconds
        sent &+= UInt64(current.count)
        return current
    }
}
