import NVLBPolicy
import NVLBWire

/// `bgp:` — announcements to ECMP routers (docs/operations.md "Several instances behind ECMP").
struct RawBGP {
    static let keys = [
        "speaker", "local_as", "router_id", "local_address", "next_hop", "peers", "hold_time", "drain_seconds",
    ]

    var position: SourcePosition
    var path: String
    var speaker: Located<PolicyConfiguration.BGP.Speaker>?
    var localAS: Located<Int>?
    var routerID: Located<IPv4Address>?
    var localAddress: Located<IPv4Address>?
    var nextHop: Located<IPv4Address>?
    var peers: Located<[RawBGPPeer]>?
    var holdTime: Located<Int>?
    var drainSeconds: Located<Int>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        if let node = map.node("speaker", required: true) {
            speaker = map.reader.choice(
                node, path: map.path("speaker"),
                options: PolicyConfiguration.BGP.Speaker.allCases.map { ($0.rawValue, $0) })
        }
        localAS = map.integer("local_as", required: true)
        routerID = map.ipv4("router_id", required: true)
        localAddress = map.ipv4("local_address", required: true)
        nextHop = map.ipv4("next_hop", required: true)
        peers = map.list("peers", required: true, keys: RawBGPPeer.keys, element: RawBGPPeer.init)
        holdTime = map.integer("hold_time")
        drainSeconds = map.integer("drain_seconds")
    }

    /// The section with defaults applied; `nil` if a required value is missing.
    func bgp() -> PolicyConfiguration.BGP? {
        guard speaker != nil, let localAS = localAS?.value, let routerID = routerID?.value,
            let localAddress = localAddress?.value, let nextHop = nextHop?.value, let rawPeers = peers?.value
        else { return nil }
        var peers: [PolicyConfiguration.BGP.Peer] = []
        for peer in rawPeers {
            guard let address = peer.address?.value, let asn = peer.asn?.value else { return nil }
            peers.append(.init(address: address, asn: UInt32(asn)))
        }
        var bgp = PolicyConfiguration.BGP(
            localAS: UInt32(localAS), routerID: routerID, localAddress: localAddress, nextHop: nextHop, peers: peers)
        if let speaker { bgp.speaker = speaker.value }
        if let holdTime { bgp.holdTime = UInt16(holdTime.value) }
        if let drainSeconds { bgp.drainSeconds = UInt32(drainSeconds.value) }
        return bgp
    }
}

/// `bgp.peers[i]`.
struct RawBGPPeer {
    static let keys = ["address", "as"]

    var position: SourcePosition
    var path: String
    var address: Located<IPv4Address>?
    var asn: Located<Int>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        address = map.ipv4("address", required: true)
        asn = map.integer("as", required: true)
    }
}

/// The rules of `bgp:` (docs/configuration.md "bgp").
extension ConfigurationValidator {
    /// 4-byte AS numbers; 0 and 4294967295 (AS_TRANS's neighbours) are reserved.
    static let asNumber = 1...4_294_967_294
    static let drainSeconds = 0...3600

    func validateBGP() {
        guard let bgp = raw.bgp else { return }
        checkRange(bgp.localAS, Self.asNumber)
        checkUnicast(bgp.routerID)
        checkUnicast(bgp.localAddress)
        checkUnicast(bgp.nextHop)
        if let holdTime = bgp.holdTime, holdTime.value != 0, !(3...65535).contains(holdTime.value) {
            report(
                "must be 0 (no keepalives) or between 3 and 65535 seconds (RFC 4271), found \(holdTime.value)", holdTime
            )
        }
        checkRange(bgp.drainSeconds, Self.drainSeconds)
        if let nextHop = bgp.nextHop, let address = raw.underlay?.address, nextHop.value == address.value {
            report(
                "\(nextHop.value) is the shared underlay.address; next_hop must be this instance's own address "
                    + "(every instance announces the underlay address with its own next hop)", nextHop)
        }
        if let peers = bgp.peers {
            if peers.value.isEmpty { report("must list at least one router", peers) }
            var seen: [IPv4Address: String] = [:]
            for peer in peers.value {
                checkUnicast(peer.address)
                checkRange(peer.asn, Self.asNumber)
                guard let address = peer.address else { continue }
                if let first = seen[address.value] {
                    report("duplicate peer \(address.value) (also \(first))", address)
                } else {
                    seen[address.value] = peer.path
                }
                if address.value == bgp.localAddress?.value {
                    report("\(address.value) is local_address; a peer is another router", address)
                }
            }
        }
    }
}
