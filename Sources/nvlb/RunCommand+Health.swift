import Logging
import NVLBHealth
import NVLBIO
import NVLBPolicy
import NVLBRuntime

/// `nvlb run` and health probes (docs/health.md): the prober thread, its transmit socket
/// on the underlay, and the republication of the policy on each health change.
enum HealthWiring {
    /// Starts probing when the configuration has probes; nil when it has none.
    static func start(engine: LiveEngine, configuration: PolicyConfiguration, logger: Logger) throws -> ProbeService? {
        let targets = ProbeTarget.all(in: PolicySnapshot(configuration: configuration))
        guard !targets.isEmpty, let interface = configuration.underlay.interface else { return nil }
        let sender = try UnderlaySender(interface: interface)
        let neighbors = try LiveProbeNeighbors(
            interface: interface, address: configuration.underlay.address, mac: configuration.underlay.mac,
            transmit: sender.send)
        var failOpen: [FailOpenRule] = []
        let io = LiveProbeIO(queues: engine.probeReplies, transmit: sender.send, neighbors: neighbors)
        let service = ProbeService(
            targets: targets, io: io, logger: logger
        ) { health in
            // On the prober thread: recompile and publish, and say when a rule fails open.
            let snapshot = engine.publish(health: health)
            for rule in snapshot.failOpenRules where !failOpen.contains(rule) { logger.error("\(rule)") }
            for rule in failOpen where !snapshot.failOpenRules.contains(rule) {
                logger.notice("load balancer \(rule.loadBalancer) rules[\(rule.rule)]: no longer failing open")
            }
            failOpen = snapshot.failOpenRules
        }
        service.start()
        logger.info("probing \(targets.count) DIP(s) from the routing domains' probe_source")
        return service
    }

    /// The probe targets of a reloaded configuration.
    static func targets(_ configuration: PolicyConfiguration) -> [ProbeTarget] {
        ProbeTarget.all(in: PolicySnapshot(configuration: configuration))
    }
}

/// The prober's own AF_PACKET transmit socket on the underlay interface (the live
/// transmit path, without touching a worker's batch). Used by the prober thread only.
final class UnderlaySender: @unchecked Sendable {
    private var transmitter: BatchTransmitter

    init(interface: String) throws {
        transmitter = try BatchTransmitter(interface: interface, capacity: 16)
    }

    func send(_ frame: [UInt8]) {
        frame.withUnsafeBytes { transmitter.append($0.baseAddress!, length: $0.count) }
        _ = transmitter.flush()
    }
}
