import Foundation
import NVLBTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LabSuites {
    /// Real TCP through `nvlb run` in the lab (issue 6): the external client to the public
    /// VIPs and the internal client to the CA VIP (docs/packets.md "Packet paths"), tenant isolation
    /// with overlapping CAs, and a SIGHUP reload that drains a DIP (weight 0) without
    /// breaking an open connection (docs/architecture.md "Backend selection").
    ///
    /// Runs `.build/<triple>/debug/nvlb run --config <copy of Config/lab.yaml>` in the lab's
    /// nvlb namespace; skips (cancels, with the reason) when `nvlb --help` lists no `run`, or
    /// when the lab cannot be built (not root, no namespaces).
    @Suite("End to end through nvlb run")
    struct EndToEndTests {
        static let externalVIP = "http://131.107.10.10/whoami"
        static let redVIP = "http://131.107.20.20:443/whoami"
        static let internalVIP = "http://10.1.5.100:8080/whoami"

        @Test("External and internal clients through nvlb; Red isolated; SIGHUP weight 0 drains")
        func endToEnd() throws {
            if let reason = LabEnvironment.labUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            if let reason = LabEnvironment.nvlbRunUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            let executable = LabEnvironment.nvlb.path

            // nvlb reloads the file it was started with: a copy the test may rewrite.
            let directory = try TestSupport.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let configuration = directory.appendingPathComponent("lab.yaml")
            try FileManager.default.copyItem(
                at: URL(fileURLWithPath: TestSupport.configPath("lab.yaml")), to: configuration)

            let lab = Lab(tag: "e", configuration: configuration)
            defer { lab.down() }
            try lab.up()
            let nvlb = try lab.startLoadBalancer(executable)
            defer { nvlb.kill() }

            // Ready when the first external request goes through (ARP for the VIP, the hosts'
            // ARP for hv3's PA…), at most 20 s.
            let ready = try lab.awaitAnswer(Self.externalVIP, while: nvlb)
            try #require(ready, "no answer from the public VIP within 20 s\n\(lab.logTails())")

            // 1. External client → public VIP: every request answered, by ≥ 2 of Blue's DIPs,
            //    which see the client's real address.
            let external = try lab.requests(from: "client", Self.externalVIP, count: 200)
            #expect(external.ok == 200, "\(external)\n\(lab.logTails())")
            #expect(external.by.count >= 2, "answers from \(external.by)")
            #expect(Set(external.by.keys).isSubset(of: Lab.blueVMs.keys), "\(external.by)")
            #expect(external.peers.keys.sorted() == ["203.0.113.10"], "the DIPs see the client: \(external.peers)")

            // 2. Internal client (Blue VSID 5002) → CA VIP: the same, in NVGRE both ways.
            let inside = try lab.requests(from: "blue-client", Self.internalVIP, count: 100)
            #expect(inside.ok == 100, "\(inside)\n\(lab.logTails())")
            #expect(inside.by.count >= 2, "answers from \(inside.by)")
            #expect(Set(inside.by.keys).isSubset(of: Lab.blueVMs.keys), "\(inside.by)")
            #expect(inside.peers.keys.sorted() == ["10.1.5.20"], "the DIPs see the client CA: \(inside.peers)")

            // 3. Red's VIP reaches Red's VMs only, though Blue has VMs of the same CAs (even on
            //    the same hosts).
            let red = try lab.requests(from: "client", Self.redVIP, count: 50)
            #expect(red.ok == 50, "\(red)\n\(lab.logTails())")
            #expect(red.by.count >= 2 && Set(red.by.keys).isSubset(of: Lab.redVMs.keys), "\(red.by)")
            Thread.sleep(forTimeInterval: 0.8)  // host counters are written twice a second
            let connections = try lab.connectionsByVM()
            for vm in Lab.blueVMs.keys {
                #expect(connections[vm]?["443"] == nil, "\(vm) was offered Red's port 443: \(connections)")
            }
            for vm in Lab.redVMs.keys {
                #expect(
                    connections[vm]?["80"] == nil && connections[vm]?["8080"] == nil,
                    "\(vm) was offered Blue's ports: \(connections)")
            }

            // 4. SIGHUP with one DIP at weight 0: the open connection keeps its DIP, new
            //    connections go to the others.
            let held = try lab.holdConnection(from: "client", Self.externalVIP)
            defer { held.close() }
            let first = try held.request(initial: true)
            let drained = try #require(first["vm"], "held connection: \(first)")
            let drainedCA = try #require(Lab.blueVMs[drained], "held connection answered by \(drained)")
            try setWeight(0, of: drainedCA, in: configuration)
            try #require(nvlb.isRunning, "nvlb exited before the reload\n\(lab.logTails())")
            nvlb.signal(SIGHUP)
            Thread.sleep(forTimeInterval: 2)
            #expect(nvlb.isRunning, "nvlb exited on SIGHUP\n\(lab.logTails())")

            let again = try held.request()
            #expect(again["vm"] == drained, "the open connection moved or broke: \(again)")
            let after = try lab.requests(from: "client", Self.externalVIP, count: 60)
            #expect(after.ok == 60, "\(after)\n\(lab.logTails())")
            #expect(after.by[drained] == nil, "new connections still reach drained \(drained): \(after.by)")
            #expect(after.by.count >= 2, "the remaining DIPs share the new connections: \(after.by)")
            let last = try held.request()
            #expect(last["vm"] == drained, "the open connection broke after new flows: \(last)")
            held.close()

            // 5. SIGTERM: clean exit, status 0.
            let status = nvlb.stop(within: 10)
            #expect(status == 0, "nvlb run exit status after SIGTERM: \(String(describing: status))\n\(lab.logTails())")
        }

        /// Sets the weight of `ca` among blue-web's backends, the only ones written with an
        /// explicit `weight: 1` in Config/lab.yaml.
        private func setWeight(_ weight: Int, of ca: String, in configuration: URL) throws {
            let text = try String(contentsOf: configuration, encoding: .utf8)
            let old = "{ vsid: 5001, ca: \(ca), weight: 1 }"
            try #require(text.components(separatedBy: old).count == 2, "blue-web's backend \(ca) not found once")
            try text.replacingOccurrences(of: old, with: "{ vsid: 5001, ca: \(ca), weight: \(weight) }")
                .write(to: configuration, atomically: true, encoding: .utf8)
        }
    }
}

