import Foundation
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import NVLBRuntime
import NVLBTestSupport
import NVLBWire
import Testing

/// docs/packets.md "ICMP and path MTU" through `nvlb replay`: every frame of `ICMPGolden`
/// in one capture, the fragments written after their first frame, `fragments_out` in the
/// statistics, and tshark's verdict on every checksum of every frame written.
@Suite struct ReplayPathMTUTests {
    /// (input, expected outputs in order) — the flows of later frames are opened by earlier ones.
    static let cases: [(input: [UInt8], outputs: [[UInt8]])] = [
        (ICMPGolden.externalSYNIn, [ICMPGolden.externalSYNOut]),
        (ICMPGolden.externalSYNACKIn, [ICMPGolden.externalSYNACKOut]),
        (ICMPGolden.internalSYNIn, [ICMPGolden.internalSYNOut]),
        (ICMPGolden.internalSYNACKIn, [ICMPGolden.internalSYNACKOut]),
        (ICMPGolden.externalBigDFIn, [ICMPGolden.externalFragNeededOut]),
        (ICMPGolden.internalBigDFIn, [ICMPGolden.internalFragNeededOut]),
        (ICMPGolden.externalBigIn, [ICMPGolden.fragment1Out, ICMPGolden.fragment2Out]),
        (ICMPGolden.optionsBigIn, [ICMPGolden.optionsFragment1Out, ICMPGolden.optionsFragment2Out]),
        (ICMPGolden.echoPAIn, [ICMPGolden.echoPAOut]),
        (ICMPGolden.echoVIPIn, [ICMPGolden.echoVIPOut]),
        (ICMPGolden.echoCAVIPIn, [ICMPGolden.echoCAVIPOut]),
        (ICMPGolden.routerErrorIn, [ICMPGolden.routerErrorOut]),
        (ICMPGolden.routerShortErrorIn, [ICMPGolden.routerShortErrorOut]),
        (ICMPGolden.dipErrorIn, [ICMPGolden.dipErrorOut]),
        (ICMPGolden.dipInternalErrorIn, [ICMPGolden.dipInternalErrorOut]),
        (ICMPGolden.clientInternalErrorIn, [ICMPGolden.clientInternalErrorOut]),
        (ICMPGolden.routerErrorNoRuleIn, []),
        (ICMPGolden.dipErrorNoFlowIn, []),
        (ICMPGolden.routerErrorShortQuoteIn, []),
        (ICMPGolden.redirectIn, []),
    ]

    @Test func replayWritesAnswersFragmentsAndForwardedErrors() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.pcap").path
        let output = directory.appendingPathComponent("out.pcap").path
        var writer = try PcapFileWriter(path: input)
        for (index, item) in Self.cases.enumerated() {
            try writer.write(
                item.input, timestamp: PacketTimestamp(seconds: 1_700_000_000, microseconds: UInt32(index)))
        }
        try writer.close()

        let snapshot = PolicySnapshot(configuration: TestPolicies.goldenExample())
        let stats = try Replay.run(snapshot: snapshot, input: input, output: output)
        var reader = try PcapFileReader(path: output)
        let frames = try reader.readAll().map(\.bytes)
        let expected = Self.cases.flatMap(\.outputs)
        #expect(frames.count == expected.count)
        for (index, (frame, want)) in zip(frames, expected).enumerated() {
            #expect(frame == want, "output frame \(index) differs")
        }

        #expect(stats.packetsIn == UInt64(Self.cases.count))
        #expect(stats.fragmentsOut == 2)
        #expect(stats.answered == 5)
        #expect(stats.dropped == 4)
        #expect(stats.packetsOut == UInt64(expected.count) - stats.answered)
        #expect(stats.packetsIn == stats.packetsOut - stats.fragmentsOut + stats.answered + stats.dropped)
        #expect(stats.drops["no_flow"] == 2 && stats.drops["malformed"] == 1 && stats.drops["unsupported"] == 1)
        let json = try JSONSerialization.jsonObject(with: Data(stats.json().utf8)) as? [String: Any]
        #expect(json?["fragments_out"] as? Int == 2)
        // The events of docs/statistics.md "Counters": 2 SYNs and 2 SYN-ACKs clamped, 3 echo replies,
        // 2 "fragmentation needed", 5 errors forwarded (the 4 others dropped).
        #expect(json?["mss_clamped"] as? Int == 4)
        #expect(json?["echo_replies"] as? Int == 3)
        #expect(json?["fragmentation_needed"] as? Int == 2)
        #expect(json?["icmp_errors_forwarded"] as? Int == 5)

        try Self.expectTsharkFindsNoBadChecksum(output, frames: expected.count)
    }

    /// tshark checks the IPv4, TCP, UDP and ICMP checksums of every layer it decodes (NVGRE
    /// inner frames, quoted packets, the datagram reassembled from fragments): status 0
    /// is "bad", 1 "good", 2 "unverified".
    static func expectTsharkFindsNoBadChecksum(_ path: String, frames: Int) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") else {
            print("tshark not installed (/usr/bin/tshark): checksum cross-check skipped")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        process.arguments = [
            "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o",
            "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=;", "-e", "frame.number", "-e",
            "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "udp.checksum.status", "-e",
            "icmp.checksum.status",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == frames)
        var good = [String: Int]()
        for line in lines {
            let fields = line.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            for (name, field) in zip(["ip", "tcp", "udp", "icmp"], fields.dropFirst()) {
                let statuses = field.split(separator: ",")
                #expect(!statuses.contains("0"), "tshark: bad \(name) checksum in frame \(fields[0]): \(line)")
                good[name, default: 0] += statuses.filter { $0 == "1" }.count
            }
        }
        // Every kind of checksum was actually verified somewhere.
        #expect(good["ip", default: 0] >= frames)
        #expect(good["tcp", default: 0] > 0 && good["udp", default: 0] > 0 && good["icmp", default: 0] > 0)
    }
}
