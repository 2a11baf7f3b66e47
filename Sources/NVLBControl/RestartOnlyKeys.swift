import NVLBPolicy

/// Keys a running nvlb cannot change (docs/management.md "What changes without a restart"):
/// the interfaces it captures, its worker threads and their flow tables, and the BGP
/// speaker's sessions — all set up once at start. Everything else, nvlb's own PA and MACs
/// and `bgp.next_hop` included, takes effect on publication.
///
/// The management API refuses a change of these keys (HTTP 422 at the key, nothing
/// changes); a file reloaded on SIGHUP is accepted and these keys are logged as waiting for
/// a restart (the operator edited the file for the next start).
public enum RestartOnlyKeys {
    /// One problem per restart-only key whose value differs between `running` and `next`,
    /// with the key path and the running value.
    public static func changes(from running: PolicyConfiguration, to next: PolicyConfiguration) -> [ChangeProblem] {
        var problems: [ChangeProblem] = []
        func check(_ path: String, _ old: String, _ new: String) {
            guard old != new else { return }
            problems.append(
                ChangeProblem(
                    path: path,
                    message: "takes effect only at a restart of nvlb (running: \(old)); "
                        + "change it in the configuration file and restart"))
        }
        func text(_ value: String?) -> String { value ?? "none" }
        check("underlay.interface", text(running.underlay.interface), text(next.underlay.interface))
        check(
            "external.interface", text(running.external?.interface ?? running.underlay.interface),
            text(next.external?.interface ?? next.underlay.interface))
        check("underlay.io", running.underlay.io.rawValue, next.underlay.io.rawValue)
        check("balancer.workers", describe(running.balancer.workers), describe(next.balancer.workers))
        check(
            "balancer.flow_table_capacity", String(running.balancer.flowTableCapacity),
            String(next.balancer.flowTableCapacity))
        switch (running.bgp, next.bgp) {
        case (nil, nil):
            break
        case (let old?, let new?):
            check("bgp.local_as", String(old.localAS), String(new.localAS))
            check("bgp.router_id", old.routerID.description, new.routerID.description)
            check("bgp.local_address", old.localAddress.description, new.localAddress.description)
            check("bgp.speaker", old.speaker.rawValue, new.speaker.rawValue)
            check("bgp.hold_time", String(old.holdTime), String(new.holdTime))
            check("bgp.drain_seconds", String(old.drainSeconds), String(new.drainSeconds))
            check("bgp.peers", describe(old.peers), describe(new.peers))
        case (let old, let new):
            check("bgp", old == nil ? "none" : "configured", new == nil ? "none" : "configured")
        }
        return problems
    }

    private static func describe(_ workers: PolicyConfiguration.Balancer.Workers) -> String {
        switch workers {
        case .auto: "auto"
        case .count(let n): String(n)
        }
    }

    private static func describe(_ peers: [PolicyConfiguration.BGP.Peer]) -> String {
        "[" + peers.map { "\($0.address) AS \($0.asn)" }.joined(separator: ", ") + "]"
    }
}
