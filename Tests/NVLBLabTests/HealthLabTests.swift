import Foundation
import NVLBTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LabSuites {
    /// Health probes end to end through `nvlb run` (docs/health.md, docs/lab.md "Health
    /// probes"): nvlb probes blue-web's DIPs over NVGRE with `GET /healthz`; one Blue VM's web
    /// server is stopped, as an operator's VM fails, then started again. Real kernel TCP on
    /// both sides; the Internet client's requests and a slow download and a keep-alive
    /// connection on the surviving DIPs show what the change does to traffic.
    ///
    /// Bounds come from the probe in Config/lab.yaml: a dead DIP takes no new connection
    /// within `fall × interval + timeout` (+1 s), a restarted one takes traffic again within
    /// `rise × interval` (+1 s). The test waits on events (nvlb's log line, the answering VM),
    /// each polled against a deadline.
    @Suite("Health probes through nvlb run")
    struct HealthLabTests {
        static let whoami = "http://131.107.10.10/whoami"
        /// 5 MiB paced at 128 KiB/s by the VM: about 40 s, longer than the scenario.
        static let slowBlob = "http://131.107.10.10/blob?size=7340032&rate=131072"

        /// The probe of blue-web in the configuration: interval, timeout, rise, fall (seconds, counts).
        struct Probe {
            var interval: Double
            var timeout: Double
            var rise: Double
            var fall: Double
            var detectionBound: Double { fall * interval + timeout + 1 }
            var recoveryBound: Double { rise * interval + 1 }
        }

        @Test("A stopped VM leaves the pool within fall × interval + timeout and rejoins within rise × interval")
        func dipDownAndUp() throws {
            if let reason = LabEnvironment.labUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            if let reason = LabEnvironment.nvlbRunUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            let configuration = URL(fileURLWithPath: TestSupport.configPath("lab.yaml"))
            let probe = try Self.probe(in: configuration)

            let lab = Lab(tag: "h", configuration: configuration)
            defer { lab.down() }
            try lab.up(lifetime: 240)
            let nvlb = try lab.startLoadBalancer(LabEnvironment.nvlb.path, lifetime: 240)
            defer { nvlb.kill() }
            let log = NVLBLog(url: lab.runDirectory.appendingPathComponent("nvlb.log"))
            let started = LabClock.now()

            // Ready when the first request through the VIP is answered (at most 20 s).
            let ready = try lab.awaitAnswer(Self.whoami, while: nvlb)
            try #require(ready, "no answer from the public VIP within 20 s\n\(lab.logTails())")
            // nvlb starts its prober after its workers: traffic may flow before the line.
            #expect(log.waitFor("probing 3 DIP(s)", within: 10), "nvlb does not probe blue-web's DIPs\n\(log.text)")

            // 1. Every VM serves /healthz: after more than `fall` probe rounds no DIP went down,
            //    and new connections spread over all three.
            let all = try lab.requests(from: "client", Self.whoami, count: 150)
            #expect(all.ok == 150, "\(all)\n\(lab.logTails())")
            #expect(all.by.keys.sorted() == Lab.blueVMs.keys.sorted(), "all three DIPs take connections: \(all.by)")
            let rounds = started + probe.fall * probe.interval * 1.1 + probe.timeout + 0.5
            while LabClock.now() < rounds { _ = try lab.requests(from: "client", Self.whoami, count: 5) }
            #expect(!log.text.contains("→ down"), "a serving DIP went down:\n\(log.text)")

            // 2. A slow download and a keep-alive connection; the VM to stop serves neither.
            let download = try SlowDownload(lab: lab, url: Self.slowBlob)
            defer { download.kill() }
            let downloadVM = try #require(
                try download.waitForServer(within: 10), "the slow download reached no VM\n\(lab.logTails())")
            let held = try lab.holdConnection(from: "client", Self.whoami)
            defer { held.close() }
            let heldVM = try #require(try held.request(initial: true)["vm"], "the keep-alive connection got no answer")
            let victim = try #require(Lab.blueVMs.keys.sorted().first { $0 != downloadVM && $0 != heldVM })
            let victimCA = Lab.blueVMs[victim]!
            let downLine = "DIP 5001/\(victimCA) (load balancer blue-web, probe web): up → down"
            let upLine = "DIP 5001/\(victimCA) (load balancer blue-web, probe web): down → up"

            // nvlb's transitions, timed by a thread of their own (to ~20 ms) while requests run.
            let watcher = LogWatcher(url: log.url, lines: [downLine, upLine])
            defer { watcher.stop() }

            // 3. Stop the victim's web server; the kernel of its VM now answers SYNs with RST.
            //    Requests go on in small batches until nvlb logs the transition.
            let stopped = try lab.stopWebServer(victim)
            var lastFailure: Double?
            var failedBeforeDown = 0
            let detectionDeadline = stopped + probe.detectionBound + 5
            while watcher.firstSeen(downLine) == nil && LabClock.now() < detectionDeadline {
                let batch = try lab.requests(from: "client", Self.whoami, count: 4, timeout: 1)
                if batch.failed > 0 {
                    failedBeforeDown += batch.failed
                    lastFailure = LabClock.now()
                }
                #expect(batch.by[victim] == nil, "the stopped \(victim) answered: \(batch)")
            }
            let detection =
                try #require(
                    watcher.firstSeen(downLine),
                    "no '\(downLine)' within \(probe.detectionBound + 5) s\n\(lab.logTails())")
                - stopped
            #expect(
                detection <= probe.detectionBound,
                "\(victim) went down \(detection) s after it stopped; bound \(probe.detectionBound) s")
            #expect(log.text.contains("\(downLine), last result: RST"), "\(log.transitions)")

            // After the change: no failure, no connection to the victim, the others share them.
            let without = try lab.requests(from: "client", Self.whoami, count: 120)
            #expect(without.ok == 120 && without.failed == 0, "requests failed after the DIP went down: \(without)")
            #expect(without.by[victim] == nil, "new connections still reach \(victim): \(without.by)")
            #expect(without.by.count == 2, "the two other DIPs share the connections: \(without.by)")
            #expect(try held.request()["vm"] == heldVM, "the keep-alive connection moved or broke")

            // 4. Start it again: it takes new connections within rise × interval (+1 s).
            let server = try lab.startWebServer(victim)
            defer { server.kill() }
            let restarted = LabClock.now()
            var served: Double?
            var failedDuringRecovery: [String] = []
            var failedCount = 0
            let recoveryDeadline = restarted + probe.recoveryBound + 5
            while (served == nil || watcher.firstSeen(upLine) == nil) && LabClock.now() < recoveryDeadline {
                let batch = try lab.requests(from: "client", Self.whoami, count: 4, timeout: 1)
                if served == nil && batch.by[victim] != nil { served = LabClock.now() }
                failedDuringRecovery += batch.errors
                failedCount += batch.failed
            }
            #expect(
                failedCount == 0, "\(failedCount) requests failed while \(victim) came back: \(failedDuringRecovery)")
            let recovery =
                try #require(
                    watcher.firstSeen(upLine), "no '\(upLine)' within \(probe.recoveryBound + 5) s\n\(lab.logTails())")
                - restarted
            let firstServed = try #require(served, "\(victim) took no new connection after it restarted") - restarted
            #expect(recovery <= probe.recoveryBound, "\(victim) came up \(recovery) s after it restarted")
            #expect(firstServed <= probe.recoveryBound, "\(victim) served again \(firstServed) s after it restarted")
            #expect(download.isRunning, "the slow download ended before the scenario did: size it longer")

            let back = try lab.requests(from: "client", Self.whoami, count: 150)
            #expect(back.ok == 150, "\(back)\n\(lab.logTails())")
            #expect(back.by.keys.sorted() == Lab.blueVMs.keys.sorted(), "all three DIPs again: \(back.by)")
            #expect(try held.request()["vm"] == heldVM, "the keep-alive connection moved or broke")
            held.close()

            // 5. The slow download, open through the whole scenario, completes byte for byte
            //    from the DIP it started on.
            let result = try download.finish(within: 90)
            #expect(result["ok"] as? Bool == true, "the slow download was disturbed: \(result)")
            #expect(result["vm"] as? String == downloadVM, "the slow download changed VM: \(result)")

            let status = nvlb.stop(within: 10)
            #expect(status == 0, "nvlb run exit status after SIGTERM: \(String(describing: status))")
            func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }
            print(
                "health lab: \(victim) stopped → down logged after \(seconds(detection)) (bound \(probe.detectionBound) s),"
                    + " last failed request \(lastFailure.map { seconds($0 - stopped) + " after the stop" } ?? "none"),"
                    + " \(failedBeforeDown) failed before; restarted → up logged after \(seconds(recovery)), first"
                    + " served after \(seconds(firstServed)) (bound \(probe.recoveryBound) s)")
            print("health lab: nvlb log:\n\(log.transitions)")
        }

        /// blue-web's probe `web` as Config/lab.yaml writes it (one flow-style line).
        static func probe(in configuration: URL) throws -> Probe {
            let text = try String(contentsOf: configuration, encoding: .utf8)
            let line = try #require(
                text.split(separator: "\n").first { $0.contains("name: web,") && $0.contains("protocol: http") },
                "no http probe 'web' in \(configuration.path)")
            func value(_ key: String) throws -> Double {
                let field = line.components(separatedBy: "\(key): ").dropFirst().first?.prefix { $0.isNumber }
                return try #require(field.flatMap { Double(String($0)) }, "probe 'web' has no \(key): \(line)")
            }
            return Probe(
                interval: try value("interval"), timeout: try value("timeout"), rise: try value("rise"),
                fall: try value("fall"))
        }
    }
}

