import Foundation
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import NVLBRuntime
import NVLBTraffic
import NVLBTestSupport
import NVLBWire
import Testing

/// What a generated frame is, decided from its headers alone.
private enum Role: Equatable {
    case externalRequest, internalRequest, externalReply, internalReply
}

private let benchmarkRange: ClosedRange<UInt32> = 0xC612_0000...0xC613_FFFF

private func role(_ frame: ParsedFrame, vips: Set<IPv4Address>) -> Role? {
    if let inner = frame.inner, let ip = inner.ipv4 {
        if vips.contains(ip.destination) { return .internalRequest }
        return benchmarkRange.contains(ip.destination.rawValue) ? .externalReply : .internalReply
    }
    return frame.ipv4 == nil ? nil : .externalRequest
}

/// The transport ports of an IPv4 datagram.
private func ports(_ ip: ParsedIPv4) -> (source: UInt16, destination: UInt16)? {
    if let tcp = ip.tcp { return (tcp.sourcePort, tcp.destinationPort) }
    if let udp = ip.udp { return (udp.sourcePort, udp.destinationPort) }
    return nil
}

/// One data plane worker driven like a receive loop (cf. the data plane tests' harness).
private final class Pipeline {
    var worker = DataplaneWorker(flowCapacity: 1 << 14)
    let snapshot: PolicySnapshot
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: Packet.headroom + 65_536, alignment: 64)

    init(_ configuration: PolicyConfiguration) { snapshot = PolicySnapshot(configuration: configuration) }
    deinit { buffer.deallocate() }

    func run(_ frame: CapturedFrame) -> (verdict: Verdict, output: [UInt8]) {
        frame.bytes.withUnsafeBytes {
            (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
        }
        var packet = Packet(base: buffer, start: Packet.headroom, length: frame.bytes.count)
        let verdict = worker.process(
            &packet, snapshot: snapshot, now: UInt32(truncatingIfNeeded: frame.timestamp.seconds))
        if case .drop = verdict { return (verdict, []) }
        return (verdict, Array(UnsafeRawBufferPointer(start: packet.bytes, count: packet.length)))
    }
}

@Suite struct TrafficGeneratorTests {
    let configuration = TestPolicies.example()
    var vips: Set<IPv4Address> {
        Set(configuration.loadBalancers.flatMap { $0.frontends.filter { $0.vsid != nil }.map(\.vip) })
    }

    func generator(_ options: TrafficGenerator.Options) throws -> TrafficGenerator {
        try TrafficGenerator(configuration: configuration, options: options)
    }

    @Test(arguments: [false, true])
    func everyFrameParsesWithValidChecksums(replies: Bool) throws {
        let frames = try generator(.init(flows: 120, seed: 7, replies: replies)).frames()
        #expect(!frames.isEmpty)
        var previous = PacketTimestamp.zero
        for frame in frames {
            let parsed = try ParsedFrame.parse(frame.bytes)
            #expect(parsed.checksumsValid)
            #expect(frame.bytes.count >= 60)
            #expect(frame.timestamp > previous)
            previous = frame.timestamp
            // Every frame is IPv4 (plain from the Internet, or NVGRE carrying IPv4).
            let ip = try #require(parsed.inner?.ipv4 ?? parsed.ipv4)
            #expect(ip.tcp != nil || ip.udp != nil)
        }
    }

    @Test(arguments: [(10, 10, false), (10, 10, true), (37, 1000, false), (37, 1000, true), (5, 3001, true)])
    func packetBudgetIsExact(flows: Int, packets: Int, replies: Bool) throws {
        let generator = try generator(.init(flows: flows, packets: packets, seed: 3, replies: replies))
        let frames = generator.frames()
        #expect(frames.count == packets)
        let summary = generator.generate { (_: CapturedFrame) in }
        #expect(summary.flows == flows)
        #expect(summary.frames == packets)
        #expect(summary.requestFrames + summary.replyFrames == packets)
        #expect(replies == (summary.replyFrames > 0) || packets == flows)
        // Each TCP flow begins with exactly one SYN.
        let tcpFlows = zip(generator.targets, summary.flowsPerTarget).filter { $0.0.rule.protocolNumber == .tcp }
            .map(\.1).reduce(0, +)
        let syns = frames.filter { frame in
            let parsed = ParsedFrame(frame.bytes)
            let tcp = (parsed?.inner?.ipv4 ?? parsed?.ipv4)?.tcp
            return tcp?.flags == .syn
        }
        #expect(syns.count == tcpFlows)
    }

