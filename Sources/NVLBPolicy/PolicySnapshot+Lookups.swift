import NVLBBalancing

// The queries of the packet path: each one or two probes of a compiled index, no
// allocation, no ARC traffic.

extension PolicySnapshot {
    /// The record of (VSID, CA), or nil.
    @inlinable @inline(__always)
    public func record(vsid: UInt32, ca: UInt32) -> Int? {
        recordIndex.find(UInt64(vsid) << 32 | UInt64(ca)).map(Int.init)
    }

    /// The record of a CA in a routing domain (CAs are unique within a domain), or nil.
    @inlinable @inline(__always)
    public func record(domain: Int32, ca: UInt32) -> Int? {
        domainCAIndex.find(UInt64(UInt32(bitPattern: domain)) << 32 | UInt64(ca)).map(Int.init)
    }

    /// `frontend(...)` result: the address is not a VIP.
    public static let notAVIP: Int32 = -1
    /// `frontend(...)` result: a VIP without a rule for the protocol and port.
    public static let noRuleForPort: Int32 = -2

    /// The listener reached by (VSID or 0, VIP, protocol, port): its index, or
    /// `notAVIP` / `noRuleForPort`. One map lookup and a scan of the VIP's few ports.
    @inlinable @inline(__always)
    public func frontend(vsid: UInt32, vip: UInt32, protocolNumber: UInt8, port: UInt16) -> Int32 {
        guard let index = vipIndex.find(UInt64(vsid) << 32 | UInt64(vip)) else { return Self.notAVIP }
        return listener(vip: index, protocolNumber: protocolNumber, port: port)
    }

    /// The listener of frontend `vip` (an index in `vips`, ≥ 0) for (protocol, port),
    /// or `noRuleForPort`. A scan of the VIP's few ports.
    @inlinable @inline(__always)
    public func listener(vip: Int32, protocolNumber: UInt8, port: UInt16) -> Int32 {
        let entry = vips[Int(vip)]
        let key = UInt32(protocolNumber) << 16 | UInt32(port)
        var i = Int(entry.firstPort)
        let end = i &+ Int(entry.portCount)
        while i < end {
            if vipPorts[i].key == key { return vipPorts[i].listener }
            i &+= 1
        }
        return Self.noRuleForPort
    }

    /// True when (VSID or 0, VIP) is a frontend address.
    @inlinable
    public func isVIP(vsid: UInt32, vip: UInt32) -> Bool {
        vipIndex.find(UInt64(vsid) << 32 | UInt64(vip)) != nil
    }

    /// The Maglev choice for `hash` under `rule`: a global backend index, or nil
    /// when every DIP of the rule has weight 0.
    @inlinable
    public func selectBackend(rule: Int, hash: UInt64) -> Int? {
        let r = rules.pointer(rule)
        let slot = MaglevTable.slot(forHash: hash, size: maglevTableSize)
        let entry = maglev[Int(r.pointee.maglevOffset) + slot]
        if entry == UInt16.max { return nil }
        return Int(loadBalancers[Int(r.pointee.loadBalancer)].backendBase) + Int(entry)
    }

    /// The global index of DIP (VSID, CA) among the backends of load balancer `lb`, or nil.
    public func backendIndex(loadBalancer lb: Int, vsid: UInt32, ca: UInt32) -> Int? {
        let info = loadBalancers[lb]
        for index in Int(info.backendBase)..<Int(info.backendBase + info.backendCount) {
            if backends[index].vsid == vsid && backends[index].ca == ca { return index }
        }
        return nil
    }
}
