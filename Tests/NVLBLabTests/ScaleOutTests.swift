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
            if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/exabgp") { return "needs ExaBGP (Debian exabgp)" }
            return nil
        }

        @Test("Both sessions up, two next hops, 200 connections over both instances; SIGKILL leaves one next hop")
        func scaleOut() throws {
            if let reason = Self.unavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            let lab = Lab(tag: "s", configuration: URL(fileURLWithPath: "/dev/null"))
            Lab.removeStaleLabs()
            let down = LabEnvironment.labDirectory.appendingPathComponent("down.sh").path
            defer { _ = try? Shell.run([down, "--prefix", lab.prefix, "--run-dir", lab.runDirectory.path, "--quiet"], timeout: 60) }
            let up = try Shell.run(
                [
                    LabEnvironment.labDirectory.appendingPathComponent("scaleout-up.sh").path, "--prefix", lab.prefix,
                    "--bin", LabEnvironment.binDirectory.path, "--run-dir", lab.runDirectory.path, "--lifetime", "240",
                ], timeout: 120)
            try #require(up.status == 0, "lab/scaleout-up.sh failed (\(up.status)):\n\(up.error)\n\(up.output)")

            // Both BGP sessions established; the VIP and the shared PA each with two next hops.
            let socket = lab.runDirectory.appendingPathComponent("bird.ctl").path
            let protocols = try Shell.run(["birdc", "-s", socket, "show", "protocols"], timeout: 10).output
            let established = protocols.split(separator: "\n").filter { $0.contains("Established") }
            #expect(established.count == 2, "\(protocols)")
            let birdRoutes = try Shell.run(["birdc", "-s", socket, "show", "route"], timeout: 10).output
            #expect(birdRoutes.contains("131.107.10.10/32") && birdRoutes.contains("192.168.6.2/32"), "\(birdRoutes)")
            #expect(try nextHops(lab, "131.107.10.10") == ["192.168.6.11", "192.168.6.12"])
            #expect(try nextHops(lab, "192.168.6.2") == ["192.168.6.11", "192.168.6.12"])

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

            // SIGKILL one instance: its ExaBGP dies with it, the session drops, the router
            // keeps one next hop; new connections succeed.
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
            print("scale-out: one next hop \(String(format: "%.2f", failover)) s after SIGKILL of an instance")
            #expect(try nextHops(lab, "192.168.6.2") == ["192.168.6.12"])
            let afterKill = try lab.requests(from: "client", Self.vip, count: 50)
            #expect(afterKill.ok == 50, "\(afterKill)\n\(lab.logTails())")
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
                let text = try lab.exec("pa", ["cat", "/sys/class/net/\(name)/statistics/tx_packets"], timeout: 10).output
                frames[name] = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
            return frames
        }

        /// The pid of the `nvlb run` of instance `name` (the child of the lab's `timeout`).
        func nvlbPID(_ lab: Lab, _ name: String) throws -> pid_t {
            let pids = try Shell.run(["ip", "netns", "pids", lab.namespace(name)], timeout: 10).output
            for text in pids.split(separator: "\n") {
                guard let pid = Int32(text) else { continue }
                let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
                if command.trimmingCharacters(in: .whitespacesAndNewlines) == "nvlb" { return pid }
            }
            throw LabError("no nvlb process in \(lab.namespace(name))")
        }
    }
}
