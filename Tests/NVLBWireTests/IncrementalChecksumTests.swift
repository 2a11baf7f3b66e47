import NVLBWire
import PropertyBased
import Testing

/// RFC 1624 incremental updates agree with full recomputation for every rewrite nvlb does:
/// IPv4 addresses (header and pseudo-header), ports, single 16-bit words.
@Suite struct IncrementalChecksumTests {
    @Test func rfc1624Example() {
        // RFC 1624 §4: HC = 0xDD2F, m = 0x5555 → m' = 0x3285 gives HC' = 0x0000.
        #expect(Checksum.updated(0xDD2F, replacing: 0x5555, with: 0x3285) == 0x0000)
    }

    @Test func identityChangeIsNoOp() async {
        await propertyCheck(input: Gen.uint16(), Gen.uint16()) { checksum, word in
            guard checksum != 0xFFFF else { return }  // 0xFFFF never results from a full computation
            #expect(Checksum.updated(checksum, replacing: word, with: word) == checksum)
        }
    }

    @Test func ipv4HeaderAddressAndWordRewrites() async {
        await propertyCheck(
            count: 300,
            input: Gen.uint8().array(of: 20...20), Gen.uint32(), Gen.uint32(), Gen.uint16(), Gen.int(in: 0...8)
        ) { random, newSource, newDestination, newWord, wordIndex in
            var bytes = random
            bytes[0] = 0x45
            withPointer(&bytes) { base in
                let header = IPv4Header(base)
                header.updateChecksum()
                var checksum = header.checksum
                // 32-bit rewrites of both addresses.
                checksum = Checksum.updated(checksum, replacing: header.source, with: IPv4Address(rawValue: newSource))
                header.source = IPv4Address(rawValue: newSource)
                checksum = Checksum.updated(
                    checksum, replacing32: header.destination.rawValue, with32: newDestination)
                header.destination = IPv4Address(rawValue: newDestination)
                #expect(checksum == header.computeChecksum())
                // A 16-bit rewrite of any word but the checksum itself (e.g. TTL/protocol, id).
                let offset = wordIndex < 5 ? wordIndex * 2 : wordIndex * 2 + 2
                guard offset != 0 else { return }  // keep version/IHL valid
                let old = base.loadBigEndian(fromByteOffset: offset, as: UInt16.self)
                base.storeBigEndian(newWord, toByteOffset: offset)
                checksum = Checksum.updated(checksum, replacing: old, with: newWord)
                #expect(checksum == header.computeChecksum())
                header.checksum = checksum
                #expect(header.isChecksumValid)
            }
        }
    }

    @Test func tcpAddressAndPortRewrites() async {
        await propertyCheck(
            count: 300,
            input: Gen.uint8().array(of: 0...64), Gen.uint32(), Gen.uint32(), Gen.uint16(), Gen.uint16(), Gen.uint32()
        ) { payload, src, dst, sport, dport, newAddress in
            let source = IPv4Address(rawValue: src)
            let destination = IPv4Address(rawValue: dst)
            var segment = FrameBuilder.tcpSegment(
                source: source, destination: destination, sport: sport, dport: dport, flags: [.syn], payload: payload)
            let length = segment.count
            withPointer(&segment) { base in
                let tcp = TCPHeader(base)
                // DNAT: destination address (pseudo-header) and destination port.
                let newDestination = IPv4Address(rawValue: newAddress)
                var checksum = Checksum.updated(tcp.checksum, replacing: destination, with: newDestination)
                checksum = Checksum.updated(checksum, replacing: tcp.destinationPort, with: sport &+ dport)
                tcp.destinationPort = sport &+ dport
                #expect(checksum == tcp.computeChecksum(source: source, destination: newDestination, length: length))
                // SNAT of the reply direction: both ports at once as one 32-bit value.
                let oldPorts = base.loadBigEndian(fromByteOffset: 0, as: UInt32.self)
                let newPorts = oldPorts ^ newAddress
                base.storeBigEndian(newPorts, toByteOffset: 0)
                checksum = Checksum.updated(checksum, replacing32: oldPorts, with32: newPorts)
                #expect(checksum == tcp.computeChecksum(source: source, destination: newDestination, length: length))
            }
        }
    }

    @Test func udpRewritesKeepZeroAndNeverProduceZero() async {
        await propertyCheck(
            count: 300,
            input: Gen.uint8().array(of: 0...64), Gen.uint32(), Gen.uint32(), Gen.uint16(), Gen.uint32(), Gen.bool
        ) { payload, src, dst, port, newAddress, zero in
            let source = IPv4Address(rawValue: src)
            let destination = IPv4Address(rawValue: dst)
            var datagram = FrameBuilder.udpDatagram(
                source: source, destination: destination, sport: port, dport: 53, payload: payload,
                zeroChecksum: zero)
            let length = datagram.count
            withPointer(&datagram) { base in
                let udp = UDPHeader(base)
                let newSource = IPv4Address(rawValue: newAddress)
                var checksum = Checksum.updatedUDP(udp.checksum, replacing: source, with: newSource)
                checksum = Checksum.updatedUDP(checksum, replacing: udp.sourcePort, with: ~port)
                udp.sourcePort = ~port
                checksum = Checksum.updatedUDP(checksum, replacing32: destination.rawValue, with32: newAddress)
                if zero {
                    #expect(checksum == 0)
                } else {
                    #expect(checksum != 0)
                    #expect(
                        checksum
                            == udp.computeChecksum(
                                source: newSource, destination: IPv4Address(rawValue: newAddress), length: length))
                }
            }
        }
    }

    /// The UDP edge case: a rewrite whose correct result is 0 must yield 0xFFFF, and a
    /// checksum of 0xFFFF (a transmitted 0) updates like 0.
    @Test func udpZeroResultBecomesFFFF() {
        // Choose the new word so that the result is exactly 0: HC' = 0 ⇔ ~HC + ~m + m' ≡ 0xFFFF.
        let checksum: UInt16 = 0x1234
        let old: UInt16 = 0x0000
        let new: UInt16 = 0x1234  // ~0x1234 + 0xFFFF + 0x1234 ≡ 0xFFFF
        #expect(Checksum.updated(checksum, replacing: old, with: new) == 0)
        #expect(Checksum.updatedUDP(checksum, replacing: old, with: new) == 0xFFFF)
        #expect(Checksum.updatedUDP(0, replacing: old, with: new) == 0)
        #expect(Checksum.updatedUDP(0, replacing32: 1, with32: 2) == 0)
        #expect(Checksum.updatedUDP(0xFFFF, replacing: 0x1111, with: 0x1111) == 0xFFFF)
    }
}
