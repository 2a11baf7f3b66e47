import Testing

@testable import NVLBRuntime

@Suite struct NUMATopologyTests {
    @Test func thisMachineHasANodeWithCPUs() {
        let topology = NUMATopology.current()
        #expect(!topology.nodes.isEmpty)
        #expect(topology.nodes.allSatisfy { !$0.cpus.isEmpty })
        #expect(!topology.allowedCPUs.isEmpty)
        #expect(topology.configuredNodeCount >= 1)
        #expect(topology.configuredCPUCount >= topology.allowedCPUs.count)
        for cpu in topology.allowedCPUs { #expect(topology.node(ofCPU: cpu) != nil) }
    }

    @Test func autoPlacementGivesAWorkerPerHomeCPU() {
        let placement = WorkerPlacement.plan(workers: .auto, interface: nil)
        #expect(!placement.slots.isEmpty)
        #expect(placement.slots.map(\.index) == Array(0..<placement.slots.count))
        #expect(placement.slots.allSatisfy { $0.node == placement.homeNode })
        #expect(placement.slots.map(\.cpu) == placement.topology.cpus(ofNode: placement.homeNode))
        #expect(placement.warnings.isEmpty)
    }

    @Test(arguments: [1, 2, 3, 7])
    func countPlacementGivesExactlyNSlots(n: Int) {
        let placement = WorkerPlacement.plan(workers: .count(n), interface: "lo")
        #expect(placement.slots.count == n)
        let allowed = Set(placement.topology.allowedCPUs)
        #expect(placement.slots.allSatisfy { allowed.contains($0.cpu) })
        #expect((n > allowed.count) == placement.warnings.contains { $0.contains("oversubscribed") })
    }

    @Test func descriptionSaysSingleNodeOrUnavailable() {
        let placement = WorkerPlacement.plan(workers: .auto, interface: "lo")
        let text = placement.description
        if !placement.topology.libnumaAvailable {
            #expect(text.contains("libnuma unavailable"))
        } else if placement.topology.isSingleNode {
            #expect(text.contains("single node"))
        }
        #expect(text.contains("interface lo: NUMA unknown"))
        #expect(text.contains("w0 cpu"))
    }

    static let twoNodes = NUMATopology(
        nodes: [.init(id: 0, cpus: [0, 1, 2, 3]), .init(id: 1, cpus: [4, 5])],
        configuredNodeCount: 2, configuredCPUCount: 8, libnumaAvailable: true)

    @Test func autoFollowsTheNICNode() {
        let placement = WorkerPlacement.plan(
            workers: .auto, interface: "pa0", interfaceNode: .node(1), topology: Self.twoNodes)
        #expect(placement.homeNode == 1)
        #expect(placement.slots == [WorkerSlot(index: 0, cpu: 4, node: 1), WorkerSlot(index: 1, cpu: 5, node: 1)])
        #expect(placement.description.contains("NUMA: 2 nodes; process may use 6 of 8 CPUs"))
    }

    @Test func unknownNICNodeMeansNodeZero() {
        let placement = WorkerPlacement.plan(
            workers: .auto, interface: "veth0", interfaceNode: .unknown(reason: "virtual"), topology: Self.twoNodes)
        #expect(placement.homeNode == 0)
        #expect(placement.slots.map(\.cpu) == [0, 1, 2, 3])
    }

    @Test func countRoundRobinsHomeNodeFirstThenOthersThenOversubscribes() {
        let placement = WorkerPlacement.plan(
            workers: .count(8), interface: "pa0", interfaceNode: .node(1), topology: Self.twoNodes)
        #expect(placement.slots.map(\.cpu) == [4, 5, 0, 1, 2, 3, 4, 5])
        #expect(placement.slots.map(\.node) == [1, 1, 0, 0, 0, 0, 1, 1])
        #expect(placement.warnings.count == 2)
        #expect(placement.description.contains("warning: 8 workers on 6 allowed CPUs"))
    }

    @Test func nicNodeWithoutAllowedCPUsFallsBackWithAWarning() {
        let placement = WorkerPlacement.plan(
            workers: .auto, interface: "pa0", interfaceNode: .node(3), topology: Self.twoNodes)
        #expect(placement.homeNode == 0)
        #expect(placement.warnings.count == 1)
    }

    @Test func libnumaUnavailableIsSaid() {
        let topology = NUMATopology(
            nodes: [.init(id: 0, cpus: [0, 1])], configuredNodeCount: 1, configuredCPUCount: 2,
            libnumaAvailable: false)
        let placement = WorkerPlacement.plan(workers: .auto, interface: nil, interfaceNode: nil, topology: topology)
        #expect(placement.description.contains("libnuma unavailable"))
        #expect(placement.description.contains("no interface (offline mode): home node 0"))
    }

    @Test func interfaceNodeFromSysfs() {
        #expect(InterfaceNUMANode.of(interface: "lo").node == nil)
        #expect(InterfaceNUMANode.of(interface: "../etc").node == nil)
        #expect(InterfaceNUMANode.of(interface: "no-such-if0").node == nil)
    }

    @Test func cpuListFormatting() {
        #expect(formatCPUList([3, 0, 1, 2, 8, 10, 11]) == "0-3,8,10-11")
        #expect(formatCPUList([5]) == "5")
    }
}