    @Test func naturalLengthFlowsAreComplete() throws {
        let generator = try generator(.init(flows: 50, seed: 11, replies: true))
        let frames = generator.frames()
        let summary = generator.generate { (_: CapturedFrame) in }
        #expect(summary.frames == frames.count)
        #expect(summary.flows == 50)
        #expect(summary.flowsWithoutBackend == 0)
        let flags = frames.compactMap { frame -> TCPFlags? in
            let parsed = ParsedFrame(frame.bytes)
            return (parsed?.inner?.ipv4 ?? parsed?.ipv4)?.tcp?.flags
        }
        let tcpFlows = zip(generator.targets, summary.flowsPerTarget).filter { $0.0.rule.protocolNumber == .tcp }
            .map(\.1).reduce(0, +)
        #expect(flags.filter { $0 == .syn }.count == tcpFlows)
        #expect(flags.filter { $0 == [.syn, .ack] }.count == tcpFlows)
        #expect(flags.filter { $0.contains(.fin) }.count == 2 * tcpFlows)
        #expect(flags.filter { $0.contains(.psh) }.count >= 2 * tcpFlows)
    }

    @Test func everyFrontendAndRuleGetsClients() throws {
        let generator = try generator(.init(flows: 40, seed: 5))
        #expect(generator.targets.count == 4)
        #expect(generator.warnings.isEmpty)
        let summary = generator.generate { (_: CapturedFrame) in }
        #expect(summary.flowsPerTarget.allSatisfy { $0 > 0 })
        #expect(summary.externalFlows > 0 && summary.internalFlows > 0)
        // Seen on the wire: (VSID or nil, VIP, protocol, port) of every client frame.
        struct Seen: Hashable {
            var vsid: UInt32?
            var vip: IPv4Address
            var protocolNumber: UInt8
            var port: UInt16
        }
        var seen = Set<Seen>()
        for frame in generator.frames() {
            let parsed = try ParsedFrame.parse(frame.bytes)
            switch role(parsed, vips: vips) {
            case .externalRequest:
                let ip = parsed.ipv4!
                seen.insert(Seen(vsid: nil, vip: ip.destination, protocolNumber: ip.protocolNumber, port: ports(ip)!.1))
            case .internalRequest:
                let ip = parsed.inner!.ipv4!
                seen.insert(
                    Seen(
                        vsid: parsed.gre!.vsid, vip: ip.destination, protocolNumber: ip.protocolNumber,
                        port: ports(ip)!.1))
            default:
                Issue.record("a reply without --replies")
            }
        }
        let expected = Set(
            generator.targets.map {
                Seen(
                    vsid: $0.frontend.vsid, vip: $0.frontend.vip, protocolNumber: $0.rule.protocolNumber.rawValue,
                    port: $0.rule.frontendPort)
            })
        #expect(seen == expected)
    }

    @Test func clientsLookLikeTheirHosts() throws {
        let records = configuration.routingDomains.flatMap(\.lookupRecords)
        let blueApp = configuration.loadBalancers.first { $0.name == "blue-app" }!
        let external = configuration.external!
        let underlay = configuration.underlay
        for frame in try generator(.init(flows: 200, seed: 9)).frames() {
            let parsed = try ParsedFrame.parse(frame.bytes)
            switch role(parsed, vips: vips) {
            case .externalRequest:
                let ip = parsed.ipv4!
                #expect(parsed.source == external.gatewayMAC && parsed.destination == external.mac)
                #expect(benchmarkRange.contains(ip.source.rawValue))
                #expect((32_768...60_999).contains(ports(ip)!.source))
            case .internalRequest:
                let outer = parsed.ipv4!
                let inner = parsed.inner!
                let vsid = try #require(parsed.gre?.vsid)
                let record = try #require(records.first { $0.vsid == vsid && $0.ca == inner.ipv4!.source })
                #expect(outer.source == record.pa && inner.source == record.mac)
                #expect(outer.destination == underlay.address && parsed.destination == underlay.mac)
                #expect(parsed.gre?.flagsVersion == 0x2000 && parsed.gre?.protocolType == 0x6558)
                #expect(inner.destination == TestPolicies.mac("02:4c:42:00:b1:00"))
                #expect(!blueApp.backends.contains { $0.vsid == vsid && $0.ca == record.ca })
                #expect((32_768...60_999).contains(ports(inner.ipv4!)!.source))
            default:
                Issue.record("a reply without --replies")
            }
        }
    }

