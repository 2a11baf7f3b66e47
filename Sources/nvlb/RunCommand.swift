import ArgumentParser
import CNVLBShims
import Foundation
import Logging
import NVLBControl
import NVLBHealth
import NVLBPolicy
import NVLBRuntime
import ServiceLifecycle
import UnixSignals

/// `nvlb run`: live mode (docs/operations.md).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run nvlb on the configured interfaces until SIGTERM or SIGINT; SIGHUP reloads the configuration.",
        discussion: """
            Captures underlay.interface (and external.interface when set) with libpcap, one capture
            per worker in a PACKET_FANOUT group, workers pinned to the CPUs of the NIC's NUMA node.
            SIGHUP re-reads the configuration file: a valid file is published to the workers without
            stopping them (open connections keep their DIPs); an invalid one is logged and the running
            policy is kept. SIGTERM/SIGINT drain and exit 0. nvlb's PA and VIPs must not be configured
            on the kernel's interfaces (see docs/operations.md).
            """)

    @OptionGroup var configuration: ConfigurationOption

    @OptionGroup var worker: WorkersOption

    @Option(
        help: ArgumentHelp(
            "Live I/O backend: pcap (AF_PACKET fanout) or af_xdp (AF_XDP with nvlb's XDP program); default underlay.io.",
            valueName: "BACKEND"))
    var io: String?

    @Option(help: ArgumentHelp("Seconds between counter log lines (0: only at exit).", valueName: "S"))
    var statsInterval: Double = 10

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "LEVEL"))
    var logLevel: String = "info"

    func validate() throws {
        if statsInterval < 0 { throw ValidationError("--stats-interval must not be negative") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("unknown --log-level '\(logLevel)'") }
        if let io, PolicyConfiguration.Underlay.IOBackend(rawValue: io) == nil {
            throw ValidationError("unknown --io '\(io)' (expected pcap or af_xdp)")
        }
    }

    func run() async throws {
        // A parent may have started nvlb with these blocked; nvlb handles them itself.
        nvlb_unblock_signals()
        // Trapped before anything is attached or started: a SIGTERM during start-up (while the
        // XDP program is attached, workers start, ExaBGP spawns) is kept and stops nvlb
        // gracefully once it runs, instead of killing it with its XDP program left on the link.
        let terminations = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "nvlb")
        let configuration = try self.configuration.load()
        guard configuration.underlay.interface != nil else {
            printError("\(self.configuration.config): underlay.interface: required for nvlb run")
            throw ExitCode(2)
        }
        for warning in KernelAddresses.conflicts(configuration) { logger.warning("\(warning)") }
        let tokens = try ManagementWiring.preflight(path: self.configuration.config)
        let engine: LiveEngine
        do {
            engine = try LiveEngine(
                configuration: configuration, workers: worker.workers,
                io: io.flatMap(PolicyConfiguration.Underlay.IOBackend.init(rawValue:)), logger: logger)
            try engine.start()
        } catch {
            printError("nvlb run: \(error)")
            throw ExitCode.failure
        }
        let prober: ProbeService?
        do {
            prober = try HealthWiring.start(engine: engine, configuration: configuration, logger: logger)
        } catch {
            engine.stop()
            printError("nvlb run: health probes: \(error)")
            throw ExitCode.failure
        }
        logger.info("nvlb running: \(String(ConfigurationSummary.render(configuration).prefix { $0 != "\n" }))")
        let bgp = BGPRunner.start(engine: engine, configuration: configuration, logger: logger)
        let (store, management) = try ManagementWiring.make(
            engine: engine, prober: prober, bgp: bgp, path: self.configuration.config, tokens: tokens, logger: logger)
        let service = LiveService(
            engine: engine, prober: prober, bgp: bgp, store: store, statsInterval: statsInterval, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service] + management, logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                for await signal in terminations {
                    logger.info("\(signal): stopping")
                    await group.triggerGracefulShutdown()
                }
            }
            try await group.run()
            tasks.cancelAll()
        }
    }
}

/// The live engine as a service: reloads on SIGHUP, logs counters, stops on graceful shutdown.
struct LiveService: Service {
    let engine: LiveEngine
    /// Health probes (docs/health.md); nil when the configuration has none.
    let prober: ProbeService?
    /// BGP announcements (docs/operations.md "Several instances behind ECMP"); nil without `bgp:`.
    let bgp: BGPRunner?
    /// The one change path: SIGHUP re-reads the file through it, as the API changes it.
    let store: ConfigurationStore
    var path: String { store.path }
    let statsInterval: Double
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            // SIGHUPs that arrive while a reload runs collapse into one more reload, which reads
            // the file as it is then: a storm of signals never builds a backlog of reloads.
            let (pending, requests) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup) { requests.yield() }
                requests.finish()
            }
            group.addTask {
                for await _ in pending { reload() }
            }
            if statsInterval > 0 {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(Int(statsInterval * 1000)))
                        if !Task.isCancelled { logCounters("counters") }
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        // Withdraw first and keep forwarding while the routers move the traffic away.
        await bgp?.drainAndStop()
        logger.info("stopping: draining workers")
        prober?.stop()
        engine.stop()
        logCounters("final counters")
    }

    func reload() {
        do {
            let configuration = try store.reloadFile().configuration
            // Measured against what the engine started with: still waiting until a restart.
            for problem in RestartOnlyKeys.changes(from: engine.configuration, to: configuration) {
                logger.warning("reload: \(problem.path): \(problem.message)")
            }
            logger.info("reloaded \(path): \(String(ConfigurationSummary.render(configuration).prefix { $0 != "\n" }))")
        } catch {
            logger.error("reload of \(path) rejected, the running policy is kept:\n\(error)")
        }
    }

    func logCounters(_ title: String) {
        let (c, io) = engine.counters()
        logger.info("\(CounterLine.render(title, dataplane: c, io: io, xdp: engine.xdpCounters()))")
    }
}

/// nvlb's PA and external VIPs must not be addresses of the kernel: it would answer
/// GRE with ICMP protocol-unreachable and ARP for them itself.
enum KernelAddresses {
    static func conflicts(_ configuration: PolicyConfiguration) -> [String] {
        var owned: [String: String] = [configuration.underlay.address.description: "underlay.address"]
        for lb in configuration.loadBalancers {
            for frontend in lb.frontends where frontend.vsid == nil {
                owned[frontend.vip.description] = "VIP of \(lb.name)"
            }
        }
        var warnings: [String] = []
        var list: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == UInt16(AF_INET) else { continue }
            let text = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer -> String in
                var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                var value = pointer.pointee.sin_addr
                inet_ntop(AF_INET, &value, &buffer, socklen_t(INET_ADDRSTRLEN))
                return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            if let role = owned[text] {
                warnings.append(
                    "\(text) (\(role)) is configured on the kernel's interface \(String(cString: entry.pointee.ifa_name)): "
                        + "the kernel will answer GRE with ICMP protocol-unreachable and ARP for it; remove it (ip address del)"
                )
            }
        }
        return warnings
    }
}
