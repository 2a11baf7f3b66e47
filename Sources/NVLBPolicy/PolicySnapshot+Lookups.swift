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

// Stateless reply rebuild (docs/packets.md "Replies and flow state").
extension PolicySnapshot {
    /// The second key word of `reverseIndex`: the client kind, the protocol and the DIP's port.
    @inlinable @inline(__always)
    public static func reverseKey(isInternal: Bool, protocolNumber: UInt8, backendPort: UInt16) -> UInt64 {
        (isInternal ? 1 << 24 : 0) | UInt64(protocolNumber) << 16 | UInt64(backendPort)
    }

    /// `rebuild(...)` result: no rule of either kind has that DIP port (the packet is no reply).
    public static let notAReply: Int32 = -1
    /// `rebuild(...)` result: none or several rules of the client's kind have that DIP port.
    public static let cannotRebuild: Int32 = -2

    /// The listener whose translation a reply without flow state takes, from policy alone.
    /// The client (`clientRecord` ≥ 0 when its address is a CA with a lookup record in the
    /// DIP's routing domain, else -1) decides the kind first; among the listeners of that
    /// kind reaching (DIP VSID, DIP CA, protocol, backend port) exactly one must remain.
    /// Returns its index, `cannotRebuild`, or `notAReply`. One or two map probes.
    @inlinable @inline(__always)
    public func rebuildListener(
        dipVSID: UInt32, dipCA: UInt32, protocolNumber: UInt8, backendPort: UInt16, clientIsInternal: Bool
    ) -> Int32 {
        let dip = UInt64(dipVSID) << 32 | UInt64(dipCA)
        if let found = reverseIndex.find(
            dip, Self.reverseKey(isInternal: clientIsInternal, protocolNumber: protocolNumber, backendPort: backendPort)
        ) {
            return found == Self.ambiguous ? Self.cannotRebuild : found
        }
        let other = reverseIndex.find(
            dip,
            Self.reverseKey(isInternal: !clientIsInternal, protocolNumber: protocolNumber, backendPort: backendPort))
        return other == nil ? Self.notAReply : Self.cannotRebuild
    }

    /// The record of `client` when it is a CA of the routing domain of DIP (VSID, CA), else nil:
    /// the client of a reply is internal exactly then.
    @inlinable @inline(__always)
    public func internalClient(dipVSID: UInt32, dipCA: UInt32, client: UInt32) -> Int? {
        guard let dip = recordIndex.find(UInt64(dipVSID) << 32 | UInt64(dipCA)) else { return nil }
        return record(domain: records[Int(dip)].domain, ca: client)
    }
}
