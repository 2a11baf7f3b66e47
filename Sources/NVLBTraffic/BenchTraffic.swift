import NVLBBalancing
import NVLBPolicy
import NVLBWire

/// Prebuilt frames for `nvlb bench`: for each of N flows a client packet to a VIP
/// and the DIP's answer as its Hyper-V host sends it, assigned to the worker that
/// owns the flow (so the timed loop measures the data plane, not hand-offs). The
/// caller says which worker owns a flow hash (the runtime's steering function).
///
/// Flows cycle over every (frontend × rule) of the policy; external clients come
/// from 198.18.0.0/15, internal clients are the lookup records of the frontend's
/// routing domain. The DIP of each reply is the policy's Maglev choice. Frames are
/// minimum-size TCP ACKs (steady-state data packets), stored in 128-byte records.
public struct BenchTraffic: ~Copyable {
    /// Bytes per stored frame.
    public static let recordSize = 128
    /// Frames of each worker: `records[w]` holds `counts[w]` frames; frame `i` of
    /// worker `w` starts at `records[w] + i * recordSize` and is `lengths[w][i]` long.
    public let records: [UnsafeMutableRawPointer]
    public let lengths: [[UInt16]]
    public let counts: [Int]
    /// Flows that have a DIP (all, unless every DIP of some rule has weight 0).
    public let flows: Int

