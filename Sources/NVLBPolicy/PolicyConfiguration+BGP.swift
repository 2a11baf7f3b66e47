import NVLBWire

extension PolicyConfiguration {
    /// `bgp:` — this instance announces its VIPs and the shared underlay address to routers
    /// doing ECMP over several nvlb instances (docs/operations.md "Several instances behind ECMP").
    public struct BGP: Sendable, Equatable {
        /// `speaker:` — the BGP implementation nvlb runs as its child process.
        public enum Speaker: String, Sendable, Equatable, CaseIterable {
            /// ExaBGP 4 (Debian `exabgp`), driven through its text API.
            case exabgp
        }

        /// `peers[i]`: a router to peer with.
        public struct Peer: Sendable, Equatable {
            public var address: IPv4Address
            /// The router's AS number (`as`).
            public var asn: UInt32

            public init(address: IPv4Address, asn: UInt32) {
                self.address = address
                self.asn = asn
            }
        }

        public var speaker: Speaker = .exabgp
        public var localAS: UInt32
        public var routerID: IPv4Address
        /// A kernel address of this host: the source of the BGP sessions.
        public var localAddress: IPv4Address
        /// This instance's own data-plane address, announced as the next hop of its routes;
        /// nvlb answers ARP for it.
        public var nextHop: IPv4Address
        public var peers: [Peer]
        /// Seconds; 0 (no keepalives) or 3…65535.
        public var holdTime: UInt16 = 9
        /// Seconds nvlb keeps forwarding after withdrawing everything on SIGTERM.
        public var drainSeconds: UInt32 = 5

        public init(
            localAS: UInt32, routerID: IPv4Address, localAddress: IPv4Address, nextHop: IPv4Address, peers: [Peer]
        ) {
            self.localAS = localAS
            self.routerID = routerID
            self.localAddress = localAddress
            self.nextHop = nextHop
            self.peers = peers
        }
    }
}
