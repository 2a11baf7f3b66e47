import ArgumentParser
import Foundation
import Logging
import NVLBControl
import NVLBDataplane
import NVLBManagement
import NVLBPolicy
import NVLBRuntime
import ServiceLifecycle

/// The live engine as the management server's `ManagementBackend`: publication is the
/// engine's snapshot swap; figures are the workers' plain counters as last copied out.
struct LiveEngineBackend: ManagementBackend {
    let engine: LiveEngine

    func publish(_ configuration: PolicyConfiguration) { engine.reload(configuration) }

    func figures() -> RuntimeFigures {
        let (counters, _) = engine.counters()
        var figures = RuntimeFigures()
        figures.packetsIn = counters.packetsIn
        figures.packetsOut = counters.packetsOut
        figures.answered = counters.answered
        figures.dropped = counters.dropped
        figures.handoffs = counters.handoffs
        figures.drops = DropReason.allCases.map { ($0.name, counters[$0]) }
        figures.backendPackets = counters.backends
        figures.vipTraffic = counters.vips.sorted { $0.key < $1.key }.flatMap { lb, vips in
            vips.sorted { $0.key < $1.key }.flatMap { vip, c in
                [
                    VIPTraffic(loadBalancer: lb, vip: vip, direction: "in", packets: c.packetsIn, bytes: c.bytesIn),
                    VIPTraffic(loadBalancer: lb, vip: vip, direction: "out", packets: c.packetsOut, bytes: c.bytesOut),
                ]
            }
        }
        let capacity = UInt64(engine.configuration.balancer.flowTableCapacity)
        figures.workers = engine.placement.slots.map { _ in WorkerFigures(flows: nil, capacity: capacity) }
        return figures
    }
}

/// The configuration store of `nvlb run` and, when `management:` is configured, the server.
enum ManagementWiring {
    /// Builds the one change path over `path` for `engine`, and the management application
    /// when configured.
    ///
    /// - Throws: `ExitCode(2)` (message on stderr) for an unusable token file, or for a
    ///   configuration that became invalid since the engine started.
    static func make(engine: LiveEngine, path: String, logger: Logger) throws -> (ConfigurationStore, [any Service]) {
        let backend = LiveEngineBackend(engine: engine)
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
        guard let settings = store.current.management else { return (store, []) }
        let tokens: TokenFile
        do {
            let tokenPath =
                settings.tokenFile.hasPrefix("/")
                ? settings.tokenFile
                : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(settings.tokenFile).path
            tokens = try TokenFile.load(path: tokenPath)
        } catch {
            printError("\(path): management.token_file: \(error)")
            engine.stop()
            throw ExitCode(2)
        }
        let server = ManagementServer(
            store: store, backend: backend, publisher: publisher, tokens: tokens, settings: settings,
            logger: Logger(label: "nvlb.management"))
        do {
            let application = try server.application { channel in
                logger.info("management API listening on \(channel.localAddress.map { "\($0)" } ?? settings.host)")
            }
            return (store, [application])
        } catch {
            printError("\(path): management.tls: \(error)")
            engine.stop()
            throw ExitCode(2)
        }
    }
}
