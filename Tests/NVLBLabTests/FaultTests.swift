import Foundation
import NVLBTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LabSuites {
    /// Faults with real kernel TCP through `nvlb run` (docs/lab.md "Fault tests"): nvlb killed
    /// and restarted during downloads (by external and by internal clients, from VMs whose port
    /// backs a public and an internal VIP), a storm of reloads, a broken configuration on reload, a
    /// flood of spoofed connections beyond the flow table, a DIP's host cut off, and a bad client
    /// of the management API. Every test waits on events (a log line, a counter, a process that
    /// ends), each polled against a deadline; the lab and nvlb are shared by the suite's tests
    /// (`FaultLab`), and each test leaves them as it found them.
    @Suite("Faults through nvlb run")
    struct FaultTests {
        static let whoami = "http://131.107.10.10/whoami"

        /// A paced download: `size` bytes at 128 KiB/s from the VM that answers.
        static func blob(size: Int) -> String { "http://131.107.10.10/blob?size=\(size)&rate=131072" }

        /// The restart scenario of docs/packets.md "Replies and flow state": the VMs' port 80 backs
        /// both the public VIP and the internal CA VIP (`FaultLab`'s configuration), one rule of
        /// each kind. The new process has no state; a download's next segment from its VM is
        /// rebuilt as the rule of the client's kind, so none is dropped `no_flow`. Once from the
        /// Internet client through the public VIP, once from the internal client through the
        /// CA VIP.
        @Test(
            "SIGKILL of nvlb run during 4 paced downloads from VMs whose port backs a public and an internal VIP, restarted at once: all 4 complete byte for byte, no no_flow drop",
            arguments: ["external", "internal"])
        func killDuringDownloads(client kind: String) throws {
            let fixture = try FaultLab.prepared()
            let lab = fixture.lab
            // The external client reaches the public VIP (replies leave by ext0); the internal
            // client in VSID 5002 the CA VIP 10.1.5.100:8080 → 80 (replies leave by pa0, NVGRE).
            let (client, base, interface) =
                kind == "internal"
                ? ("blue-client", "http://10.1.5.100:8080", "pa0") : ("client", "http://131.107.10.10", "ext0")
            let starts = fixture.blobStarts()
            let downloads = try (0..<4).map { index in
                try LabProcess(
                    lab: lab, in: client,
                    [
                        Lab.python, fixture.clientScript, "blob", "\(base)/blob?size=\(1 << 20)&rate=131072",
                        "--timeout", "15",
                    ],
                    name: "fault-kill-\(kind)-download\(index)", timeout: 60)
            }
            defer { for download in downloads { download.kill() } }
            try fixture.wait("the 4 downloads start on their VMs", within: 10) {
                fixture.blobStarts().total >= starts.total + 4
            }
            // Mid-download: each has received some of its 1 MiB (nvlb's interface toward the
            // client sent ≥ 4 × 64 KiB more).
            let sent = try fixture.bytesSent(interface)
            try fixture.wait("the downloads make progress", within: 10) {
                try fixture.bytesSent(interface) >= sent + 4 * 65536
            }

            let killed = LabClock.now()
            try fixture.killLoadBalancer()
            try fixture.startLoadBalancer()
            let restarted = LabClock.now() - killed

            var vms: [String] = []
            for (index, download) in downloads.enumerated() {
                let text = try download.finish(within: 60)
                let result = try FaultLab.json(text)
                #expect(
                    result["ok"] as? Bool == true, "download \(index) after the restart: \(text)\n\(lab.logTails())")
                #expect(result["bytes"] as? Int == 1 << 20, "download \(index): \(text)")
                vms.append(result["vm"] as? String ?? "?")
            }
            // The new process dropped none of the VMs' segments for want of state.
            let noFlow = try fixture.metric("nvlb_drops_total{reason=\"no_flow\"}")
            #expect(noFlow == 0, "no_flow drops in the restarted nvlb: \(noFlow)")
            let after = try lab.requests(from: client, "\(base)/whoami", count: 30)
            #expect(after.ok == 30, "new connections after the restart: \(after)")
            print(
                "faults: \(kind) client: SIGKILL → restarted in \(FaultLab.seconds(restarted)); 4 downloads of 1 MiB"
                    + " complete from \(vms.sorted()); no_flow drops after the restart: \(noFlow)"
            )
        }

        @Test(
            "50 SIGHUPs a second for 10 s while concurrent requests run: none fails, reloads logged, policy unchanged")
        func reloadStorm() throws {
            let fixture = try FaultLab.prepared()
            let lab = fixture.lab
            let configBefore = try fixture.api("GET", "/v1/config")
            try #require(configBefore.status == 200, "GET /v1/config: \(configBefore)")
            let reloadsBefore = fixture.log.count("reloaded \(fixture.configuration.path)")
            let rejectedBefore = fixture.log.count("rejected, the running policy is kept")
            let rssBefore = try fixture.memory()

            let storm = SignalStorm(pid: try fixture.nvlbPID(), signal: SIGHUP, perSecond: 50, seconds: 10)
            var ok = 0
            var failed: [String] = []
            var vms: Set<String> = []
            // Batches of 25 concurrent curl transfers (one new connection each) for as long as
            // the storm lasts, and at least 100 requests.
            while storm.isRunning || ok + failed.count < 100 {
                let batch = try fixture.concurrentRequests(25)
                ok += batch.ok
                failed += batch.failed
                vms.formUnion(batch.vms)
            }
            let signals = storm.wait()
            #expect(signals == 500, "signals sent: \(signals)")
            #expect(fixture.daemon?.isRunning == true, "nvlb exited during the storm\n\(lab.logTails())")
            #expect(failed.isEmpty, "\(failed.count) of \(ok + failed.count) requests failed: \(failed.prefix(5))")
            #expect(ok >= 100)
            #expect(vms == Set(Lab.blueVMs.keys), "the policy's three DIPs answer: \(vms)")

            // Signals that arrive during a reload collapse into one more: the reloads stop within
            // a reload or two of the storm's end (no backlog), at least one a second was made.
            let stormEnded = LabClock.now()
            var count = fixture.log.count("reloaded \(fixture.configuration.path)")
            var lastChange = stormEnded
            try fixture.wait("the reloads to stop", within: 15) {
                let now = fixture.log.count("reloaded \(fixture.configuration.path)")
                if now != count { (count, lastChange) = (now, LabClock.now()) }
                return LabClock.now() - lastChange >= 1
            }
            let reloads = count - reloadsBefore
            let tail = max(0, lastChange - stormEnded)
            #expect(tail <= 3, "reloads went on for \(tail) s after the storm: a backlog of signals")
            #expect(reloads >= 10 && reloads <= signals, "\(reloads) reloads for \(signals) signals")
            #expect(fixture.log.count("rejected, the running policy is kept") == rejectedBefore)
            let configAfter = try fixture.api("GET", "/v1/config")
            #expect(
                configAfter.status == 200 && configAfter.body == configBefore.body, "the policy changed: \(configAfter)"
            )
            let rssAfter = try fixture.memory()
            print(
                "faults: reload storm: \(signals) SIGHUPs in 10 s, \(reloads) reloads logged (the last"
                    + " \(FaultLab.seconds(tail)) after the storm), \(ok) requests,"
                    + " \(failed.count) failed; nvlb RSS \(rssBefore.rss / 1024) → \(rssAfter.rss / 1024) KiB, fds \(rssBefore.fds) → \(rssAfter.fds)"
            )
        }

        @Test(
            "A truncated or garbage configuration on SIGHUP: FILE:LINE:COLUMN logged, policy kept, traffic unaffected")
        func brokenReload() throws {
            let fixture = try FaultLab.prepared()
            let lab = fixture.lab
            defer { try? fixture.restoreConfiguration() }
            let configBefore = try fixture.api("GET", "/v1/config")
            try #require(configBefore.status == 200, "GET /v1/config: \(configBefore)")
            let original = fixture.originalText
            // Cut inside a flow mapping of blue-web's backends, and bytes that are no YAML at all.
            let cut = try #require(original.range(of: "ca: 10.1.6.21, weight"))
            let truncated = String(original[..<cut.upperBound])
            let garbage = Data("balancer: {\u{1}: [[[\n  - }}} :\n".utf8) + Data([0xff, 0xfe, 0x00, 0x80, 0x0a])
            let path = fixture.configuration.path

            for (label, bytes) in [("truncated", Data(truncated.utf8)), ("garbage", garbage)] {
                let rejected = fixture.log.count("reload of \(path) rejected, the running policy is kept:")
                try bytes.write(to: fixture.configuration, options: .atomic)
                let requests = try LabProcess(
                    lab: lab, in: "client", [Lab.python, fixture.clientScript, "many", Self.whoami, "--count", "60"],
                    name: "fault-broken-\(label)", timeout: 60)
                try fixture.reload()
                try fixture.wait("nvlb to reject the \(label) file", within: 10) {
                    fixture.log.count("reload of \(path) rejected, the running policy is kept:") > rejected
                }
                // The diagnostics follow the line, in the format of `nvlb check`.
                let lines = fixture.log.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                let at = try #require(lines.lastIndex { $0.contains("reload of \(path) rejected") })
                let diagnostic = at + 1 < lines.count ? lines[at + 1] : ""
                #expect(
                    diagnostic.range(
                        of: "^\(NSRegularExpression.escapedPattern(for: path)):[0-9]+:[0-9]+: ",
                        options: .regularExpression)
                        != nil, "\(label): no FILE:LINE:COLUMN diagnostic after the rejection: '\(diagnostic)'")
                let result = try Lab.ManyResult.decode(try requests.finish(within: 60))
                #expect(
                    result.ok == 60 && result.failed == 0, "\(label): requests during the rejected reload: \(result)")
                #expect(Set(result.by.keys) == Set(Lab.blueVMs.keys), "\(label): the three DIPs answer: \(result.by)")
                let configAfter = try fixture.api("GET", "/v1/config")
                #expect(configAfter.body == configBefore.body, "\(label): the running policy changed")
                print("faults: \(label) configuration rejected: \(diagnostic)")
            }
            #expect(fixture.daemon?.isRunning == true, "nvlb exited\n\(lab.logTails())")
        }

        @Test(
            "Spoofed connections beyond flow_table_capacity during 4 downloads: all complete, flow_table_full counted, RSS flat"
        )
        func spoofedFlood() throws {
            let fixture = try FaultLab.prepared()
            let lab = fixture.lab
            let starts = fixture.blobStarts()
            let downloads = try (0..<4).map { index in
                try LabProcess(
                    lab: lab, in: "client",
                    [Lab.python, fixture.clientScript, "blob", Self.blob(size: 2 << 20), "--timeout", "15"],
                    name: "fault-flood-download\(index)", timeout: 60)
            }
            defer { for download in downloads { download.kill() } }
            try fixture.wait("the 4 downloads start on their VMs", within: 10) {
                fixture.blobStarts().total >= starts.total + 4
            }
            // The flood's established entries fill the tables for their idle timeout (240 s): the
            // next test gets a fresh nvlb.
            defer { fixture.stopLoadBalancer() }
            let fullBefore = try fixture.metric("nvlb_drops_total{reason=\"flow_table_full\"}")
            let start = try fixture.memory()

            // 6,000 spoofed sources (198.18.0.0/15) in 3 s, each a SYN and 0.3 s later an ACK:
            // after the DIP's SYN-ACK went through nvlb that ACK makes the entry established, which
            // nothing may evict — 3 × the 2 × 1,024 entries of the workers' tables. Twice, with
            // new sources: the first flood is the warm-up (memory first touched under load: the
            // allocator's arenas, the capture rings), the second must not add to it.
            var before = start
            var peak = start
            var sent: [String: Any] = [:]
            for round in 0..<2 {
                let flood = try LabProcess(
                    lab: lab, in: "client",
                    [Lab.python, "-c", FaultLab.floodScript, "6000", "2000", "0.3", String(round * 6000)],
                    name: "fault-flood\(round)", timeout: 30)
                if round == 1 {
                    before = try fixture.memory()
                    peak = before
                }
                while flood.isRunning {
                    let sample = try fixture.memory()
                    peak.rss = max(peak.rss, sample.rss)
                    peak.anon = max(peak.anon, sample.anon)
                    peak.fds = max(peak.fds, sample.fds)
                    Thread.sleep(forTimeInterval: 0.1)  // a sampling period, not a wait for correctness
                }
                sent = try FaultLab.json(try flood.finish(within: 5))
            }
            let during = try lab.requests(from: "client", Self.whoami, count: 30)

            var vms: [String] = []
            for (index, download) in downloads.enumerated() {
                let text = try download.finish(within: 60)
                let result = try FaultLab.json(text)
                #expect(result["ok"] as? Bool == true, "download \(index) during the flood: \(text)\n\(lab.logTails())")
                vms.append(result["vm"] as? String ?? "?")
            }
            try fixture.wait("flow_table_full to be counted", within: 5) {
                try fixture.metric("nvlb_drops_total{reason=\"flow_table_full\"}") > fullBefore
            }
            let full = try fixture.metric("nvlb_drops_total{reason=\"flow_table_full\"}") - fullBefore
            let after = try fixture.memory()
            peak.rss = max(peak.rss, after.rss)
            peak.anon = max(peak.anon, after.anon)
            // The flow tables are allocated and zeroed at start; nothing on the packet path
            // allocates per flow. 2 MiB of private memory is less than 350 bytes for each of the
            // flood's 6,000 flows: a leak per flow would exceed it, allocator and log noise would
            // not. VmRSS also counts the pages of the capture rings (4 × 32 MiB, docs/operations.md)
            // as the kernel first fills them: bounded by their size.
            #expect(peak.anon - before.anon <= 2 << 20, "nvlb's RssAnon grew from \(before.anon) to \(peak.anon) bytes")
            #expect(peak.rss - before.rss <= (128 << 20) + (2 << 20), "nvlb's RSS: \(before.rss) → \(peak.rss) bytes")
            #expect(peak.fds == before.fds, "nvlb's descriptors: \(before.fds) → \(peak.fds)")
            #expect(during.ok == 30, "new connections right after the flood: \(during)")
            #expect(fixture.daemon?.isRunning == true, "nvlb exited\n\(lab.logTails())")
            print(
                "faults: 2 floods like \(sent): flow_table_full +\(full); nvlb RssAnon \(start.anon / 1024) KiB at start,"
                    + " \(before.anon / 1024) → peak \(peak.anon / 1024) KiB over the second flood,"
                    + " VmRSS \(start.rss / 1024) → \(before.rss / 1024) → peak \(peak.rss / 1024) KiB,"
                    + " fds \(before.fds) → \(peak.fds); downloads from \(vms.sorted()) complete; \(during.ok)/30 new connections"
            )
        }

        @Test(
            "A DIP's host cut off mid-download: new connections avoid it within fall × interval + timeout, others keep working"
        )
        func hostCutOff() throws {
            let fixture = try FaultLab.prepared()
            let lab = fixture.lab
            let probe = try HealthLabTests.probe(in: fixture.configuration)
            let starts = fixture.blobStarts()
            // 2 MiB at 128 KiB/s: 16 s, longer than detection (9 s).
            let downloads = try (0..<4).map { index in
                try LabProcess(
                    lab: lab, in: "client",
                    [Lab.python, fixture.clientScript, "blob", Self.blob(size: 2 << 20), "--timeout", "30"],
                    name: "fault-cut-download\(index)", timeout: 90)
            }
            defer { for download in downloads { download.kill() } }
            try fixture.wait("the 4 downloads start on their VMs", within: 10) {
                fixture.blobStarts().total >= starts.total + 4
            }
            let started = fixture.blobStarts().subtracting(starts)
            // The victim: the VM of hv1 or hv2 with the fewest of the downloads.
            let hostOf = ["blue-vm1": "hv1", "blue-vm2": "hv2"]
            let victim = hostOf.keys.sorted().min { started.by[$0, default: 0] < started.by[$1, default: 0] }!
            let host = hostOf[victim]!
            let ca = Lab.blueVMs[victim]!
            let downLine = "DIP 5001/\(ca) (load balancer blue-web, probe web): up → down"
            let upLine = "DIP 5001/\(ca) (load balancer blue-web, probe web): down → up"
            let watcher = LogWatcher(url: fixture.log.url, lines: [downLine, upLine])
            defer { watcher.stop() }

            // The host's uplink on the provider bridge goes down: nothing it sends or is sent arrives.
            let cut = LabClock.now()
            try #require(try lab.exec("pa", ["ip", "link", "set", host, "down"]).status == 0)
            var restored = false
            defer { if !restored { _ = try? lab.exec("pa", ["ip", "link", "set", host, "up"]) } }
            try fixture.wait("'\(downLine)'", within: probe.detectionBound + 5) { watcher.firstSeen(downLine) != nil }
            let detection = watcher.firstSeen(downLine)! - cut
            #expect(
                detection <= probe.detectionBound,
                "\(victim) down after \(detection) s; bound \(probe.detectionBound) s")
            let without = try lab.requests(from: "client", Self.whoami, count: 60)
            #expect(without.ok == 60, "new connections while \(host) is cut off: \(without)")
            #expect(without.by[victim] == nil, "new connections still reach \(victim): \(without.by)")

            // Back: the link up again, the DIP up within rise × interval, all three answer.
            try #require(try lab.exec("pa", ["ip", "link", "set", host, "up"]).status == 0)
            restored = true
            let back = LabClock.now()
            try fixture.wait("'\(upLine)'", within: probe.recoveryBound + 5) { watcher.firstSeen(upLine) != nil }
            let recovery = watcher.firstSeen(upLine)! - back
            let all = try lab.requests(from: "client", Self.whoami, count: 90)
            #expect(all.ok == 90 && Set(all.by.keys) == Set(Lab.blueVMs.keys), "after \(host) came back: \(all)")

            // The downloads of the other DIPs complete byte for byte; those of the victim were
            // cut off for the whole detection and are only reported.
            // (A download that failed before its answer's headers names no VM: at most the
            // victim's may fail.)
            var results: [String] = []
            var failed = 0
            for download in downloads {
                let text = try download.finish(within: 90)
                let result = try FaultLab.json(text)
                let vm = result["vm"] as? String
                if result["ok"] as? Bool != true {
                    failed += 1
                    #expect(vm == nil || vm == victim, "a download from another DIP broke: \(text)")
                }
                results.append("\(vm ?? "?"): \(result["ok"] as? Bool == true ? "ok" : "failed")")
            }
            #expect(
                failed <= started.by[victim, default: 0],
                "\(failed) downloads failed, \(victim) served \(started.by[victim, default: 0]): \(results)")
            print(
                "faults: \(host) (\(victim)) cut off → down logged after \(FaultLab.seconds(detection)) (bound \(probe.detectionBound) s),"
                    + " back → up after \(FaultLab.seconds(recovery)); downloads: \(results.sorted())")
        }

        @Test("The management API under a bad client: 413, 401, the packet path works, the API answers after")
        func managementBadClient() throws {
            let fixture = try FaultLab.prepared()
            let lab = fixture.lab
            // Without the bad client: request throughput through the VIP.
            let cpu0 = try fixture.cpuSeconds()
            let baseline = try lab.requests(from: "client", Self.whoami, count: 60)
            let cpuBaseline = try fixture.cpuSeconds() - cpu0
            try #require(baseline.ok == 60, "\(baseline)")

            // Phase 1 (its first JSON line): a 10 MB body and 2 s of wrong tokens. Phase 2: 200
            // slowloris and up to 1,000 idle connections, held for 10 s ("holding"), then closed.
            let bad = try LabProcess(
                lab: lab, in: "lb",
                [Lab.python, "-c", FaultLab.badClientScript, "10", fixture.port, "wrong-token", fixture.token],
                name: "fault-bad-client", timeout: 60)
            defer { bad.kill() }
            try fixture.wait("the bad client's connections", within: 30) {
                guard bad.isRunning else { throw LabError("the bad client ended: \(bad.output)") }
                return bad.output.contains("holding")
            }
            let cpu1 = try fixture.cpuSeconds()
            let during = try lab.requests(from: "client", Self.whoami, count: 60)
            let cpuDuring = try fixture.cpuSeconds() - cpu1
            var good: [Int] = []
            var slowest = 0.0
            while bad.isRunning && !bad.output.contains("closed") {
                let start = LabClock.now()
                good.append(try fixture.api("GET", "/v1/status", timeout: 3).status)
                slowest = max(slowest, LabClock.now() - start)
            }
            try fixture.wait("the bad client to close its connections", within: 15) { bad.output.contains("closed") }
            let closed = LabClock.now()
            // Once the bad client is gone the API answers again at once (its slots are freed
            // as its connections close, not after the 30 s idle timeout).
            try fixture.wait("the API to answer again", within: 10) {
                try fixture.api("GET", "/v1/status", timeout: 2).status == 200
            }
            let recovered = LabClock.now() - closed
            let report = try bad.finish(within: 10)
            let lines = report.split(separator: "\n").map(String.init)
            let phase1 = try FaultLab.json(lines.first { $0.hasPrefix("{") } ?? "")
            let phase2 = try FaultLab.json(lines.last { $0.hasPrefix("{") } ?? "")
            #expect(phase1["big_body_status"] as? Int == 413, "10 MB body: \(report)")
            let statuses = phase1["wrong_token_statuses"] as? [String: Int] ?? [:]
            #expect(statuses.keys.sorted() == ["401"] && statuses["401", default: 0] >= 10, "wrong tokens: \(report)")
            #expect(during.ok == 60, "requests through the VIP during the bad client: \(during)")
            #expect(recovered <= 5, "the API answered again \(recovered) s after the bad client left")
            #expect(fixture.daemon?.isRunning == true, "nvlb exited\n\(lab.logTails())")
            let rate = { (result: Lab.ManyResult) in String(format: "%.0f", Double(result.ok) / result.seconds) }
            print(
                "faults: management bad client \(phase1) \(phase2): VIP requests/s \(rate(baseline)) without"
                    + " (nvlb CPU \(FaultLab.seconds(cpuBaseline)) for 60), \(rate(during)) with (CPU \(FaultLab.seconds(cpuDuring))); \(good.count) operator requests while it held its connections,"
                    + " \(good.filter { $0 == 200 }.count) answered 200 (slowest \(FaultLab.seconds(slowest)));"
                    + " API answering again \(FaultLab.seconds(recovered)) after it left"
            )
        }
    }
}

