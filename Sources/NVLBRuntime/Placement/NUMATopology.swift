import CNVLBShims
import CNuma
import NVLBIO

#if canImport(Glibc)
    import Glibc
#endif

/// The NUMA nodes of this machine and the CPUs of each that this process may run on.
///
/// Built once at start-up by ``current()`` (libnuma, the process's `sched_getaffinity`
/// mask, sysfs); or by ``init(nodes:configuredNodeCount:configuredCPUCount:libnumaAvailable:)``
/// for a synthetic machine in tests. An immutable value: safe to share between threads.
///
/// When libnuma is unavailable (`numa_available() < 0`, e.g. a kernel without NUMA
/// support or a container that forbids `get_mempolicy`), every allowed CPU is reported on
/// node 0 and ``NUMABuffer`` falls back to plain page-aligned allocation.
public struct NUMATopology: Sendable, Equatable {
    /// One NUMA node and the CPUs of it this process may use.
    public struct Node: Sendable, Equatable {
        /// The node number, as libnuma and `/sys/devices/system/node/nodeN` name it.
        public let id: Int32
        /// The CPUs of this node in the process's affinity mask, ascending. Never empty.
        public let cpus: [Int32]

        /// A node with its allowed CPUs (ascending, non-empty).
        public init(id: Int32, cpus: [Int32]) {
            self.id = id
            self.cpus = cpus
        }
    }

    /// The nodes that have at least one allowed CPU, by ascending id. Never empty.
    /// Memory-only nodes and nodes whose CPUs are all outside the affinity mask are absent.
    public let nodes: [Node]
    /// How many nodes the machine has (`numa_max_node() + 1`), including nodes absent from
    /// ``nodes``; 1 when libnuma is unavailable.
    public let configuredNodeCount: Int
    /// How many CPUs the machine has (`numa_num_configured_cpus()` or
    /// `sysconf(_SC_NPROCESSORS_CONF)`), allowed or not.
    public let configuredCPUCount: Int
    /// Whether libnuma works on this machine (`numa_available() >= 0`).
    public let libnumaAvailable: Bool

    /// A topology from explicit values, for tests and for callers that know better.
    /// - Precondition: `nodes` is non-empty and each node has at least one CPU.
    public init(nodes: [Node], configuredNodeCount: Int, configuredCPUCount: Int, libnumaAvailable: Bool) {
        precondition(!nodes.isEmpty && nodes.allSatisfy { !$0.cpus.isEmpty }, "a topology needs a CPU")
        self.nodes = nodes.sorted { $0.id < $1.id }
        self.configuredNodeCount = max(configuredNodeCount, nodes.count)
        self.configuredCPUCount = max(configuredCPUCount, nodes.reduce(0) { $0 + $1.cpus.count })
        self.libnumaAvailable = libnumaAvailable
    }

    /// Every CPU this process may run on, ascending.
    public var allowedCPUs: [Int32] { nodes.flatMap(\.cpus).sorted() }

    /// Whether the machine has a single NUMA node (or libnuma is unavailable, which makes
    /// it one as far as nvlb can tell): placement then cannot matter for memory locality.
    public var isSingleNode: Bool { configuredNodeCount <= 1 }

    /// The node of an allowed CPU, or `nil` when `cpu` is not in the affinity mask.
    /// O(number of allowed CPUs).
    public func node(ofCPU cpu: Int32) -> Int32? {
        nodes.first { $0.cpus.contains(cpu) }?.id
    }

    /// The allowed CPUs of node `id`, or `nil` when that node has none.
    public func cpus(ofNode id: Int32) -> [Int32]? {
        nodes.first { $0.id == id }?.cpus
    }

    /// Whether libnuma can be used in this process; evaluated once.
    static let isLibnumaAvailable: Bool = numa_available() >= 0

    /// The nodes this process may allocate memory on (`numa_get_mems_allowed`, i.e. its
    /// cpuset); empty when libnuma is unavailable. Evaluated once.
    static let memoryNodes: Set<Int32> = {
        guard isLibnumaAvailable, let mask = numa_get_mems_allowed() else { return [] }
        defer { numa_bitmask_free(mask) }
        let maxNode = numa_max_node()
        guard maxNode >= 0 else { return [] }
        return Set((0...maxNode).filter { numa_bitmask_isbitset(mask, UInt32($0)) != 0 })
    }()

