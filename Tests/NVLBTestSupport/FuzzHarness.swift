import Foundation
import NVLBControl
import NVLBDataplane
import NVLBPolicy
import NVLBWire

/// The packet-pipeline fuzz harness (docs/robustness.md "Fuzzing"): any bytes become a short
/// sequence of frames run through one worker against the example policy, and every frame's
/// outcome is checked against the data plane's invariants. Used by the libFuzzer target in
/// `Fuzz/` and by the regression test that replays the committed corpus.
///
/// Input layout, so that the fuzzer can reach deep paths and flow state: records of
/// `[control, length, bytes…]` (a shorter tail is one last record). `control` bit 0: wrap the
/// bytes as the inner frame of NVGRE from a configured host (VSID and host picked by bits
/// 1–4), else use them as a whole frame; bit 5: plain frames get nvlb's external MAC
/// written as destination; bits 6–7 advance the flow clock.
public final class PipelineFuzzHarness {
    /// A broken invariant: the message says which frame and what.
    public struct Violation: Error, CustomStringConvertible {
        public var description: String
    }

    let configuration: PolicyConfiguration
    let snapshot: PolicySnapshot
    let worker: WorkerBox
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: Packet.headroom + 16_384, alignment: 64)
    /// (VSID, PA of a host in that VSID, MAC of a VM there) to wrap frames as NVGRE from.
    let senders: [(vsid: UInt32, pa: IPv4Address, mac: MACAddress)]
    /// VSID → routing domain index (tenant isolation check).
    let domainOfVSID: [UInt32: Int]

    /// A worker behind a reference (the data plane worker is non-copyable).
    final class WorkerBox {
        var worker: DataplaneWorker
        init(flowCapacity: Int) { worker = DataplaneWorker(flowCapacity: flowCapacity) }
    }

    /// A harness over `configuration` (default: the example policy, every path reachable).
    public init(configuration: PolicyConfiguration = TestPolicies.example()) {
        self.configuration = configuration
        snapshot = PolicySnapshot(configuration: configuration)
        // A small table so that the fuzzer also reaches eviction and `flow_table_full`.
        worker = WorkerBox(flowCapacity: 64)
        var senders: [(UInt32, IPv4Address, MACAddress)] = []
        var domains: [UInt32: Int] = [:]
        for (index, domain) in configuration.routingDomains.enumerated() {
            for vsid in domain.subnets { domains[vsid] = index }
            for record in domain.lookupRecords { senders.append((record.vsid, record.pa, record.mac)) }
        }
        self.senders = senders.map { (vsid: $0.0, pa: $0.1, mac: $0.2) }
        domainOfVSID = domains
    }

    deinit { buffer.deallocate() }

    /// Runs every frame of `data`; throws the first broken invariant.
    public func run(_ data: UnsafeRawBufferPointer) throws(Violation) {
        var offset = 0
        var now: UInt32 = 1_000
        var index = 0
        while offset < data.count && index < 8 {
            let control = data[offset]
            let length = offset + 1 < data.count ? Int(data[offset + 1]) * 8 : 0
            let start = min(offset + 2, data.count)
            let end = (index == 7 || length == 0) ? data.count : min(data.count, start + length)
            let bytes = Array(data[start..<end])
            offset = end
            now &+= UInt32(control >> 6) * 20
            try runFrame(frame(bytes, control: control), index: index, now: now)
            index += 1
        }
    }

    /// The frame a record describes.
    func frame(_ bytes: [UInt8], control: UInt8) -> [UInt8] {
        if control & 1 == 1, !senders.isEmpty {
            let sender = senders[Int(control >> 1 & 0x0F) % senders.count]
            return FrameBuilder.encapsulate(
                inner: bytes, outerSourceMAC: sender.mac, outerDestinationMAC: configuration.underlay.mac,
                outerSource: sender.pa, outerDestination: configuration.underlay.address, vsid: sender.vsid)
        }
        var frame = bytes
        if control & 0x20 != 0, frame.count >= 6, let external = configuration.external {
            withUnsafeBytes(of: external.mac.rawValue.bigEndian) { mac in
                for i in 0..<6 { frame[i] = mac[i + 2] }
            }
        }
        return frame
    }

    func runFrame(_ frame: [UInt8], index: Int, now: UInt32) throws(Violation) {
        guard frame.count <= 16_384 - 64 else { return }
        frame.withUnsafeBytes { (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var packet = Packet(base: buffer, start: Packet.headroom, length: frame.count)
        let before = worker.worker.counters.snapshot()
        let verdict = worker.worker.process(&packet, snapshot: snapshot, now: now)
        let after = worker.worker.counters.snapshot()

        func fail(_ what: String) -> Violation {
            Violation(description: "frame \(index) (\(frame.count) bytes, verdict \(verdict)): \(what)")
        }
        // Exactly one outcome, counted once.
        let countedIn = after.packetsIn - before.packetsIn
        let forwarded = after.packetsOut - before.packetsOut
        let answered = after.answered - before.answered
        let dropped = after.dropped - before.dropped
        guard countedIn == 1, forwarded + answered + dropped == 1 else {
            throw fail("counters moved by in \(countedIn), out \(forwarded), answered \(answered), dropped \(dropped)")
        }
        var fragments = 0..<0
        switch verdict {
        case .forward: guard forwarded == 1 else { throw fail("forward not counted as forwarded") }
        case .forwardFragments(_, let first, let extra):
            guard forwarded == 1, after.fragmentsOut - before.fragmentsOut == UInt64(extra) else {
                throw fail(
                    "fragments not counted: \(extra) extra, fragments_out moved by \(after.fragmentsOut - before.fragmentsOut)"
                )
            }
            fragments = Int(first)..<Int(first) + Int(extra)
        case .answer: guard answered == 1 else { throw fail("answer not counted as answered") }
        case .consumed:
            guard answered == 1 else { throw fail("probe reply not counted as answered") }
            return
        case .drop(let reason):
            guard dropped == 1, after[reason] == before[reason] + 1 else {
                throw fail("drop not counted under \(reason)")
            }
            return
        }
        guard packet.start >= 0, packet.length >= 14, packet.start + packet.length <= Packet.headroom + 16_384 else {
            throw fail("emitted frame outside the buffer: start \(packet.start) length \(packet.length)")
        }
        let output = Array(UnsafeRawBufferPointer(start: packet.bytes, count: packet.length))
        do {
            try checkEmitted(received: frame, emitted: output)
            for index in fragments {
                let fragment = worker.worker.fragments.frame(index)
                try checkEmitted(
                    received: frame,
                    emitted: Array(UnsafeRawBufferPointer(start: fragment.bytes, count: fragment.length)))
            }
        } catch {
            throw fail(error.description)
        }
    }

    /// The invariants of one emitted frame against the frame it came from: it parses
    /// whenever the received one did; its checksums are right whenever the received ones
    /// were; an NVGRE header nvlb built has a right checksum, goes to a configured VSID, and
    /// never into another routing domain than the NVGRE frame it came from.
    public func checkEmitted(received frame: [UInt8], emitted output: [UInt8]) throws(Violation) {
        // The fast classifier may forward what the checked parser rejects (e.g. the first
        // fragment of a segment whose TCP header continues in the next fragment); what the
        // checked parser accepted on receive it must accept on send.
        let received = ParsedFrame(frame)
        let emitted: ParsedFrame
        do { emitted = try ParsedFrame.parse(output) } catch {
            if received == nil { return }
            throw Violation(description: "emitted frame does not parse: \(error)")
        }
        if let received, received.checksumsValid, !emitted.checksumsValid {
            throw Violation(description: "emitted checksums invalid while the received ones were valid")
        }
        if emitted.gre != nil, let ip = emitted.ipv4, !ip.headerChecksumValid {
            throw Violation(description: "emitted outer IPv4 header checksum invalid")
        }
        if let vsid = emitted.gre?.vsid {
            guard let outDomain = domainOfVSID[vsid] else {
                throw Violation(description: "emitted into unconfigured VSID \(vsid)")
            }
            if let inVSID = received?.gre?.vsid, let inDomain = domainOfVSID[inVSID], inDomain != outDomain {
                throw Violation(
                    description: "VSID \(inVSID) (domain \(inDomain)) emitted into VSID \(vsid) (domain \(outDomain))")
            }
        }
    }
}

/// The configuration-loader fuzz harness: any bytes as a YAML file. Loading either succeeds
/// — then the policy compiles (validation must reject everything the compiler cannot take) —
/// or fails with positioned diagnostics in the `FILE:LINE:COLUMN: key.path: message` format.
public enum ConfigurationFuzzHarness {
    /// Loads `data`; throws a description of the first broken invariant.
    public static func run(_ data: UnsafeRawBufferPointer) throws(PipelineFuzzHarness.Violation) {
        let text = String(decoding: data, as: UTF8.self)
        do {
            let configuration = try ConfigurationLoader.load(yaml: text, fileName: "fuzz.yaml")
            _ = PolicySnapshot(configuration: configuration)
        } catch {
            guard !error.diagnostics.isEmpty else { throw .init(description: "an error without diagnostics") }
            for diagnostic in error.diagnostics {
                guard diagnostic.file == "fuzz.yaml", diagnostic.line >= 1, diagnostic.column >= 1,
                    !diagnostic.message.isEmpty,
                    diagnostic.description.hasPrefix("fuzz.yaml:\(diagnostic.line):\(diagnostic.column): ")
                else { throw .init(description: "badly formed diagnostic: \(diagnostic)") }
            }
        }
    }
}
