import ArgumentParser
import Foundation
import Logging
import NVLBControl
import NVLBDataplane
import NVLBHealth
import NVLBManagement
import NVLBPolicy
import NVLBRuntime
import NVLBWire
import ServiceLifecycle

/// The live engine as the management server's `ManagementBackend`: publication is the
/// engine's snapshot swap; figures are the workers' plain counters as last copied out.
struct LiveEngineBackend: ManagementBackend {
    let engine: LiveEngine
    /// Health probes (docs/health.md); nil when the configuration started without any.
    let prober: ProbeService?
    /// BGP announcements (docs/operations.md "Several instances behind ECMP"); nil without `bgp:`.
    let bgp: BGPRunner?
    let logger: Logger

    /// Publishes through the engine (with the current probe results) and gives the prober
    /// the new policy's targets: every change path (SIGHUP, API) reaches both.
    func publish(_ configuration: PolicyConfiguration) {
        let start = ContinuousClock.now
        engine.reload(configuration)
        // The change is in effect once every worker is on the new generation: the reply (and
        // `nvlb_policy_publish_seconds`) waits for that (docs/management.md "One change path").
        let swapped = ContinuousClock.now
        if let waited = engine.awaitPropagation() {
            logger.debug(
                "published: snapshot built and swapped in \(Self.microseconds(swapped - start)) µs, every worker on it \(Double(waited) / 1000) µs later"
            )
        } else {
            logger.warning("published: a worker has not passed a quiescent point within 100 ms")
        }
        let targets = HealthWiring.targets(configuration)
        if let prober {
            prober.update(targets: targets)
        } else if !targets.isEmpty {
            logger.warning("probes added to a running nvlb start at restart")
        }
    }

    static func microseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }

    func figures() -> RuntimeFigures {
        let (counters, _) = engine.counters()
        var figures = RuntimeFigures()
        figures.packetsIn = counters.packetsIn
        figures.packetsOut = counters.packetsOut
        figures.answered = counters.answered
        figures.dropped = counters.dropped
        figures.handoffs = counters.handoffs
        figures.fragmentsOut = counters.fragmentsOut
        figures.mssClamped = counters.mssClamped
        figures.echoReplies = counters.echoReplies
        figures.fragmentationNeeded = counters.fragmentationNeeded
        figures.icmpErrorsForwarded = counters.icmpErrorsForwarded
        figures.drops = DropReason.allCases.map { ($0.name, counters[$0]) }
        figures.backendPackets = counters.backends
        // A DIP is up unless a probe of one of its rules found it down.
        for (target, health) in prober?.statuses ?? [] {
            let name = "\(target.key.vsid)/\(target.key.ca)"
            let up = health.state == .up && figures.backendUp[target.key.loadBalancer]?[name] != false
            figures.backendUp[target.key.loadBalancer, default: [:]][name] = up
            // A DIP probed by several rules' probes: their figures add up.
            var probe =
                figures.probes[target.key.loadBalancer]?[name]
                ?? ProbeFigures(
                    sent: 0, failed: 0, durationBounds: DIPHealth.durationBounds,
                    durationBuckets: Array(repeating: 0, count: DIPHealth.durationBounds.count + 1), durationSum: 0)
            probe.sent += health.sent
            probe.failed += health.failed
            for (index, count) in health.durationBuckets.enumerated() { probe.durationBuckets[index] += count }
            probe.durationSum += health.durationSum
            figures.probes[target.key.loadBalancer, default: [:]][name] = probe
        }
        figures.vipTraffic = counters.vips.sorted { $0.key < $1.key }.flatMap { lb, vips in
            vips.sorted { $0.key < $1.key }.flatMap { vip, c in
                [
                    VIPTraffic(loadBalancer: lb, vip: vip, direction: "in", packets: c.packetsIn, bytes: c.bytesIn),
                    VIPTraffic(loadBalancer: lb, vip: vip, direction: "out", packets: c.packetsOut, bytes: c.bytesOut),
                ]
            }
        }
        if let bgp {
            (figures.bgpPeers, figures.vipAnnounced) = bgp.figures
        }
        let capacity = UInt64(engine.configuration.balancer.flowTableCapacity)
        let workers = engine.workerCounters()
        let packets = engine.workerDataplaneCounters()
        figures.workers = workers.enumerated().map { index, worker in
            let counters = index < packets.count ? packets[index] : CounterSnapshot()
            return WorkerFigures(
                flows: worker.flows, capacity: capacity, packetsIn: counters.packetsIn,
                packetsOut: counters.packetsOut)
        }
        figures.gratuitousARPs = workers.reduce(0) { $0 + $1.gratuitousARPs }
        // Per DIP once every worker has counted its table.
        if !workers.isEmpty, workers.allSatisfy({ $0.flows != nil }) {
            var dips: [String: UInt64] = [:]
            for worker in workers {
                for (key, flows) in worker.dipFlows {
                    let name = "\(key >> 32)/\(IPv4Address(rawValue: UInt32(truncatingIfNeeded: key)))"
                    dips[name, default: 0] += flows
                }
            }
            figures.dipFlows = dips
        }
        return figures
    }
}

