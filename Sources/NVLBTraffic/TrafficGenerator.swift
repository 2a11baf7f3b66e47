import NVLBBalancing
import NVLBIO
import NVLBPolicy
import NVLBWire

/// `nvlb gen`: realistic traffic for a configuration, as nvlb would receive it (README.md "Commands").
///
/// Every frontend × rule of every load balancer gets clients (the first flows visit each one
/// once; later flows follow the popularity distribution):
///
/// - **External clients** (public VIPs, docs/packets.md "External client to public VIP"): plain IPv4 from `external.gateway_mac`
///   to `external.mac`, client addresses in the benchmark range 198.18.0.0/15 (RFC 2544),
///   ephemeral ports 32768–60999, frames padded to the 60-byte Ethernet minimum as received.
/// - **Internal clients** (CA VIPs, docs/packets.md "Internal client to CA VIP"): a tenant VM of the frontend's VSID (one that
///   is not a backend of the same load balancer when there is one), NVGRE-encapsulated as
///   its Hyper-V host sends it: outer Ethernet from the host's MAC (its static
///   `underlay.neighbors` entry, else `02:00` + the PA's four bytes) to `underlay.mac`,
///   outer IPv4 host PA → `underlay.address`, GRE key `VSID << 8 | FlowID` (FlowID an 8-bit
///   hash of the inner 5-tuple), inner Ethernet from the VM's MAC to the routing domain's
///   `gateway_mac`.
/// - **Replies** (`replies`, docs/packets.md "Packet paths"): the DIP's answers as its host sends them: NVGRE
///   from the DIP host's PA to `underlay.address`, VSID of the DIP, inner Ethernet from the
///   DIP VM's MAC to its domain's gateway MAC, inner IPv4 `DIP CA:backend port → client`.
///   The DIP is the one nvlb picks: each flow's first request is run through a private
///   data plane worker with the compiled policy (see `BackendResolver`).
///
/// TCP flows: SYN (MSS and SACK-permitted options), SYN-ACK, ACK, then 1–3 exchanges
/// (an HTTP/1.1 GET of 300–900 bytes and a `200 OK` of 0.2–64 KB in MSS-sized segments, or
/// TLS application data records on ports 443/8443), each acknowledged, then FIN/ACK from the
/// client, FIN/ACK from the server and the last ACK, with consistent sequence and
/// acknowledgment numbers. UDP flows: 1–2 requests (DNS queries on port 53, opaque
/// datagrams elsewhere), each answered. Without `replies` the server's packets are not
/// written, but the client still acknowledges the data its server sent.
///
/// Flows are interleaved: `concurrentFlows` flows are open at once and each frame comes from
/// one of them at random, so the order within a flow is kept. Timestamps start at a time
/// derived from the seed (within 2024) and advance 1–100 µs per frame.
///
/// The output is a pure function of the configuration and the options: the generator uses
/// its own seeded xoshiro256** and SplitMix64, never the system generator or `Hasher`.
/// Memory is O(`concurrentFlows`): frames are built one at a time and streamed to the sink.
public struct TrafficGenerator: Sendable {
    /// What to generate: `nvlb gen`'s options.
    public struct Options: Sendable, Equatable {
        /// Number of flows (connections), at least 1. `--flows`, default 100.
        public var flows: Int
        /// Total frames to write (`--packets`), at least `flows`; nil (the default) lets each
        /// flow take its natural length (handshake, 1–3 exchanges, close). With a budget the
        /// frames are spread evenly over the flows (the first `packets % flows` flows get one
        /// more): a flow with a larger share makes more exchanges, one with a smaller share is
        /// cut short (first the exchanges, then the close, then the handshake), as a capture
        /// of a busy link would show it.
        public var packets: Int?
        /// Seed of every random choice. `--seed`, default 1.
        public var seed: UInt64
        /// Also write the DIPs' answers. `--replies`.
        public var replies: Bool
        /// Zipf exponent of frontend popularity (`--zipf`, e.g. 1.1): the k-th frontend in
        /// configuration order is picked with probability ∝ 1/kˢ. nil (default): uniform.
        /// Rules of a frontend are picked uniformly.
        public var zipfExponent: Double?
        /// Flows open at the same time, interleaving their frames. Default 64.
        public var concurrentFlows: Int

