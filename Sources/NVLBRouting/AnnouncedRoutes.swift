import NVLBPolicy
import NVLBWire

/// What one instance announces (docs/operations.md "Several instances behind ECMP"): each
/// external VIP /32 while at least one of its DIPs is up with weight > 0, and the shared
/// underlay address /32 that hosts send NVGRE to.
public enum AnnouncedRoutes {
    /// The /32 prefixes to announce under `configuration` and `health`, ascending.
    ///
    /// A DIP is up for a VIP when some rule of its load balancer reaches it with weight > 0
    /// and the rule's probe (if any) does not list it as down. A VIP whose DIPs are all
    /// down is withdrawn even though the data plane then fails open: other instances or
    /// routes may still serve it, and a VIP nobody can serve should not attract traffic.
    public static func prefixes(_ configuration: PolicyConfiguration, health: HealthState) -> [IPv4Address] {
        var prefixes: Set<IPv4Address> = [configuration.underlay.address]
        for lb in configuration.loadBalancers {
            let external = lb.frontends.filter { $0.vsid == nil }
            guard !external.isEmpty, hasDIPUp(lb, health: health) else { continue }
            for frontend in external { prefixes.insert(frontend.vip) }
        }
        return prefixes.sorted { $0.rawValue < $1.rawValue }
    }

    static func hasDIPUp(_ lb: PolicyConfiguration.LoadBalancer, health: HealthState) -> Bool {
        for rule in lb.rules {
            for backend in lb.backends where backend.weight > 0 {
                guard let probe = rule.probe else { return true }
                let target = HealthState.Target(loadBalancer: lb.name, probe: probe, vsid: backend.vsid, ca: backend.ca)
                if !health.isDown(target) { return true }
            }
        }
        return false
    }
}