/// Monotonic seconds.
enum LabClock {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// nvlb's log file (stderr of `nvlb run`), re-read on each look.
struct NVLBLog {
    let url: URL
    var text: String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
    /// Whether `line` appears within `seconds` (looked for every 50 ms).
    func waitFor(_ line: String, within seconds: Double) -> Bool {
        let deadline = LabClock.now() + seconds
        while !text.contains(line) {
            guard LabClock.now() < deadline else { return false }
            usleep(50_000)
        }
        return true
    }
    /// The lines about DIPs' health and failing open.
    var transitions: String {
        text.split(separator: "\n").filter { $0.contains("DIP ") || $0.contains("fail open") || $0.contains("probing") }
            .joined(separator: "\n")
    }
}

/// Watches a log file from a thread of its own, every 20 ms: when each awaited line first
/// appears, whatever the test does meanwhile (a batch of requests takes a few hundred ms).
final class LogWatcher: @unchecked Sendable {
    private let url: URL
    private let lock = NSLock()
    private var pending: [String]
    private var seen: [String: Double] = [:]
    private var stopped = false

    init(url: URL, lines: [String]) {
        self.url = url
        pending = lines
        Thread.detachNewThread { [self] in watch() }
    }

    /// When `line` first appeared (`LabClock`), or nil.
    func firstSeen(_ line: String) -> Double? { lock.withLock { seen[line] } }

