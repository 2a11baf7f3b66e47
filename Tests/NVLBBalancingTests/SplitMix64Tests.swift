import NVLBBalancing
import Testing

@Suite struct SplitMix64Tests {
    /// The reference implementation's outputs (Vigna's `splitmix64.c`).
    @Test func referenceOutputs() {
        var zero = SplitMix64(state: 0)
        #expect(zero.next() == 0xE220_A839_7B1D_CDAF)
        var seeded = SplitMix64(seed: 1_234_567)
        let outputs = (0..<5).map { _ in seeded.next() }
        #expect(
            outputs == [
                6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
            ])
    }

    @Test func nextIsTheFinalizerOfTheSteppedCounter() {
        var generator = SplitMix64(state: 41)
        let first = generator.next()
        #expect(first == SplitMix64.mix(41 &+ 0x9E37_79B9_7F4A_7C15))
        #expect(generator.state == 41 &+ 0x9E37_79B9_7F4A_7C15)
        #expect(SplitMix64.mix(0) == 0, "the finalizer fixes 0")
    }
}

@Suite struct FlowIDTests {
    /// The FlowID of a five-tuple is the fold of its five-tuple selection hash: what nvlb
    /// put on the wire before the one function existed, so emitted FlowIDs are unchanged.
    @Test(arguments: [0, 1, 0x6876_686F, UInt32.max])
    func flowIDIsTheFoldedFiveTupleSelectionHash(_ seed: UInt32) {
        let hasher = FlowHasher(seed: seed)
        var rng = SplitMix64(state: UInt64(seed))
        for _ in 0..<200 {
            let protocolNumber: UInt8 = Bool.random(using: &rng) ? 6 : 17
            let (source, destination) = (
                UInt32.random(in: 0...UInt32.max, using: &rng), UInt32.random(in: 0...UInt32.max, using: &rng)
            )
            let (sourcePort, destinationPort) = (
                UInt16.random(in: 0...65_535, using: &rng), UInt16.random(in: 0...65_535, using: &rng)
            )
            let expected = FlowHasher.flowID(
                hasher.selectionHash(
                    distribution: .fiveTuple, protocolNumber: protocolNumber, clientIP: source, clientPort: sourcePort,
                    vip: destination, vipPort: destinationPort, clientVSID: 0))
            #expect(
                hasher.flowID(
                    protocolNumber: protocolNumber, source: source, sourcePort: sourcePort, destination: destination,
                    destinationPort: destinationPort) == expected)
        }
    }

    /// The hosts' FlowIDs spread a host's flows (every value is reachable, none dominates).
    @Test func hostFlowIDsSpread() {
        var counts = [Int](repeating: 0, count: 256)
        for port in UInt16(1)...25_600 {
            counts[
                Int(
                    FlowHasher.host.flowID(
                        protocolNumber: 6, source: 0x0A01_0614, sourcePort: port, destination: 0x0A01_0615,
                        destinationPort: 80))] += 1
        }
        #expect(counts.min()! > 50 && counts.max()! < 150)
    }
}
