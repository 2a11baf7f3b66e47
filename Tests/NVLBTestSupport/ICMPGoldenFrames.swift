/// Frames of docs/packets.md "ICMP and path MTU" in and out, for
/// `TestPolicies.goldenExample()` (underlay.mtu 1500: MSS clamp 1418, next-hop MTU 1458).
/// The expected frames were computed independently of nvlb's code (a separate RFC 1071
/// implementation) and are written out field by field; payloads are `pattern(n)`.
public enum ICMPGolden {
    /// Bytes 0, 1, 2, … (mod 256): the payload of the large frames.
    public static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0) } }

    public static let externalSYNIn = hexBytes(
        """
        02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet: external.mac <- router
        45 00 00 30 12 34 40 00 40 06 5f 17 cb 00 71 07   // IPv4: 203.0.113.7 -> 131.107.10.10, len 48, DF, TTL 64, TCP
        83 6b 0a 0a
        9c 40 00 50 00 00 03 e8 00 00 00 00 70 02 fa f0   // TCP 40000 -> 80, seq 1000, SYN, window 64240
        1e 39 00 00
        02 04 05 b4 01 01 04 02                           // MSS 1460, NOP, NOP, SACK permitted
        """)

    public static let externalSYNOut = hexBytes(
        """
        02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // outer Ethernet: MACH1 <- MACLB
        45 00 00 5a 00 00 40 00 40 2f ad 1e c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.4, len 90, DF, TTL 64, GRE, TOS 0x00
        c0 a8 06 04
        20 00 65 58 00 13 89 00                           // NVGRE: VSID 5001, FlowID 0
        00 15 5d 01 06 21 02 4c 42 00 b1 00 08 00         // inner Ethernet: MACVM2 <- blue gateway
        45 00 00 30 12 34 40 00 40 06 dc 76 cb 00 71 07   // inner IPv4: 203.0.113.7 -> 10.1.6.21
        0a 01 06 15
        9c 40 00 50 00 00 03 e8 00 00 00 00 70 02 fa f0   // TCP: checksum updated for address and MSS
        9b c2 00 00
        02 04 05 8a 01 01 04 02                           // MSS 1418 (1500 - 42 - 40)
        """)

    public static let internalSYNIn = hexBytes(
        """
        02 4c 42 00 06 02 02 00 00 00 06 07 08 00         // outer Ethernet: MACLB <- client host
        45 00 00 5a 00 00 40 00 40 2f ad 1b c0 a8 06 07   // outer IPv4: 192.168.6.7 -> 192.168.6.2, GRE
        c0 a8 06 02
        20 00 65 58 00 13 8a 33                           // NVGRE: VSID 5002
        02 4c 42 00 b1 00 00 15 5d 01 05 20 08 00         // inner Ethernet: blue gateway <- client VM
        45 00 00 30 00 00 40 00 40 06 1c 4f 0a 01 05 14   // inner IPv4: 10.1.5.20 -> 10.1.5.100
        0a 01 05 64
        c3 50 1f 90 00 00 00 4d 00 00 00 00 70 02 fa f0   // TCP 50000 -> 8080, SYN
        d9 39 00 00
        01 02 04 05 b4 01 01 00                           // NOP, MSS 1460 at an odd offset, NOP, NOP, EOL
        """)

    public static let internalSYNOut = hexBytes(
        """
        02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // outer Ethernet: MACH1 <- MACLB
        45 00 00 5a 00 00 40 00 40 2f ad 1e c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.4, len 90, DF, TTL 64, GRE, TOS 0x00
        c0 a8 06 04
        20 00 65 58 00 13 89 00                           // NVGRE: VSID 5001, FlowID 0
        00 15 5d 01 06 21 02 4c 42 00 b1 00 08 00         // inner Ethernet: MACVM2 <- blue gateway
        45 00 00 30 00 00 40 00 40 06 1b 9e 0a 01 05 14   // inner IPv4: 10.1.5.20 -> 10.1.6.21
        0a 01 06 15
        c3 50 1f 90 00 00 00 4d 00 00 00 00 70 02 fa f0   // TCP: checksum updated
        02 89 00 00
        01 02 04 05 8a 01 01 00                           // MSS 1418, still at the odd offset
        """)

    public static let externalSYNACKIn = hexBytes(
        """
        02 4c 42 00 06 02 02 00 00 00 06 04 08 00         // outer Ethernet: MACLB <- MACH1
        45 00 00 5a 00 00 40 00 40 2f ad 1e c0 a8 06 04   // outer IPv4: 192.168.6.4 -> 192.168.6.2, GRE
        c0 a8 06 02
        20 00 65 58 00 13 89 5a                           // NVGRE: VSID 5001
        02 4c 42 00 b1 00 00 15 5d 01 06 21 08 00         // inner Ethernet: blue gateway <- MACVM2
        45 00 00 30 00 00 40 00 40 06 ee aa 0a 01 06 15   // inner IPv4: 10.1.6.21 -> 203.0.113.7
        cb 00 71 07
        00 50 9c 40 00 00 13 88 00 00 03 e9 70 12 fe 88   // TCP 80 -> 40000, SYN+ACK
        67 1b 00 00
        02 04 23 00 01 01 04 02                           // MSS 8960 (jumbo VM)
        """)

    public static let externalSYNACKOut = hexBytes(
        """
        02 00 00 00 00 fe 02 4c 42 00 00 01 08 00         // Ethernet: router <- external.mac
        45 00 00 30 00 00 40 00 40 06 71 4b 83 6b 0a 0a   // IPv4: 131.107.10.10 -> 203.0.113.7
        cb 00 71 07
        00 50 9c 40 00 00 13 88 00 00 03 e9 70 12 fe 88   // TCP 80 -> 40000, SYN+ACK
        07 32 00 00
        02 04 05 8a 01 01 04 02                           // MSS 1418
        """)

    public static let internalSYNACKIn = hexBytes(
        """
        02 4c 42 00 06 02 02 00 00 00 06 04 08 00         // outer Ethernet: MACLB <- MACH1
        45 00 00 5a 00 00 40 00 40 2f ad 1e c0 a8 06 04   // outer IPv4: 192.168.6.4 -> 192.168.6.2, GRE
        c0 a8 06 02
        20 00 65 58 00 13 89 11                           // NVGRE: VSID 5001
        02 4c 42 00 b1 00 00 15 5d 01 06 21 08 00         // inner Ethernet: blue gateway <- MACVM2
        45 00 00 30 00 00 40 00 40 06 1b 9e 0a 01 06 15   // inner IPv4: 10.1.6.21 -> 10.1.5.20
        0a 01 05 14
        1f 90 c3 50 00 00 23 28 00 00 00 4e 70 12 fe 88   // TCP 8080 -> 50000, SYN+ACK
        5f 05 00 00
        02 04 05 b4 01 01 04 02                           // MSS 1460
        """)

    public static let internalSYNACKOut = hexBytes(
        """
        02 00 00 00 06 01 02 4c 42 00 06 02 08 00         // outer Ethernet: underlay gateway <- MACLB
        45 00 00 5a 00 00 40 00 40 2f ad 1b c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.7, len 90, DF, TTL 64, GRE, TOS 0x00
        c0 a8 06 07
        20 00 65 58 00 13 8a 00                           // NVGRE: VSID 5002, FlowID 0
        00 15 5d 01 05 20 02 4c 42 00 b1 00 08 00         // inner Ethernet: client VM <- blue gateway
        45 00 00 30 00 00 40 00 40 06 1c 4f 0a 01 05 64   // inner IPv4: 10.1.5.100 -> 10.1.5.20
        0a 01 05 14
        1f 90 c3 50 00 00 23 28 00 00 00 4e 70 12 fe 88   // TCP 8080 -> 50000, SYN+ACK
        5f e0 00 00
        02 04 05 8a 01 01 04 02                           // MSS 1418
        """)

    public static let externalBigDFIn =
        hexBytes(
            """
            02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet: external.mac <- router
            45 00 05 dc 42 42 40 00 40 11 29 52 cb 00 71 07   // IPv4: len 1500, id 0x4242, DF, TTL 64, UDP
            83 6b 0a 0a
            13 88 00 35 05 c8 91 c1                           // UDP 5000 -> 53, len 1480, checksum
            """) + pattern(1472)

    public static let externalFragNeededOut = hexBytes(
        """
        02 00 00 00 00 fe 02 4c 42 00 00 01 08 00         // Ethernet: router <- external.mac
        45 c0 00 38 00 00 00 00 40 01 b0 88 83 6b 0a 0a   // IPv4: TOS 0xc0, len 56, TTL 64, ICMP, 131.107.10.10 -> 203.0.113.7
        cb 00 71 07
        03 04 4c 03 00 00 05 b2                           // ICMP 3/4, checksum, next-hop MTU 1458
        45 00 05 dc 42 42 40 00 40 11 29 52 cb 00 71 07   // quote: the request IPv4 header
        83 6b 0a 0a
        13 88 00 35 05 c8 91 c1                           // quote: 8 bytes of UDP
        """)

    public static let internalBigDFIn =
        hexBytes(
            """
            02 4c 42 00 06 02 02 00 00 00 06 07 08 00         // outer Ethernet: MACLB <- client host
            45 00 06 06 00 00 40 00 40 2f a7 6f c0 a8 06 07   // outer IPv4: 192.168.6.7 -> 192.168.6.2, GRE
            c0 a8 06 02
            20 00 65 58 00 13 8a 33                           // NVGRE: VSID 5002
            02 4c 42 00 b1 00 00 15 5d 01 05 20 08 00         // inner Ethernet: blue gateway <- client VM
            45 00 05 dc 07 77 40 00 40 06 0f 2c 0a 01 05 14   // inner IPv4: 10.1.5.20 -> 10.1.5.100, len 1500, DF
            0a 01 05 64
            c3 51 1f 90 00 00 13 88 00 00 1b 58 50 18 01 f6   // TCP 50001 -> 8080, PSH+ACK
            4c e5 00 00
            """) + pattern(1460)

    public static let internalFragNeededOut = hexBytes(
        """
        02 00 00 00 06 01 02 4c 42 00 06 02 08 00         // outer Ethernet: underlay gateway <- MACLB
        45 c0 00 62 00 00 40 00 40 2f ac 53 c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.7, len 98, DF, TTL 64, GRE, TOS 0xc0
        c0 a8 06 07
        20 00 65 58 00 13 8a 00                           // NVGRE: VSID 5002, FlowID 0
        00 15 5d 01 05 20 02 4c 42 00 b1 00 08 00         // inner Ethernet: client VM <- blue gateway
        45 c0 00 38 00 00 00 00 40 01 5b 8c 0a 01 05 64   // inner IPv4: 10.1.5.100 -> 10.1.5.20, TOS 0xc0, ICMP
        0a 01 05 14
        03 04 00 e0 00 00 05 b2                           // ICMP 3/4, next-hop MTU 1458
        45 00 05 dc 07 77 40 00 40 06 0f 2c 0a 01 05 14   // quote: the request IPv4 header
        0a 01 05 64
        c3 51 1f 90 00 00 13 88                           // quote: 8 bytes of TCP
        """)

    public static let externalBigIn =
        hexBytes(
            """
            02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet: external.mac <- router
            45 00 05 dc 42 43 00 00 40 11 69 51 cb 00 71 07   // IPv4: len 1500, id 0x4243, DF clear, UDP
            83 6b 0a 0a
            13 88 00 35 05 c8 91 c1                           // UDP 5000 -> 53, len 1480
            """) + pattern(1472)

    public static let fragment1Out =
        hexBytes(
            """
            02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // outer Ethernet: MACH1 <- MACLB
            45 00 05 d6 00 00 40 00 40 2f a7 a2 c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.4, len 1494, DF, TTL 64, GRE, TOS 0x00
            c0 a8 06 04
            20 00 65 58 00 13 89 00                           // NVGRE: VSID 5001, FlowID 0
            00 15 5d 01 06 21 02 4c 42 00 b1 00 08 00         // inner Ethernet: MACVM2 <- blue gateway
            45 00 05 ac 42 43 20 00 40 11 c6 e0 cb 00 71 07   // fragment 1: len 1452, MF, offset 0
            0a 01 06 15
            13 88 14 e9 05 c8 fa 6c                           // UDP 5000 -> 5353, checksum of the whole datagram
            """) + Array(pattern(1472)[0..<1424])

    public static let fragment2Out =
        hexBytes(
            """
            02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // outer Ethernet: MACH1 <- MACLB
            45 00 00 6e 00 00 40 00 40 2f ad 0a c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.4, len 110, DF, TTL 64, GRE, TOS 0x00
            c0 a8 06 04
            20 00 65 58 00 13 89 00                           // NVGRE: VSID 5001, FlowID 0
            00 15 5d 01 06 21 02 4c 42 00 b1 00 08 00         // inner Ethernet: MACVM2 <- blue gateway
            45 00 00 44 42 43 00 b3 40 11 eb 95 cb 00 71 07   // fragment 2: len 68, offset 179 (1432 bytes)
            0a 01 06 15
            """) + Array(pattern(1472)[1424...])

    public static let optionsBigIn =
        hexBytes(
            """
            02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet: external.mac <- router
            48 00 05 e8 42 44 00 00 40 11 c7 38 cb 00 71 07   // IPv4: IHL 8, len 1512, id 0x4244, DF clear, UDP
            83 6b 0a 0a
            94 04 00 00 07 07 04 00 00 00 00 00               // router alert (copied), record route (not copied), EOL
            13 88 00 35 05 c8 91 c1                           // UDP 5000 -> 53, len 1480
            """) + pattern(1472)

    public static let optionsFragment1Out =
        hexBytes(
            """
            02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // outer Ethernet: MACH1 <- MACLB
            45 00 05 da 00 00 40 00 40 2f a7 9e c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.4, len 1498, DF, TTL 64, GRE, TOS 0x00
            c0 a8 06 04
            20 00 65 58 00 13 89 00                           // NVGRE: VSID 5001, FlowID 0
            00 15 5d 01 06 21 02 4c 42 00 b1 00 08 00         // inner Ethernet
            48 00 05 b0 42 44 20 00 40 11 24 d0 cb 00 71 07   // fragment 1: IHL 8, len 1456, MF, offset 0
            0a 01 06 15
            94 04 00 00 07 07 04 00 00 00 00 00               // every option
            13 88 14 e9 05 c8 fa 6c                           // UDP 5000 -> 5353
            """) + Array(pattern(1472)[0..<1416])

    public static let optionsFragment2Out =
        hexBytes(
            """
            02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // outer Ethernet: MACH1 <- MACLB
            45 00 00 7a 00 00 40 00 40 2f ac fe c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.4, len 122, DF, TTL 64, GRE, TOS 0x00
            c0 a8 06 04
            20 00 65 58 00 13 89 00                           // NVGRE: VSID 5001, FlowID 0
            00 15 5d 01 06 21 02 4c 42 00 b1 00 08 00         // inner Ethernet
            46 00 00 50 42 44 00 b2 40 11 56 85 cb 00 71 07   // fragment 2: IHL 6, len 80, offset 178 (1424 bytes)
            0a 01 06 15
            94 04 00 00                                       // router alert only
            """) + Array(pattern(1472)[1416...])

    public static let echoPAIn = hexBytes(
        """
        02 4c 42 00 06 02 02 00 00 00 06 04 08 00         // Ethernet: MACLB <- MACH1
        45 00 00 24 00 99 40 00 3f 01 ad e9 c0 a8 06 04   // IPv4: 192.168.6.4 -> 192.168.6.2, TTL 63, ICMP
        c0 a8 06 02
        08 00 2c 21 12 34 00 01 6e 76 6c 62 70 69 6e 67   // echo request id 0x1234 seq 1
        """)

    public static let echoPAOut = hexBytes(
        """
        02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // Ethernet: MACH1 <- MACLB
        45 00 00 24 00 99 40 00 40 01 ac e9 c0 a8 06 02   // IPv4: 192.168.6.2 -> 192.168.6.4, TTL 64
        c0 a8 06 04
        00 00 34 21 12 34 00 01 6e 76 6c 62 70 69 6e 67   // echo reply
        """)

    public static let echoVIPIn = hexBytes(
        """
        02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet: external.mac <- router
        45 00 00 24 00 98 40 00 32 01 7e c4 cb 00 71 07   // IPv4: 203.0.113.7 -> 131.107.10.10, TTL 50
        83 6b 0a 0a
        08 00 2c 21 12 34 00 01 6e 76 6c 62 70 69 6e 67   // echo request
        """)

    public static let echoVIPOut = hexBytes(
        """
        02 00 00 00 00 fe 02 4c 42 00 00 01 08 00         // Ethernet: router <- external.mac
        45 00 00 24 00 98 40 00 40 01 70 c4 83 6b 0a 0a   // IPv4: 131.107.10.10 -> 203.0.113.7, TTL 64
        cb 00 71 07
        00 00 34 21 12 34 00 01 6e 76 6c 62 70 69 6e 67   // echo reply
        """)

    public static let echoCAVIPIn = hexBytes(
        """
        02 4c 42 00 06 02 02 00 00 00 06 07 08 00         // outer Ethernet: MACLB <- client host
        45 00 00 4e 00 00 40 00 40 2f ad 27 c0 a8 06 07   // outer IPv4: 192.168.6.7 -> 192.168.6.2, GRE
        c0 a8 06 02
        20 00 65 58 00 13 8a 33                           // NVGRE: VSID 5002
        02 4c 42 00 b1 00 00 15 5d 01 05 20 08 00         // inner Ethernet: blue gateway <- client VM
        45 00 00 24 00 97 40 00 40 01 1b c9 0a 01 05 14   // inner IPv4: 10.1.5.20 -> 10.1.5.100
        0a 01 05 64
        08 00 2c 21 12 34 00 01 6e 76 6c 62 70 69 6e 67   // echo request
        """)

    public static let echoCAVIPOut = hexBytes(
        """
        02 00 00 00 06 07 02 4c 42 00 06 02 08 00         // outer Ethernet: client host <- MACLB
        45 00 00 4e 00 00 40 00 40 2f ad 27 c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.7, len 78, DF, TTL 64, GRE, TOS 0x00
        c0 a8 06 07
        20 00 65 58 00 13 8a 00                           // NVGRE: VSID 5002, FlowID 0
        00 15 5d 01 05 20 02 4c 42 00 b1 00 08 00         // inner Ethernet: client VM <- blue gateway
        45 00 00 24 00 97 40 00 40 01 1b c9 0a 01 05 64   // inner IPv4: 10.1.5.100 -> 10.1.5.20
        0a 01 05 14
        00 00 34 21 12 34 00 01 6e 76 6c 62 70 69 6e 67   // echo reply
        """)

    public static let routerErrorIn = hexBytes(
        """
        02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet: external.mac <- router
        45 c0 00 44 00 00 00 00 fe 01 04 4f c6 33 64 01   // IPv4: 198.51.100.1 -> 131.107.10.10, ICMP
        83 6b 0a 0a
        03 04 c1 1b 00 00 05 78                           // ICMP 3/4, next-hop MTU 1400
        45 00 00 28 01 01 40 00 3f 06 71 52 83 6b 0a 0a   // quote: 131.107.10.10 -> 203.0.113.7
        cb 00 71 07
        00 50 9c 40 00 00 13 89 00 00 03 e9 50 10 01 f6   // quote: TCP 80 -> 40000, whole header
        30 5f 00 00
        """)

    public static let routerErrorOut = hexBytes(
        """
        02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // outer Ethernet: MACH1 <- MACLB
        45 c0 00 6e 00 00 40 00 40 2f ac 4a c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.4, len 110, DF, TTL 64, GRE, TOS 0xc0
        c0 a8 06 04
        20 00 65 58 00 13 89 00                           // NVGRE: VSID 5001, FlowID 0
        00 15 5d 01 06 21 02 4c 42 00 b1 00 08 00         // inner Ethernet: MACVM2 <- blue gateway
        45 c0 00 44 00 00 00 00 fe 01 81 ae c6 33 64 01   // inner IPv4: 198.51.100.1 -> 10.1.6.21
        0a 01 06 15
        03 04 43 bc 00 00 05 78                           // ICMP 3/4, checksum recomputed
        45 00 00 28 01 01 40 00 3f 06 ee b1 0a 01 06 15   // quote: 10.1.6.21 -> 203.0.113.7, checksum updated
        cb 00 71 07
        00 50 9c 40 00 00 13 89 00 00 03 e9 50 10 01 f6   // quote: TCP 80 -> 40000, checksum updated
        ad be 00 00
        """)

    public static let routerShortErrorIn = hexBytes(
        """
        02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet: external.mac <- router
        45 c0 00 38 00 00 00 00 fe 01 04 5b c6 33 64 01   // IPv4: 198.51.100.1 -> 131.107.10.10
        83 6b 0a 0a
        0b 00 44 e6 00 00 00 00                           // ICMP 11/0 time exceeded
        45 00 00 28 01 01 40 00 3f 06 71 52 83 6b 0a 0a   // quote: 131.107.10.10 -> 203.0.113.7
        cb 00 71 07
        00 50 9c 40 00 00 13 89                           // quote: 8 bytes of TCP
        """)

    public static let routerShortErrorOut = hexBytes(
        """
        02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // outer Ethernet: MACH1 <- MACLB
        45 c0 00 62 00 00 40 00 40 2f ac 56 c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.4, len 98, DF, TTL 64, GRE, TOS 0xc0
        c0 a8 06 04
        20 00 65 58 00 13 89 00                           // NVGRE: VSID 5001, FlowID 0
        00 15 5d 01 06 21 02 4c 42 00 b1 00 08 00         // inner Ethernet: MACVM2 <- blue gateway
        45 c0 00 38 00 00 00 00 fe 01 81 ba c6 33 64 01   // inner IPv4: 198.51.100.1 -> 10.1.6.21
        0a 01 06 15
        0b 00 44 e6 00 00 00 00                           // ICMP 11/0
        45 00 00 28 01 01 40 00 3f 06 ee b1 0a 01 06 15   // quote: 10.1.6.21 -> 203.0.113.7
        cb 00 71 07
        00 50 9c 40 00 00 13 89                           // quote: ports 80 -> 40000, sequence
        """)

    public static let dipErrorIn = hexBytes(
        """
        02 4c 42 00 06 02 02 00 00 00 06 04 08 00         // outer Ethernet: MACLB <- MACH1
        45 00 00 66 00 00 40 00 40 2f ad 12 c0 a8 06 04   // outer IPv4: 192.168.6.4 -> 192.168.6.2, GRE
        c0 a8 06 02
        20 00 65 58 00 13 89 5a                           // NVGRE: VSID 5001
        02 4c 42 00 b1 00 00 15 5d 01 06 21 08 00         // inner Ethernet: blue gateway <- MACVM2
        45 c0 00 3c 55 55 00 00 40 01 d8 8e 0a 01 06 15   // inner IPv4: 10.1.6.21 -> 203.0.113.7, ICMP
        cb 00 71 07
        03 03 49 38 00 00 00 00                           // ICMP 3/3 port unreachable
        45 00 00 20 02 02 40 00 40 11 ec ad cb 00 71 07   // quote: 203.0.113.7 -> 10.1.6.21
        0a 01 06 15
        13 88 14 e9 00 0c c6 80 61 62 63 64               // quote: UDP 5000 -> 5353, 4 bytes
        """)

    public static let dipErrorOut = hexBytes(
        """
        02 00 00 00 00 fe 02 4c 42 00 00 01 08 00         // Ethernet: router <- external.mac
        45 c0 00 3c 55 55 00 00 40 01 5b 2f 83 6b 0a 0a   // IPv4: 131.107.10.10 -> 203.0.113.7
        cb 00 71 07
        03 03 c6 97 00 00 00 00                           // ICMP 3/3
        45 00 00 20 02 02 40 00 40 11 6f 4e cb 00 71 07   // quote: 203.0.113.7 -> 131.107.10.10, as the client sent it
        83 6b 0a 0a
        13 88 00 35 00 0c 5d d5 61 62 63 64               // quote: UDP 5000 -> 53
        """)

    public static let dipInternalErrorIn = hexBytes(
        """
        02 4c 42 00 06 02 02 00 00 00 06 04 08 00         // outer Ethernet: MACLB <- MACH1
        45 00 00 62 00 00 40 00 40 2f ad 16 c0 a8 06 04   // outer IPv4: 192.168.6.4 -> 192.168.6.2, GRE
        c0 a8 06 02
        20 00 65 58 00 13 89 11                           // NVGRE: VSID 5001
        02 4c 42 00 b1 00 00 15 5d 01 06 21 08 00         // inner Ethernet: blue gateway <- MACVM2
        45 c0 00 38 66 66 00 00 40 01 f4 74 0a 01 06 15   // inner IPv4: 10.1.6.21 -> 10.1.5.20
        0a 01 05 14
        0c 00 fc d0 14 00 00 00                           // ICMP 12/0 parameter problem, pointer 20
        45 00 00 28 03 03 40 00 40 06 18 a3 0a 01 05 14   // quote: 10.1.5.20 -> 10.1.6.21
        0a 01 06 15
        c3 50 1f 90 00 00 00 4e                           // quote: 8 bytes of TCP
        """)

    public static let dipInternalErrorOut = hexBytes(
        """
        02 00 00 00 06 01 02 4c 42 00 06 02 08 00         // outer Ethernet: underlay gateway <- MACLB
        45 c0 00 62 00 00 40 00 40 2f ac 53 c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.7, len 98, DF, TTL 64, GRE, TOS 0xc0
        c0 a8 06 07
        20 00 65 58 00 13 8a 00                           // NVGRE: VSID 5002, FlowID 0
        00 15 5d 01 05 20 02 4c 42 00 b1 00 08 00         // inner Ethernet: client VM <- blue gateway
        45 c0 00 38 66 66 00 00 40 01 f5 25 0a 01 05 64   // inner IPv4: 10.1.5.100 -> 10.1.5.20
        0a 01 05 14
        0c 00 fc d0 14 00 00 00                           // ICMP 12/0
        45 00 00 28 03 03 40 00 40 06 19 54 0a 01 05 14   // quote: 10.1.5.20 -> 10.1.5.100
        0a 01 05 64
        c3 50 1f 90 00 00 00 4e                           // quote: ports 50000 -> 8080
        """)

    public static let clientInternalErrorIn = hexBytes(
        """
        02 4c 42 00 06 02 02 00 00 00 06 07 08 00         // outer Ethernet: MACLB <- client host
        45 00 00 62 00 00 40 00 40 2f ad 13 c0 a8 06 07   // outer IPv4: 192.168.6.7 -> 192.168.6.2, GRE
        c0 a8 06 02
        20 00 65 58 00 13 8a 33                           // NVGRE: VSID 5002
        02 4c 42 00 b1 00 00 15 5d 01 05 20 08 00         // inner Ethernet: blue gateway <- client VM
        45 c0 00 38 77 77 00 00 40 01 e4 14 0a 01 05 14   // inner IPv4: 10.1.5.20 -> 10.1.5.100, ICMP
        0a 01 05 64
        03 03 f6 f2 00 00 00 00                           // ICMP 3/3 port unreachable
        45 00 00 2d 04 04 40 00 40 06 18 4e 0a 01 05 64   // quote: 10.1.5.100 -> 10.1.5.20
        0a 01 05 14
        1f 90 c3 50 00 00 23 29                           // quote: TCP 8080 -> 50000, 8 bytes
        """)

    public static let clientInternalErrorOut = hexBytes(
        """
        02 00 00 00 06 04 02 4c 42 00 06 02 08 00         // outer Ethernet: MACH1 <- MACLB
        45 c0 00 62 00 00 40 00 40 2f ac 56 c0 a8 06 02   // outer IPv4: 192.168.6.2 -> 192.168.6.4, len 98, DF, TTL 64, GRE, TOS 0xc0
        c0 a8 06 04
        20 00 65 58 00 13 89 00                           // NVGRE: VSID 5001, FlowID 0
        00 15 5d 01 06 21 02 4c 42 00 b1 00 08 00         // inner Ethernet: MACVM2 <- blue gateway
        45 c0 00 38 77 77 00 00 40 01 e3 63 0a 01 05 14   // inner IPv4: 10.1.5.20 -> 10.1.6.21
        0a 01 06 15
        03 03 f6 f2 00 00 00 00                           // ICMP 3/3
        45 00 00 2d 04 04 40 00 40 06 17 9d 0a 01 06 15   // quote: 10.1.6.21 -> 10.1.5.20
        0a 01 05 14
        1f 90 c3 50 00 00 23 29                           // quote: ports 8080 -> 50000
        """)

    public static let externalACKIn = hexBytes(
        """
        02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet: external.mac <- router
        45 00 00 28 00 00 40 00 40 06 71 53 cb 00 71 07   // IPv4: 203.0.113.7 -> 131.107.10.10
        83 6b 0a 0a
        9c 40 00 50 00 00 03 e8 00 00 00 00 50 10 01 f6   // TCP 40000 -> 80, ACK
        43 e9 00 00
        """)

    public static let externalUDPIn = hexBytes(
        """
        02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet: external.mac <- router
        45 00 00 20 02 02 40 00 40 11 6f 4e cb 00 71 07   // IPv4: 203.0.113.7 -> 131.107.10.10
        83 6b 0a 0a
        13 88 00 35 00 0c 5d d5 61 62 63 64               // UDP 5000 -> 53, 4 bytes
        """)

    public static let routerErrorNoRuleIn = hexBytes(
        """
        02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet
        45 00 00 38 00 00 00 00 40 01 c3 1b c6 33 64 01   // IPv4: 198.51.100.1 -> 131.107.10.10
        83 6b 0a 0a
        03 04 5a f1 00 00 05 78                           // ICMP 3/4
        45 00 00 28 00 00 40 00 40 06 71 53 83 6b 0a 0a   // quote: from port 81, which no rule serves
        cb 00 71 07
        00 51 9c 40 00 00 00 01                           // quote: 8 bytes
        """)

    public static let routerErrorShortQuoteIn = hexBytes(
        """
        02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet
        45 00 00 34 00 00 00 00 40 01 c3 1f c6 33 64 01   // IPv4
        83 6b 0a 0a
        03 04 5a f3 00 00 05 78                           // ICMP 3/4
        45 00 00 28 00 00 40 00 40 06 71 53 83 6b 0a 0a   // quote: IPv4 header
        cb 00 71 07
        00 50 9c 40                                       // quote: only 4 bytes of TCP
        """)

    public static let redirectIn = hexBytes(
        """
        02 4c 42 00 00 01 02 00 00 00 00 fe 08 00         // Ethernet
        45 00 00 38 00 00 00 00 40 01 c3 1b c6 33 64 01   // IPv4
        83 6b 0a 0a
        05 01 54 6c 0a 00 00 01                           // ICMP 5/1 redirect
        45 00 00 28 00 00 40 00 40 06 71 53 83 6b 0a 0a   // quote
        cb 00 71 07
        00 50 9c 40 00 00 00 01                           // quote: 8 bytes
        """)

    public static let dipErrorNoFlowIn = hexBytes(
        """
        02 4c 42 00 06 02 02 00 00 00 06 04 08 00         // outer Ethernet: MACLB <- MACH1
        45 00 00 66 00 00 40 00 40 2f ad 12 c0 a8 06 04   // outer IPv4: 192.168.6.4 -> 192.168.6.2, GRE
        c0 a8 06 02
        20 00 65 58 00 13 89 5a                           // NVGRE: VSID 5001
        02 4c 42 00 b1 00 00 15 5d 01 06 21 08 00         // inner Ethernet
        45 00 00 3c 00 00 00 00 40 01 2e a4 0a 01 06 15   // inner IPv4: 10.1.6.21 -> 203.0.113.7
        cb 00 71 07
        03 03 49 38 00 00 00 00                           // ICMP 3/3
        45 00 00 20 00 00 40 00 40 11 ee af cb 00 71 07   // quote: to port 9999, which no rule uses
        0a 01 06 15
        13 88 27 0f 00 0c b4 5a 61 62 63 64               // quote: UDP
        """)
}