    func stop() { lock.withLock { stopped = true } }

    private func watch() {
        while true {
            let lines: [String]? = lock.withLock { stopped ? nil : pending }
            guard let lines else { return }
            if !lines.isEmpty {
                let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
                let now = LabClock.now()
                lock.withLock {
                    for line in lines where text.contains(line) { seen[line] = now }
                    pending.removeAll { seen[$0] != nil }
                }
            }
            usleep(20_000)
        }
    }
}

/// `lab/http-client.py blob` of a paced `/blob` from the client, in the background.
final class SlowDownload {
    let lab: Lab
    let pid: pid_t
    private let outputPath: String
    private var status: Int32?

    init(lab: Lab, url: String) throws {
        self.lab = lab
        // A .log: lab/down.sh removes the run directory's logs (and then the directory).
        outputPath = lab.runDirectory.appendingPathComponent("slow-download.log").path
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw LabError("cannot create \(outputPath)") }
        defer { close(output) }
        let script = LabEnvironment.labDirectory.appendingPathComponent("http-client.py").path
        pid = try Shell.spawn(
            Shell.timed(
                ["ip", "netns", "exec", lab.namespace("client"), Lab.python, script, "blob", url, "--timeout", "10"],
                120), input: nil, output: output, error: output)
    }

    var isRunning: Bool {
        if status == nil { status = Shell.poll(pid) }
        return status == nil
    }

