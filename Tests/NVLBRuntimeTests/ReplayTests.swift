import Foundation
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import NVLBRuntime
import NVLBTestSupport
import NVLBWire
import Testing

/// `Replay.run` over a generated capture: mixed external/internal requests, DIP
/// replies, ARP and bad frames, checked frame by frame with the Wire parser.
@Suite struct ReplayTests {
    /// Request from the Internet client, SYN-ACK of VM2, the client's ACK, then one of each bad kind.
    static func capture() -> [[UInt8]] {
        let request = FrameBuilder.tcp(
            srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client, dst: Actors.blueVIP, sport: 40000,
            dport: 80, flags: .syn)
        let replyInner = FrameBuilder.tcp(
            srcMAC: Actors.vm2MAC, dstMAC: Actors.blueGateway, src: Actors.vm2, dst: Actors.client, sport: 80,
            dport: 40000, flags: [.syn, .ack])
        let reply = FrameBuilder.encapsulate(
            inner: replyInner, outerSourceMAC: Actors.host1MAC, outerDestinationMAC: Actors.lbMAC,
            outerSource: Actors.host1PA,
            outerDestination: Actors.lbPA, vsid: 5001, flowID: 9)
        let ack = FrameBuilder.tcp(
            srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client, dst: Actors.blueVIP, sport: 40000,
            dport: 80, flags: .ack,
            payload: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let arp = FrameBuilder.arpRequest(senderMAC: Actors.host1MAC, senderIP: Actors.host1PA, targetIP: Actors.lbPA)
        let noVIP = FrameBuilder.tcp(
            srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client,
            dst: TestPolicies.ip("131.107.99.1"), sport: 1, dport: 80)
        let unknownVSID = FrameBuilder.encapsulate(
            inner: replyInner, outerSourceMAC: Actors.host1MAC, outerDestinationMAC: Actors.lbMAC,
            outerSource: Actors.host1PA,
            outerDestination: Actors.lbPA, vsid: 7777)
        return [request, reply, ack, arp, noVIP, unknownVSID, [0x00, 0x01]]
    }

    @Test func replayProducesTheFramesOfSpecSection3() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.pcap").path
        let output = directory.appendingPathComponent("out.pcap").path
        var writer = try PcapFileWriter(path: input)
        for (index, frame) in Self.capture().enumerated() {
            try writer.write(frame, timestamp: PacketTimestamp(seconds: 1_700_000_000, microseconds: UInt32(index)))
        }
        try writer.close()

        let snapshot = PolicySnapshot(configuration: TestPolicies.goldenExample())
        let stats = try Replay.run(snapshot: snapshot, input: input, output: output)
        var reader = try PcapFileReader(path: output)
        let frames = try reader.readAll().map { try ParsedFrame.parse($0.bytes) }
        #expect(frames.count == 4)
        #expect(frames.allSatisfy { $0.checksumsValid })

        // SYN → VM2 in NVGRE (VSID 5001) to host 1.
        #expect(frames[0].gre?.vsid == 5001)
        #expect(frames[0].ipv4?.destination == Actors.host1PA)
        #expect(frames[0].inner?.ipv4?.destination == Actors.vm2)
        #expect(frames[0].inner?.tcp?.flags == .syn)
        // SYN-ACK → plain IPv4 from the VIP to the Actors.client via the router.
        #expect(frames[1].destination == Actors.routerMAC && frames[1].source == Actors.externalMAC)
        #expect(frames[1].ipv4?.source == Actors.blueVIP && frames[1].tcp?.sourcePort == 80)
        // ACK with data → same DIP.
        #expect(frames[2].inner?.ipv4?.destination == Actors.vm2)
        #expect(frames[2].inner?.tcp?.payload == Array("GET / HTTP/1.1\r\n\r\n".utf8))
        // ARP answered for nvlb's PA.
        #expect(frames[3].arp?.senderIP == Actors.lbPA && frames[3].arp?.senderMAC == Actors.lbMAC)

        #expect(stats.packetsIn == 7)
        #expect(stats.packetsOut == 3 && stats.answered == 1 && stats.dropped == 3)
        #expect(stats.packetsIn == stats.packetsOut + stats.answered + stats.dropped)
        #expect(stats.drops["no_vip"] == 1 && stats.drops["unknown_vsid"] == 1 && stats.drops["malformed"] == 1)
        #expect(Set(stats.drops.keys) == Set(DropReason.allCases.map(\.name)))
        #expect(stats.backends["blue-web"]?["5001/10.1.6.21"] == 2)
        #expect(stats.backends["red-web"]?["6001/10.1.6.22"] == 0)
        #expect(stats.flowsCreated == 1 && stats.workers == 1)

        // The JSON document has the keys described in docs/statistics.md.
        let json = try JSONSerialization.jsonObject(with: Data(stats.json().utf8)) as? [String: Any]
        #expect(
            Set(json?.keys.map { $0 } ?? []) == [
                "packets_in", "packets_out", "fragments_out", "answered", "dropped", "drops", "flows_created",
                "handoffs", "mss_clamped", "echo_replies", "fragmentation_needed", "icmp_errors_forwarded",
                "workers", "seconds", "mpps", "backends",
            ])

        try Self.expectTsharkAgrees(output, frames: 4)
    }

    /// A frame longer than any link nvlb serves (the reader reports it as too large for the
    /// replay buffer) is counted as `malformed` and skipped; the frames around it are replayed.
    @Test func aFrameLongerThanTheReplayBufferIsCountedMalformed() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.pcap").path
        let output = directory.appendingPathComponent("out.pcap").path
        let frames = Self.capture()
        var writer = try PcapFileWriter(path: input, snapshotLength: 65_535)
        let tooLong = frames[0] + [UInt8](repeating: 0xA5, count: Replay.maximumFrame + 1 - frames[0].count)
        for (index, frame) in [frames[0], tooLong, frames[3]].enumerated() {
            try writer.write(frame, timestamp: PacketTimestamp(seconds: 1_700_000_000, microseconds: UInt32(index)))
        }
        try writer.close()

        let snapshot = PolicySnapshot(configuration: TestPolicies.goldenExample())
        let stats = try Replay.run(snapshot: snapshot, input: input, output: output)
        #expect(stats.packetsIn == 3)
        #expect(stats.packetsOut == 1 && stats.answered == 1 && stats.dropped == 1)
        #expect(stats.drops["malformed"] == 1)
        var reader = try PcapFileReader(path: output)
        let written = try reader.readAll().map { try ParsedFrame.parse($0.bytes) }
        #expect(written.count == 2)
        #expect(written.first?.gre?.vsid == 5001)
        #expect(written.last?.arp?.senderIP == Actors.lbPA)
    }

    /// tshark decodes every layer (GRE → inner Ethernet) and validates every checksum.
    static func expectTsharkAgrees(_ path: String, frames: Int) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") else {
            print("tshark not installed: checksum cross-check skipped")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        process.arguments = [
            "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o",
            "udp.check_checksum:TRUE", "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(process.terminationStatus == 0)
        #expect(lines.count == frames)
        // Status 2 means "bad"; 1 "good". Every IP and TCP layer of every frame must be good.
        for line in lines { #expect(!line.contains("2"), "tshark found a bad checksum: \(line)") }
    }
}
