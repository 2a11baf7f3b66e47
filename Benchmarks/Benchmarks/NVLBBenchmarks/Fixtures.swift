import Glibc
import NVLBDataplane
import NVLBPolicy
import NVLBWire

// Policies and frames for the benchmarks. The benchmark package cannot import the test
// targets, so the SPEC §7 example policy (Tests/NVLBTestSupport/TestPolicies.swift) and
// the SPEC §3 golden frames (Tests/NVLBDataplaneTests/GoldenFrameTests.swift) are copied
// here. Everything in this file runs in setup, outside the measured region.

/// The clock value every benchmark passes as `now` (seconds): flows never expire.
let benchmarkNow: UInt32 = 1000

enum Policies {
    static func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
    static func mac(_ text: String) -> MACAddress { MACAddress(text)! }

    /// The SPEC §7 example: Blue (5001, 5002) and Red (6001), public VIPs 131.107.10.10
    /// (blue-web: TCP 80, UDP 53→5353, two DIPs of weight 1 and 2) and 131.107.20.20
    /// (red-web: TCP 443), CA VIP 10.1.5.100:8080 in VSID 5002 (blue-app, source-IP hashing).
    static func example(flowID: PolicyConfiguration.Underlay.FlowIDMode = .hash) -> PolicyConfiguration {
        var underlay = PolicyConfiguration.Underlay(address: ip("192.168.6.2"), mac: mac("02:4c:42:00:06:02"))
        underlay.gatewayMAC = mac("02:00:00:00:06:01")
        underlay.neighbors = [.init(address: ip("192.168.6.4"), mac: mac("02:00:00:00:06:04"))]
        underlay.flowID = flowID
        let blue = PolicyConfiguration.RoutingDomain(
            name: "blue", gatewayMAC: mac("02:4c:42:00:b1:00"), subnets: [5001, 5002],
            lookupRecords: [
                .init(vsid: 5001, ca: ip("10.1.6.20"), pa: ip("192.168.6.3"), mac: mac("00:15:5d:01:06:20")),
                .init(vsid: 5001, ca: ip("10.1.6.21"), pa: ip("192.168.6.4"), mac: mac("00:15:5d:01:06:21")),
                .init(vsid: 5002, ca: ip("10.1.5.20"), pa: ip("192.168.6.7"), mac: mac("00:15:5d:01:05:20")),
            ])
        let red = PolicyConfiguration.RoutingDomain(
            name: "red", gatewayMAC: mac("02:4c:42:00:e1:00"), subnets: [6001],
            lookupRecords: [
                .init(vsid: 6001, ca: ip("10.1.6.21"), pa: ip("192.168.6.5"), mac: mac("00:15:5d:02:06:21")),
                .init(vsid: 6001, ca: ip("10.1.6.22"), pa: ip("192.168.6.6"), mac: mac("00:15:5d:02:06:22")),
            ])
        let blueWeb = PolicyConfiguration.LoadBalancer(
            name: "blue-web", routingDomain: "blue", frontends: [.init(vsid: nil, vip: ip("131.107.10.10"))],
            rules: [
                .init(protocolNumber: .tcp, frontendPort: 80, backendPort: 80),
                .init(protocolNumber: .udp, frontendPort: 53, backendPort: 5353, idleTimeout: 30),
            ],
            backends: [.init(vsid: 5001, ca: ip("10.1.6.20")), .init(vsid: 5001, ca: ip("10.1.6.21"), weight: 2)])
        let blueApp = PolicyConfiguration.LoadBalancer(
            name: "blue-app", routingDomain: "blue", frontends: [.init(vsid: 5002, vip: ip("10.1.5.100"))],
            rules: [.init(protocolNumber: .tcp, frontendPort: 8080, backendPort: 8080, loadDistribution: .sourceIP)],
            backends: [.init(vsid: 5001, ca: ip("10.1.6.20")), .init(vsid: 5001, ca: ip("10.1.6.21"))])
        let redWeb = PolicyConfiguration.LoadBalancer(
            name: "red-web", routingDomain: "red", frontends: [.init(vsid: nil, vip: ip("131.107.20.20"))],
            rules: [.init(protocolNumber: .tcp, frontendPort: 443, backendPort: 443)],
            backends: [.init(vsid: 6001, ca: ip("10.1.6.21")), .init(vsid: 6001, ca: ip("10.1.6.22"))])
        return PolicyConfiguration(
            balancer: .init(), underlay: underlay,
            external: .init(interface: nil, mac: mac("02:4c:42:00:00:01"), gatewayMAC: mac("02:00:00:00:00:fe")),
            routingDomains: [blue, red], loadBalancers: [blueWeb, blueApp, redWeb])
    }

