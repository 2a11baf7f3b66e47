import Foundation
import NVLBControl
import NVLBPolicy

/// `GET /v1/status` (docs/openapi.yaml `Status`): the instance, its workers, the policy
/// generation and every VIP, rule and DIP with health, weight and packets.
struct StatusReport: Encodable {
    struct Instance: Encodable {
        var hostname: String
        var pid: Int32
        var started: String
        var uptime_seconds: Double
    }
    struct Worker: Encodable {
        var worker: Int
        var flows: UInt64?
        var flow_table_capacity: UInt64
        var packets_in: UInt64
        var packets_out: UInt64
    }
    struct Packets: Encodable {
        var received: UInt64
        var forwarded: UInt64
        var answered: UInt64
        var dropped: UInt64
        var handoffs: UInt64
    }
    struct Frontend: Encodable {
        var vip: String
        var vsid: UInt32?
        var packets_in: UInt64?
        var packets_out: UInt64?
    }
    struct Rule: Encodable {
        var `protocol`: String
        var frontend_port: UInt16
        var backend_port: UInt16
    }
    struct Backend: Encodable {
        var backend: String
        var health: String
        var weight: UInt32
        var packets: UInt64
        var flows: UInt64?
    }
    struct LoadBalancer: Encodable {
        var name: String
        var routing_domain: String
        var frontends: [Frontend]
        var rules: [Rule]
        var backends: [Backend]
    }
    struct BGP: Encodable {
        var peers: [String: Bool]
        var announced: [String: Bool]
    }

    var instance: Instance
    var workers: [Worker]
    var generation: UInt64
    var etag: String
    var packets: Packets
    var drops: [String: UInt64]
    var load_balancers: [LoadBalancer]
    var bgp: BGP?

    init(_ state: ConfigurationStore.State, figures: RuntimeFigures, started: Date) {
        let formatter = ISO8601DateFormatter()
        instance = Instance(
            hostname: ProcessInfo.processInfo.hostName, pid: ProcessInfo.processInfo.processIdentifier,
            started: formatter.string(from: started), uptime_seconds: Date().timeIntervalSince(started))
        workers = figures.workers.enumerated().map {
            Worker(
                worker: $0.offset, flows: $0.element.flows, flow_table_capacity: $0.element.capacity,
                packets_in: $0.element.packetsIn, packets_out: $0.element.packetsOut)
        }
        generation = state.generation
        etag = state.etag
        packets = Packets(
            received: figures.packetsIn, forwarded: figures.packetsOut, answered: figures.answered,
            dropped: figures.dropped, handoffs: figures.handoffs)
        drops = Dictionary(figures.drops.map { ($0.name, $0.count) }, uniquingKeysWith: +)
        load_balancers = state.configuration.loadBalancers.map { lb in
            LoadBalancer(
                name: lb.name, routing_domain: lb.routingDomain,
                frontends: lb.frontends.map { frontend in
                    let key = frontend.vsid.map { "\($0)/\(frontend.vip)" } ?? frontend.vip.description
                    let traffic = figures.vipTraffic.filter { $0.loadBalancer == lb.name && $0.vip == key }
                    return Frontend(
                        vip: frontend.vip.description, vsid: frontend.vsid,
                        packets_in: traffic.first { $0.direction == "in" }?.packets,
                        packets_out: traffic.first { $0.direction == "out" }?.packets)
                },
                rules: lb.rules.map {
                    Rule(
                        protocol: $0.protocolNumber.description, frontend_port: $0.frontendPort,
                        backend_port: $0.backendPort)
                },
                backends: lb.backends.map { backend in
                    let name = "\(backend.vsid)/\(backend.ca)"
                    let up = figures.backendUp[lb.name]?[name] ?? true
                    return Backend(
                        backend: name, health: up ? "up" : "down", weight: backend.weight,
                        packets: figures.backendPackets[lb.name]?[name] ?? 0,
                        flows: figures.dipFlows.map { $0[name] ?? 0 })
                })
        }
        bgp =
            figures.bgpPeers.isEmpty && figures.vipAnnounced.isEmpty
            ? nil : BGP(peers: figures.bgpPeers, announced: figures.vipAnnounced)
    }
}
