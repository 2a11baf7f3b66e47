import NVLBPolicy
import NVLBWire

/// Warnings about a valid configuration: things that load and run but behave in a way an
/// operator should know about. `nvlb check` prints them after the summary.
public enum ConfigurationWarnings {
    /// One line per (DIP, protocol, backend port) that backs more than one frontend × rule of
    /// the same kind (internal or external): a reply of such a flow that arrives without flow
    /// state — after a restart, an eviction, or on another instance behind ECMP — cannot be
    /// rebuilt from policy and is dropped `no_flow` (docs/packets.md "Replies and flow state").
    public static func ambiguousReplies(_ configuration: PolicyConfiguration) -> [String] {
        struct Key: Hashable {
            var vsid: UInt32
            var ca: IPv4Address
            var protocolName: String
            var port: UInt16
            var isInternal: Bool
        }
        var order: [Key] = []
        var users: [Key: [String]] = [:]
        for lb in configuration.loadBalancers {
            for rule in lb.rules {
                for frontend in lb.frontends {
                    let user = "\(lb.name) \(frontend.vip):\(rule.frontendPort)"
                    for backend in lb.backends {
                        let key = Key(
                            vsid: backend.vsid, ca: backend.ca, protocolName: "\(rule.protocolNumber)",
                            port: rule.backendPort, isInternal: frontend.vsid != nil)
                        if users[key] == nil { order.append(key) }
                        users[key, default: []].append(user)
                    }
                }
            }
        }
        return order.compactMap { key in
            guard let list = users[key], list.count > 1 else { return nil }
            let kind = key.isInternal ? "internal" : "external"
            return "warning: DIP \(key.vsid)/\(key.ca) \(key.protocolName) port \(key.port) backs \(list.count) "
                + "\(kind) frontends (\(list.joined(separator: ", "))): a reply of these flows without flow state "
                + "(after a restart, or on another instance behind ECMP) cannot tell which VIP it belongs to and is "
                + "dropped no_flow; give each VIP its own backend port"
        }
    }
}
