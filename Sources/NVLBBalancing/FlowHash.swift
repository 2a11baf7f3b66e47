// XXH64 (xxHash, 64-bit) after Yann Collet's specification
// (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), written from the spec.
// A published, seeded, platform-independent hash: every worker, instance and restart computes
// the same value for the same bytes, which Swift's per-process `Hasher` cannot guarantee.

/// XXH64, the 64-bit xxHash: a general byte-buffer form and fixed-size fast paths for keys
/// packed into little-endian 64-bit words.
///
/// All forms agree: `hash(word: w, seed: s)` equals `hash(bytes, seed: s)` where `bytes` are the
/// 8 bytes of `w` in little-endian order, and likewise for the 16-byte form. Results never depend
/// on the platform's byte order.
public enum XXH64 {
    @usableFromInline static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    @usableFromInline static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    @usableFromInline static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { x << r | x >> (64 &- r) }

    @inlinable @inline(__always)
    static func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        rotl(acc &+ lane &* prime2, 31) &* prime1
    }

    @inlinable @inline(__always)
    static func mergeAccumulator(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* prime1 &+ prime4
    }

    /// Consumes one 8-byte lane of the tail (spec step 5).
    @inlinable @inline(__always)
    static func tailLane(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        rotl(acc ^ round(0, lane), 27) &* prime1 &+ prime4
    }

    @inlinable @inline(__always)
    static func avalanche(_ h: UInt64) -> UInt64 {
        var h = h
        h ^= h >> 33
        h &*= prime2
        h ^= h >> 29
        h &*= prime3
        h ^= h >> 32
        return h
    }

    /// XXH64 of a byte buffer.
    ///
    /// - Parameters:
    ///   - bytes: the input; may be empty and need not be aligned.
    ///   - seed: the 64-bit seed.
    /// - Returns: the 64-bit digest, identical to the reference implementation's `XXH64()`.
    /// - Complexity: O(`bytes.count`); no allocation.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        var offset = 0
        @inline(__always) func load64(_ at: Int) -> UInt64 {
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        }
        var acc: UInt64
        if count >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while offset + 32 <= count {
                v1 = round(v1, load64(offset))
                v2 = round(v2, load64(offset + 8))
                v3 = round(v3, load64(offset + 16))
                v4 = round(v4, load64(offset + 24))
                offset += 32
            }
            acc = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            acc = mergeAccumulator(acc, v1)
            acc = mergeAccumulator(acc, v2)
            acc = mergeAccumulator(acc, v3)
            acc = mergeAccumulator(acc, v4)
        } else {
            acc = seed &+ prime5
        }
        acc &+= UInt64(count)
        while offset + 8 <= count {
            acc = tailLane(acc, load64(offset))
            offset += 8
        }
        if offset + 4 <= count {
            let lane = UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            acc = rotl(acc ^ lane &* prime1, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < count {
            acc = rotl(acc ^ UInt64(bytes[offset]) &* prime5, 11) &* prime1
            offset += 1
        }
        return avalanche(acc)
    }

    /// XXH64 of a byte array (same result as the raw-buffer form).
    ///
    /// - Complexity: O(`bytes.count`).
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// XXH64 of exactly 8 bytes: the little-endian bytes of `word`.
    ///
    /// - Complexity: O(1), a handful of multiplies; no allocation, no memory access.
    @inlinable @inline(__always)
    public static func hash(word: UInt64, seed: UInt64) -> UInt64 {
        avalanche(tailLane(seed &+ prime5 &+ 8, word))
    }

    /// XXH64 of exactly 16 bytes: the little-endian bytes of `word0` followed by those of `word1`.
    ///
    /// - Complexity: O(1), a handful of multiplies; no allocation, no memory access.
    @inlinable @inline(__always)
    public static func hash(word0: UInt64, word1: UInt64, seed: UInt64) -> UInt64 {
        avalanche(tailLane(tailLane(seed &+ prime5 &+ 16, word0), word1))
    }
}

/// Which flow fields select a DIP: the SDN SLB `load_distribution` modes (docs/architecture.md "Flow hashing").
///
/// The policy module maps its configuration enum onto this one.
public enum FlowDistribution: UInt8, Sendable, Hashable, CaseIterable {
    /// `five_tuple`: protocol, client IP and port, VIP and port, client VSID.
    case fiveTuple
    /// `source_ip`: client IP and VIP only; every connection of a client to a VIP lands on one DIP.
    case sourceIP
    /// `source_ip_protocol`: client IP, VIP and protocol.
    case sourceIPProtocol
}

