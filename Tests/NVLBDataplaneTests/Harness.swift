import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire

/// Runs frames through one worker's pipeline, as a receive loop would: each frame
/// is copied into a buffer behind `Packet.headroom` bytes.
final class Harness {
    var worker: DataplaneWorker
    var snapshot: PolicySnapshot
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: Packet.headroom + 16_384, alignment: 64)

    init(_ configuration: PolicyConfiguration, flowCapacity: Int = 1024) {
        worker = DataplaneWorker(flowCapacity: flowCapacity)
        snapshot = PolicySnapshot(configuration: configuration)
    }

    deinit { buffer.deallocate() }

    /// The verdict for `frame` and the bytes nvlb would send (empty when dropped).
    func run(_ frame: [UInt8], now: UInt32 = 1000) -> (verdict: Verdict, output: [UInt8]) {
        frame.withUnsafeBytes { (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var packet = Packet(base: buffer, start: Packet.headroom, length: frame.count)
        let verdict = worker.process(&packet, snapshot: snapshot, now: now)
        if case .drop = verdict { return (verdict, []) }
        return (verdict, Array(UnsafeRawBufferPointer(start: packet.bytes, count: packet.length)))
    }

    var counters: CounterSnapshot { worker.counters.snapshot() }
}

/// Frames of the SPEC example's actors.
enum Actors {
    static let lbMAC = TestPolicies.mac("02:4c:42:00:06:02")
    static let lbPA = TestPolicies.ip("192.168.6.2")
    static let externalMAC = TestPolicies.mac("02:4c:42:00:00:01")
    static let routerMAC = TestPolicies.mac("02:00:00:00:00:fe")
    static let blueGateway = TestPolicies.mac("02:4c:42:00:b1:00")
    static let host1MAC = TestPolicies.mac("02:00:00:00:06:04")
    static let client = TestPolicies.ip("203.0.113.7")
    static let blueVIP = TestPolicies.ip("131.107.10.10")
    static let redVIP = TestPolicies.ip("131.107.20.20")
    static let appVIP = TestPolicies.ip("10.1.5.100")

    /// Internet client → public VIP.
    static func external(
        dst: IPv4Address = blueVIP, sport: UInt16 = 40000, dport: UInt16 = 80, flags: TCPFlags = .syn,
        src: IPv4Address = client, payload: [UInt8] = []
    ) -> [UInt8] {
        FrameBuilder.tcp(
            srcMAC: routerMAC, dstMAC: externalMAC, src: src, dst: dst, sport: sport, dport: dport, flags: flags,
            payload: payload)
    }

    /// A tenant VM's frame, NVGRE-encapsulated by its host toward nvlb.
    static func fromHost(
        hostPA: IPv4Address, hostMAC: MACAddress = host1MAC, vsid: UInt32, inner: [UInt8], flowID: UInt8 = 0x42
    ) -> [UInt8] {
        FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: hostMAC, outerDestinationMAC: lbMAC, outerSource: hostPA,
            outerDestination: lbPA, vsid: vsid, flowID: flowID)
    }
}