/// A process started in a lab namespace (the load balancer), signalled and stopped by pid.
///
/// Started as `ip netns exec NS timeout -k 5 LIFETIME PROGRAM …`: `ip` executes `timeout`
/// in place (same pid), and `timeout` relays SIGHUP and SIGTERM to the program and exits
/// with its status, so the lab's lifetime bounds it even if the test dies.
final class LabDaemon {
    let pid: pid_t
    private var status: Int32?

    init(pid: pid_t) { self.pid = pid }

    var isRunning: Bool {
        if status == nil { status = Shell.poll(pid) }
        return status == nil
    }

    /// Sends `signal`: SIGHUP straight to the program, anything else through `timeout`.
    /// (`timeout` relays every signal it gets, but also arms its `-k` kill timer on it: a
    /// reload relayed through it would SIGKILL nvlb 5 s later.)
    func signal(_ signal: Int32) {
        guard isRunning else { return }
        Glibc.kill(signal == SIGHUP ? programPID : pid, signal)
    }

    /// The program `timeout` runs (its only child), or `timeout` itself if not found.
    var programPID: pid_t {
        let path = "/proc/\(pid)/task/\(pid)/children"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let child = text.split(separator: " ").first.flatMap({
                pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines))
            })
        else { return pid }
        return child
    }

    /// SIGTERM, then the exit status if it ends within `seconds` (nil: still running).
    func stop(within seconds: Double) -> Int32? {
        signal(SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        return status
    }

    /// Ends it whatever it does (idempotent).
    func kill() {
        guard isRunning else { return }
        if stop(within: 5) == nil {
            Glibc.kill(pid, SIGKILL)
            status = Shell.wait(pid)
        }
    }

    deinit { kill() }
}

/// `lab/http-client.py hold`: one keep-alive HTTP connection driven line by line.
final class HeldConnection {
    let pid: pid_t
    private let input: Int32
    private let output: Int32
    private var buffer: [UInt8] = []
    private var closed = false

    init(pid: pid_t, input: Int32, output: Int32) {
        self.pid = pid
        self.input = input
        self.output = output
    }

    /// One more request on the connection (the first is made at start): its JSON line.
    func request(initial: Bool = false, timeout: Double = 10) throws -> [String: String] {
        if !initial {
            let line = Array("again\n".utf8)
            guard write(input, line, line.count) == line.count else { throw LabError("held connection: write failed") }
        }
        let line = try readLine(timeout: timeout)
        guard let data = line.data(using: .utf8),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: String]
        else { throw LabError("held connection: unexpected output '\(line)'") }
        return object
    }

    private func readLine(timeout: Double) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw LabError("held connection: no answer within \(timeout) s") }
            var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&descriptor, 1, Int32(remaining * 1000) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(output, &chunk, chunk.count)
            guard count > 0 else { throw LabError("held connection: the client exited") }
            buffer += chunk[..<count]
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        let quit = Array("quit\n".utf8)
        _ = write(input, quit, quit.count)
        Glibc.close(input)
        Glibc.close(output)
        if Shell.poll(pid) == nil {
            Thread.sleep(forTimeInterval: 0.2)
            if Shell.poll(pid) == nil {
                Glibc.kill(pid, SIGKILL)
                _ = Shell.wait(pid)
            }
        }
    }

    deinit { close() }
}

extension Lab {
    /// Starts `executable run --config <configuration>` in the nvlb namespace, logging to
    /// `nvlb.log` in the run directory.
    /// `arguments` follow the configuration (e.g. `--io af_xdp`).
    func startLoadBalancer(_ executable: String, lifetime: Int = 300, arguments: [String] = []) throws -> LabDaemon {
        let logPath = runDirectory.appendingPathComponent("nvlb.log").path
        let log = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw LabError("cannot create \(logPath)") }
        defer { close(log) }
        let pid = try Shell.spawn(
            [
                "ip", "netns", "exec", namespace("lb"), "/usr/bin/timeout", "-k", "5", String(lifetime), executable,
                "run", "--config", configuration.path,
            ] + arguments, input: nil, output: log, error: log)
        return LabDaemon(pid: pid)
    }

    /// Opens a keep-alive connection from namespace `name` to `url` (first request made).
    func holdConnection(from name: String, _ url: String) throws -> HeldConnection {
        var toClient: [Int32] = [0, 0]
        var fromClient: [Int32] = [0, 0]
        guard pipe(&toClient) == 0, pipe(&fromClient) == 0 else { throw LabError("pipe failed") }
        // Only the child's copies (dup2'ed to 0, 1, 2) survive exec: nobody else may hold them.
        for descriptor in toClient + fromClient { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        let script = LabEnvironment.labDirectory.appendingPathComponent("http-client.py").path
        let pid = try Shell.spawn(
            Shell.timed(["ip", "netns", "exec", namespace(name), Lab.python, script, "hold", url], 120),
            input: toClient[0], output: fromClient[1], error: fromClient[1])
        close(toClient[0])
        close(fromClient[1])
        return HeldConnection(pid: pid, input: toClient[1], output: fromClient[0])
    }
}