        /// Options with the given values; see each property for its default.
        public init(
            flows: Int = 100, packets: Int? = nil, seed: UInt64 = 1, replies: Bool = false,
            zipfExponent: Double? = nil, concurrentFlows: Int = 64
        ) {
            self.flows = flows
            self.packets = packets
            self.seed = seed
            self.replies = replies
            self.zipfExponent = zipfExponent
            self.concurrentFlows = concurrentFlows
        }
    }

    /// A frontend × rule that receives generated clients.
    public struct Target: Sendable, Equatable, CustomStringConvertible {
        /// Name of the load balancer.
        public var loadBalancer: String
        /// The frontend (external when `frontend.vsid` is nil).
        public var frontend: PolicyConfiguration.Frontend
        /// The rule.
        public var rule: PolicyConfiguration.Rule
        /// True for a public VIP (Internet clients), false for a CA VIP (tenant VMs).
        public var isExternal: Bool { frontend.vsid == nil }

        /// E.g. `blue-web 131.107.10.10 tcp/80` or `blue-app 5002/10.1.5.100 tcp/8080`.
        public var description: String {
            let vip = frontend.vsid.map { "\($0)/\(frontend.vip)" } ?? "\(frontend.vip)"
            return "\(loadBalancer) \(vip) \(rule.protocolNumber)/\(rule.frontendPort)"
        }
    }

    /// What a run generated.
    public struct Summary: Sendable, Equatable {
        /// Frames written.
        public var frames = 0
        /// Flows generated.
        public var flows = 0
        /// Frames sent by clients (toward a VIP).
        public var requestFrames = 0
        /// Frames sent by DIPs (replies).
        public var replyFrames = 0
        /// Bytes of all frames written.
        public var bytes = 0
        /// Flows of Internet clients.
        public var externalFlows = 0
        /// Flows of tenant VMs.
        public var internalFlows = 0
        /// With replies: flows nvlb would not forward (e.g. every DIP drained), so no DIP answers.
        public var flowsWithoutBackend = 0
        /// Flows per target, in the order of `TrafficGenerator.targets`.
        public var flowsPerTarget: [Int] = []
    }

    /// The configuration traffic is generated for.
    public let configuration: PolicyConfiguration
    /// The options.
    public let options: Options
    /// Every frontend × rule that gets clients, in configuration order.
    public let targets: [Target]
    /// Frontends that cannot get clients, each with the reason (e.g. an internal frontend
    /// whose VSID has no lookup record to act as a client). Empty for a typical configuration.
    public let warnings: [String]

    let snapshot: PolicySnapshot
    /// Per target: candidate client VMs (internal targets), empty for external ones.
    let clientPools: [[PolicyConfiguration.LookupRecord]]
    /// Per target: the routing domain's gateway MAC (inner destination of internal clients).
    let gatewayMACs: [MACAddress]
    /// Target indices per frontend, frontends in configuration order (the popularity ranks).
    let frontendTargets: [[Int]]
    let popularity: PopularitySampler
    /// Static neighbour entries: the MAC a host with that PA sends from.
    let hostMACs: [IPv4Address: MACAddress]
    let maximumTCPSegment: Int
    let maximumUDPPayload: Int

