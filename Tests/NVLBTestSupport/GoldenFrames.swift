/// The frames of docs/packets.md "Packet paths" in and out, for the example policy reduced to one DIP
/// (`TestPolicies.goldenExample()`). The expected frames were computed independently of
/// nvlb's code (checksums included) and are written out field by field.
public enum GoldenFrames {
    // docs/packets.md "External client to public VIP" — the HNV gateway guide's example: MACLB → MACH1, 192.168.6.2 → 192.168.6.4,
    // BlueVSID1, MACext → MACVM2, ClientIP → 10.1.6.21.
    public static let externalRequestIn = hexBytes(
        """
        02 4c 42 00 00 01  02 00 00 00 00 fe  08 00   // Ethernet: external.mac ← router
        45 28 00 28 00 00 40 00 40 06 71 2b           // IPv4: TOS 0x28, len 40, DF, TTL 64, TCP, checksum
        cb 00 71 07  83 6b 0a 0a                      // 203.0.113.7 → 131.107.10.10
        9c 40 00 50 00 00 03 e8 00 00 00 00           // TCP 40000 → 80, seq 1000
        50 02 ff ff 45 ed 00 00                       // SYN, window 65535, checksum
        """)
    public static let externalRequestOut = hexBytes(
        """
        02 00 00 00 06 04  02 4c 42 00 06 02  08 00   // outer Ethernet: MACH1 ← MACLB
        45 28 00 52 00 00 40 00 40 2f ac fe           // outer IPv4: TOS copied, len 82, DF, TTL 64, GRE
        c0 a8 06 02  c0 a8 06 04                      // 192.168.6.2 → 192.168.6.4
        20 00 65 58  00 13 89 00                      // NVGRE: VSID 5001, FlowID 0
        00 15 5d 01 06 21  02 4c 42 00 b1 00  08 00   // inner Ethernet: MACVM2 ← MACext (blue gateway)
        45 28 00 28 00 00 40 00 40 06 ee 8a           // inner IPv4: TTL unchanged, checksum updated
        cb 00 71 07  0a 01 06 15                      // ClientIP → 10.1.6.21
        9c 40 00 50 00 00 03 e8 00 00 00 00
        50 02 ff ff c3 4c 00 00                       // TCP checksum updated
        """)

    // docs/packets.md "DIP reply to external client" — the DIP's SYN-ACK back to the Internet client.
    public static let externalReplyIn = hexBytes(
        """
        02 4c 42 00 06 02  02 00 00 00 06 04  08 00   // outer Ethernet: MACLB ← MACH1
        45 00 00 52 00 00 40 00 40 2f ad 26
        c0 a8 06 04  c0 a8 06 02                      // 192.168.6.4 → 192.168.6.2
        20 00 65 58  00 13 89 5a                      // VSID 5001, FlowID 0x5a (ignored)
        02 4c 42 00 b1 00  00 15 5d 01 06 21  08 00   // inner: blue gateway ← MACVM2
        45 00 00 28 00 00 40 00 40 06 ee b2
        0a 01 06 15  cb 00 71 07                      // 10.1.6.21 → 203.0.113.7
        00 50 9c 40 00 00 13 88 00 00 03 e9
        50 12 ff ff af b3 00 00                       // SYN+ACK
        """)
    public static let externalReplyOut = hexBytes(
        """
        02 00 00 00 00 fe  02 4c 42 00 00 01  08 00   // router ← external.mac
        45 00 00 28 00 00 40 00 40 06 71 53
        83 6b 0a 0a  cb 00 71 07                      // VIP 131.107.10.10 → client
        00 50 9c 40 00 00 13 88 00 00 03 e9           // source port = frontend port 80
        50 12 ff ff 32 54 00 00
        """)

    // docs/packets.md "Internal client to CA VIP" — VM 10.1.5.20 (VSID 5002) to CA VIP 10.1.5.100:8080.
    public static let internalRequestIn = hexBytes(
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
    public static let internalRequestOut = hexBytes(
        """
        02 00 00 00 06 04  02 4c 42 00 06 02  08 00   // outer: MACH1 ← MACLB
        45 00 00 52 00 00 40 00 40 2f ad 26
        c0 a8 06 02  c0 a8 06 04                      // 192.168.6.2 → 192.168.6.4
        20 00 65 58  00 13 89 00                      // DIP's VSID 5001
        00 15 5d 01 06 21  02 4c 42 00 b1 00  08 00   // MACVM2 ← blue gateway
        45 00 00 28 00 00 40 00 40 06 1b a6
        0a 01 05 14  0a 01 06 15                      // client CA kept → DIP 10.1.6.21
        c3 50 1f 90 00 00 00 4d 00 00 00 00
        50 02 ff ff ad 8a 00 00
        """)

    // docs/packets.md "DIP reply to internal client" — the DIP's answer back to the internal client.
    public static let internalReplyIn = hexBytes(
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
    public static let internalReplyOut = hexBytes(
        """
        02 00 00 00 06 01  02 4c 42 00 06 02  08 00   // underlay.gateway_mac (no static neighbour) ← MACLB
        45 00 00 52 00 00 40 00 40 2f ad 23
        c0 a8 06 02  c0 a8 06 07                      // → client's host 192.168.6.7
        20 00 65 58  00 13 8a 00                      // client's VSID 5002
        00 15 5d 01 05 20  02 4c 42 00 b1 00  08 00   // client VM ← blue gateway
        45 00 00 28 00 00 40 00 40 06 1c 57
        0a 01 05 64  0a 01 05 14                      // CA VIP 10.1.5.100 → client
        1f 90 c3 50 00 00 23 28 00 00 00 4e           // source port 8080 (frontend port)
        50 12 ff ff 8b 02 00 00
        """)
}
