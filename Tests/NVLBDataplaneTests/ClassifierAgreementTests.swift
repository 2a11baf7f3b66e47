import NVLBBalancing
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import PropertyBased
import Testing

@testable import NVLBDataplane

/// The promise of `Pipeline+Classify.swift`: the fast NVGRE classifier
/// (`classifyNVGREFast`, two address-index probes) accepts a frame only when the checked
/// one (`classifyNVGREChecked`, one map per step, the reference) classifies it the same way
/// — same kind, offsets, addresses, ports, listener, record and flow hash — and every frame
/// the checked classifier drops, the fast one refuses (hands to the checked one).
///
/// Frames: NVGRE built from the example policy's actors (every record as sender, VIPs and
/// CAs as destinations, right and wrong VSIDs, MACs, PAs, protocols and ports), each then
/// possibly mutated (bytes overwritten, truncated) or replaced by random bytes behind a valid
/// outer header.
@Suite struct ClassifierAgreementTests {
    static let snapshot = PolicySnapshot(configuration: TestPolicies.example())
    static let configuration = TestPolicies.example()

    /// What both classifiers concluded about one frame.
    struct Outcome: Equatable, CustomStringConvertible {
        var fastAccepted: Bool
        var fast: [Int]
        var checked: [Int]
        var checkedKind: Classification.Kind
        var description: String { "fast accepted \(fastAccepted): \(fast) vs checked \(checked)" }
    }

    /// The fields of a classification a later stage reads, as integers (comparable).
    static func fields(_ c: Classification) -> [Int] {
        [
            Int(c.kind.rawValue), c.ethernet, c.ip, c.transport, c.ipLength, Int(c.vsid), Int(c.protocolNumber),
            Int(c.tcpFlags), Int(c.source), Int(c.destination), Int(c.sourcePort), Int(c.destinationPort),
            Int(c.hash), Int(c.listener), Int(c.record),
        ]
    }

    /// Runs both classifiers on `frame` as `classify` would reach them: nil when the frame
    /// stops before (outer IPv4 malformed, not GRE).
    static func classifyBoth(_ frame: [UInt8]) -> Outcome? {
        var bytes = frame
        return bytes.withUnsafeMutableBytes { buffer -> Outcome? in
            guard let p = buffer.baseAddress, buffer.count >= EthernetHeader.size,
                EthernetHeader(p).etherType == EthernetHeader.etherTypeIPv4
            else { return nil }
            let outerEnd = DataplaneWorker.validIPv4(p, offset: EthernetHeader.size, end: buffer.count)
            guard outerEnd > 0, IPv4Header(p + EthernetHeader.size).protocolNumber == 47 else { return nil }
            var fast = Classification()
            let accepted = DataplaneWorker.classifyNVGREFast(p, outerEnd: outerEnd, into: &fast, snapshot: snapshot)
            var checked = Classification()
            DataplaneWorker.classifyNVGREChecked(p, outerEnd: outerEnd, into: &checked, snapshot: snapshot)
            return Outcome(
                fastAccepted: accepted, fast: fields(fast), checked: fields(checked), checkedKind: checked.kind)
        }
    }

    /// The agreement itself.
    static func agree(_ outcome: Outcome) -> Bool {
        outcome.fastAccepted ? outcome.fast == outcome.checked : true
    }

    // MARK: Frames

    static func pick<T>(_ choices: [T], _ rng: inout SplitMix64) -> T { choices.randomElement(using: &rng)! }

