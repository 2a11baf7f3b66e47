import Logging
import NVLBHealth
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Synchronization

/// A clock tests move by hand.
final class FakeClock: ProbeClock, @unchecked Sendable {
    var nanoseconds: UInt64 = 1_000_000_000_000
    func advance(seconds: Double) { nanoseconds &+= UInt64(seconds * 1e9) }
}

/// Frames the prober sent, and replies queued for it.
struct ScriptedIO: ProbeIO {
    var sent: [[UInt8]] = []
    var inbound: [[UInt8]] = []
    /// Next hops the I/O resolves (as ARP would), and the PAs asked for.
    var neighbors: [IPv4Address: MACAddress] = [:]
    var asked: [IPv4Address] = []
    mutating func nextHop(for pa: IPv4Address) -> MACAddress? {
        asked.append(pa)
        return neighbors[pa]
    }
    mutating func send(_ frame: [UInt8]) { sent.append(frame) }
    mutating func receive() -> [UInt8]? { inbound.isEmpty ? nil : inbound.removeFirst() }
}

/// Log lines captured for assertions.
final class CapturedLog: @unchecked Sendable {
    let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    func logger() -> Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(
            level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
            function: String, line: UInt
        ) {
            log.lines.withLock { $0.append("\(level): \(message)") }
        }
    }
}

enum Fixture {
    static let dip = TestPolicies.ip("10.1.6.21")
    static let dipMAC = TestPolicies.mac("00:15:5d:01:06:21")
    static let hostPA = TestPolicies.ip("192.168.6.4")
    static let hostMAC = TestPolicies.mac("02:00:00:00:06:04")
    static let probeSource = TestPolicies.ip("10.1.6.254")
    static let gateway = TestPolicies.mac("02:4c:42:00:b1:00")

    static func addressing(dip: IPv4Address = dip, nextHop: MACAddress? = hostMAC) -> ProbeTarget.Addressing {
        ProbeTarget.Addressing(
            vsid: 5001, dip: dip, dipMAC: dipMAC, hostPA: hostPA, nextHopMAC: nextHop, probeSource: probeSource,
            gatewayMAC: gateway, underlayAddress: Actors.lbPA, underlayMAC: Actors.lbMAC, ttl: 64, flowIDSeed: nil)
    }

    /// blue-web/web on `dip`: interval 5 s, timeout 2 s, rise 2, fall 3.
    static func target(
        _ kind: PolicyConfiguration.Probe.Kind = .tcp, dip: IPv4Address = dip, nextHop: MACAddress? = hostMAC,
        rise: UInt32 = 2, fall: UInt32 = 3
    ) -> ProbeTarget {
        ProbeTarget(
            key: .init(loadBalancer: "blue-web", probe: "web", vsid: 5001, ca: dip), kind: kind, port: 80,
            path: "/healthz", interval: 5_000_000_000, timeout: 2_000_000_000, rise: rise, fall: fall,
            addressing: addressing(dip: dip, nextHop: nextHop))
    }

    /// The DIP's answer to the probe frame `probe`, sent by its host to nvlb.
    static func answer(
        to probe: [UInt8], flags: TCPFlags, seq: UInt32 = 0x0a0b_0c0d, ack: UInt32? = nil, payload: [UInt8] = [],
        fromHost: IPv4Address = hostPA, dipMAC: MACAddress = dipMAC
    ) -> [UInt8] {
        let sent = ProbeFrame.parse(probe)!
        let inner = FrameBuilder.tcp(
            srcMAC: dipMAC, dstMAC: gateway, src: sent.destination, dst: sent.source, sport: sent.destinationPort,
            dport: sent.sourcePort, flags: flags, seq: seq,
            ack: ack ?? sent.segment.sequence &+ 1 &+ UInt32(sent.segment.payload.count), payload: payload)
        return FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: hostMAC, outerDestinationMAC: Actors.lbMAC, outerSource: fromHost,
            outerDestination: Actors.lbPA, vsid: 5001)
    }
}