    /// The example with Blue's load balancers reduced to DIP 10.1.6.21 and FlowID 0: the
    /// policy the golden frames were computed for.
    static func goldenExample() -> PolicyConfiguration {
        var configuration = example(flowID: .zero)
        for index in configuration.loadBalancers.indices
        where configuration.loadBalancers[index].routingDomain == "blue" {
            configuration.loadBalancers[index].backends = [.init(vsid: 5001, ca: ip("10.1.6.21"))]
        }
        return configuration
    }
}

/// The actors of the example (Tests/NVLBDataplaneTests/Harness.swift).
enum Actors {
    static let lbMAC = Policies.mac("02:4c:42:00:06:02")
    static let lbPA = Policies.ip("192.168.6.2")
    static let externalMAC = Policies.mac("02:4c:42:00:00:01")
    static let routerMAC = Policies.mac("02:00:00:00:00:fe")
    static let blueGateway = Policies.mac("02:4c:42:00:b1:00")
    static let host1MAC = Policies.mac("02:00:00:00:06:04")
    static let host1PA = Policies.ip("192.168.6.4")
    static let clientHostMAC = Policies.mac("02:00:00:00:06:07")
    static let clientHostPA = Policies.ip("192.168.6.7")
    static let clientVMMAC = Policies.mac("00:15:5d:01:05:20")
    static let clientVM = Policies.ip("10.1.5.20")
    static let client = Policies.ip("203.0.113.7")
    static let blueVIP = Policies.ip("131.107.10.10")
    static let redVIP = Policies.ip("131.107.20.20")
    static let appVIP = Policies.ip("10.1.5.100")
}

/// SPEC §3.1–3.4 input frames, byte for byte as in GoldenFrameTests.
enum GoldenFrames {
    static let externalRequest = hexBytes(
        """
        02 4c 42 00 00 01  02 00 00 00 00 fe  08 00   // Ethernet: external.mac ← router
        45 28 00 28 00 00 40 00 40 06 71 2b           // IPv4: TOS 0x28, len 40, DF, TTL 64, TCP
        cb 00 71 07  83 6b 0a 0a                      // 203.0.113.7 → 131.107.10.10
        9c 40 00 50 00 00 03 e8 00 00 00 00           // TCP 40000 → 80, seq 1000
        50 02 ff ff 45 ed 00 00                       // SYN
        """)
    static let externalReply = hexBytes(
        """
        02 4c 42 00 06 02  02 00 00 00 06 04  08 00   // outer Ethernet: MACLB ← MACH1
        45 00 00 52 00 00 40 00 40 2f ad 26
        c0 a8 06 04  c0 a8 06 02                      // 192.168.6.4 → 192.168.6.2
        20 00 65 58  00 13 89 5a                      // VSID 5001, FlowID 0x5a
        02 4c 42 00 b1 00  00 15 5d 01 06 21  08 00   // inner: blue gateway ← MACVM2
        45 00 00 28 00 00 40 00 40 06 ee b2
        0a 01 06 15  cb 00 71 07                      // 10.1.6.21 → 203.0.113.7
        00 50 9c 40 00 00 13 88 00 00 03 e9
        50 12 ff ff af b3 00 00                       // SYN+ACK
        """)
    static let internalRequest = hexBytes(
        """
        02 4c 42 00 06 02  02 00 00 00 06 07  08 00   // outer: MACLB ← client's host
        45 00 00 52 00 00 40 00 40 2f ad 23
        c0 a8 06 07  c0 a8 06 02                      // 192.168.6.7 → 192.168.6.2
        20 00 65 58  00 13 8a 33                      // VSID 5002, FlowID 0x33
        02 4c 42 00 b1 00  00 15 5d 01 05 20  08 00   // inner: blue gateway ← client VM
        45 00 00 28 00 00 40 00 40 06 1c 57
        0a 01 05 14  0a 01 05 64                      // 10.1.5.20 → 10.1.5.100
        c3 50 1f 90 00 00 00 4d 00 00 00 00           // 50000 → 8080, seq 77
        50 02 ff ff ae 3b 00 00
        """)
    static let internalReply = hexBytes(
        """
        02 4c 42 00 06 02  02 00 00 00 06 04  08 00
        45 00 00 52 00 00 40 00 40 2f ad 26
        c0 a8 06 04  c0 a8 06 02                      // 192.168.6.4 → 192.168.6.2
        20 00 65 58  00 13 89 11                      // VSID 5001
        02 4c 42 00 b1 00  00 15 5d 01 06 21  08 00
        45 00 00 28 00 00 40 00 40 06 1b a6
        0a 01 06 15  0a 01 05 14                      // 10.1.6.21 → 10.1.5.20
        1f 90 c3 50 00 00 23 28 00 00 00 4e
        50 12 ff ff 8a 51 00 00
        """)