    /// A generator for `configuration` (validated, as `NVLBControl` loads it).
    ///
    /// - Throws: ``TrafficGeneratorError`` when an option is out of range or no frontend of
    ///   the configuration can get clients.
    /// - Complexity: compiles the policy once (Maglev tables included).
    public init(configuration: PolicyConfiguration, options: Options) throws(TrafficGeneratorError) {
        guard options.flows >= 1 else { throw .invalidOption("--flows must be at least 1, not \(options.flows)") }
        if let packets = options.packets, packets < options.flows {
            throw .invalidOption("--packets (\(packets)) must be at least --flows (\(options.flows))")
        }
        if let exponent = options.zipfExponent, !(exponent.isFinite && exponent > 0) {
            throw .invalidOption("--zipf must be a positive exponent, not \(exponent)")
        }
        guard options.concurrentFlows >= 1 else {
            throw .invalidOption("concurrent flows must be at least 1, not \(options.concurrentFlows)")
        }
        var targets: [Target] = []
        var pools: [[PolicyConfiguration.LookupRecord]] = []
        var gateways: [MACAddress] = []
        var frontendTargets: [[Int]] = []
        var warnings: [String] = []
        for lb in configuration.loadBalancers {
            guard let domain = configuration.routingDomains.first(where: { $0.name == lb.routingDomain }) else {
                warnings.append("load balancer \(lb.name): unknown routing domain \(lb.routingDomain)")
                continue
            }
            for frontend in lb.frontends {
                var pool: [PolicyConfiguration.LookupRecord] = []
                if let vsid = frontend.vsid {
                    let inSubnet = domain.lookupRecords.filter { $0.vsid == vsid && $0.ca != frontend.vip }
                    let nonBackends = inSubnet.filter { record in
                        !lb.backends.contains { $0.vsid == record.vsid && $0.ca == record.ca }
                    }
                    pool = nonBackends.isEmpty ? inSubnet : nonBackends
                    guard !pool.isEmpty else {
                        warnings.append(
                            "load balancer \(lb.name): frontend \(vsid)/\(frontend.vip) gets no clients: "
                                + "no lookup record in VSID \(vsid)")
                        continue
                    }
                } else if configuration.external == nil {
                    warnings.append(
                        "load balancer \(lb.name): frontend \(frontend.vip) gets no clients: no external section")
                    continue
                }
                var indices: [Int] = []
                for rule in lb.rules {
                    indices.append(targets.count)
                    targets.append(Target(loadBalancer: lb.name, frontend: frontend, rule: rule))
                    pools.append(pool)
                    gateways.append(domain.gatewayMAC)
                }
                if !indices.isEmpty { frontendTargets.append(indices) }
            }
        }
        guard !targets.isEmpty else { throw .noTargets(warnings) }
        self.configuration = configuration
        self.options = options
        self.targets = targets
        self.warnings = warnings
        self.clientPools = pools
        self.gatewayMACs = gateways
        self.frontendTargets = frontendTargets
        self.popularity = PopularitySampler(count: frontendTargets.count, exponent: options.zipfExponent)
        self.hostMACs = Dictionary(
            configuration.underlay.neighbors.map { ($0.address, $0.mac) }, uniquingKeysWith: { first, _ in first })
        // nvlb drops what would exceed the MTU after encapsulation (docs/packets.md "Drop reasons": too_big): the
        // hosts' tenant MTU leaves room for the 42 bytes of NVGRE, as Hyper-V's does.
        let innerIP = configuration.underlay.mtu - GREHeader.encapsulationOverhead
        self.maximumTCPSegment = max(64, min(1460, innerIP - 40))
        self.maximumUDPPayload = max(64, min(1472, innerIP - 28))
        self.snapshot = PolicySnapshot(configuration: configuration)
    }

    /// The capture's first timestamp: a second of 2024 derived from the seed.
    public var startTime: PacketTimestamp {
        PacketTimestamp(seconds: 1_704_067_200 + Int64(SplitMix64.mix(options.seed) % 31_536_000), nanoseconds: 0)
    }

