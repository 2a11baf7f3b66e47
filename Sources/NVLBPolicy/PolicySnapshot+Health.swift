import NVLBBalancing
import NVLBWire

/// A rule whose probed DIPs are all down: nvlb uses them all rather than none
/// (fail open, docs/health.md), and says so in the log and status.
public struct FailOpenRule: Sendable, Equatable, CustomStringConvertible {
    /// Load balancer name.
    public var loadBalancer: String
    /// Index of the rule in its load balancer's `rules`.
    public var rule: Int
    /// The rule's probe.
    public var probe: String

    public init(loadBalancer: String, rule: Int, probe: String) {
        self.loadBalancer = loadBalancer
        self.rule = rule
        self.probe = probe
    }

    public var description: String {
        "load balancer \(loadBalancer) rules[\(rule)]: every DIP is down for probe \(probe), using them all (fail open)"
    }
}

/// Maglev tables already built for one load balancer, by down mask: rules with the same
/// down DIPs share one table.
struct HealthTables {
    var byMask: [[Bool]: (maglevOffset: Int32, healthOffset: Int32)] = [:]
}

extension PolicySnapshot {
    /// The Maglev table of `rule` under `health`: the load balancer's table when none of
    /// the rule's DIPs is down (or the rule has no probe); a table built as if the down
    /// DIPs had weight 0 otherwise, so only their flows move; the load balancer's table
    /// again, flagged `failOpen`, when that would leave no DIP of nonzero weight.
    static func healthTable(
        rule: PolicyConfiguration.Rule, of lb: PolicyConfiguration.LoadBalancer, health: HealthState,
        lbTableOffset: Int, cache: inout HealthTables, size: Int, seed: UInt32, slots: inout [UInt16],
        downFlags: inout [UInt8]
    ) -> (maglevOffset: Int32, healthOffset: Int32, failOpen: Bool) {
        let shared = (maglevOffset: Int32(lbTableOffset), healthOffset: Int32(-1), failOpen: false)
        guard let probe = rule.probe, !health.down.isEmpty else { return shared }
        let mask = lb.backends.map {
            health.isDown(HealthState.Target(loadBalancer: lb.name, probe: probe, vsid: $0.vsid, ca: $0.ca))
        }
        guard mask.contains(true) else { return shared }
        let weights = zip(lb.backends, mask).map { backend, down in down ? 0 : backend.weight }
        if weights.allSatisfy({ $0 == 0 }) {
            // Every DIP that could take flows is down: fail open if any could.
            return (shared.maglevOffset, -1, lb.backends.contains { $0.weight > 0 })
        }
        if let known = cache.byMask[mask] { return (known.maglevOffset, known.healthOffset, false) }
        let table = MaglevTable(
            backends: zip(lb.backends, weights).map { backend, weight in
                MaglevBackend(identity: UInt64(backend.vsid) << 32 | UInt64(backend.ca.rawValue), weight: weight)
            },
            size: size, seed: seed)
        let entry = (maglevOffset: Int32(slots.count), healthOffset: Int32(downFlags.count))
        slots.append(contentsOf: table.entries)
        downFlags.append(contentsOf: mask.map { $0 ? 1 : 0 })
        cache.byMask[mask] = entry
        return (entry.maglevOffset, entry.healthOffset, false)
    }

    /// True when global backend `backend` is down for `rule`'s probe (and the rule does
    /// not fail open): its flows are re-homed on their next client packet.
    @inlinable
    public func isDown(rule: Int, backend: Int) -> Bool {
        let r = rules.pointer(rule)
        let offset = r.pointee.healthOffset
        if offset < 0 { return false }
        let base = Int(loadBalancers[Int(r.pointee.loadBalancer)].backendBase)
        return backendDown[Int(offset) + backend - base] != 0
    }
}