/// The seeded flow hashes of the data plane: DIP selection, flow-table/worker steering, NVGRE FlowID.
///
/// Every hash is XXH64 of a fixed 16- or 8-byte key. The 32-bit configured seed
/// (`balancer.hash_seed`) is widened to XXH64's 64-bit seed with a *domain* in the high half, so
/// that the different uses are independent functions of the same configuration:
///
/// | domain | use | XXH64 seed |
/// |---|---|---|
/// | 0 | ``selectionHash(distribution:protocolNumber:clientIP:clientPort:vip:vipPort:clientVSID:)`` | `UInt64(seed)` |
/// | 1 | Maglev offset of a backend (``MaglevTable``) | `1 << 32 \| UInt64(seed)` |
/// | 2 | Maglev skip of a backend (``MaglevTable``) | `2 << 32 \| UInt64(seed)` |
/// | 3 | ``flowHash(protocolNumber:clientIP:clientPort:)`` | `3 << 32 \| UInt64(seed)` |
///
/// IPv4 addresses are host-order numeric values (`10.1.6.21` is `0x0A01_0615`, as
/// `IPv4Address.rawValue`); ports are host-order values. Key layouts are given on each method.
@frozen
public struct FlowHasher: Sendable, Hashable {
    /// The configured 32-bit seed (`balancer.hash_seed`).
    public let seed: UInt32

    /// Creates the hasher for a configured seed.
    @inlinable
    public init(seed: UInt32) { self.seed = seed }

    /// Seed domain of ``selectionHash(distribution:protocolNumber:clientIP:clientPort:vip:vipPort:clientVSID:)``.
    public static let selectionDomain: UInt32 = 0
    /// Seed domain of a Maglev backend's offset.
    public static let maglevOffsetDomain: UInt32 = 1
    /// Seed domain of a Maglev backend's skip.
    public static let maglevSkipDomain: UInt32 = 2
    /// Seed domain of ``flowHash(protocolNumber:clientIP:clientPort:)``.
    public static let clientSideDomain: UInt32 = 3

    /// The 64-bit XXH64 seed for `domain`: `UInt64(domain) << 32 | UInt64(seed)`.
    ///
    /// - Complexity: O(1).
    @inlinable @inline(__always)
    public static func derivedSeed(_ seed: UInt32, domain: UInt32) -> UInt64 {
        UInt64(domain) << 32 | UInt64(seed)
    }

    /// The two little-endian words of the 16-byte selection key, with the fields that
    /// `distribution` ignores set to zero.
    ///
    /// Byte layout (offsets; multi-byte fields little-endian):
    ///
    /// | bytes | field | `fiveTuple` | `sourceIPProtocol` | `sourceIP` |
    /// |---|---|---|---|---|
    /// | 0–3 | client IP | ✓ | ✓ | ✓ |
    /// | 4–5 | client port | ✓ | 0 | 0 |
    /// | 6–7 | VIP port | ✓ | 0 | 0 |
    /// | 8–11 | VIP | ✓ | ✓ | ✓ |
    /// | 12–14 | client VSID (low 24 bits; 0 for external clients) | ✓ | 0 | 0 |
    /// | 15 | IP protocol number | ✓ | ✓ | 0 |
    ///
    /// - Complexity: O(1).
    @inlinable @inline(__always)
    public static func selectionKey(
        distribution: FlowDistribution, protocolNumber: UInt8, clientIP: UInt32, clientPort: UInt16,
        vip: UInt32, vipPort: UInt16, clientVSID: UInt32
    ) -> (word0: UInt64, word1: UInt64) {
        switch distribution {
        case .fiveTuple:
            return (
                UInt64(clientIP) | UInt64(clientPort) << 32 | UInt64(vipPort) << 48,
                UInt64(vip) | UInt64(clientVSID & 0x00FF_FFFF) << 32 | UInt64(protocolNumber) << 56
            )
        case .sourceIPProtocol:
            return (UInt64(clientIP), UInt64(vip) | UInt64(protocolNumber) << 56)
        case .sourceIP:
            return (UInt64(clientIP), UInt64(vip))
        }
    }

