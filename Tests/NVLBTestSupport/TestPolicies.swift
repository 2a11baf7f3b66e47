import NVLBPolicy
import NVLBWire

/// Policies built in code for data plane tests (independent of the YAML loader).
public enum TestPolicies {
    public static func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
    public static func mac(_ text: String) -> MACAddress { MACAddress(text)! }

    /// The example configuration (`Config/example.yaml`): Blue (5001, 5002) and Red (6001) with overlapping CAs,
    /// public VIPs 131.107.10.10 (blue-web) and 131.107.20.20 (red-web), CA VIP
    /// 10.1.5.100 in VSID 5002 (blue-app).
    public static func example(flowID: PolicyConfiguration.Underlay.FlowIDMode = .hash) -> PolicyConfiguration {
        var underlay = PolicyConfiguration.Underlay(address: ip("192.168.6.2"), mac: mac("02:4c:42:00:06:02"))
        underlay.gatewayMAC = mac("02:00:00:00:06:01")
        underlay.neighbors = [.init(address: ip("192.168.6.4"), mac: mac("02:00:00:00:06:04"))]
        underlay.flowID = flowID
        let blue = PolicyConfiguration.RoutingDomain(
            name: "blue", gatewayMAC: mac("02:4c:42:00:b1:00"), subnets: [5001, 5002],
            lookupRecords: [
                .init(vsid: 5001, ca: ip("10.1.6.20"), pa: ip("192.168.6.3"), mac: mac("00:15:5d:01:06:20")),
                .init(vsid: 5001, ca: ip("10.1.6.21"), pa: ip("192.168.6.4"), mac: mac("00:15:5d:01:06:21")),
                .init(vsid: 5002, ca: ip("10.1.5.20"), pa: ip("192.168.6.7"), mac: mac("00:15:5d:01:05:20")),
            ])
        let red = PolicyConfiguration.RoutingDomain(
            name: "red", gatewayMAC: mac("02:4c:42:00:e1:00"), subnets: [6001],
            lookupRecords: [
                .init(vsid: 6001, ca: ip("10.1.6.21"), pa: ip("192.168.6.5"), mac: mac("00:15:5d:02:06:21")),
                .init(vsid: 6001, ca: ip("10.1.6.22"), pa: ip("192.168.6.6"), mac: mac("00:15:5d:02:06:22")),
            ])
        let blueWeb = PolicyConfiguration.LoadBalancer(
            name: "blue-web", routingDomain: "blue", frontends: [.init(vsid: nil, vip: ip("131.107.10.10"))],
            rules: [
                .init(protocolNumber: .tcp, frontendPort: 80, backendPort: 80),
                .init(protocolNumber: .udp, frontendPort: 53, backendPort: 5353, idleTimeout: 30),
            ],
            backends: [.init(vsid: 5001, ca: ip("10.1.6.20")), .init(vsid: 5001, ca: ip("10.1.6.21"), weight: 2)])
        let blueApp = PolicyConfiguration.LoadBalancer(
            name: "blue-app", routingDomain: "blue", frontends: [.init(vsid: 5002, vip: ip("10.1.5.100"))],
            rules: [.init(protocolNumber: .tcp, frontendPort: 8080, backendPort: 8080, loadDistribution: .sourceIP)],
            backends: [.init(vsid: 5001, ca: ip("10.1.6.20")), .init(vsid: 5001, ca: ip("10.1.6.21"))])
        let redWeb = PolicyConfiguration.LoadBalancer(
            name: "red-web", routingDomain: "red", frontends: [.init(vsid: nil, vip: ip("131.107.20.20"))],
            rules: [.init(protocolNumber: .tcp, frontendPort: 443, backendPort: 443)],
            backends: [.init(vsid: 6001, ca: ip("10.1.6.21")), .init(vsid: 6001, ca: ip("10.1.6.22"))])
        return PolicyConfiguration(
            balancer: .init(), underlay: underlay,
            external: .init(interface: nil, mac: mac("02:4c:42:00:00:01"), gatewayMAC: mac("02:00:00:00:00:fe")),
            routingDomains: [blue, red], loadBalancers: [blueWeb, blueApp, redWeb])
    }

    /// The example with every load balancer of Blue reduced to its one DIP
    /// 10.1.6.21 (VM2) and FlowID 0: outputs are fully predictable, for golden frames.
    public static func goldenExample() -> PolicyConfiguration {
        var configuration = example(flowID: .zero)
        for index in configuration.loadBalancers.indices
        where configuration.loadBalancers[index].routingDomain == "blue" {
            configuration.loadBalancers[index].backends = [.init(vsid: 5001, ca: ip("10.1.6.21"))]
        }
        return configuration
    }
}

/// Parses readable hex: whitespace and `//` comments to the end of a line are ignored.
public func hexBytes(_ text: String) -> [UInt8] {
    var digits: [UInt8] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let code = line.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for character in code where character.isHexDigit { digits.append(UInt8(String(character), radix: 16)!) }
    }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}
