import Foundation
import Logging
import NVLBPolicy
import NVLBRouting
import NVLBRuntime

/// `nvlb run` with `bgp:` (docs/operations.md "Several instances behind ECMP"): the BGP
/// thread supervising ExaBGP, fed with the prefixes the current policy and health call for.
final class BGPRunner: @unchecked Sendable {
    let service: BGPService
    let directory: String
    private let done = DispatchSemaphore(value: 0)

    /// Starts the BGP thread when the configuration has `bgp:`; nil otherwise.
    static func start(engine: LiveEngine, configuration: PolicyConfiguration, logger: Logger) -> BGPRunner? {
        guard let bgp = configuration.bgp else { return nil }
        let directory = "/run/nvlb-bgp.\(getpid())"
        let log: @Sendable (String) -> Void = { logger.notice("\($0)") }
        let speaker = ExaBGPSpeaker(
            configuration: ExaBGPConfiguration(bgp: bgp, directory: directory),
            log: { logger.info("\($0)") })
        let supervisor = BGPSupervisor(
            nextHop: bgp.nextHop, peers: bgp.peers.map(\.address), drainSeconds: Double(bgp.drainSeconds))
        let runner = BGPRunner(
            service: BGPService(supervisor: supervisor, io: speaker, clock: SystemMonotonicClock(), log: log),
            directory: directory)
        // One long-lived thread: the speaker's PR_SET_PDEATHSIG follows the thread that
        // started it, so that thread must live as long as the speaker.
        let thread = Thread {
            var last: [UInt32]?
            while true {
                let prefixes = AnnouncedRoutes.prefixes(engine.currentConfiguration, health: engine.currentHealth)
                let key = prefixes.map(\.rawValue)
                if key != last {
                    runner.service.want(prefixes)
                    last = key
                }
                if !runner.service.step() { break }
            }
            try? FileManager.default.removeItem(atPath: directory)
            runner.done.signal()
        }
        thread.name = "nvlb-bgp"
        thread.start()
        let peers = bgp.peers.map { "\($0.address) AS \($0.asn)" }.joined(separator: ", ")
        logger.info("bgp: \(bgp.speaker.rawValue) peering with \(peers), next hop \(bgp.nextHop)")
        return runner
    }

    private init(service: BGPService, directory: String) {
        self.service = service
        self.directory = directory
    }

    /// SIGTERM: withdraws everything and returns once `drain_seconds` have passed since the
    /// withdrawal (the workers keep forwarding meanwhile) and the speaker stopped.
    func drainAndStop() async {
        service.drain()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.done.wait()
                continuation.resume()
            }
        }
    }
}
