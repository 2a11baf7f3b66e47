import NVLBBalancing
import Testing

/// Input of the XXH64 vectors: byte i is `(i * 7 + 1) & 0xFF`.
func vectorInput(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }
}

/// Little-endian bytes of 64-bit words, the documented key layout.
func littleEndianBytes(_ words: UInt64...) -> [UInt8] {
    words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
}

@Suite struct XXH64Tests {
    @Test func publishedVectors() {
        #expect(XXH64.hash([], seed: 0) == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash(Array("a".utf8), seed: 0) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXH64.hash(Array("abc".utf8), seed: 0) == 0x44BC_2CF5_AD77_0999)
    }

    /// Expected values computed with the reference implementation (Python `xxhash` 3.x, libxxhash
    /// 0.8.x: `xxhash.xxh64_intdigest(bytes, seed)`), covering every branch of the algorithm:
    /// empty, 1–3 byte tail, 4-byte lane, 8-byte lanes, and ≥ 32-byte stripes.
    static let referenceVectors: [(count: Int, seed: UInt64, digest: UInt64)] = [
        (0, 0x0, 0xEF46_DB37_51D8_E999), (0, 0x6E76_6C62, 0x2AC5_8B52_7DAA_826C),
        (0, 0xFFFF_FFFF_FFFF_FFFF, 0x298F_4C84_B24F_5380),
        (1, 0x0, 0x8A41_2781_1B21_E730), (1, 0x6E76_6C62, 0x26EB_D306_D5EF_59DD),
        (1, 0xFFFF_FFFF_FFFF_FFFF, 0x0000_0000_0000_0000),  // a genuine zero digest
        (3, 0x0, 0xB6E6_C910_C2FD_373A), (3, 0x6E76_6C62, 0x6DE8_BC47_EC9D_DB46),
        (3, 0xFFFF_FFFF_FFFF_FFFF, 0xB119_8440_B64A_B278),
        (4, 0x0, 0x22ED_A2CF_6AF4_C124), (4, 0x6E76_6C62, 0x5327_DCE5_12D2_712D),
        (4, 0xFFFF_FFFF_FFFF_FFFF, 0x7E3D_D546_2725_4366),
        (5, 0x0, 0x1DA4_8E4B_4CAF_AB76), (5, 0x6E76_6C62, 0x9A1A_AC12_0B88_7420),
        (5, 0xFFFF_FFFF_FFFF_FFFF, 0xEEF5_584A_F3E9_0C92),
        (7, 0x0, 0x3408_4D91_A233_A751), (7, 0x6E76_6C62, 0x7A24_D37C_64BA_3231),
        (7, 0xFFFF_FFFF_FFFF_FFFF, 0xE4FF_E9FA_2BD9_049C),
        (8, 0x0, 0xC6F1_803A_5E0B_3222), (8, 0x6E76_6C62, 0x2297_65F9_8656_B387),
        (8, 0xFFFF_FFFF_FFFF_FFFF, 0x7DC1_94CC_D03F_F00D),
        (9, 0x0, 0x9E8A_DF2A_0CCD_B6DA), (9, 0x6E76_6C62, 0xA1FA_469F_2476_2F63),
        (9, 0xFFFF_FFFF_FFFF_FFFF, 0x9E3E_C74A_4E90_2ACB),
        (12, 0x0, 0x9178_B724_DCE3_84C0), (12, 0x6E76_6C62, 0x5D69_ACD2_A51E_0B38),
        (12, 0xFFFF_FFFF_FFFF_FFFF, 0x17CF_0FBF_A3A1_F9F7),
        (15, 0x0, 0x514C_6F58_D37C_E6F1), (15, 0x6E76_6C62, 0x88BE_FE70_9A9E_9060),
        (15, 0xFFFF_FFFF_FFFF_FFFF, 0x8E01_B8BE_E25F_58D7),
        (16, 0x0, 0xAFE8_F989_A073_5A8E), (16, 0x6E76_6C62, 0xADB6_026B_D510_8B42),
        (16, 0xFFFF_FFFF_FFFF_FFFF, 0x8760_BB63_9C92_0615),
        (17, 0x0, 0xB191_CD44_210E_A488), (17, 0x6E76_6C62, 0xC14C_B146_449D_7722),
        (17, 0xFFFF_FFFF_FFFF_FFFF, 0x6E41_7C6D_4B8C_E4BA),
        (31, 0x0, 0x6AB1_C40E_29F5_0073), (31, 0x6E76_6C62, 0x38E2_CBC6_0818_B504),
        (31, 0xFFFF_FFFF_FFFF_FFFF, 0xD557_A397_1990_0B02),
        (32, 0x0, 0x5A07_56FB_E9EC_D3D1), (32, 0x6E76_6C62, 0x3DC5_7A12_8597_373E),
        (32, 0xFFFF_FFFF_FFFF_FFFF, 0xD06A_F4A1_73EC_4274),
        (33, 0x0, 0xDC50_CDC3_7BB9_C183), (33, 0x6E76_6C62, 0x87D9_6539_7021_563C),
        (33, 0xFFFF_FFFF_FFFF_FFFF, 0xB94C_E0C8_9BD8_3362),
        (40, 0x0, 0x7899_CACB_89A7_8430), (40, 0x6E76_6C62, 0x07F2_0873_BD29_E26A),
        (40, 0xFFFF_FFFF_FFFF_FFFF, 0xE7C0_E25F_448F_4C6D),
        (63, 0x0, 0x10DD_9488_5C71_894A), (63, 0x6E76_6C62, 0xE270_9213_7C79_6D3B),
        (63, 0xFFFF_FFFF_FFFF_FFFF, 0xB732_31F4_C800_5B5B),
        (64, 0x0, 0x9008_3DA9_CDB9_D795), (64, 0x6E76_6C62, 0xB98E_2F96_D37B_FD0B),
        (64, 0xFFFF_FFFF_FFFF_FFFF, 0xEA4C_F7D0_A260_2E20),
        (100, 0x0, 0xD248_BFC5_208B_0B16), (100, 0x6E76_6C62, 0x9E9E_B5C4_A1F8_13F2),
        (100, 0xFFFF_FFFF_FFFF_FFFF, 0x9595_E0DB_B1D0_99ED),
    ]