/// The lab and the `nvlb run` the fault tests share: built by the first test, torn down when
/// the test process exits (and, should it die, by the next run's `Lab.removeStaleLabs` and the
/// lab's lifetime). nvlb reads a copy of Config/lab.yaml with the smallest flow tables (1,024
/// entries a worker), blue-app's CA VIP forwarding to the VMs' port 80 (which the public VIP
/// uses too) and the management API on 127.0.0.1:9180 of its namespace.
final class FaultLab: @unchecked Sendable {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var shared: FaultLab?
    nonisolated(unsafe) private static var failure: String?

    let lab: Lab
    let directory: URL
    let configuration: URL
    let originalText: String
    let token = "fault-tests-operator-0123456789abcdef"
    let port = "9180"
    private(set) var daemon: LabDaemon?
    var log: NVLBLog { NVLBLog(url: lab.runDirectory.appendingPathComponent("nvlb.log")) }
    var clientScript: String { LabEnvironment.labDirectory.appendingPathComponent("http-client.py").path }

    /// The shared lab with nvlb running and answering (started again if an earlier test left it
    /// stopped), its configuration as written; cancels the test when the lab cannot run here.
    static func prepared() throws -> FaultLab {
        if let reason = LabEnvironment.labUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
        if let reason = LabEnvironment.nvlbRunUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
        return try lock.withLock {
            if let failure { throw LabError("the fault lab could not be built: \(failure)") }
            if shared == nil {
                do {
                    shared = try FaultLab()
                    atexit { FaultLab.tearDown() }
                } catch {
                    failure = "\(error)"
                    throw error
                }
            }
            let fixture = shared!
            try fixture.restoreConfiguration()
            if fixture.daemon?.isRunning != true { try fixture.startLoadBalancer() }
            return fixture
        }
    }