/// The configuration store of `nvlb run` and, when `management:` is configured, the server.
enum ManagementWiring {
    /// What `management:` needs from disk, checked before the engine starts: the token file
    /// (readable, well formed, not accessible to group or others). `nil` without `management:`.
    ///
    /// - Throws: `ExitCode(2)` with the reason on stderr.
    static func preflight(path: String) throws -> TokenFile? {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard let settings = try? ConfigurationLoader.managementSettings(yaml: text, fileName: path) else { return nil }
        do {
            return try TokenFile.load(path: resolve(settings.tokenFile, relativeTo: path))
        } catch {
            printError("\(path): management.token_file: \(error)")
            throw ExitCode(2)
        }
    }

    /// A path of the configuration, relative to the configuration file's directory.
    static func resolve(_ file: String, relativeTo configuration: String) -> String {
        file.hasPrefix("/")
            ? file : URL(fileURLWithPath: configuration).deletingLastPathComponent().appendingPathComponent(file).path
    }

    /// Builds the one change path over `path` for `engine`, and the management application
    /// when configured (`tokens` from `preflight`).
    ///
    /// - Throws: `ExitCode(2)` (message on stderr) for TLS files that cannot be used, or for a
    ///   configuration that became invalid since the engine started.
    static func make(
        engine: LiveEngine, prober: ProbeService?, bgp: BGPRunner?, path: String, tokens: TokenFile?, logger: Logger
    ) throws -> (ConfigurationStore, [any Service]) {
        let backend = LiveEngineBackend(engine: engine, prober: prober, bgp: bgp, logger: logger)
        let publisher = PolicyPublisher(backend: backend)
        let store: ConfigurationStore
        do {
            store = try ConfigurationStore(path: path) { publisher.publish($0) }
        } catch {
            printError(error.description)
            engine.stop()
            throw ExitCode(2)
        }
        // The file may have changed since the engine read it: run what the store holds.
        if store.current.configuration != engine.configuration { publisher.publish(store.current.configuration) }
        guard var settings = store.current.management, let tokens else { return (store, []) }
        if let tls = settings.tls {
            settings.tls = .init(
                certificate: resolve(tls.certificate, relativeTo: path), key: resolve(tls.key, relativeTo: path))
        }
        let server = ManagementServer(
            store: store, backend: backend, publisher: publisher, tokens: tokens, settings: settings,
            logger: Logger(label: "nvlb.management"))
        do {
            // Hummingbird logs the bound address when it listens.
            return (store, [try server.application()])
        } catch {
            printError("\(path): management.tls: \(error)")
            engine.stop()
            throw ExitCode(2)
        }
    }
}