    @Test(arguments: referenceVectors.indices)
    func referenceImplementationVectors(_ i: Int) {
        let v = Self.referenceVectors[i]
        #expect(XXH64.hash(vectorInput(v.count), seed: v.seed) == v.digest)
    }

    @Test(arguments: [UInt64(0), 0x6E76_6C62, 0x0000_0003_6E76_6C62, .max])
    func fixedSizeFormsEqualGeneralForm(seed: UInt64) {
        var rng = SplitMix64(state: seed ^ 0x1234)
        for _ in 0..<200 {
            let w0 = rng.next()
            let w1 = rng.next()
            #expect(XXH64.hash(word: w0, seed: seed) == XXH64.hash(littleEndianBytes(w0), seed: seed))
            #expect(
                XXH64.hash(word0: w0, word1: w1, seed: seed) == XXH64.hash(littleEndianBytes(w0, w1), seed: seed))
        }
    }
}

@Suite struct FlowHasherTests {
    static let hasher = FlowHasher(seed: 0x6E76_6C62)
    static let clientIP: UInt32 = 0xCB00_7107  // 203.0.113.7
    static let vip: UInt32 = 0xC633_640A  // 198.51.100.10

    @Test func selectionKeyLayoutIsDocumentedOne() {
        let key = FlowHasher.selectionKey(
            distribution: .fiveTuple, protocolNumber: 6, clientIP: 0x0A01_0705, clientPort: 0x9C40,
            vip: 0x0A01_0664, vipPort: 0x1F90, clientVSID: 0x0013_89AB)
        #expect(
            littleEndianBytes(key.word0, key.word1) == [
                0x05, 0x07, 0x01, 0x0A,  // client IP 10.1.7.5
                0x40, 0x9C,  // client port 40000
                0x90, 0x1F,  // VIP port 8080
                0x64, 0x06, 0x01, 0x0A,  // VIP 10.1.6.100
                0xAB, 0x89, 0x13,  // VSID 0x1389AB (24 bits)
                0x06,  // protocol TCP
            ])
    }

    /// Expected values: Python `xxhash.xxh64_intdigest(struct.pack('<IHHIBBBB', ...), 0x6e766c62)`
    /// over the documented layout.
    @Test func selectionHashReferenceValues() {
        #expect(
            Self.hasher.selectionHash(
                distribution: .fiveTuple, protocolNumber: 6, clientIP: Self.clientIP, clientPort: 40000,
                vip: Self.vip, vipPort: 80, clientVSID: 0) == 0x2BC1_2773_6234_F00E)
        #expect(
            Self.hasher.selectionHash(
                distribution: .fiveTuple, protocolNumber: 6, clientIP: 0x0A01_0705, clientPort: 40000,
                vip: 0x0A01_0664, vipPort: 8080, clientVSID: 5001) == 0x458E_432C_EC55_E718)
        // Python: h = xxh64(pack('<IHBB', ip, port, 6, 0), 3 << 32 | 0x6e766c62); h ^ h >> 32 (low 32 bits).
        #expect(Self.hasher.flowHash(protocolNumber: 6, clientIP: Self.clientIP, clientPort: 40000) == 0x3100_BEA3)
    }

    @Test(arguments: FlowDistribution.allCases)
    func fastPathEqualsGeneralXXH64OverLayout(distribution: FlowDistribution) {
        var rng = SplitMix64(state: 7)
        for _ in 0..<100 {
            let r = rng.next()
            let s = rng.next()
            let args = (
                proto: UInt8(truncatingIfNeeded: r), cip: UInt32(truncatingIfNeeded: r >> 8),
                cport: UInt16(truncatingIfNeeded: s), vip: UInt32(truncatingIfNeeded: s >> 16),
                vport: UInt16(truncatingIfNeeded: s >> 48), vsid: UInt32(truncatingIfNeeded: r >> 40)
            )
            let key = FlowHasher.selectionKey(
                distribution: distribution, protocolNumber: args.proto, clientIP: args.cip, clientPort: args.cport,
                vip: args.vip, vipPort: args.vport, clientVSID: args.vsid)
            let hash = Self.hasher.selectionHash(
                distribution: distribution, protocolNumber: args.proto, clientIP: args.cip, clientPort: args.cport,
                vip: args.vip, vipPort: args.vport, clientVSID: args.vsid)
            #expect(hash == XXH64.hash(littleEndianBytes(key.word0, key.word1), seed: 0x6E76_6C62))
        }
    }

    private func hash(
        _ d: FlowDistribution, proto: UInt8 = 6, cip: UInt32 = clientIP, cport: UInt16 = 40000,
        vip: UInt32 = vip, vport: UInt16 = 443, vsid: UInt32 = 0
    ) -> UInt64 {
        Self.hasher.selectionHash(
            distribution: d, protocolNumber: proto, clientIP: cip, clientPort: cport, vip: vip, vipPort: vport,
            clientVSID: vsid)
    }

    @Test func sourceIPIgnoresPortsProtocolAndVSID() {
        let base = hash(.sourceIP)
        #expect(hash(.sourceIP, cport: 1) == base)
        #expect(hash(.sourceIP, vport: 80) == base)
        #expect(hash(.sourceIP, proto: 17) == base)
        #expect(hash(.sourceIP, vsid: 5001) == base)
        #expect(hash(.sourceIP, cip: Self.clientIP + 1) != base)
        #expect(hash(.sourceIP, vip: Self.vip + 1) != base)
    }

    @Test func sourceIPProtocolIgnoresPortsAndVSID() {
        let base = hash(.sourceIPProtocol)
        #expect(hash(.sourceIPProtocol, cport: 1) == base)
        #expect(hash(.sourceIPProtocol, vport: 80) == base)
        #expect(hash(.sourceIPProtocol, vsid: 5001) == base)
        #expect(hash(.sourceIPProtocol, proto: 17) != base)
        #expect(hash(.sourceIPProtocol, cip: Self.clientIP + 1) != base)
        #expect(hash(.sourceIPProtocol, vip: Self.vip + 1) != base)
    }

    @Test func fiveTupleUsesEveryField() {
        let base = hash(.fiveTuple)
        #expect(hash(.fiveTuple, proto: 17) != base)
        #expect(hash(.fiveTuple, cip: Self.clientIP + 1) != base)
        #expect(hash(.fiveTuple, cport: 40001) != base)
        #expect(hash(.fiveTuple, vip: Self.vip + 1) != base)
        #expect(hash(.fiveTuple, vport: 444) != base)
        #expect(hash(.fiveTuple, vsid: 5001) != base)
        // Only the 24 VSID bits are part of the key.
        #expect(hash(.fiveTuple, vsid: 0x0100_1389) == hash(.fiveTuple, vsid: 0x1389))
    }

    @Test func seedChangesEveryHash() {
        let other = FlowHasher(seed: 0x6E76_6C63)
        #expect(
            other.selectionHash(
                distribution: .fiveTuple, protocolNumber: 6, clientIP: Self.clientIP, clientPort: 40000,
                vip: Self.vip, vipPort: 443, clientVSID: 0) != hash(.fiveTuple))
        #expect(
            other.flowHash(protocolNumber: 6, clientIP: Self.clientIP, clientPort: 1)
                != Self.hasher.flowHash(protocolNumber: 6, clientIP: Self.clientIP, clientPort: 1))
    }

    @Test func clientSideHashDependsOnClientFieldsOnly() {
        let h = Self.hasher.flowHash(protocolNumber: 6, clientIP: Self.clientIP, clientPort: 40000)
        #expect(Self.hasher.flowHash(protocolNumber: 17, clientIP: Self.clientIP, clientPort: 40000) != h)
        #expect(Self.hasher.flowHash(protocolNumber: 6, clientIP: Self.clientIP, clientPort: 40001) != h)
        #expect(Self.hasher.flowHash(protocolNumber: 6, clientIP: Self.clientIP &+ 1, clientPort: 40000) != h)
        // The documented 8-byte key and fold.
        let key = FlowHasher.clientSideKey(protocolNumber: 6, clientIP: Self.clientIP, clientPort: 40000)
        #expect(littleEndianBytes(key) == [0x07, 0x71, 0x00, 0xCB, 0x40, 0x9C, 0x06, 0x00])
        let full = XXH64.hash(littleEndianBytes(key), seed: 3 << 32 | 0x6E76_6C62)
        #expect(h == UInt32(truncatingIfNeeded: full ^ full >> 32))
    }

    @Test func flowIDFoldsAllBytes() {
        #expect(FlowHasher.flowID(0) == 0)
        #expect(FlowHasher.flowID(0x0102_0408_1020_4080) == 0xFF)
        #expect(FlowHasher.flowID(0xAB00_0000_0000_0000) == 0xAB)
        #expect(FlowHasher.flowID(0x0000_0000_0000_00AB) == 0xAB)
        #expect(FlowHasher.flowID(0xFFFF_FFFF_FFFF_FFFF) == 0)
        #expect(FlowHasher.flowID(0x1111_1111_1111_1111) == 0)
        #expect(FlowHasher.flowID(0x1111_1111_1111_1122) == 0x33)
    }

    @Test func flowIDSpreadsEvenlyOverFlows() {
        var counts = [Int](repeating: 0, count: 256)
        for port in UInt16(0)..<25_600 {
            counts[Int(FlowHasher.flowID(hash(.fiveTuple, cport: port)))] += 1
        }
        // 100 expected per value; allow a wide margin (this is a sanity check, not a χ² test).
        #expect(counts.min()! > 50 && counts.max()! < 150)
    }
}