    /// An NVGRE frame toward nvlb from the example's actors: a coherent request to a CA VIP,
    /// a coherent reply from a DIP, or a mix in which any field may be wrong.
    static func frame(_ rng: inout SplitMix64) -> [UInt8] {
        let domains = configuration.routingDomains
        let records = domains.flatMap(\.lookupRecords)
        let gateways = domains.map(\.gatewayMAC)
        let vips = configuration.loadBalancers.flatMap(\.frontends).map(\.vip)
        var sender = pick(records, &rng)
        var destination = Int.random(in: 0..<3, using: &rng) == 0 ? pick(records, &rng).ca : pick(vips, &rng)
        var vsid: UInt32 =
            Int.random(in: 0..<4, using: &rng) == 0 ? pick([5001, 5002, 6001, 7000, 0xFF_FFFF], &rng) : sender.vsid
        var sourceMAC = Int.random(in: 0..<4, using: &rng) > 0 ? sender.mac : pick(records, &rng).mac
        var pa = Int.random(in: 0..<4, using: &rng) == 0 ? pick(records, &rng).pa : sender.pa
        var gatewayMAC =
            Int.random(in: 0..<5, using: &rng) == 0
            ? MACAddress(rawValue: 0x0200_0000_0001)
            : pick(gateways, &rng)
        var tcp = Int.random(in: 0..<8, using: &rng) < 4
        var fixedPorts: (UInt16?, UInt16?) = (nil, nil)
        let lb = pick(configuration.loadBalancers, &rng)
        let rule = pick(lb.rules, &rng)
        let domain = domains.first { $0.name == lb.routingDomain }!
        switch Int.random(in: 0..<3, using: &rng) {
        case 0:
            // A request to the load balancer's frontend from a client of its routing domain.
            guard let frontend = lb.frontends.first(where: { $0.vsid != nil }) else { break }
            sender = pick(domain.lookupRecords, &rng)
            (vsid, destination, sourceMAC, pa) = (frontend.vsid!, frontend.vip, sender.mac, sender.pa)
            gatewayMAC = domain.gatewayMAC
            tcp = rule.protocolNumber == .tcp
            fixedPorts = (nil, rule.frontendPort)
        case 1:
            // A reply from one of its DIPs toward some client.
            let backend = pick(lb.backends, &rng)
            sender = records.first { $0.vsid == backend.vsid && $0.ca == backend.ca }!
            (vsid, sourceMAC, pa) = (sender.vsid, sender.mac, sender.pa)
            destination = Bool.random(using: &rng) ? Actors.client : pick(domain.lookupRecords, &rng).ca
            gatewayMAC = domain.gatewayMAC
            tcp = rule.protocolNumber == .tcp
            fixedPorts = (rule.backendPort, nil)
        default:
            break
        }
        let ports: [UInt16] = [80, 53, 443, 8080, 5353, 40_000, UInt16.random(in: 1...65_535, using: &rng)]
        let (sport, dport) = (fixedPorts.0 ?? pick(ports, &rng), fixedPorts.1 ?? pick(ports, &rng))
        let ip = FrameBuilder.IPv4Fields(
            tos: UInt8.random(in: 0...255, using: &rng), identification: UInt16.random(in: 0...65_535, using: &rng))
        let payload = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let inner: [UInt8]
        switch (tcp, Int.random(in: 0..<8, using: &rng)) {
        case (_, 7):
            inner = FrameBuilder.arpRequest(senderMAC: sourceMAC, senderIP: sender.ca, targetIP: destination)
        case (true, _):
            inner = FrameBuilder.tcp(
                srcMAC: sourceMAC, dstMAC: gatewayMAC, src: sender.ca, dst: destination, sport: sport, dport: dport,
                flags: pick([.syn, .ack, [.ack, .psh], [.fin, .ack], .rst], &rng), payload: payload, ip: ip)
        case (false, _):
            inner = FrameBuilder.udp(
                srcMAC: sourceMAC, dstMAC: gatewayMAC, src: sender.ca, dst: destination, sport: sport, dport: dport,
                payload: payload, ip: ip)
        }
        return FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: Actors.host1MAC, outerDestinationMAC: Actors.lbMAC, outerSource: pa,
            outerDestination: Actors.lbPA, vsid: vsid, flowID: UInt8.random(in: 0...255, using: &rng))
    }

    /// `frame` with some bytes after the outer Ethernet overwritten (weighted toward the
    /// headers), truncated, or its inner part replaced by random bytes.
    static func mutated(_ frame: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var frame = frame
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            return frame  // unchanged: the well-formed cases
        case 1:
            // Random bytes behind the outer headers (kept valid: a GRE key of a known VSID).
            let keep = 42
            let count = Int.random(in: 0...120, using: &rng)
            frame =
                Array(frame[0..<min(keep, frame.count)])
                + (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let total = UInt16(frame.count - EthernetHeader.size)
            frame[16] = UInt8(total >> 8)
            frame[17] = UInt8(total & 0xFF)
            return frame
        case 2:
            // Truncated (the outer total length then no longer fits: only some survive).
            return Array(frame[0..<Int.random(in: EthernetHeader.size...frame.count, using: &rng)])
        default:
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let headerEnd = min(frame.count, 42 + 14 + 20 + 20)
                let index = Int.random(in: EthernetHeader.size..<headerEnd, using: &rng)
                frame[index] =
                    Bool.random(using: &rng)
                    ? UInt8.random(in: 0...255, using: &rng)
                    : frame[index] ^ (1 << UInt8.random(in: 0...7, using: &rng))
            }
            return frame
        }
    }

    static func caseFrame(seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return mutated(frame(&rng), &rng)
    }

    // MARK: Tests

    @Test func fastAcceptsOnlyWhatCheckedClassifiesIdentically() async {
        await propertyCheck(count: 2000, input: Gen.uint64()) { seed in
            let frame = Self.caseFrame(seed: seed)
            guard let outcome = Self.classifyBoth(frame) else { return }
            #expect(Self.agree(outcome), "seed \(seed): \(outcome)")
        }
    }

    /// The same over a fixed range of seeds, with a census: the property must not hold
    /// vacuously (the fast path accepts requests and replies; the checked path drops).
    @Test func theCasesCoverAcceptanceAndDrops() {
        var accepted = 0
        var acceptedKinds: Set<UInt8> = []
        var droppedByChecked = 0
        for seed in UInt64(0)..<3000 {
            guard let outcome = Self.classifyBoth(Self.caseFrame(seed: seed)) else { continue }
            #expect(Self.agree(outcome), "seed \(seed): \(outcome)")
            if outcome.fastAccepted {
                accepted += 1
                acceptedKinds.insert(UInt8(outcome.fast[0]))
            }
            if outcome.checkedKind == .done {
                droppedByChecked += 1
                #expect(!outcome.fastAccepted, "seed \(seed): the checked classifier dropped what the fast one took")
            }
        }
        #expect(accepted > 300, "fast path accepted \(accepted)")
        #expect(
            acceptedKinds
                == [Classification.Kind.internalRequest.rawValue, Classification.Kind.reply.rawValue])
        #expect(droppedByChecked > 300, "checked path dropped \(droppedByChecked)")
    }

    /// The golden NVGRE frames: each accepted by the fast path, with the checked result.
    @Test(arguments: [
        ("internal request", GoldenFrames.internalRequestIn), ("internal reply", GoldenFrames.internalReplyIn),
        ("external reply", GoldenFrames.externalReplyIn),
    ])
    func goldenFramesTakeTheFastPath(_ name: String, _ frame: [UInt8]) throws {
        let outcome = try #require(Self.classifyBoth(frame), "\(name)")
        #expect(outcome.fastAccepted, "\(name)")
        #expect(outcome.fast == outcome.checked, "\(name): \(outcome)")
    }
}