    /// Generates the traffic, handing each frame to `sink` in capture order.
    ///
    /// - Parameters:
    ///   - progress: called with (flows finished, flows in total) about every 1% of flows
    ///     and once at the end.
    ///   - sink: receives every frame; its error stops generation and is rethrown.
    /// - Returns: what was generated.
    /// - Complexity: O(frames) time, O(`concurrentFlows`) memory.
    @discardableResult
    public func generate<E: Error>(
        progress: ((Int, Int) -> Void)? = nil, _ sink: (CapturedFrame) throws(E) -> Void
    ) throws(E) -> Summary {
        var random = Xoshiro256(seed: options.seed)
        let resolver = options.replies ? BackendResolver(snapshot: snapshot) : nil
        var clock = startTime
        var summary = Summary()
        summary.flowsPerTarget = Array(repeating: 0, count: targets.count)
        let concurrency = min(options.concurrentFlows, options.flows)
        var active: [ActiveFlow] = []
        active.reserveCapacity(concurrency)
        var openClients = Set<ClientKey>()
        var started = 0
        var finished = 0
        let progressStep = max(1, options.flows / 100)

        while true {
            while active.count < concurrency && started < options.flows {
                let flow = startFlow(
                    index: started, random: &random, clock: clock, resolver: resolver, openClients: &openClients)
                summary.flows += 1
                summary.flowsPerTarget[flow.target] += 1
                if flow.client.vsid == nil { summary.externalFlows += 1 } else { summary.internalFlows += 1 }
                if options.replies && flow.backend == nil { summary.flowsWithoutBackend += 1 }
                active.append(flow)
                started += 1
            }
            guard !active.isEmpty else { break }
            let slot = random.below(active.count)
            guard let step = active[slot].script.next() else {
                openClients.remove(active[slot].key)
                active.swapAt(slot, active.count - 1)
                active.removeLast()
                finished += 1
                if let progress, finished % progressStep == 0 || finished == options.flows {
                    progress(finished, options.flows)
                }
                continue
            }
            guard let frame = active[slot].frame(for: step, generator: self) else { continue }
            clock = clock.advanced(byNanoseconds: Int64(random.inRange(1...100)) * 1000)
            summary.frames += 1
            summary.bytes += frame.count
            if step.fromClient { summary.requestFrames += 1 } else { summary.replyFrames += 1 }
            try sink(CapturedFrame(bytes: frame, timestamp: clock))
        }
        return summary
    }

    /// Generates the traffic into a pcap file (Ethernet link type).
    ///
    /// - Throws: ``PcapError`` when a frame cannot be written.
    @discardableResult
    public func generate(into writer: inout PcapFileWriter, progress: ((Int, Int) -> Void)? = nil) throws(PcapError)
        -> Summary
    {
        try generate(progress: progress) { (frame: CapturedFrame) throws(PcapError) in
            try writer.write(frame.bytes, timestamp: frame.timestamp)
        }
    }

    /// Every frame, in memory: for tests and small runs (O(frames) memory).
    public func frames() -> [CapturedFrame] {
        var frames: [CapturedFrame] = []
        generate { (frame: CapturedFrame) throws(Never) in frames.append(frame) }
        return frames
    }

    // MARK: Flows

    /// The first `targets.count` flows visit every target once; the rest follow popularity.
    private func pickTarget(index: Int, random: inout Xoshiro256) -> Int {
        if index < targets.count { return index }
        let frontend = frontendTargets[popularity.draw(&random)]
        return frontend[random.below(frontend.count)]
    }

