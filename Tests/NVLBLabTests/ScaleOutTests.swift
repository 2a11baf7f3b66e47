import Foundation
import NVLBTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LabSuites {
    /// Two `nvlb run` instances behind a BIRD 2 router doing ECMP, announced over BGP by their
    /// ExaBGP children (lab/scaleout-up.sh, docs/lab.md "Scale-out lab"). Skipped with the
    /// reason when not root, without namespaces, BIRD or ExaBGP.
    @Suite("Scale-out behind ECMP")
    struct ScaleOutTests {
        static let vip = "http://131.107.10.10/whoami"

        static var unavailableReason: String? {
            if let reason = LabEnvironment.labUnavailableReason { return reason }
            if let reason = LabEnvironment.nvlbRunUnavailableReason { return reason }
            if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/bird") { return "needs BIRD 2 (Debian bird2)" }
            if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/exabgp") {
                return "needs ExaBGP (Debian exabgp)"
            }
            if !FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") {
                return "needs curl (the slow downloads)"
            }
            return nil
        }

        @Test("Two sessions and next hops; 200 connections over both; SIGTERM drains; SIGKILL fails over")
        func scaleOut() throws {
            if let reason = Self.unavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            let lab = Lab(tag: "s", configuration: URL(fileURLWithPath: "/dev/null"))
            Lab.removeStaleLabs()
            let down = LabEnvironment.labDirectory.appendingPathComponent("down.sh").path
            defer {
                _ = try? Shell.run(
                    [down, "--prefix", lab.prefix, "--run-dir", lab.runDirectory.path, "--quiet"], timeout: 60)
            }
            let up = try Shell.run(
                [
                    LabEnvironment.labDirectory.appendingPathComponent("scaleout-up.sh").path, "--prefix", lab.prefix,
                    "--bin", LabEnvironment.binDirectory.path, "--run-dir", lab.runDirectory.path, "--lifetime", "240",
                ], timeout: 120)
            try #require(up.status == 0, "lab/scaleout-up.sh failed (\(up.status)):\n\(up.error)\n\(up.output)")

            // The configuration serves the VMs' port 80 behind a public and an internal VIP:
            // one rule of each kind, so nvlb check has nothing to warn about.
            let check = try Shell.run(
                [
                    LabEnvironment.nvlb.path, "check", "--config",
                    lab.runDirectory.appendingPathComponent("lb1.yaml").path,
                ],
                timeout: 20)
            #expect(check.status == 0 && !check.output.contains("warning"), "\(check.output)\(check.error)")

            // Both BGP sessions established; the VIP and the shared PA each with two next hops.
            let socket = lab.runDirectory.appendingPathComponent("bird.ctl").path
            let protocols = try Shell.run(["birdc", "-s", socket, "show", "protocols"], timeout: 10).output
            let established = protocols.split(separator: "\n").filter { $0.contains("Established") }
            #expect(established.count == 2, "\(protocols)")
            let birdRoutes = try Shell.run(["birdc", "-s", socket, "show", "route"], timeout: 10).output
            #expect(birdRoutes.contains("131.107.10.10/32") && birdRoutes.contains("192.168.6.2/32"), "\(birdRoutes)")
            #expect(try nextHops(lab, "131.107.10.10") == ["192.168.6.11", "192.168.6.12"])
            #expect(try nextHops(lab, "192.168.6.2") == ["192.168.6.11", "192.168.6.12"])

            // The management API's metrics show the session and the announcements.
            let wanted = [
                "nvlb_bgp_peer_up{peer=\"192.168.6.1\"} 1", "nvlb_vip_announced{vip=\"131.107.10.10\"} 1",
                "nvlb_vip_announced{vip=\"192.168.6.2\"} 1",
            ]
            var metrics = ""
            for _ in 0..<50 {
                metrics = try lab.exec("lb1", ["curl", "-s", "http://127.0.0.1:9180/metrics"], timeout: 10).output
                if wanted.allSatisfy({ metrics.contains($0) }) { break }
                usleep(200_000)
            }
            for line in wanted { #expect(metrics.contains(line), "\(metrics)") }

            // `GET /v1/status` has the same in its `bgp` block, on both instances.
            let bothAnnounced = ["131.107.10.10": true, "192.168.6.2": true]
            for name in ["lb1", "lb2"] {
                let status = try awaitStatus(lab, name) {
                    $0.peers == ["192.168.6.1": true] && $0.announced == bothAnnounced
                }
                #expect(
                    status?.peers == ["192.168.6.1": true] && status?.announced == bothAnnounced,
                    "\(name): bgp block of /v1/status: \(String(describing: status))")
            }

            // 200 connections, all answered; both instances carry traffic (frames the bridge
            // delivered to each, beyond BGP's few keepalives).
            let before = try bridgeFrames(lab)
            let many = try lab.requests(from: "client", Self.vip, count: 200)
            #expect(many.ok == 200, "\(many)\n\(lab.logTails())")
            #expect(many.by.count == 2, "answers from \(many.by)")
            let after = try bridgeFrames(lab)
            for name in ["lb1", "lb2"] {
                #expect((after[name] ?? 0) - (before[name] ?? 0) > 200, "\(name): \(before) → \(after)")
            }

            // Every DIP at weight 0 (SIGHUP reload on both): the VIP is withdrawn, the PA stays;
            // weights back: announced again.
            func reloadBoth(weight: Int?) throws {
                for name in ["lb1", "lb2"] {
                    let path = lab.runDirectory.appendingPathComponent("\(name).yaml")
                    var text = try String(contentsOf: path, encoding: .utf8)
                    for ca in ["10.1.6.20", "10.1.6.21"] {
                        text = text.replacingOccurrences(of: "ca: \(ca), weight: 0 }", with: "ca: \(ca) }")
                        if weight == 0 {
                            text = text.replacingOccurrences(of: "ca: \(ca) }", with: "ca: \(ca), weight: 0 }")
                        }
                    }
                    try text.write(to: path, atomically: true, encoding: .utf8)
                    kill(try nvlbPID(lab, name), SIGHUP)
                }
            }
            func waitForHops(_ prefix: String, _ expected: [String]) throws -> Bool {
                for _ in 0..<200 {
                    if try nextHops(lab, prefix) == expected { return true }
                    Thread.sleep(forTimeInterval: 0.05)
                }
                return false
            }
            try reloadBoth(weight: 0)
            #expect(try waitForHops("131.107.10.10", []), "VIP still routed with every DIP at weight 0")
            #expect(try nextHops(lab, "192.168.6.2") == ["192.168.6.11", "192.168.6.12"])
            // The status no longer lists the VIP among the prefixes to announce; the PA stays.
            let withdrawn = try awaitStatus(lab, "lb1") { $0.announced == ["192.168.6.2": true] }
            #expect(withdrawn?.announced == ["192.168.6.2": true], "\(String(describing: withdrawn))")
            try reloadBoth(weight: nil)
            #expect(try waitForHops("131.107.10.10", ["192.168.6.11", "192.168.6.12"]), "VIP not announced again")
            let reannounced = try awaitStatus(lab, "lb1") { $0.announced == bothAnnounced }
            #expect(reannounced?.announced == bothAnnounced, "\(String(describing: reannounced))")
            #expect(try lab.requests(from: "client", Self.vip, count: 20).ok == 20)

            // The speaker dies alone: the session drops, nvlb restarts it and announces again.
            let speaker = try processPID(lab, "lb1", command: "exabgp")
            kill(speaker, SIGKILL)
            // Until the restart (1 s of backoff, then ExaBGP's start and the session), the router
            // has one next hop and lb1's status shows its session down and nothing announced.
            var sawOneHop = false
            var sawSessionDown = false
            let speakerKilled = Date()
            while !(sawOneHop && sawSessionDown) && Date().timeIntervalSince(speakerKilled) < 15 {
                if !sawOneHop { sawOneHop = try nextHops(lab, "131.107.10.10") == ["192.168.6.12"] }
                if !sawSessionDown, let status = try bgpStatus(lab, "lb1") {
                    sawSessionDown =
                        status.peers == ["192.168.6.1": false]
                        && status.announced == ["131.107.10.10": false, "192.168.6.2": false]
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            #expect(sawOneHop, "lb1's routes stayed without its speaker")
            #expect(sawSessionDown, "lb1's /v1/status never showed its session down\n\(lab.logTails())")
            #expect(
                try waitForHops("131.107.10.10", ["192.168.6.11", "192.168.6.12"]),
                "no re-announcement after the speaker's restart\n\(lab.logTails())")
            #expect(try waitForHops("192.168.6.2", ["192.168.6.11", "192.168.6.12"]))
            let restored = try awaitStatus(lab, "lb1") {
                $0.peers == ["192.168.6.1": true] && $0.announced == bothAnnounced
            }
            #expect(restored?.peers == ["192.168.6.1": true] && restored?.announced == bothAnnounced)

            // SIGTERM one instance during a stream of connections: its routes are withdrawn
            // while it still runs (it keeps forwarding for drain_seconds), no request fails.
            let streamLog = lab.runDirectory.appendingPathComponent("stream.json").path
            let stream = try startRequests(lab, count: 400, output: streamLog)
            let draining = try nvlbPID(lab, "lb2")
            Thread.sleep(forTimeInterval: 0.3)
            kill(draining, SIGTERM)
            let termed = Date()
            var withdrawnWhileRunning = false
            while Date().timeIntervalSince(termed) < 10 {
                if try nextHops(lab, "131.107.10.10") == ["192.168.6.11"] {
                    withdrawnWhileRunning = kill(draining, 0) == 0
                    break
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(withdrawnWhileRunning, "lb2's routes were not withdrawn before it exited\n\(lab.logTails())")
            while kill(draining, 0) == 0 && Date().timeIntervalSince(termed) < 15 {
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(kill(draining, 0) != 0, "lb2 still runs 15 s after SIGTERM")
            #expect(Shell.wait(stream) == 0)
            let streamed = try JSONDecoder().decode(
                Lab.ManyResult.self, from: Data(contentsOf: URL(fileURLWithPath: streamLog)))
            #expect(streamed.ok == 400 && streamed.failed == 0, "\(streamed)")
            let lb2Log =
                (try? String(contentsOf: lab.runDirectory.appendingPathComponent("lb2.log"), encoding: .utf8)) ?? ""
            #expect(lb2Log.contains("bgp: draining: withdrawing 2 prefixes") && lb2Log.contains("bgp: drain over"))

            // Started again: two next hops again.
            let restarted = try startInstance(lab, "lb2")
            defer { kill(restarted, SIGKILL); _ = Shell.wait(restarted) }
            var back = false
            for _ in 0..<300 where !back {
                back = try nextHops(lab, "131.107.10.10") == ["192.168.6.11", "192.168.6.12"]
                if !back { Thread.sleep(forTimeInterval: 0.1) }
            }
            #expect(back, "lb2 did not come back within 30 s\n\(lab.logTails())")

            // SIGKILL one instance: its ExaBGP dies with it, the session drops, the router
            // keeps one next hop; new connections succeed within 10 s (none fails here).
            // Six slow downloads (2 MB at 400 KB/s) and a stream of connections run
            // across the kill: the flows lb1 carried move to lb2 and keep their DIP.
            var blobs = blobStarts(lab)
            let downloads = try (0..<6).map { index in
                try startDownload(lab, output: lab.runDirectory.appendingPathComponent("download\(index).txt").path)
            }
            let killStreamLog = lab.runDirectory.appendingPathComponent("kill-stream.json").path
            let opened = try activeOpens(lab)
            let killStream = try startRequests(lab, seconds: 16, output: killStreamLog)
            #expect(try awaitBlobStarts(lab, blobs + 6), "the 6 downloads did not start\n\(lab.logTails())")
            // The stream is under way (the client's kernel opened 50 connections beyond the downloads').
            let start = Date()
            while try activeOpens(lab) < opened + 56 && Date().timeIntervalSince(start) < 10 {
                Thread.sleep(forTimeInterval: 0.02)
            }
            let pid = try nvlbPID(lab, "lb1")
            let killed = Date()
            kill(pid, SIGKILL)
            var hops: [String] = []
            while Date().timeIntervalSince(killed) < 15 {
                hops = try nextHops(lab, "131.107.10.10")
                if hops == ["192.168.6.12"] { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            let failover = Date().timeIntervalSince(killed)
            #expect(hops == ["192.168.6.12"], "next hops 15 s after SIGKILL: \(hops)")
            #expect(try nextHops(lab, "192.168.6.2") == ["192.168.6.12"])
            let afterKill = try lab.requests(from: "client", Self.vip, count: 50)
            #expect(afterKill.ok == 50, "\(afterKill)\n\(lab.logTails())")
            #expect(Shell.wait(killStream) == 0)
            let streamedAcrossKill = try JSONDecoder().decode(
                Lab.ManyResult.self, from: Data(contentsOf: URL(fileURLWithPath: killStreamLog)))
            // Each request's start, duration and outcome, relative to the kill: the last failed
            // request's end is the failover time a client sees; every connection opened from
            // 10 s after the kill on must succeed, and the stream must reach that far.
            let times = (streamedAcrossKill.times ?? []).map {
                (
                    start: $0[0] - killed.timeIntervalSince1970, end: $0[0] + $0[1] - killed.timeIntervalSince1970,
                    ok: $0[2] == 1
                )
            }
            let failures = times.filter { !$0.ok }
            let lastFailure = failures.map(\.end).max()
            let firstAnswered = times.first { $0.start >= 0 && $0.ok }?.end
            #expect(streamedAcrossKill.failed == 0, "\(streamedAcrossKill)")
            #expect((lastFailure ?? 0) < 10, "a new connection failed \(lastFailure ?? 0) s after the SIGKILL")
            #expect(
                (firstAnswered ?? 99) < 10, "no new connection answered within 10 s of the SIGKILL: \(times.suffix(5))")
            #expect(
                times.contains { $0.start >= 10 && $0.ok },
                "the stream ended before 10 s after the kill: \(times.suffix(3))")
            print(
                "scale-out: SIGKILL of an instance: one next hop after \(String(format: "%.2f", failover)) s;"
                    + " \(streamedAcrossKill.failed) of \(times.count) requests streamed over \(String(format: "%.1f", streamedAcrossKill.seconds)) s failed"
                    + (lastFailure.map { ", the last ending \(String(format: "%.2f", $0)) s after the kill" } ?? "")
                    + "; \(times.filter { $0.start >= 0 }.count) started after the kill, the first answered"
                    + " \(firstAnswered.map { String(format: "%.2f", $0) } ?? "never") s after it")
            for (index, download) in downloads.enumerated() {
                #expect(Shell.wait(download) == 0)
                let result =
                    (try? String(
                        contentsOf: lab.runDirectory.appendingPathComponent("download\(index).txt"), encoding: .utf8))
                    ?? ""
                #expect(result == "200 2000000", "download \(index): '\(result)'")
            }

            // The killed instance started again, during four slower downloads (2 MB at 200 KB/s):
            // two next hops again; ECMP moves some of the open flows back to lb1, which has no
            // state for them, and the downloads still complete; new connections reach both.
            blobs = blobStarts(lab)
            let returnDownloads = try (0..<4).map { index in
                try startDownload(
                    lab, output: lab.runDirectory.appendingPathComponent("return\(index).txt").path, rate: 200_000)
            }
            #expect(try awaitBlobStarts(lab, blobs + 4), "the 4 downloads did not start\n\(lab.logTails())")
            let framesBeforeReturn = try bridgeFrames(lab)
            let restarting = Date()
            let lb1Again = try startInstance(lab, "lb1")
            defer { kill(lb1Again, SIGKILL); _ = Shell.wait(lb1Again) }
            var twoHops = false
            while !twoHops && Date().timeIntervalSince(restarting) < 30 {
                twoHops = try nextHops(lab, "131.107.10.10") == ["192.168.6.11", "192.168.6.12"]
                if !twoHops { Thread.sleep(forTimeInterval: 0.05) }
            }
            let returned = Date().timeIntervalSince(restarting)
            #expect(twoHops, "lb1 did not come back within 30 s of its restart\n\(lab.logTails())")
            #expect(try waitForHops("192.168.6.2", ["192.168.6.11", "192.168.6.12"]))
            let afterReturn = try lab.requests(from: "client", Self.vip, count: 100)
            #expect(afterReturn.ok == 100, "\(afterReturn)\n\(lab.logTails())")
            for (index, download) in returnDownloads.enumerated() {
                #expect(Shell.wait(download) == 0)
                let result =
                    (try? String(
                        contentsOf: lab.runDirectory.appendingPathComponent("return\(index).txt"), encoding: .utf8))
                    ?? ""
                #expect(result == "200 2000000", "download \(index) across lb1's return: '\(result)'")
            }
            let framesAfterReturn = try bridgeFrames(lab)
            #expect(
                (framesAfterReturn["lb1"] ?? 0) - (framesBeforeReturn["lb1"] ?? 0) > 100,
                "lb1 carries no traffic after its restart: \(framesBeforeReturn) → \(framesAfterReturn)")
            print(
                "scale-out: the SIGKILLed instance, started again, is a next hop again after"
                    + " \(String(format: "%.2f", returned)) s; 4 downloads across its return complete")
        }

        /// `http-client.py many` from the client in the background, its JSON to `output`: `count`
        /// requests, or as many as `seconds` allow (with each one's time and outcome).
        func startRequests(_ lab: Lab, count: Int = 0, seconds: Double = 0, output: String) throws -> pid_t {
            let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw LabError("cannot create \(output)") }
            defer { close(fd) }
            let script = LabEnvironment.labDirectory.appendingPathComponent("http-client.py").path
            return try Shell.spawn(
                Shell.timed(
                    [
                        "ip", "netns", "exec", lab.namespace("client"), Lab.python, script, "many", Self.vip, "--count",
                        String(count), "--seconds", String(seconds), "--times", "--timeout", "3",
                    ], 120),
                input: nil, output: fd, error: fd)
        }

        /// A download of 2 MB from the VIP by curl in the client namespace, paced by the VM at
        /// `rate` bytes a second (which logs `blob:` as it starts); its output is `STATUS BYTES`.
        func startDownload(_ lab: Lab, output: String, rate: Int = 400_000) throws -> pid_t {
            let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw LabError("cannot create \(output)") }
            defer { close(fd) }
            return try Shell.spawn(
                Shell.timed(
                    [
                        "ip", "netns", "exec", lab.namespace("client"), "curl", "-s", "-o", "/dev/null", "-w",
                        "%{http_code} %{size_download}", "http://131.107.10.10/blob?size=2000000&rate=\(rate)",
                    ], 60),
                input: nil, output: fd, error: fd)
        }

        /// Starts `nvlb run` of instance `name` again (log appended to its log file).
        func startInstance(_ lab: Lab, _ name: String) throws -> pid_t {
            let path = lab.runDirectory.appendingPathComponent("\(name).log").path
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw LabError("cannot open \(path)") }
            defer { close(fd) }
            return try Shell.spawn(
                Shell.timed(
                    [
                        "ip", "netns", "exec", lab.namespace(name), LabEnvironment.nvlb.path, "run", "--config",
                        lab.runDirectory.appendingPathComponent("\(name).yaml").path, "--stats-interval", "0",
                    ], 120),
                input: nil, output: fd, error: fd)
        }

        /// Downloads the VMs have started so far (the `blob:` lines of their logs).
        func blobStarts(_ lab: Lab) -> Int {
            ["blue-vm1", "blue-vm2"].reduce(0) { total, vm in
                let log =
                    (try? String(contentsOf: lab.runDirectory.appendingPathComponent("\(vm).log"), encoding: .utf8))
                    ?? ""
                return total + log.components(separatedBy: "blob: ").count - 1
            }
        }

        /// TCP connections the client's kernel has opened so far (`ActiveOpens` of /proc/net/snmp).
        func activeOpens(_ lab: Lab) throws -> Int {
            let lines = try lab.exec("client", ["cat", "/proc/net/snmp"], timeout: 10).output.split(separator: "\n")
            let tcp = lines.filter { $0.hasPrefix("Tcp:") }.map { $0.split(separator: " ") }
            guard tcp.count == 2, let column = tcp[0].firstIndex(of: "ActiveOpens"), column < tcp[1].count,
                let value = Int(tcp[1][column])
            else { throw LabError("no Tcp ActiveOpens in the client's /proc/net/snmp") }
            return value
        }

        /// Whether the VMs have started `count` downloads in all within 15 s.
        func awaitBlobStarts(_ lab: Lab, _ count: Int) throws -> Bool {
            let start = Date()
            while blobStarts(lab) < count {
                guard Date().timeIntervalSince(start) < 15 else { return false }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return true
        }

        /// The `bgp` block of `GET /v1/status` (docs/openapi.yaml `Status`).
        struct BGPStatus: Decodable, Equatable {
            var peers: [String: Bool]
            var announced: [String: Bool]
        }

        /// Instance `name`'s `bgp` status block (nil when the status has none), read with the
        /// lab's token from the management API on its loopback.
        func bgpStatus(_ lab: Lab, _ name: String) throws -> BGPStatus? {
            struct Status: Decodable { var bgp: BGPStatus? }
            let tokens = try String(contentsOf: lab.runDirectory.appendingPathComponent("tokens"), encoding: .utf8)
            let secret = tokens.split(whereSeparator: \.isWhitespace).dropFirst().first.map(String.init) ?? ""
            let result = try lab.exec(
                name,
                ["curl", "-s", "-m", "5", "-H", "Authorization: Bearer \(secret)", "http://127.0.0.1:9180/v1/status"],
                timeout: 10)
            guard let data = result.output.data(using: .utf8),
                let status = try? JSONDecoder().decode(Status.self, from: data)
            else { throw LabError("GET /v1/status on \(name): '\(result.output.prefix(300))' \(result.error)") }
            return status.bgp
        }

        /// Polls instance `name`'s `bgp` status block for up to 10 s until `condition` holds; the last one read.
        func awaitStatus(_ lab: Lab, _ name: String, _ condition: (BGPStatus) -> Bool) throws -> BGPStatus? {
            let start = Date()
            var status = try bgpStatus(lab, name)
            while !(status.map(condition) ?? false) && Date().timeIntervalSince(start) < 10 {
                Thread.sleep(forTimeInterval: 0.1)
                status = try bgpStatus(lab, name)
            }
            return status
        }

        /// The next hops of `prefix` in the router's kernel table, sorted.
        func nextHops(_ lab: Lab, _ prefix: String) throws -> [String] {
            let output = try lab.exec("router", ["ip", "route", "show", prefix], timeout: 10).output
            var hops: [String] = []
            for line in output.split(separator: "\n") {
                let words = line.split(separator: " ")
                if let via = words.firstIndex(of: "via"), via + 1 < words.count { hops.append(String(words[via + 1])) }
            }
            return hops.sorted()
        }

        /// Frames the provider bridge sent to each instance (its port's TX counter).
        func bridgeFrames(_ lab: Lab) throws -> [String: Int] {
            var frames: [String: Int] = [:]
            for name in ["lb1", "lb2"] {
                let text = try lab.exec("pa", ["cat", "/sys/class/net/\(name)/statistics/tx_packets"], timeout: 10)
                    .output
                frames[name] = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
            return frames
        }

        /// The pid of the `nvlb run` of instance `name` (the child of the lab's `timeout`).
        func nvlbPID(_ lab: Lab, _ name: String) throws -> pid_t {
            try processPID(lab, name, command: "nvlb")
        }

        /// The pid of the process named `command` in instance `name`'s namespace.
        func processPID(_ lab: Lab, _ name: String, command wanted: String) throws -> pid_t {
            let pids = try Shell.run(["ip", "netns", "pids", lab.namespace(name)], timeout: 10).output
            for text in pids.split(separator: "\n") {
                guard let pid = Int32(text) else { continue }
                let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
                if command.trimmingCharacters(in: .whitespacesAndNewlines) == wanted { return pid }
            }
            throw LabError("no \(wanted) process in \(lab.namespace(name))")
        }
    }
}