    /// Reads the machine's topology: libnuma for the node of each CPU, the calling
    /// thread's affinity mask for the allowed CPUs. Call at start-up, before pinning
    /// anything (a pinned thread would see only its own CPU). Never fails: missing
    /// information degrades to "every allowed CPU on node 0". A few syscalls.
    public static func current() -> NUMATopology {
        let allowed = allowedCPUsOfCallingThread()
        guard isLibnumaAvailable else {
            return NUMATopology(
                nodes: [Node(id: 0, cpus: allowed)], configuredNodeCount: 1,
                configuredCPUCount: max(Int(sysconf(Int32(_SC_NPROCESSORS_CONF))), allowed.count),
                libnumaAvailable: false)
        }
        var byNode: [Int32: [Int32]] = [:]
        for cpu in allowed {
            // -1 means libnuma does not know the CPU: treat it as node 0 rather than lose it.
            let node = numa_node_of_cpu(cpu)
            byNode[node >= 0 ? node : 0, default: []].append(cpu)
        }
        let nodes = byNode.map { Node(id: $0.key, cpus: $0.value.sorted()) }
        return NUMATopology(
            nodes: nodes, configuredNodeCount: Int(numa_max_node()) + 1,
            configuredCPUCount: Int(numa_num_configured_cpus()), libnumaAvailable: true)
    }

    /// The CPUs in the calling thread's `sched_getaffinity` mask, ascending; if the mask
    /// cannot be read, every online CPU.
    static func allowedCPUsOfCallingThread() -> [Int32] {
        var capacity = 256
        while true {
            var buffer = [Int32](repeating: 0, count: capacity)
            let count = Int(
                buffer.withUnsafeMutableBufferPointer { nvlb_allowed_cpus($0.baseAddress, Int32(capacity)) })
            if count > capacity {
                capacity = count
                continue
            }
            if count > 0 { return Array(buffer[..<count]) }
            let online = max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
            return (0..<Int32(online)).map { $0 }
        }
    }
}

/// Where a network interface's device sits, as `/sys/class/net/IF/device/numa_node` says.
public enum InterfaceNUMANode: Sendable, Equatable, CustomStringConvertible {
    /// The device is attached to this node.
    case node(Int32)
    /// The kernel does not say: a virtual device (veth, bridge, tap: no `device` link), a
    /// platform without NUMA (`-1`), or an unreadable file. The reason is human-readable.
    case unknown(reason: String)

    /// The node, or `nil` when unknown.
    public var node: Int32? {
        if case .node(let id) = self { return id }
        return nil
    }

    /// E.g. `node 1` or `unknown (virtual device: no /sys/class/net/veth0/device)`.
    public var description: String {
        switch self {
        case .node(let id): return "node \(id)"
        case .unknown(let reason): return "unknown (\(reason))"
        }
    }

    /// Reads `/sys/class/net/NAME/device/numa_node` of `interface` (e.g. `eth0`). One or
    /// two small file reads.
    public static func of(interface: String) -> InterfaceNUMANode { of(interface: interface, sysfsRoot: "/sys") }

    /// As ``of(interface:)`` with sysfs mounted at `sysfsRoot` (a test hook: tests point it
    /// at a fake tree).
    package static func of(interface: String, sysfsRoot: String) -> InterfaceNUMANode {
        guard !interface.isEmpty, interface != ".", interface != "..", !interface.contains("/") else {
            return .unknown(reason: "invalid interface name \"\(interface)\"")
        }
        let netPath = "\(sysfsRoot)/class/net/\(interface)"
        guard access(netPath, F_OK) == 0 else { return .unknown(reason: "no interface \(interface) in \(netPath)") }
        let devicePath = "\(netPath)/device"
        guard access(devicePath, F_OK) == 0 else { return .unknown(reason: "virtual device: no \(devicePath)") }
        let path = "\(devicePath)/numa_node"
        guard let text = SysfsFile.read(path) else { return .unknown(reason: "cannot read \(path)") }
        let trimmed = text.trimmingWhitespace()
        guard let value = Int32(trimmed) else { return .unknown(reason: "unexpected \"\(trimmed)\" in \(path)") }
        guard value >= 0 else { return .unknown(reason: "\(path) is \(value): platform reports no NUMA affinity") }
        return .node(value)
    }
}

/// Formats CPU numbers the way sysfs `cpulist` files do: `0-3,8,10-11`. O(n log n).
func formatCPUList(_ cpus: [Int32]) -> String {
    let sorted = Array(Set(cpus)).sorted()
    var parts: [String] = []
    var index = 0
    while index < sorted.count {
        var end = index
        while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
        parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
        index = end + 1
    }
    return parts.joined(separator: ",")
}

/// Reads small text files (sysfs attributes) with plain syscalls, without Foundation.
enum SysfsFile {
    /// The file's contents as UTF-8 (``Syscalls/readFile(_:)``), or `nil` if it cannot be read.
    static func read(_ path: String) -> String? {
        guard case .success(let bytes) = Syscalls.readFile(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
