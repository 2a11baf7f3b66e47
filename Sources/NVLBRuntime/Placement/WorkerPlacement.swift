import Logging
import NVLBPolicy

/// How many workers to run: `balancer.workers` of the configuration (docs/operations.md "Workers and NUMA placement").
public enum WorkerCount: Sendable, Equatable, CustomStringConvertible {
    /// One worker per allowed CPU of the NUMA node that owns the underlay NIC (or node 0).
    case auto
    /// Exactly this many workers (≥ 1), placed round-robin on the NIC's node first.
    case count(Int)

    /// `auto` or the number.
    public var description: String {
        switch self {
        case .auto: return "auto"
        case .count(let n): return "\(n)"
        }
    }

    /// The configuration's `balancer.workers`.
    public init(_ configured: PolicyConfiguration.Balancer.Workers) {
        switch configured {
        case .auto: self = .auto
        case .count(let n): self = .count(n)
        }
    }
}

/// Where one worker runs: its index, the CPU it is pinned to and that CPU's NUMA node
/// (where its flow table and packet buffers are allocated).
public struct WorkerSlot: Sendable, Equatable, CustomStringConvertible {
    /// The worker's number, 0-based; names its thread `nvlb-w<index>`.
    public let index: Int
    /// The CPU to pin the worker to.
    public let cpu: Int32
    /// The NUMA node of ``cpu``: allocate the worker's memory here.
    public let node: Int32

    /// A slot from explicit values.
    public init(index: Int, cpu: Int32, node: Int32) {
        self.index = index
        self.cpu = cpu
        self.node = node
    }

    /// E.g. `w0 cpu 2 (node 0)`.
    public var description: String { "w\(index) cpu \(cpu) (node \(node))" }
}

/// The placement of the workers on CPUs and NUMA nodes, with the reasons, for the
/// start-up log (docs/operations.md "Workers and NUMA placement").
///
/// Policy: the *home node* is the node of the underlay NIC
/// (`/sys/class/net/IF/device/numa_node`); when that is unknown, or the node has no CPU
/// this process may use, node 0 (or the lowest node that has one).
/// - `auto`: one worker per allowed CPU of the home node.
/// - `count(n)`: round-robin over the home node's CPUs, then the other nodes' (ascending
///   node id); beyond the allowed CPUs, workers share CPUs (oversubscription, with a
///   warning).
///
/// An immutable value; planning is pure given a topology. O(CPUs + workers).
public struct WorkerPlacement: Sendable, Equatable, CustomStringConvertible {
    /// One slot per worker, by index.
    public let slots: [WorkerSlot]
    /// The node placement favoured (the NIC's node, or the fallback).
    public let homeNode: Int32
    /// The underlay interface placement was planned for, if any.
    public let interface: String?
    /// What sysfs said about ``interface``'s node (`nil` when no interface was given).
    public let interfaceNode: InterfaceNUMANode?
    /// The worker count asked for.
    public let requested: WorkerCount
    /// The topology placement was planned on.
    public let topology: NUMATopology
    /// Conditions an operator should know about (oversubscription, workers remote from
    /// the NIC, NIC node without usable CPUs), one sentence each. Empty when all is well.
    public let warnings: [String]

    /// Plans placement on this machine: reads the topology (``NUMATopology/current()``)
    /// and the NIC's node from sysfs. Call before pinning any thread.
    /// - Parameters:
    ///   - workers: `auto` or a count.
    ///   - interface: the underlay interface (live mode), or `nil` (offline modes: node 0).
    /// - Precondition: a `count` is at least 1 (the configuration validates it).
    public static func plan(workers: WorkerCount, interface: String?) -> WorkerPlacement {
        plan(
            workers: workers, interface: interface,
            interfaceNode: interface.map { InterfaceNUMANode.of(interface: $0) },
            topology: .current())
    }

