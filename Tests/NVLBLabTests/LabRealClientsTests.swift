import Foundation
import NVLBTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LabSuites {
    /// The lab as real clients see it (docs/packets.md "ICMP and path MTU", "Frames from
    /// virtual links"): every sender at its default offloads (checksum offload, TSO, GSO), the
    /// Internet client at MTU 1500, the VMs at the 1458 bytes Hyper-V gives them.
    @Suite("Real clients: default offloads, MTU 1500")
    struct RealClientsTests {
        static let vip = "131.107.10.10"

        /// Config/lab.yaml with a UDP rule on the public VIP (port 53), for the path MTU check.
        static func configurationWithUDP(in directory: URL) throws -> URL {
            let text = try String(contentsOfFile: TestSupport.configPath("lab.yaml"), encoding: .utf8)
            let rule = "      - { protocol: tcp, frontend_port: 80, backend_port: 80, probe: web }\n"
            guard text.contains(rule) else { throw LabError("Config/lab.yaml: blue-web's rule not found") }
            let url = directory.appendingPathComponent("lab.yaml")
            try text.replacingOccurrences(
                of: rule, with: rule + "      - { protocol: udp, frontend_port: 53, backend_port: 53 }\n"
            ).write(to: url, atomically: true, encoding: .utf8)
            return url
        }

        /// Runs a Python script in lab namespace `name`; its standard output, trimmed.
        static func python(_ lab: Lab, in name: String, _ script: String, timeout: Double = 30) throws -> String {
            let result = try lab.exec(name, [Lab.python, "-c", script], timeout: timeout)
            guard result.status == 0 else {
                throw LabError("python in \(name) failed (\(result.status)): \(result.error)")
            }
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        @Test("200 external + 100 internal requests, a 1 MB upload, path MTU 1458 learnt, ping of the VIP")
        func realClients() throws {
            if let reason = LabEnvironment.labUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            if let reason = LabEnvironment.nvlbRunUnavailableReason { try Test.cancel(Comment(rawValue: reason)) }
            let directory = try TestSupport.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let lab = Lab(tag: "r", configuration: try Self.configurationWithUDP(in: directory))
            defer { lab.down() }
            try lab.up()
            let nvlb = try lab.startLoadBalancer(LabEnvironment.nvlb.path)
            defer { nvlb.kill() }

            // The Internet client has the usual MTU (and the kernel's default offloads).
            let mtu = try lab.exec("client", ["cat", "/sys/class/net/eth0/mtu"])
            #expect(mtu.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1500")

            let ready = try lab.awaitAnswer("http://\(Self.vip)/whoami", while: nvlb)
            try #require(ready, "no answer from the public VIP within 20 s\n\(lab.logTails())")

            let external = try lab.requests(from: "client", "http://\(Self.vip)/whoami", count: 200)
            #expect(external.ok == 200, "\(external)\n\(lab.logTails())")
            let inside = try lab.requests(from: "blue-client", "http://10.1.5.100:8080/whoami", count: 100)
            #expect(inside.ok == 100, "\(inside)\n\(lab.logTails())")

            // A 1 MB upload: full-size segments from a TSO sender, cut, clamped and
            // encapsulated; the VM's digest of what it received matches the client's.
            let upload = try Self.python(
                lab, in: "client",
                """
                import hashlib, http.client, random
                body = random.Random(10).randbytes(1 << 20)
                c = http.client.HTTPConnection("\(Self.vip)", 80, timeout=20)
                c.request("POST", "/sha256", body=body, headers={"Content-Type": "application/octet-stream"})
                r = c.getresponse()
                print(hashlib.sha256(body).hexdigest(), r.status, r.read().decode().strip(), r.getheader("X-VM"))
                """)
            let fields = upload.split(separator: " ").map(String.init)
            #expect(fields.count == 4, "\(upload)")
            if fields.count == 4 {
                #expect(fields[1] == "200", "\(upload)")
                #expect(fields[0] == fields[2], "sent \(fields[0]), the VM received \(fields[2])")
                #expect(Lab.blueVMs[fields[3]] != nil, "\(upload)")
            }

            // A 1472-byte UDP datagram with DF: nvlb answers "fragmentation needed" with MTU
            // 1458 and the client's kernel records that path MTU for the VIP.
            let pmtu = try Self.python(
                lab, in: "client",
                """
                import socket, time
                IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14  # linux/in.h
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
                s.connect(("\(Self.vip)", 53))
                before = s.getsockopt(socket.IPPROTO_IP, IP_MTU)
                mtu = before
                deadline = time.time() + 5
                while mtu >= 1500 and time.time() < deadline:
                    try:
                        s.send(b"x" * 1472)
                    except OSError:
                        pass
                    s.settimeout(0.2)
                    try:
                        s.recv(2048)
                    except OSError:
                        pass
                    mtu = s.getsockopt(socket.IPPROTO_IP, IP_MTU)
                print(before, mtu)
                """)
            #expect(pmtu == "1500 1458", "IP_MTU before and after: \(pmtu)\n\(lab.logTails())")

            // ICMP echo to the VIP, answered by nvlb, with a valid checksum and our payload.
            let echoes = try Self.python(
                lab, in: "client",
                """
                import os, socket, struct, time
                def checksum(b):
                    if len(b) % 2: b += b"\\0"
                    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
                    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
                    return ~s & 0xFFFF
                s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                ident, answered, payload = os.getpid() & 0xFFFF, 0, b"nvlb-echo" * 6
                for seq in range(3):
                    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
                    s.sendto(struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq) + payload, ("\(Self.vip)", 0))
                    deadline = time.time() + 2
                    while time.time() < deadline:
                        s.settimeout(max(deadline - time.time(), 0.01))
                        try:
                            data, address = s.recvfrom(4096)
                        except OSError:
                            break
                        icmp = data[(data[0] & 15) * 4:]
                        kind, _, _, i, q = struct.unpack("!BBHHH", icmp[:8])
                        if kind == 0 and i == ident and q == seq and address[0] == "\(Self.vip)":
                            answered += checksum(icmp) == 0 and icmp[8:] == payload
                            break
                print(answered)
                """)
            #expect(echoes == "3", "echo replies from the VIP: \(echoes)\n\(lab.logTails())")

            // The client's offloads were really at work: nvlb completed partial checksums and
            // cut the upload's super-frames (its final counters, docs/statistics.md).
            #expect(nvlb.stop(within: 10) == 0)
            let log = try String(
                contentsOf: lab.runDirectory.appendingPathComponent("nvlb.log"), encoding: .utf8)
            let final = log.split(separator: "\n").last { $0.contains("final counters:") }.map(String.init) ?? ""
            func figure(_ key: String) -> Int {
                guard let range = final.range(of: " \(key)=") else { return -1 }
                return Int(final[range.upperBound...].prefix { $0.isNumber }) ?? -1
            }
            #expect(figure("checksums_completed") > 0, "\(final)")
            #expect(figure("superframes") > 0, "\(final)")
            #expect(figure("superframe_drops") == 0, "\(final)")
            // The client's SYNs (MSS 1460 at MTU 1500) were clamped, the echoes and the too-big
            // datagram answered (docs/statistics.md "Counters").
            #expect(figure("mss_clamped") > 200, "\(final)")
            #expect(figure("echo_replies") == 3, "\(final)")
            #expect(figure("fragmentation_needed") >= 1, "\(final)")
            print("nvlb \(final)")

            // Every checksum nvlb wrote was right where it can be checked. The hosts verify each
            // inner frame they deliver (a VM's kernel may not); the Internet client's kernel
            // verifies nvlb's replies, echo replies and "fragmentation needed" itself.
            let stopped = Date()
            for host in ["hv1", "hv2", "hv3"] {
                let counters = try Self.settledHostCounters(lab, host, since: stopped)
                #expect(counters["inner_checksum_errors"] as? Int == 0, "\(host): \(counters)")
                #expect(counters["decapsulated"] as? Int ?? 0 > 0, "\(host) delivered nothing: \(counters)")
            }
            let client = try Self.kernelCounters(lab, in: "client")
            for key in [
                "Ip.InHdrErrors", "IpExt.InCsumErrors", "Tcp.InCsumErrors", "Udp.InCsumErrors", "Icmp.InCsumErrors",
            ] {
                #expect(client[key] == 0, "client's kernel: \(key) = \(client[key].map(String.init) ?? "absent")")
            }
            #expect(client["Tcp.InSegs"] ?? 0 > 1000, "client's kernel: \(client)")
            #expect(client["Icmp.InEchoReps"] ?? 0 >= 3 && client["Icmp.InDestUnreachs"] ?? 0 >= 1, "\(client)")
        }

        /// The counters of emulated host `host` once it has written them twice after `since`:
        /// a frame already queued on its sockets at `since` is counted by the second write
        /// (it writes them every 0.5 s, docs/lab.md "`nvlb-hvhost`: a Hyper-V host in user space").
        static func settledHostCounters(_ lab: Lab, _ host: String, since: Date, timeout: Double = 5) throws
            -> [String: Any]
        {
            let path = lab.runDirectory.appendingPathComponent("\(host).json").path
            var writes: Set<Date> = []
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let attributes = try? FileManager.default.attributesOfItem(atPath: path)
                if let written = attributes?[.modificationDate] as? Date, written > since { writes.insert(written) }
                if writes.count >= 2 { return try lab.hostCounters(host) }
                usleep(20_000)
            }
            throw LabError("\(host) did not write its counters twice within \(timeout) s\n\(lab.logTails())")
        }

        /// The kernel's IP counters in lab namespace `name` (/proc/net/snmp, /proc/net/netstat),
        /// as `Group.Name` (`Tcp.InCsumErrors`).
        static func kernelCounters(_ lab: Lab, in name: String) throws -> [String: Int] {
            let result = try lab.exec(name, ["cat", "/proc/net/snmp", "/proc/net/netstat"])
            guard result.status == 0 else { throw LabError("cat /proc/net/snmp in \(name): \(result.error)") }
            let lines = result.output.split(separator: "\n").map { $0.split(separator: " ") }
            var counters: [String: Int] = [:]
            // Pairs of lines: `Group: Name1 Name2 …` then `Group: value1 value2 …`.
            for (names, values) in zip(lines, lines.dropFirst())
            where names.first == values.first && names.count == values.count && Int(values.last ?? "") != nil {
                let group = names[0].dropLast()
                for (key, value) in zip(names.dropFirst(), values.dropFirst()) {
                    counters["\(group).\(key)"] = Int(value)
                }
            }
            return counters
        }
    }
}