    private static func tearDown() {
        guard let fixture = shared else { return }
        fixture.daemon?.kill()
        fixture.lab.down()
        try? FileManager.default.removeItem(at: fixture.directory)
    }

    private init() throws {
        directory = try TestSupport.temporaryDirectory()
        configuration = directory.appendingPathComponent("lab.yaml")
        var text = try String(contentsOfFile: TestSupport.configPath("lab.yaml"), encoding: .utf8)
        guard text.contains("  flow_table_capacity: 65536\n") else {
            throw LabError("Config/lab.yaml: no 'flow_table_capacity: 65536'")
        }
        text = text.replacingOccurrences(of: "  flow_table_capacity: 65536\n", with: "  flow_table_capacity: 1024\n")
        // blue-app's CA VIP forwards to the VMs' port 80, which blue-web's public VIP uses too:
        // one rule of each kind on one DIP port (the restart test's scenario).
        let internalRule = "frontend_port: 8080, backend_port: 8080, load_distribution: five_tuple"
        guard text.contains(internalRule) else { throw LabError("Config/lab.yaml: no '\(internalRule)'") }
        text = text.replacingOccurrences(
            of: internalRule, with: "frontend_port: 8080, backend_port: 80, load_distribution: five_tuple")
        text += "\nmanagement:\n  listen: 127.0.0.1:\(port)\n  token_file: tokens\n"
        originalText = text
        try text.write(to: configuration, atomically: true, encoding: .utf8)
        let tokens = directory.appendingPathComponent("tokens")
        try "operator \(token)\n".write(to: tokens, atomically: true, encoding: .utf8)
        chmod(tokens.path, 0o600)
        lab = Lab(tag: "f", configuration: configuration)
        do {
            try lab.up(lifetime: 900)
        } catch {
            lab.down()
            throw error
        }
    }