    /// Plans placement on a given topology: a pure function, for tests and for callers
    /// that already read the topology.
    /// - Precondition: a `count` is at least 1.
    public static func plan(
        workers: WorkerCount, interface: String?, interfaceNode: InterfaceNUMANode?, topology: NUMATopology
    ) -> WorkerPlacement {
        var warnings: [String] = []
        let fallbackNode = topology.cpus(ofNode: 0) != nil ? 0 : topology.nodes[0].id
        var home = fallbackNode
        if let nicNode = interfaceNode?.node {
            if topology.cpus(ofNode: nicNode) != nil {
                home = nicNode
            } else {
                warnings.append(
                    "interface \(interface ?? "?") is on NUMA node \(nicNode), which has no CPU this process may use; "
                        + "workers placed on node \(fallbackNode), remote from the NIC")
            }
        }
        let homeCPUs = topology.cpus(ofNode: home)!
        var slots: [WorkerSlot] = []
        switch workers {
        case .auto:
            slots = homeCPUs.enumerated().map { WorkerSlot(index: $0.offset, cpu: $0.element, node: home) }
        case .count(let n):
            precondition(n >= 1, "worker count must be at least 1")
            var order = homeCPUs.map { (cpu: $0, node: home) }
            for node in topology.nodes where node.id != home {
                order += node.cpus.map { (cpu: $0, node: node.id) }
            }
            slots = (0..<n).map { i in
                let place = order[i % order.count]
                return WorkerSlot(index: i, cpu: place.cpu, node: place.node)
            }
            let remote = slots.filter { $0.node != home }
            if !remote.isEmpty && interfaceNode?.node != nil {
                warnings.append(
                    "\(remote.count) of \(n) workers run on other nodes than the NIC's (node \(home)): "
                        + "their packets cross the interconnect")
            }
            if n > order.count {
                warnings.append(
                    "\(n) workers on \(order.count) allowed CPUs: CPUs are oversubscribed "
                        + "(up to \((n + order.count - 1) / order.count) workers per CPU), expect lower throughput")
            }
        }
        return WorkerPlacement(
            slots: slots, homeNode: home, interface: interface, interfaceNode: interfaceNode, requested: workers,
            topology: topology, warnings: warnings)
    }

    /// The placement in a few human-readable lines (no trailing newline), for the start-up
    /// log; states explicitly when the machine has a single NUMA node or libnuma is
    /// unavailable. Warnings are the lines starting with `warning:`.
    public var description: String {
        var lines: [String] = []
        let allowed = topology.allowedCPUs
        let affinity =
            allowed.count < topology.configuredCPUCount
            ? "process may use \(allowed.count) of \(topology.configuredCPUCount) CPUs"
            : "\(allowed.count) CPUs"
        if !topology.libnumaAvailable {
            lines.append(
                "NUMA: libnuma unavailable (numa_available() < 0): all CPUs treated as node 0, "
                    + "memory from plain page-aligned allocation; \(affinity): \(formatCPUList(allowed))")
        } else if topology.isSingleNode {
            lines.append(
                "NUMA: single node (node \(topology.nodes[0].id)), placement does not affect memory locality; "
                    + "\(affinity): \(formatCPUList(allowed))")
        } else {
            let perNode = topology.nodes.map { "node \($0.id): CPUs \(formatCPUList($0.cpus))" }
            lines.append("NUMA: \(topology.configuredNodeCount) nodes; \(affinity); " + perNode.joined(separator: "; "))
        }
        if let interface {
            lines.append(
                "interface \(interface): NUMA \(interfaceNode?.description ?? "unknown"); home node \(homeNode)")
        } else {
            lines.append("no interface (offline mode): home node \(homeNode)")
        }
        lines.append(
            "workers: \(requested) → \(slots.count): " + slots.map(\.description).joined(separator: ", "))
        lines += warnings.map { "warning: \($0)" }
        return lines.joined(separator: "\n")
    }

    /// Logs the placement: the description lines at `info`, warnings at `warning`.
    public func log(to logger: Logger) {
        for line in description.split(separator: "\n") where !line.hasPrefix("warning: ") {
            logger.info("\(line)")
        }
        for warning in warnings {
            logger.warning("\(warning)")
        }
    }
}
