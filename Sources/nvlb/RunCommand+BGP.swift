import Foundation
import Logging
import NVLBPolicy
import NVLBRouting
import NVLBRuntime
import Synchronization

/// `nvlb run` with `bgp:` (docs/operations.md "Several instances behind ECMP"): the BGP
/// thread supervising ExaBGP, fed with the prefixes the current policy and health call for.
final class BGPRunner: @unchecked Sendable {
    let service: BGPService
    let directory: String
    private let done = DispatchSemaphore(value: 0)
    /// What the BGP thread last saw, for status and metrics (docs/metrics.md): each peer's
    /// session (true when established) and each prefix nvlb should announce (true when the
    /// running speaker announces it).
    private let view = Mutex<(peers: [String: Bool], announced: [String: Bool])>(([:], [:]))

    /// Peer sessions and announcements as of the BGP thread's last turn.
    var figures: (peers: [String: Bool], announced: [String: Bool]) { view.withLock { $0 } }

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
            var nextHop = bgp.nextHop
            while true {
                let configuration = engine.currentConfiguration
                // `bgp.next_hop` changes without a restart (docs/management.md).
                if let hop = configuration.bgp?.nextHop, hop != nextHop {
                    runner.service.use(nextHop: hop)
                    nextHop = hop
                }
                let prefixes = AnnouncedRoutes.prefixes(configuration, health: engine.currentHealth)
                let key = prefixes.map(\.rawValue)
                if key != last {
                    runner.service.want(prefixes)
                    last = key
                }
                let running = runner.service.step()
                let state = runner.service.state
                var announced: [String: Bool] = [:]
                for prefix in state.wanted.union(state.announced) {
                    announced[prefix.description] = state.announced.contains(prefix)
                }
                let peers = Dictionary(
                    bgp.peers.map { ($0.address.description, state.peers[$0.address] == .up) },
                    uniquingKeysWith: { $1 })
                runner.view.withLock { $0 = (peers, announced) }
                if !running { break }
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