    private func startFlow(
        index: Int, random: inout Xoshiro256, clock: PacketTimestamp, resolver: BackendResolver?,
        openClients: inout Set<ClientKey>
    ) -> ActiveFlow {
        let targetIndex = pickTarget(index: index, random: &random)
        let target = targets[targetIndex]
        var flowRandom = random.fork()
        var client: Client
        let ttl: UInt8
        if target.isExternal {
            // 198.18.0.0/15 without .0 and .255 host bytes.
            var address: UInt32
            repeat {
                address = 0xC612_0000 | UInt32(flowRandom.below(1 << 17))
            } while address & 0xFF == 0 || address & 0xFF == 0xFF
            client = Client(
                address: IPv4Address(rawValue: address), port: 0, vsid: nil, pa: configuration.underlay.address,
                mac: configuration.external!.gatewayMAC)
            // Internet paths: the client's initial 64 minus a few router hops.
            ttl = UInt8(64 - flowRandom.inRange(6...20))
        } else {
            let pool = clientPools[targetIndex]
            let record = pool[flowRandom.below(pool.count)]
            client = Client(address: record.ca, port: 0, vsid: record.vsid, pa: record.pa, mac: record.mac)
            ttl = 128
        }
        let protocolNumber = target.rule.protocolNumber.rawValue
        var key = ClientKey(protocolNumber: protocolNumber, vsid: client.vsid ?? 0, address: client.address, port: 0)
        // A client does not reuse a local port while a connection on it is open.
        for attempt in 0..<64 {
            key.port = UInt16(32_768 + flowRandom.below(60_999 - 32_768 + 1))
            if !openClients.contains(key) || attempt == 63 { break }
        }
        client.port = key.port
        openClients.insert(key)

        let isTCP = target.rule.protocolNumber == .tcp
        // The script depends on whether the DIP's answers are written, known only once nvlb
        // has seen the flow's first request: start with a placeholder, replace it below.
        var flow = ActiveFlow(
            target: targetIndex, client: client, clientTTL: ttl, key: key, backend: nil,
            script: FlowScript(
                isTCP: isTCP, serverVisible: false, application: .http, maximumSegment: 0, host: "", budget: nil,
                random: flowRandom))
        if let resolver {
            let probe = flow.clientFrame(
                step: FlowStep(fromClient: true, flags: .syn), seq: 0, ack: 0, identification: 0, payload: [],
                generator: self)
            flow.backend = resolver.resolve(probe, now: UInt32(truncatingIfNeeded: clock.seconds))
        }
        var budget: Int?
        if let packets = options.packets {
            budget = packets / options.flows + (index < packets % options.flows ? 1 : 0)
        }
        let application = ApplicationProtocol(
            protocolNumber: protocolNumber, frontendPort: target.rule.frontendPort,
            backendPort: target.rule.backendPort)
        let port = target.rule.frontendPort
        let host = port == 80 || port == 443 ? "\(target.frontend.vip)" : "\(target.frontend.vip):\(port)"
        flow.script = FlowScript(
            isTCP: isTCP, serverVisible: flow.backend != nil, application: application,
            maximumSegment: isTCP ? maximumTCPSegment : maximumUDPPayload, host: host, budget: budget,
            random: flowRandom)
        return flow
    }

    /// The MAC a Hyper-V host sends from: its static neighbour entry, else `02:00` + its PA.
    func hostMAC(_ pa: IPv4Address) -> MACAddress {
        hostMACs[pa] ?? MACAddress(rawValue: 0x0200_0000_0000 | UInt64(pa.rawValue))
    }
}

/// Why a traffic generator cannot be made.
public enum TrafficGeneratorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An option is out of range; the text names it (as `nvlb gen` spells it).
    case invalidOption(String)
    /// No frontend of the configuration can get clients; the reasons, one per frontend.
    case noTargets([String])

    /// A one-line message for the command line.
    public var description: String {
        switch self {
        case .invalidOption(let message): message
        case .noTargets(let reasons):
            "no frontend can get clients" + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
        }
    }
}

/// A client endpoint that is busy while one of its connections is open.
struct ClientKey: Hashable {
    var protocolNumber: UInt8
    var vsid: UInt32
    var address: IPv4Address
    var port: UInt16
}

/// A flow in progress: who talks to whom, and its script.
struct ActiveFlow {
    var target: Int
    var client: Client
    var clientTTL: UInt8
    var key: ClientKey
    /// The DIP nvlb forwards this flow to (known only with replies).
    var backend: ResolvedBackend?
    var script: FlowScript

    private static let clientWindow: UInt16 = 64_240
    private static let serverWindow: UInt16 = 65_160
    private static let serverTTL: UInt8 = 64

    /// The frame of `step` (advancing sequence numbers), or nil when the step is not written.
    mutating func frame(for step: FlowStep, generator: TrafficGenerator) -> [UInt8]? {
        let numbers = script.isTCP ? script.sequence(step) : (seq: 0, ack: 0)
        guard script.visible(step) else { return nil }
        let identification = script.identification(fromClient: step.fromClient)
        let payload = script.payload(step)
        if step.fromClient {
            return clientFrame(
                step: step, seq: numbers.seq, ack: numbers.ack, identification: identification, payload: payload,
                generator: generator)
        }
        return serverFrame(
            step: step, seq: numbers.seq, ack: numbers.ack, identification: identification, payload: payload,
            generator: generator)
    }