    /// Writes the configuration back if a test changed it, and has nvlb reload it.
    func restoreConfiguration() throws {
        guard try Data(contentsOf: configuration) != Data(originalText.utf8) else { return }
        try originalText.write(to: configuration, atomically: true, encoding: .utf8)
        guard let daemon, daemon.isRunning else { return }
        let reloads = log.count("reloaded \(configuration.path)")
        try reload()
        try wait("nvlb to reload the restored configuration", within: 10) {
            log.count("reloaded \(configuration.path)") > reloads
        }
    }

    /// Starts `nvlb run` (its log appended to nvlb.log, counters every second) and waits until
    /// the public VIP answers.
    func startLoadBalancer() throws {
        let logPath = lab.runDirectory.appendingPathComponent("nvlb.log").path
        let output = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw LabError("cannot open \(logPath)") }
        defer { close(output) }
        daemon = LabDaemon(
            pid: try Shell.spawn(
                [
                    "ip", "netns", "exec", lab.namespace("lb"), "/usr/bin/timeout", "-k", "5", "900",
                    LabEnvironment.nvlb.path, "run", "--config", configuration.path, "--stats-interval", "1",
                ], input: nil, output: output, error: output))
        try wait("the public VIP to answer through the new nvlb", within: 20) {
            guard self.daemon?.isRunning == true else { throw LabError("nvlb exited:\n\(self.lab.logTails())") }
            return try self.lab.requests(from: "client", "http://131.107.10.10/whoami", count: 1, timeout: 0.5).ok == 1
        }
    }

    /// Stops nvlb (SIGTERM); the next `prepared()` starts it again.
    func stopLoadBalancer() {
        daemon?.kill()
    }

    /// SIGKILL to nvlb itself (not the `timeout` around it), and waits until it is gone.
    func killLoadBalancer() throws {
        let pid = try nvlbPID()
        Glibc.kill(pid, SIGKILL)
        try wait("nvlb to die", within: 10) { self.daemon?.isRunning != true }
    }

    /// SIGHUP to nvlb itself. Not through the `timeout` around it: `timeout -k` relays the
    /// signal and then sends SIGKILL after its kill delay.
    func reload() throws {
        guard Glibc.kill(try nvlbPID(), SIGHUP) == 0 else { throw LabError("SIGHUP to nvlb failed") }
    }

    /// The pid of `nvlb run` (the process named nvlb in the lb namespace).
    func nvlbPID() throws -> pid_t {
        let pids = try Shell.run(["ip", "netns", "pids", lab.namespace("lb")], timeout: 10).output
        for text in pids.split(separator: "\n") {
            guard let pid = Int32(text) else { continue }
            let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            if command.trimmingCharacters(in: .whitespacesAndNewlines) == "nvlb" { return pid }
        }
        throw LabError("no nvlb process in \(lab.namespace("lb"))")
    }

    struct Memory {
        /// VmRSS: everything resident, the capture rings' pages included as the kernel cycles
        /// through them.
        var rss: Int
        /// RssAnon: the heap and the other private memory, where a leak would show.
        var anon: Int
        var fds: Int
    }

    /// nvlb's resident memory (bytes, from /proc/PID/status) and open descriptors.
    func memory() throws -> Memory {
        let pid = try nvlbPID()
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kilobytes(_ key: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(key) } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
        }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        return Memory(rss: kilobytes("VmRSS:") * 1024, anon: kilobytes("RssAnon:") * 1024, fds: fds)
    }

    /// CPU time nvlb has used so far (user + system, all threads), in seconds.
    func cpuSeconds() throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(try nvlbPID())/stat", encoding: .utf8)
        // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        return Double((Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Bytes nvlb's interface `name` (ext0 toward the Internet client, pa0 toward the hosts) has sent.
    func bytesSent(_ name: String) throws -> Int {
        let text = try lab.exec("lb", ["cat", "/sys/class/net/\(name)/statistics/tx_bytes"]).output
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Paced downloads each Blue VM has started so far (the `blob:` lines of their logs).
    struct BlobStarts {
        var by: [String: Int]
        var total: Int { by.values.reduce(0, +) }
        func subtracting(_ other: BlobStarts) -> BlobStarts {
            BlobStarts(by: by.mapValues { $0 }.merging(other.by.mapValues { -$0 }, uniquingKeysWith: +))
        }
    }

    func blobStarts() -> BlobStarts {
        var by: [String: Int] = [:]
        for vm in Lab.blueVMs.keys {
            let text =
                (try? String(contentsOf: lab.runDirectory.appendingPathComponent("\(vm).log"), encoding: .utf8)) ?? ""
            by[vm] = text.components(separatedBy: "blob: ").count - 1
        }
        return BlobStarts(by: by)
    }

    /// One request to the management API from the lb namespace (with the operator's token).
    func api(_ method: String, _ path: String, timeout: Double = 10) throws -> (status: Int, body: String) {
        let result = try lab.exec(
            "lb",
            [
                "curl", "-s", "-m", String(timeout), "-X", method, "-H", "Authorization: Bearer \(token)", "-w",
                "\n%{http_code}", "http://127.0.0.1:\(port)\(path)",
            ], timeout: timeout + 5)
        var lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.popLast() ?? "") ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    /// A sample of nvlb's Prometheus text, by its full name with labels.
    func metric(_ sample: String) throws -> Int {
        let (status, body) = try api("GET", "/metrics")
        guard status == 200 else { throw LabError("GET /metrics: \(status)") }
        guard let line = body.split(separator: "\n").first(where: { $0.hasPrefix(sample + " ") }) else {
            throw LabError("no \(sample) in /metrics")
        }
        return Int(Double(line.split(separator: " ").last ?? "") ?? -1)
    }

    /// `count` concurrent GETs of /whoami by one curl (each on its own connection): how many
    /// were answered 200, the failures, and the answering VMs.
    func concurrentRequests(_ count: Int) throws -> (ok: Int, failed: [String], vms: Set<String>) {
        var arguments = ["curl", "-s", "-Z", "--parallel-max", String(count), "-m", "20", "-H", "Connection: close"]
        arguments += ["-w", "%{http_code} %header{x-vm} %{errormsg}\\n"]
        for _ in 0..<count { arguments += ["-o", "/dev/null", "http://131.107.10.10/whoami"] }
        let result = try lab.exec("client", arguments, timeout: 20)
        var ok = 0
        var failed: [String] = []
        var vms: Set<String> = []
        let lines = result.output.split(separator: "\n")
        for line in lines {
            let fields = line.split(separator: " ", maxSplits: 2)
            if fields.first == "200" {
                ok += 1
                if fields.count > 1 { vms.insert(String(fields[1])) }
            } else {
                failed.append(String(line))
            }
        }
        if lines.count < count { failed.append("curl reported \(lines.count) of \(count) transfers: \(result.error)") }
        return (ok, failed, vms)
    }

    /// Polls `condition` every 50 ms until it holds; throws after `seconds`.
    func wait(_ what: String, within seconds: Double, _ condition: () throws -> Bool) throws {
        let deadline = LabClock.now() + seconds
        while try !condition() {
            guard LabClock.now() < deadline else {
                throw LabError("timed out after \(seconds) s waiting for \(what)\n\(lab.logTails())")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    static func json(_ text: String) throws -> [String: Any] {
        guard let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw LabError("not a JSON object: '\(text)'") }
        return object
    }

    static func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }

    /// Spoofed TCP connection attempts to 131.107.10.10:80 from the client's eth0 (raw frames
    /// to nvlb's external MAC): arguments COUNT RATE LAG OFFSET. Each source of 198.18.0.0/15
    /// (from the OFFSET-th on) sends a
    /// SYN and LAG seconds later an ACK (its DIP's SYN-ACK has then passed through nvlb, so the
    /// ACK completes the handshake in nvlb's flow table; the DIP answers it with a RST, having
    /// another sequence number in mind). Bounded: COUNT sources at RATE a second. Prints JSON.
    static let floodScript = """
        import json, socket, struct, sys, time
        count, rate, lag, offset = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("eth0", 0))
        head = bytes.fromhex("024c42000001" "0200000000fe" "0800")
        vip = socket.inet_aton("131.107.10.10")
        def checksum(b):
            if len(b) % 2: b += b"\\0"
            total = sum(struct.unpack("!%dH" % (len(b) // 2), b))
            while total >> 16: total = (total & 0xFFFF) + (total >> 16)
            return ~total & 0xFFFF
        def frame(i, flags):
            source = struct.pack("!I", (198 << 24 | 18 << 16) + 1 + offset + i)
            port = 1024 + i % 60000
            seq = (i * 2654435761) & 0xFFFFFFFF
            if flags == 0x10: seq = (seq + 1) & 0xFFFFFFFF
            tcp = struct.pack("!HHIIBBHHH", port, 80, seq, 12345 if flags == 0x10 else 0, 5 << 4, flags, 64240, 0, 0)
            tcp = tcp[:16] + struct.pack("!H", checksum(source + vip + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0, 64, 6, 0, source, vip)
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            return head + ip + tcp
        start = time.monotonic()
        syns = acks = 0
        while acks < count:
            now = time.monotonic() - start
            while syns < count and syns <= now * rate:
                s.send(frame(syns, 0x02)); syns += 1
            while acks < syns and acks <= (now - lag) * rate:
                s.send(frame(acks, 0x10)); acks += 1
            time.sleep(0.002)
        print(json.dumps({"sources": count, "syns": syns, "acks": acks, "seconds": round(time.monotonic() - start, 2)}))
        """

    /// A bad client of the management API on 127.0.0.1:PORT: arguments HOLD PORT TOKEN OPERATOR.
    /// First a `PUT /v1/config` of a 10 MB body with the OPERATOR's token (a body that large is
    /// refused whoever sends it) and 2 s of GETs with wrong tokens (a JSON line of the
    /// statuses); then 200 slowloris connections (a header line a second, never the end of the
    /// headers) and up to 1,000 idle ones, "holding" them for HOLD seconds, "closed", and a JSON
    /// line of how many it opened.
    static let badClientScript = """
        import json, resource, socket, sys, time
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
        hold, port, token, operator = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
        def connect(timeout=5):
            return socket.create_connection(("127.0.0.1", port), timeout=timeout)
        def status_of(c):
            data = b""
            while b"\\r\\n" not in data:
                chunk = c.recv(4096)
                if not chunk: break
                data += chunk
            try: return int(data.split(b" ")[1])
            except Exception: return -1
        phase1 = {"big_body_status": None, "wrong_token_statuses": {}}
        try:
            c = connect()
            c.sendall(b"PUT /v1/config HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer " + operator.encode() + b"\\r\\nContent-Type: application/json\\r\\nContent-Length: 10485760\\r\\n\\r\\n")
            try:
                for _ in range(160): c.sendall(b"x" * 65536)
            except OSError: pass
            phase1["big_body_status"] = status_of(c)
            c.close()
        except OSError as e: phase1["big_body_status"] = "%s: %s" % (type(e).__name__, e)
        end = time.monotonic() + 2
        while time.monotonic() < end:
            try:
                c = connect()
                c.sendall(b"GET /v1/status HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer " + token.encode() + str(time.monotonic()).encode() + b"\\r\\nConnection: close\\r\\n\\r\\n")
                key = str(status_of(c))
                c.close()
            except OSError as e: key = type(e).__name__
            phase1["wrong_token_statuses"][key] = phase1["wrong_token_statuses"].get(key, 0) + 1
        print(json.dumps(phase1, sort_keys=True), flush=True)
        slow, idle, failures = [], [], 0
        for _ in range(200):
            try:
                c = connect(1); c.sendall(b"GET /v1/status HTTP/1.1\\r\\nHost: x\\r\\n"); slow.append(c)
            except OSError: failures += 1
        for _ in range(1000):
            if failures >= 3: break
            try: idle.append(connect(1))
            except OSError: failures += 1
        print("holding", flush=True)
        end = time.monotonic() + hold
        while time.monotonic() < end:
            for c in slow:
                try: c.sendall(b"X-Slow: 1\\r\\n")
                except OSError: pass
            time.sleep(1)
        for c in slow + idle: c.close()
        print("closed", flush=True)
        print(json.dumps({"slowloris": len(slow), "idle": len(idle), "refused_or_timed_out": failures}, sort_keys=True), flush=True)
        """
}

/// A process started in a lab namespace, its output (stdout and stderr) in a .log of the run
/// directory (lab/down.sh removes those), bounded by `timeout`.
final class LabProcess {
    let pid: pid_t
    let outputPath: String
    private var status: Int32?

    init(lab: Lab, in name: String, _ arguments: [String], name file: String, timeout: Double) throws {
        outputPath = lab.runDirectory.appendingPathComponent("\(file).log").path
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw LabError("cannot create \(outputPath)") }
        defer { close(output) }
        pid = try Shell.spawn(
            Shell.timed(["ip", "netns", "exec", lab.namespace(name)] + arguments, timeout), input: nil, output: output,
            error: output)
    }

    var isRunning: Bool {
        if status == nil { status = Shell.poll(pid) }
        return status == nil
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Waits for the end (bounded); the output, trimmed.
    func finish(within seconds: Double) throws -> String {
        let deadline = LabClock.now() + seconds
        while isRunning && LabClock.now() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        guard !isRunning else {
            kill()
            throw LabError("\(outputPath): did not end within \(seconds) s")
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func kill() {
        guard isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        status = Shell.wait(pid)
    }

    deinit { kill() }
}

/// Sends `signal` to `pid` `perSecond` times a second for `seconds`, on a schedule, from a
/// thread of its own.
final class SignalStorm: @unchecked Sendable {
    private let lock = NSLock()
    private var sent = 0
    private var done = false

    init(pid: pid_t, signal: Int32, perSecond: Int, seconds: Int) {
        Thread.detachNewThread { [self] in
            let start = LabClock.now()
            for index in 0..<(perSecond * seconds) {
                let due = start + Double(index) / Double(perSecond)
                let delay = due - LabClock.now()
                if delay > 0 { usleep(UInt32(delay * 1e6)) }
                if Glibc.kill(pid, signal) == 0 { lock.withLock { sent += 1 } }
            }
            lock.withLock { done = true }
        }
    }

    var isRunning: Bool { lock.withLock { !done } }

    /// Waits for the end; the signals delivered.
    func wait() -> Int {
        while isRunning { usleep(10_000) }
        return lock.withLock { sent }
    }
}

extension NVLBLog {
    /// Occurrences of `text` in the log.
    func count(_ text: String) -> Int { self.text.components(separatedBy: text).count - 1 }
}

extension Lab.ManyResult {
    static func decode(_ text: String) throws -> Lab.ManyResult {
        guard let data = text.data(using: .utf8), let result = try? JSONDecoder().decode(Self.self, from: data) else {
            throw LabError("http-client.py many: unexpected output '\(text)'")
        }
        return result
    }
}
