import NVLBWire

/// Frames of the example configuration's actors.
public enum Actors {
    public static let lbMAC = TestPolicies.mac("02:4c:42:00:06:02")
    public static let lbPA = TestPolicies.ip("192.168.6.2")
    public static let externalMAC = TestPolicies.mac("02:4c:42:00:00:01")
    public static let routerMAC = TestPolicies.mac("02:00:00:00:00:fe")
    public static let blueGateway = TestPolicies.mac("02:4c:42:00:b1:00")
    public static let host1MAC = TestPolicies.mac("02:00:00:00:06:04")
    public static let host1PA = TestPolicies.ip("192.168.6.4")
    public static let clientHostMAC = TestPolicies.mac("02:00:00:00:06:07")
    public static let clientHostPA = TestPolicies.ip("192.168.6.7")
    public static let clientVMMAC = TestPolicies.mac("00:15:5d:01:05:20")
    public static let clientVM = TestPolicies.ip("10.1.5.20")
    /// Blue's VM2 (10.1.6.21 in VSID 5001, on host 1), the DIP of the golden example.
    public static let vm2 = TestPolicies.ip("10.1.6.21")
    public static let vm2MAC = TestPolicies.mac("00:15:5d:01:06:21")
    public static let client = TestPolicies.ip("203.0.113.7")
    public static let blueVIP = TestPolicies.ip("131.107.10.10")
    public static let redVIP = TestPolicies.ip("131.107.20.20")
    public static let appVIP = TestPolicies.ip("10.1.5.100")

    /// Internet client → public VIP.
    public static func external(
        dst: IPv4Address = blueVIP, sport: UInt16 = 40000, dport: UInt16 = 80, flags: TCPFlags = .syn,
        src: IPv4Address = client, payload: [UInt8] = []
    ) -> [UInt8] {
        FrameBuilder.tcp(
            srcMAC: routerMAC, dstMAC: externalMAC, src: src, dst: dst, sport: sport, dport: dport, flags: flags,
            payload: payload)
    }

    /// A tenant VM's frame, NVGRE-encapsulated by its host toward nvlb.
    public static func fromHost(
        hostPA: IPv4Address, hostMAC: MACAddress = host1MAC, vsid: UInt32, inner: [UInt8], flowID: UInt8 = 0x42
    ) -> [UInt8] {
        FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: hostMAC, outerDestinationMAC: lbMAC, outerSource: hostPA,
            outerDestination: lbPA, vsid: vsid, flowID: flowID)
    }
}