    @Test func sequenceNumbersAreConsistent() throws {
        struct Side: Hashable {
            var address: IPv4Address
            var port: UInt16
            var fromClient: Bool
        }
        var next: [Side: UInt32] = [:]
        var checked = 0
        for frame in try generator(.init(flows: 60, seed: 13, replies: true)).frames() {
            let parsed = try ParsedFrame.parse(frame.bytes)
            let ip = parsed.inner?.ipv4 ?? parsed.ipv4!
            guard let tcp = ip.tcp else { continue }
            let kind = role(parsed, vips: vips)!
            let fromClient = kind == .externalRequest || kind == .internalRequest
            let me = Side(
                address: fromClient ? ip.source : ip.destination,
                port: fromClient ? tcp.sourcePort : tcp.destinationPort, fromClient: fromClient)
            var peer = me
            peer.fromClient.toggle()
            if tcp.flags == .syn { next[peer] = nil }
            if let expected = next[me], !tcp.flags.contains(.syn) {
                #expect(tcp.sequenceNumber == expected)
                checked += 1
            }
            if tcp.flags.contains(.ack), let expected = next[peer] { #expect(tcp.acknowledgmentNumber == expected) }
            var consumed = UInt32(tcp.payload.count)
            if tcp.flags.contains(.syn) || tcp.flags.contains(.fin) { consumed += 1 }
            next[me] = tcp.sequenceNumber &+ consumed
        }
        #expect(checked > 100)
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(seed: UInt64, name: String) throws -> Data {
            let path = directory.appendingPathComponent(name).path
            var writer = try PcapFileWriter(path: path)
            let summary = try generator(.init(flows: 80, seed: seed, replies: true, zipfExponent: 1.1))
                .generate(into: &writer)
            try writer.close()
            var reader = try PcapFileReader(path: path)
            #expect(try reader.readAll().count == summary.frames)
            return try Data(contentsOf: URL(fileURLWithPath: path))
        }
        let first = try write(seed: 42, name: "a.pcap")
        let second = try write(seed: 42, name: "b.pcap")
        let other = try write(seed: 43, name: "c.pcap")
        #expect(first.count > 10_000)
        #expect(first == second)
        #expect(first != other)
    }

    @Test(arguments: [false, true])
    func repliesAreAcceptedByThePipeline(budgeted: Bool) throws {
        let generator = try generator(
            .init(flows: 150, packets: budgeted ? 2_000 : nil, seed: 21, replies: true, concurrentFlows: 16))
        let pipeline = Pipeline(configuration)
        // The DIP nvlb sent each client's flow to: (client address, port) → (VSID, CA).
        struct Endpoint: Hashable {
            var address: IPv4Address
            var port: UInt16
        }
        struct DIP: Hashable {
            var vsid: UInt32
            var ca: IPv4Address
        }
        var dips: [Endpoint: DIP] = [:]
        var counts: [String: Int] = [:]
        for frame in generator.frames() {
            let parsed = try ParsedFrame.parse(frame.bytes)
            let kind = try #require(role(parsed, vips: vips))
            let (verdict, output) = pipeline.run(frame)
            counts["\(kind)", default: 0] += 1
            switch kind {
            case .externalRequest, .internalRequest:
                #expect(verdict == .forward(.underlay))
                let out = try ParsedFrame.parse(output)
                let ip = try #require(out.inner?.ipv4)
                dips[Endpoint(address: ip.source, port: ports(ip)!.source)] = DIP(
                    vsid: out.gre!.vsid!, ca: ip.destination)
            case .externalReply, .internalReply:
                #expect(verdict == .forward(kind == .externalReply ? .external : .underlay))
                let ip = parsed.inner!.ipv4!
                let dip = dips[Endpoint(address: ip.destination, port: ports(ip)!.destination)]
                #expect(dip == DIP(vsid: parsed.gre!.vsid!, ca: ip.source), "the reply comes from the DIP nvlb chose")
            }
        }
        #expect(pipeline.worker.counters.snapshot().dropped == 0)
        for kind in ["externalRequest", "internalRequest", "externalReply", "internalReply"] {
            #expect(counts[kind, default: 0] > 0, "\(kind)")
        }
    }

    @Test func zipfFavoursTheFirstFrontend() throws {
        func perFrontend(_ exponent: Double?) throws -> [Int] {
            let generator = try generator(.init(flows: 3_000, packets: 3_000, seed: 1, zipfExponent: exponent))
            let summary = generator.generate { (_: CapturedFrame) in }
            var counts: [String: Int] = [:]
            for (target, flows) in zip(generator.targets, summary.flowsPerTarget) {
                counts["\(target.frontend.vip)", default: 0] += flows
            }
            return ["131.107.10.10", "10.1.5.100", "131.107.20.20"].map { counts[$0]! }
        }
        let uniform = try perFrontend(nil)
        #expect(uniform.allSatisfy { abs($0 - 1_000) < 150 })
        let zipf = try perFrontend(1.5)
        #expect(zipf[0] > zipf[1] && zipf[1] > zipf[2])
        #expect(zipf[0] > 1_700)
    }

    @Test func invalidOptionsAreRejected() {
        #expect(throws: TrafficGeneratorError.self) { try generator(.init(flows: 0)) }
        #expect(throws: TrafficGeneratorError.self) { try generator(.init(flows: 10, packets: 9)) }
        #expect(throws: TrafficGeneratorError.self) { try generator(.init(zipfExponent: 0)) }
        #expect(throws: TrafficGeneratorError.self) { try generator(.init(concurrentFlows: 0)) }
    }

    @Test func frontendsWithoutPossibleClientsAreReported() throws {
        var configuration = TestPolicies.example()
        // VSID 5002 loses its only VM: blue-app's frontend can get no internal client.
        configuration.routingDomains[0].lookupRecords.removeAll { $0.vsid == 5002 }
        let generator = try TrafficGenerator(configuration: configuration, options: .init(flows: 10))
        #expect(generator.targets.count == 3)
        #expect(generator.warnings.count == 1)
    }
}