    /// The 64-bit hash that selects a DIP for a new flow (feed it to
    /// ``MaglevTable/backendIndex(forHash:)``): XXH64 of
    /// ``selectionKey(distribution:protocolNumber:clientIP:clientPort:vip:vipPort:clientVSID:)``
    /// with seed domain 0.
    ///
    /// Fields the distribution ignores do not influence the result.
    ///
    /// - Parameters:
    ///   - protocolNumber: IPv4 protocol number (6 TCP, 17 UDP).
    ///   - clientIP: client address, host-order value.
    ///   - clientPort: client transport port.
    ///   - vip: VIP address, host-order value.
    ///   - vipPort: VIP (frontend) transport port.
    ///   - clientVSID: the client's VSID (24 bits), 0 for an external client.
    /// - Complexity: O(1), no allocation.
    @inlinable @inline(__always)
    public func selectionHash(
        distribution: FlowDistribution, protocolNumber: UInt8, clientIP: UInt32, clientPort: UInt16,
        vip: UInt32, vipPort: UInt16, clientVSID: UInt32
    ) -> UInt64 {
        let key = Self.selectionKey(
            distribution: distribution, protocolNumber: protocolNumber, clientIP: clientIP,
            clientPort: clientPort, vip: vip, vipPort: vipPort, clientVSID: clientVSID)
        return XXH64.hash(
            word0: key.word0, word1: key.word1,
            seed: Self.derivedSeed(seed, domain: Self.selectionDomain))
    }

    /// The 8-byte client-side key as one little-endian word: bytes 0–3 client IP, 4–5 client
    /// port, 6 protocol number, 7 zero.
    ///
    /// - Complexity: O(1).
    @inlinable @inline(__always)
    public static func clientSideKey(protocolNumber: UInt8, clientIP: UInt32, clientPort: UInt16) -> UInt64 {
        UInt64(clientIP) | UInt64(clientPort) << 32 | UInt64(protocolNumber) << 48
    }

    /// A 32-bit hash of the client side of a flow, for flow-table buckets and worker steering.
    ///
    /// Symmetric by construction: a request and its NAT'd reply carry the same client IP, client
    /// port and protocol, so both directions hash alike without normalising the tuple. It is
    /// XXH64 of ``clientSideKey(protocolNumber:clientIP:clientPort:)`` with seed domain 3, folded
    /// to 32 bits as `UInt32(truncatingIfNeeded: h ^ h >> 32)`.
    ///
    /// - Complexity: O(1), no allocation.
    @inlinable @inline(__always)
    public func flowHash(protocolNumber: UInt8, clientIP: UInt32, clientPort: UInt16) -> UInt32 {
        let h = XXH64.hash(
            word: Self.clientSideKey(protocolNumber: protocolNumber, clientIP: clientIP, clientPort: clientPort),
            seed: Self.derivedSeed(seed, domain: Self.clientSideDomain))
        return UInt32(truncatingIfNeeded: h ^ h >> 32)
    }

    /// The NVGRE FlowID of a packet of the inner flow `source:sourcePort → destination:destinationPort`
    /// (RFC 7637 §3.1: an 8-bit value that spreads a host's flows over equal-cost paths): the
    /// ``selectionHash(distribution:protocolNumber:clientIP:clientPort:vip:vipPort:clientVSID:)``
    /// of the five-tuple (VSID 0) folded by ``flowID(_:)``. The one FlowID function: nvlb
    /// computes it with the configured seed (`underlay.flow_id: hash`), the lab's hosts and the
    /// traffic generator with ``host``.
    ///
    /// - Complexity: O(1), no allocation.
    @inlinable @inline(__always)
    public func flowID(
        protocolNumber: UInt8, source: UInt32, sourcePort: UInt16, destination: UInt32, destinationPort: UInt16
    ) -> UInt8 {
        Self.flowID(
            selectionHash(
                distribution: .fiveTuple, protocolNumber: protocolNumber, clientIP: source, clientPort: sourcePort,
                vip: destination, vipPort: destinationPort, clientVSID: 0))
    }

    /// The hasher of the FlowIDs that Hyper-V hosts put on their packets, as the lab's hosts
    /// and the traffic generator emulate them. nvlb ignores a received FlowID, so any fixed
    /// seed serves; this one differs from nvlb's default so that the two are not mistaken.
    public static let host = FlowHasher(seed: 0x6876_686F)

    /// Folds a 64-bit hash to the 8-bit NVGRE FlowID by XOR of all eight bytes.
    ///
    /// - Complexity: O(1).
    @inlinable @inline(__always)
    public static func flowID(_ hash: UInt64) -> UInt8 {
        var h = hash ^ hash >> 32
        h ^= h >> 16
        h ^= h >> 8
        return UInt8(truncatingIfNeeded: h)
    }
}