    /// SPEC §3.5: who-has 192.168.6.2 (nvlb's PA), broadcast from host 1.
    static let arpRequest = FrameBuilder.arpRequest(
        senderMAC: Actors.host1MAC, senderIP: Actors.host1PA, targetIP: Actors.lbPA)

    /// An Internet packet to an address of the external side that is no VIP: `no_vip`.
    static let noVIP = FrameBuilder.tcp(
        srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client,
        dst: Policies.ip("131.107.99.99"), sport: 40000, dport: 80, flags: .syn)
}

/// Parses readable hex: whitespace and `//` comments to the end of a line are ignored.
func hexBytes(_ text: String) -> [UInt8] {
    var digits: [UInt8] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let code = line.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for character in code where character.isHexDigit { digits.append(UInt8(String(character), radix: 16)!) }
    }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

/// SplitMix64: a small seeded generator, so that every run shuffles alike.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One frame copied into manually managed memory (no array access in the measured loop).
final class RawFrame {
    let bytes: UnsafeMutableRawPointer
    let count: Int

    init(_ frame: [UInt8]) {
        count = frame.count
        bytes = .allocate(byteCount: max(count, 1), alignment: 64)
        frame.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: count) }
    }

    deinit { bytes.deallocate() }
}

/// Flow-table memory on 2 MiB-aligned transparent huge pages (`madvise(MADV_HUGEPAGE)`;
/// this kernel's THP mode is `madvise`, so plain allocations get 4 KiB pages and a lookup in a
/// 128 MiB table also misses the TLB). An experiment for the runtime's table allocation.
final class HugePageMemory {
    let base: UnsafeMutableRawPointer
    init(byteCount: Int) {
        var pointer: UnsafeMutableRawPointer?
        precondition(posix_memalign(&pointer, 2 << 20, byteCount) == 0, "posix_memalign failed")
        base = pointer!
        _ = madvise(base, byteCount, MADV_HUGEPAGE)  // advisory: without THP the table still works
    }
    deinit { free(base) }
}

/// A flow table of `capacity` slots: on `memory` when given, else from the general allocator.
func makeFlowTable(capacity: Int, memory: HugePageMemory?) -> FlowTable {
    guard let memory else { return FlowTable(capacity: capacity) }
    return FlowTable(memory: memory.base, capacity: capacity)
}

/// Huge-page memory for a flow table of `capacity` slots, or nil for the general allocator.
func flowTableMemory(capacity: Int, hugePages: Bool) -> HugePageMemory? {
    hugePages ? HugePageMemory(byteCount: FlowTable.byteCount(capacity: capacity)) : nil
}

/// A data plane worker with a snapshot and one receive buffer, as a receive loop holds them.
/// The worker lives behind a pointer so the measured loop calls its mutating methods without
/// the dynamic exclusivity checks of a class property.
final class WorkerFixture {
    let snapshot: PolicySnapshot
    let worker: UnsafeMutablePointer<DataplaneWorker>
    /// `Packet.headroom` bytes, then room for a jumbo frame.
    let buffer: UnsafeMutableRawPointer

    /// Owns the flow table's memory when it is on huge pages.
    let tableMemory: HugePageMemory?

    init(configuration: PolicyConfiguration, flowCapacity: Int, hugePages: Bool = false) {
        snapshot = PolicySnapshot(configuration: configuration)
        worker = .allocate(capacity: 1)
        tableMemory = flowTableMemory(capacity: flowCapacity, hugePages: hugePages)
        worker.initialize(to: DataplaneWorker(flows: makeFlowTable(capacity: flowCapacity, memory: tableMemory)))
        buffer = .allocate(byteCount: Packet.headroom + 16_384, alignment: 64)
    }

    deinit {
        worker.deinitialize(count: 1)
        worker.deallocate()
        buffer.deallocate()
    }

    /// Runs one frame outside the measurement (priming flows, checking verdicts).
    @discardableResult
    func run(_ frame: [UInt8]) -> (verdict: Verdict, output: [UInt8]) {
        frame.withUnsafeBytes { (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var packet = Packet(base: buffer, start: Packet.headroom, length: frame.count)
        let verdict = worker.pointee.process(&packet, snapshot: snapshot, now: benchmarkNow)
        if case .drop = verdict { return (verdict, []) }
        return (verdict, Array(UnsafeRawBufferPointer(start: packet.bytes, count: packet.length)))
    }
}
