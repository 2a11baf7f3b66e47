import Benchmark
import NVLBTraffic
import NVLBTestSupport
import NVLBWire

/// The fields a load balancer needs from an NVGRE frame, folded into one word for `blackHole`.
@inline(__always)
func parseNVGRE(_ p: UnsafeMutableRawPointer, length n: Int) -> UInt64 {
    // Outer Ethernet + IPv4 + GRE, inner Ethernet + IPv4 + TCP/UDP ports, with the bounds
    // and version checks of the classifier (header views only, no policy lookups).
    guard n >= EthernetHeader.size + IPv4Header.minimumSize else { return 0 }
    let ethernet = EthernetHeader(p)
    guard ethernet.etherType == EthernetHeader.etherTypeIPv4 else { return 0 }
    let outer = IPv4Header(p + EthernetHeader.size)
    let outerLength = outer.headerLength
    guard outer.version == 4, outerLength >= IPv4Header.minimumSize, outer.protocolNumber == IPv4Header.protocolGRE,
        !outer.isFragment
    else { return 0 }
    let greOffset = EthernetHeader.size + outerLength
    guard greOffset + GREHeader.size + EthernetHeader.size + IPv4Header.minimumSize <= n else { return 0 }
    let gre = GREHeader(p + greOffset)
    guard gre.isNVGRE else { return 0 }
    let innerEthernet = EthernetHeader(gre.payload)
    guard innerEthernet.etherType == EthernetHeader.etherTypeIPv4 else { return 0 }
    let innerOffset = greOffset + GREHeader.size + EthernetHeader.size
    let inner = IPv4Header(p + innerOffset)
    let innerLength = inner.headerLength
    guard inner.version == 4, innerLength >= IPv4Header.minimumSize else { return 0 }
    let transport = innerOffset + innerLength
    guard transport + 4 <= n else { return 0 }
    let ports: UInt32
    switch inner.protocolNumber {
    case IPv4Header.protocolTCP:
        let tcp = TCPHeader(p + transport)
        ports = UInt32(tcp.sourcePort) << 16 | UInt32(tcp.destinationPort)
    case IPv4Header.protocolUDP:
        let udp = UDPHeader(p + transport)
        ports = UInt32(udp.sourcePort) << 16 | UInt32(udp.destinationPort)
    default:
        return 0
    }
    return UInt64(gre.vsid) << 40 ^ UInt64(inner.source.rawValue) << 20 ^ UInt64(inner.destination.rawValue)
        ^ UInt64(ports) ^ innerEthernet.source.rawValue ^ UInt64(outer.source.rawValue) << 32
}

func wireBenchmarks() {
    Benchmark("Wire.ParseNVGRE", configuration: Configurations.perOperation) {
        (benchmark: Benchmark, frame: RawFrame) in
        let p = frame.bytes
        let n = frame.count
        for _ in benchmark.scaledIterations {
            blackHole(parseNVGRE(p, length: n))
        }
    } setup: {
        let frame = RawFrame(GoldenFrames.internalRequestIn)
        precondition(parseNVGRE(frame.bytes, length: frame.count) != 0, "golden NVGRE frame must parse")
        return frame
    }

    for size in [20, 1500] {
        Benchmark("Wire.Checksum.\(size)B", configuration: Configurations.perOperation) {
            (benchmark: Benchmark, frame: RawFrame) in
            let p = UnsafeRawPointer(frame.bytes)
            let n = frame.count
            for _ in benchmark.scaledIterations {
                blackHole(Checksum.internet(p, count: n))
            }
        } setup: {
            var generator = Xoshiro256(seed: UInt64(size))
            return RawFrame((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
    }

    // RFC 1624: one 32-bit field (an address) and one 16-bit field (a port) change, as in NAT.
    Benchmark("Wire.Checksum.Incremental", configuration: Configurations.perOperation) {
        (benchmark: Benchmark, _: Void) in
        var checksum: UInt16 = 0x71_2B
        var address: UInt32 = 0xCB00_7107
        for i in benchmark.scaledIterations {
            let newAddress = address &+ UInt32(truncatingIfNeeded: i) &* 0x9E37_79B9
            checksum = Checksum.updated(checksum, replacing32: address, with32: newAddress)
            checksum = Checksum.updated(checksum, replacing: UInt16(truncatingIfNeeded: i), with: 80)
            address = newAddress
            blackHole(checksum)
        }
    } setup: {
        ()
    }
}
