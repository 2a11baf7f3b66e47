import NVLBWire

/// Connections that reached a VM through the gateway, so that the VM's answers go back
/// through it.
///
/// nvlb keeps the real client address when it forwards to a DIP (docs/packets.md "Internal client to CA VIP"). An internal
/// client's CA has a lookup record in the DIP's routing domain, so by lookup records alone
/// the DIP's host would send the reply straight to the client's host, bypassing nvlb's
/// reverse NAT. HNV makes the reply return through the load balancer; this table is the
/// emulator's equivalent: a flow delivered with the gateway's wildcard source (nvlb's PA,
/// the domain's gateway MAC) is remembered, and the VM's packets of the reversed flow are
/// encapsulated to the gateway. Entries expire after `idleTimeout` without traffic.
struct FlowAffinity {
    /// A flow as seen from the VM: (VSID, protocol, VM address/port, peer address/port).
    struct Key: Hashable {
        var vsid: UInt32
        var protocolNumber: UInt8
        var vmAddress: IPv4Address
        var vmPort: UInt16
        var peerAddress: IPv4Address
        var peerPort: UInt16
    }

    let idleTimeout: UInt64 = 300 * 1_000_000_000
    let capacity = 65_536
    private(set) var lastSeen: [Key: UInt64] = [:]

    /// Remembers (or refreshes) `key`; false when the table is full.
    mutating func note(_ key: Key, now: UInt64) -> Bool {
        if lastSeen[key] == nil && lastSeen.count >= capacity { return false }
        lastSeen[key] = now
        return true
    }

    /// True when `key` was delivered through the gateway and has not expired (refreshes it).
    mutating func matches(_ key: Key, now: UInt64) -> Bool {
        guard let seen = lastSeen[key], now &- seen <= idleTimeout else { return false }
        lastSeen[key] = now
        return true
    }

    /// Forgets idle flows.
    mutating func expire(now: UInt64) {
        lastSeen = lastSeen.filter { now &- $0.value <= idleTimeout }
    }
}