    /// Builds the frames of `flows` flows for `workers` workers; `owner` maps a flow hash
    /// (`FlowHasher.flowHash` over protocol, client IP and client port) to its worker.
    public init(snapshot s: PolicySnapshot, flows: Int, workers: Int, owner: (UInt32) -> Int) {
        var perWorker = [[[UInt8]]](repeating: [], count: workers)
        var requests = [[[UInt8]]](repeating: [], count: workers)
        var replies = [[[UInt8]]](repeating: [], count: workers)
        var made = 0
        let underlayMAC = MACAddress(rawValue: s.underlayMAC)
        let underlayPA = IPv4Address(rawValue: s.underlayAddress)
        // Clients of each routing domain, by domain index.
        var domainClients = [[Int]](repeating: [], count: s.domains.count)
        for r in 0..<s.records.count { domainClients[Int(s.records[r].domain)].append(r) }
        var generator = Xoshiro256(seed: 0x6e76_6c62_6265_6e63)

        for i in 0..<flows where s.listeners.count > 0 {
            let listener = s.listeners[i % s.listeners.count]
            let rule = s.rules[Int(listener.rule)]
            let lb = s.loadBalancers[Int(rule.loadBalancer)]
            let proto = rule.protocolNumber
            var clientIP: UInt32
            var clientPort: UInt16
            var clientVSID: UInt32 = 0
            var clientRecord = -1
            // Client (address, port) pairs are unique over all flows: the flow-table bucket
            // (and the owner) depend on the client side only, and a client reusing one port
            // toward many VIPs would pile its flows into one bucket.
            let flow = UInt32(truncatingIfNeeded: i)
            if listener.vsid == 0 {
                clientIP = 0xC612_0000 | (flow / 28_000) & 0x1_FFFF
                clientPort = UInt16(32_768 + flow % 28_000)
            } else {
                let candidates = domainClients[Int(lb.domain)]
                guard !candidates.isEmpty else { continue }
                clientRecord = candidates[Int(flow) % candidates.count]
                clientIP = s.records[clientRecord].ca
                clientVSID = s.records[clientRecord].vsid
                clientPort = UInt16(1024 + (flow / UInt32(candidates.count)) % 64_000)
            }
            let selection = s.hasher.selectionHash(
                distribution: rule.distribution, protocolNumber: proto, clientIP: clientIP, clientPort: clientPort,
                vip: listener.vip, vipPort: listener.port, clientVSID: clientVSID)
            guard let backend = s.selectBackend(rule: Int(listener.rule), hash: selection) else { continue }
            let dip = s.backends[backend]
            let dipRecord = s.records[Int(dip.record)]
            let gateway = MACAddress(rawValue: s.domains[Int(lb.domain)].gatewayMAC)
            let client = IPv4Address(rawValue: clientIP)
            let vip = IPv4Address(rawValue: listener.vip)
            let dipCA = IPv4Address(rawValue: dip.ca)

            let request: [UInt8]
            if clientRecord < 0 {
                request = Self.transport(
                    proto, srcMAC: MACAddress(rawValue: s.externalGatewayMAC),
                    dstMAC: MACAddress(rawValue: s.externalMAC),
                    src: client, dst: vip, sport: clientPort, dport: listener.port)
            } else {
                let record = s.records[clientRecord]
                let inner = Self.transport(
                    proto, srcMAC: MACAddress(rawValue: record.mac), dstMAC: gateway, src: client, dst: vip,
                    sport: clientPort, dport: listener.port)
                request = FrameBuilder.encapsulate(
                    inner: inner, outerSourceMAC: Self.hostMAC(record.pa), outerDestinationMAC: underlayMAC,
                    outerSource: IPv4Address(rawValue: record.pa), outerDestination: underlayPA, vsid: listener.vsid,
                    flowID: UInt8(truncatingIfNeeded: generator.next()))
            }
            let replyInner = Self.transport(
                proto, srcMAC: MACAddress(rawValue: dipRecord.mac), dstMAC: gateway, src: dipCA, dst: client,
                sport: rule.backendPort, dport: clientPort)
            let reply = FrameBuilder.encapsulate(
                inner: replyInner, outerSourceMAC: Self.hostMAC(dipRecord.pa), outerDestinationMAC: underlayMAC,
                outerSource: IPv4Address(rawValue: dipRecord.pa), outerDestination: underlayPA, vsid: dip.vsid,
                flowID: UInt8(truncatingIfNeeded: generator.next()))
            let worker = owner(s.hasher.flowHash(protocolNumber: proto, clientIP: clientIP, clientPort: clientPort))
            requests[worker].append(request)
            replies[worker].append(reply)
            made += 1
        }
        // Requests and replies of different flows alternate, each sequence shuffled, so
        // consecutive packets touch unrelated flow-table buckets.
        for w in 0..<workers {
            requests[w].shuffle(using: &generator)
            replies[w].shuffle(using: &generator)
            for (request, reply) in zip(requests[w], replies[w]) {
                perWorker[w].append(request)
                perWorker[w].append(reply)
            }
        }
        records = perWorker.map { frames in
            let memory = UnsafeMutableRawPointer.allocate(
                byteCount: max(1, frames.count) * Self.recordSize, alignment: 64)
            for (i, frame) in frames.enumerated() {
                precondition(frame.count <= Self.recordSize)
                frame.withUnsafeBytes {
                    (memory + i * Self.recordSize).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                }
            }
            return memory
        }
        lengths = perWorker.map { $0.map { UInt16($0.count) } }
        counts = perWorker.map(\.count)
        self.flows = made
    }

    deinit { for memory in records { memory.deallocate() } }

    static func transport(
        _ proto: UInt8, srcMAC: MACAddress, dstMAC: MACAddress, src: IPv4Address, dst: IPv4Address, sport: UInt16,
        dport: UInt16
    ) -> [UInt8] {
        proto == TransportProtocol.udp.rawValue
            ? FrameBuilder.udp(srcMAC: srcMAC, dstMAC: dstMAC, src: src, dst: dst, sport: sport, dport: dport)
            : FrameBuilder.tcp(
                srcMAC: srcMAC, dstMAC: dstMAC, src: src, dst: dst, sport: sport, dport: dport, flags: .ack)
    }

    /// A stable MAC for a Hyper-V host's PA (02:00 followed by the PA).
    static func hostMAC(_ pa: UInt32) -> MACAddress { MACAddress(rawValue: 0x0200_0000_0000 | UInt64(pa)) }
}
