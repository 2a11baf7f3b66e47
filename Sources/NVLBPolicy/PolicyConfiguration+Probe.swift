extension PolicyConfiguration {
    /// `load_balancers[].probes[]`: a health check of every DIP of the load balancer,
    /// sent through the overlay from the routing domain's `probe_source` (docs/health.md).
    public struct Probe: Sendable, Equatable {
        /// `protocol: tcp | http`.
        public enum Kind: String, Sendable, Equatable, CaseIterable {
            /// Up when the DIP answers a SYN with SYN-ACK.
            case tcp
            /// Up when `GET path` returns a 2xx or 3xx status line.
            case http
        }
        public var name: String
        public var kind: Kind
        /// Destination port; nil: the backend port of the rules that use the probe.
        public var port: UInt16?
        /// HTTP request path (starts with `/`); unused for `tcp`.
        public var path: String = "/"
        /// Seconds between two probes of one DIP (≥ 1).
        public var interval: UInt32 = 5
        /// Seconds a probe may take (< `interval`).
        public var timeout: UInt32 = 2
        /// Consecutive successes that bring a down DIP up.
        public var rise: UInt32 = 2
        /// Consecutive failures that take an up DIP down.
        public var fall: UInt32 = 3

        public init(
            name: String, kind: Kind, port: UInt16? = nil, path: String = "/", interval: UInt32 = 5,
            timeout: UInt32 = 2, rise: UInt32 = 2, fall: UInt32 = 3
        ) {
            self.name = name
            self.kind = kind
            self.port = port
            self.path = path
            self.interval = interval
            self.timeout = timeout
            self.rise = rise
            self.fall = fall
        }
    }
}