    /// The VM whose web server logged the start of this download (vm-httpd.py logs each
    /// paced `/blob`), or nil if none did within `seconds`.
    func waitForServer(within seconds: Double) throws -> String? {
        let deadline = LabClock.now() + seconds
        while LabClock.now() < deadline {
            for vm in Lab.blueVMs.keys.sorted() {
                let log = lab.runDirectory.appendingPathComponent("\(vm).log")
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                if text.contains("blob: ") { return vm }
            }
            guard isRunning else { return nil }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    /// Waits for the download to end (bounded) and returns its JSON result.
    func finish(within seconds: Double) throws -> [String: Any] {
        let deadline = LabClock.now() + seconds
        while isRunning && LabClock.now() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        guard !isRunning else { throw LabError("the slow download did not end within \(seconds) s") }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw LabError("slow download: unexpected output '\(text)'") }
        return object
    }

    func kill() {
        guard isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        status = Shell.wait(pid)
    }

    deinit { kill() }
}

extension Lab {
    /// Stops `vm`'s web server (SIGTERM to the process lab/up.sh started) and waits until no
    /// process is left in the VM's namespace. Returns the time the signal was sent.
    func stopWebServer(_ vm: String) throws -> Double {
        let pidFile = runDirectory.appendingPathComponent("\(vm).pid")
        let text = try String(contentsOf: pidFile, encoding: .utf8)
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw LabError("\(pidFile.path): no pid")
        }
        let sent = LabClock.now()
        guard kill(pid, SIGTERM) == 0 else { throw LabError("\(vm)'s web server (pid \(pid)) is not running") }
        let deadline = sent + 10
        while LabClock.now() < deadline {
            let pids = try Shell.run(["ip", "netns", "pids", namespace(vm)], timeout: 5)
            if pids.status == 0 && pids.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return sent }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw LabError("\(vm)'s web server did not stop within 10 s")
    }

    /// Starts `vm`'s web server again (ports 80 and 8080, as lab/up.sh does) and waits until
    /// it listens (at most 15 s).
    func startWebServer(_ vm: String, lifetime: Int = 240) throws -> LabDaemon {
        guard let ca = Lab.blueVMs[vm] else { throw LabError("\(vm) is not a Blue VM") }
        let logPath = runDirectory.appendingPathComponent("\(vm)-restarted.log").path
        let log = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw LabError("cannot create \(logPath)") }
        defer { close(log) }
        let script = LabEnvironment.labDirectory.appendingPathComponent("vm-httpd.py").path
        let server = LabDaemon(
            pid: try Shell.spawn(
                [
                    "ip", "netns", "exec", namespace(vm), "/usr/bin/timeout", "-k", "5", String(lifetime), Lab.python,
                    script, "--name", vm, "--bind", ca, "--port", "80", "--port", "8080",
                ], input: nil, output: log, error: log))
        let deadline = LabClock.now() + 15
        while LabClock.now() < deadline {
            if ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").contains("listening") { return server }
            guard server.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        server.kill()
        throw LabError(
            "\(vm)'s web server did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }
}