    /// A client's packet toward the VIP, as nvlb receives it.
    func clientFrame(
        step: FlowStep, seq: UInt32, ack: UInt32, identification: UInt16, payload: [UInt8],
        generator g: TrafficGenerator
    ) -> [UInt8] {
        let target = g.targets[self.target]
        let source: MACAddress
        let destination: MACAddress
        if let external = g.configuration.external, client.vsid == nil {
            source = external.gatewayMAC
            destination = external.mac
        } else {
            source = client.mac
            destination = g.gatewayMACs[self.target]
        }
        let inner = transportFrame(
            srcMAC: source, dstMAC: destination, src: client.address, dst: target.frontend.vip, sport: client.port,
            dport: target.rule.frontendPort, step: step, seq: seq, ack: ack, window: Self.clientWindow,
            mss: g.maximumTCPSegment, ip: FrameBuilder.IPv4Fields(ttl: clientTTL, identification: identification),
            payload: payload)
        guard let vsid = client.vsid else { return FrameBuilder.padded(inner) }
        return FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: g.hostMAC(client.pa), outerDestinationMAC: g.configuration.underlay.mac,
            outerSource: client.pa, outerDestination: g.configuration.underlay.address, vsid: vsid,
            flowID: FlowHasher.host.flowID(
                protocolNumber: script.isTCP ? 6 : 17, source: client.address.rawValue, sourcePort: client.port,
                destination: target.frontend.vip.rawValue, destinationPort: target.rule.frontendPort))
    }

    /// The DIP's packet toward the client, as its host sends it to nvlb.
    func serverFrame(
        step: FlowStep, seq: UInt32, ack: UInt32, identification: UInt16, payload: [UInt8],
        generator g: TrafficGenerator
    ) -> [UInt8] {
        let dip = backend!
        let inner = transportFrame(
            srcMAC: dip.mac, dstMAC: dip.gatewayMAC, src: dip.ca, dst: client.address, sport: dip.port,
            dport: client.port, step: step, seq: seq, ack: ack, window: Self.serverWindow, mss: g.maximumTCPSegment,
            ip: FrameBuilder.IPv4Fields(ttl: Self.serverTTL, identification: identification), payload: payload)
        return FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: g.hostMAC(dip.pa), outerDestinationMAC: g.configuration.underlay.mac,
            outerSource: dip.pa, outerDestination: g.configuration.underlay.address, vsid: dip.vsid,
            flowID: FlowHasher.host.flowID(
                protocolNumber: script.isTCP ? 6 : 17, source: dip.ca.rawValue, sourcePort: dip.port,
                destination: client.address.rawValue, destinationPort: client.port))
    }

    private func transportFrame(
        srcMAC: MACAddress, dstMAC: MACAddress, src: IPv4Address, dst: IPv4Address, sport: UInt16, dport: UInt16,
        step: FlowStep, seq: UInt32, ack: UInt32, window: UInt16, mss: Int, ip: FrameBuilder.IPv4Fields,
        payload: [UInt8]
    ) -> [UInt8] {
        guard script.isTCP else {
            return FrameBuilder.udp(
                srcMAC: srcMAC, dstMAC: dstMAC, src: src, dst: dst, sport: sport, dport: dport, payload: payload, ip: ip
            )
        }
        // SYN and SYN-ACK announce the MSS and SACK, as every current stack does.
        let options: [UInt8] =
            step.flags.contains(.syn) ? [2, 4, UInt8(mss >> 8), UInt8(mss & 0xFF), 1, 1, 4, 2] : []
        return FrameBuilder.tcp(
            srcMAC: srcMAC, dstMAC: dstMAC, src: src, dst: dst, sport: sport, dport: dport, flags: step.flags, seq: seq,
            ack: ack, window: window, tcpOptions: options, payload: payload, ip: ip)
    }
}
