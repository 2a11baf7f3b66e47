import Foundation
import NVLBControl
import NVLBDataplane
import NVLBPolicy
import NVLBWire
import Synchronization

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
        counters = worker.worker.counters.snapshot()
    }

    deinit { buffer.deallocate() }

    /// The counters after the previous input (the worker's counters move only in `run`).
    var counters: CounterSnapshot

    /// What the frames of one input should have moved the counters by, from their verdicts.
    struct Tally {
        var frames: UInt64 = 0
        var forwarded: UInt64 = 0
        var answered: UInt64 = 0
        var dropped: UInt64 = 0
        var fragments: UInt64 = 0
        var drops = [UInt64](repeating: 0, count: DropReason.allCases.count)
    }

    /// Runs every frame of `data`; throws the first broken invariant.
    ///
    /// Each frame's output is checked as it is emitted; the counters once per input against
    /// the tally of the verdicts (taking the worker's counter snapshot, which allocates, once
    /// per input instead of twice per frame is what makes the harness fast enough for long
    /// campaigns).
    public func run(_ data: UnsafeRawBufferPointer) throws(Violation) {
        var offset = 0
        var now: UInt32 = 1_000
        var index = 0
        var tally = Tally()
        while offset < data.count && index < 8 {
            let control = data[offset]
            let length = offset + 1 < data.count ? Int(data[offset + 1]) * 8 : 0
            let start = min(offset + 2, data.count)
            let end = (index == 7 || length == 0) ? data.count : min(data.count, start + length)
            let bytes = Array(data[start..<end])
            offset = end
            now &+= UInt32(control >> 6) * 20
            try runFrame(frame(bytes, control: control), index: index, now: now, tally: &tally)
            index += 1
        }
        guard tally.frames > 0 else { return }
        let before = counters
        let after = worker.worker.counters.snapshot()
        counters = after
        // Exactly one outcome per frame, counted once and under the verdict's name.
        let moved = (
            in: after.packetsIn - before.packetsIn, out: after.packetsOut - before.packetsOut,
            answered: after.answered - before.answered, dropped: after.dropped - before.dropped,
            fragments: after.fragmentsOut - before.fragmentsOut
        )
        guard moved.in == tally.frames, moved.out == tally.forwarded, moved.answered == tally.answered,
            moved.dropped == tally.dropped, moved.fragments == tally.fragments
        else {
            throw Violation(
                description: "\(tally.frames) frames (\(tally.forwarded) forwarded, \(tally.answered) answered, "
                    + "\(tally.dropped) dropped, \(tally.fragments) extra fragments) moved the counters by in "
                    + "\(moved.in), out \(moved.out), answered \(moved.answered), dropped \(moved.dropped), "
                    + "fragments_out \(moved.fragments)")
        }
        // Each verdict's reason counted as often as it was given (with the total above, a drop
        // counted under another reason shows as one missing here).
        for reason in DropReason.allCases where tally.drops[Int(reason.rawValue)] > 0 {
            let counted = after[reason] - before[reason]
            let expected = tally.drops[Int(reason.rawValue)]
            // `flow_table_full` also counts packets forwarded without state.
            guard reason == .flowTableFull ? counted >= expected : counted == expected else {
                throw Violation(description: "\(expected) drops for \(reason) counted as \(counted)")
            }
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

    func runFrame(_ frame: [UInt8], index: Int, now: UInt32, tally: inout Tally) throws(Violation) {
        guard frame.count <= 16_384 - 64 else { return }
        frame.withUnsafeBytes { (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var packet = Packet(base: buffer, start: Packet.headroom, length: frame.count)
        let verdict = worker.worker.process(&packet, snapshot: snapshot, now: now)
        tally.frames += 1

        func fail(_ what: String) -> Violation {
            Violation(description: "frame \(index) (\(frame.count) bytes, verdict \(verdict)): \(what)")
        }
        var fragments = 0..<0
        switch verdict {
        case .forward: tally.forwarded += 1
        case .forwardFragments(_, let first, let extra):
            tally.forwarded += 1
            tally.fragments += UInt64(extra)
            fragments = Int(first)..<Int(first) + Int(extra)
        case .answer: tally.answered += 1
        case .consumed:
            tally.answered += 1
            return
        case .drop(let reason):
            tally.dropped += 1
            tally.drops[Int(reason.rawValue)] += 1
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
    /// The policy compiled last.
    static let lastCompiled = Mutex<PolicyConfiguration?>(nil)

    /// Loads `data`; throws a description of the first broken invariant.
    public static func run(_ data: UnsafeRawBufferPointer) throws(PipelineFuzzHarness.Violation) {
        let text = String(decoding: data, as: UTF8.self)
        do {
            let configuration = try ConfigurationLoader.load(yaml: text, fileName: "fuzz.yaml")
            // Most mutations of a valid file (comments, spacing, key order) load into the
            // same policy: compiling it (Maglev tables of up to 16 M entries) once is enough.
            if lastCompiled.withLock({ $0 != configuration }) {
                _ = PolicySnapshot(configuration: configuration)
                lastCompiled.withLock { $0 = configuration }
            }
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

/// The management API's request-decoding fuzz harness (docs/robustness.md "Fuzzing"): any
/// bytes as an HTTP-like request — `METHOD PATH`, header lines, a blank line, the body —
/// routed like the API's change routes (docs/management.md "Endpoints") and applied through
/// `ConfigurationStore`, the functions the routes call with the path parameters, `If-Match`
/// and body they received. No sockets: the decoding and the change path are what is fuzzed.
///
/// In `If-Match`, `$ETAG` stands for the running configuration's ETag, so the fuzzer reaches
/// the changes that a client who read the configuration would make.
///
/// Every request ends in a change or a refusal with a 4xx meaning (`ChangeFailure` other than
/// `.persistence`), with non-empty problems positioned at line and column ≥ 1; a change
/// leaves a document whose JSON (what `GET /v1/config` returns) and file text decode to the
/// same document and whose file loads; the ETag is the document's; a resource that was put is
/// there, one that was deleted is gone; `If-Match` never accepts an ETag other than the
/// current one or `*`; repeating a successful PUT or PATCH changes nothing.
public final class ManagementFuzzHarness {
    /// One decoded request.
    public struct Request: Sendable, Equatable {
        /// `PUT`, `DELETE`, `PATCH`, …
        public var method: String
        /// The path's segments after the leading `/`.
        public var segments: [String]
        /// `If-Match`, with `$ETAG` replaced.
        public var ifMatch: String?
        /// The body.
        public var body: String
    }

    /// The configuration every request starts from: small (one Maglev table of 251 entries)
    /// so that validation, not table building, is what each execution spends its time on.
    public static let baselineYAML = """
        # nvlb management fuzz baseline
        balancer:
          workers: 1
          maglev_table_size: 251
          hash_seed: 0x6e766c62

        underlay:
          address: 192.168.6.2
          mac: 02:4c:42:00:06:02
          gateway_mac: 02:00:00:00:06:01

        external:
          mac: 02:4c:42:00:00:01
          gateway_mac: 02:00:00:00:00:fe

        routing_domains:
          - name: blue
            gateway_mac: 02:4c:42:00:b1:00
            subnets: [5001, 5002]
            lookup_records:
              - { vsid: 5001, ca: 10.1.6.20, pa: 192.168.6.3, mac: 00:15:5d:01:06:20 }
              - { vsid: 5001, ca: 10.1.6.21, pa: 192.168.6.4, mac: 00:15:5d:01:06:21 }
              - { vsid: 5002, ca: 10.1.5.20, pa: 192.168.6.7, mac: 00:15:5d:01:05:20 }
          - name: red
            gateway_mac: 02:4c:42:00:e1:00
            subnets: [6001]
            lookup_records:
              - { vsid: 6001, ca: 10.1.6.21, pa: 192.168.6.5, mac: 00:15:5d:02:06:21 }

        load_balancers:
          - name: blue-web
            routing_domain: blue
            frontends: [ { vip: 131.107.10.10 } ]
            rules:
              - { protocol: tcp, frontend_port: 80, backend_port: 80 }
            backends:
              - { vsid: 5001, ca: 10.1.6.20 }
              - { vsid: 5001, ca: 10.1.6.21, weight: 2 }
          - name: red-web
            routing_domain: red
            frontends: [ { vip: 131.107.20.20 } ]
            rules: [ { protocol: tcp, frontend_port: 443, backend_port: 443 } ]
            backends: [ { vsid: 6001, ca: 10.1.6.21 } ]

        """

    let directory: URL
    /// The store every request goes through (its file lives in a temporary directory).
    public let store: ConfigurationStore
    /// `baselineYAML` as a document.
    public let baseline: ConfigurationDocument
    /// The generation at which the store last held the baseline (no reset needed then).
    var cleanGeneration: UInt64

    /// A harness over a store in a fresh temporary directory, holding `baselineYAML`.
    public init() throws {
        directory = try TestSupport.temporaryDirectory()
        let path = directory.appendingPathComponent("nvlb.yaml").path
        try Self.baselineYAML.write(toFile: path, atomically: true, encoding: .utf8)
        store = try ConfigurationStore(path: path, publish: { _ in })
        baseline = store.current.document
        cleanGeneration = store.current.generation
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Splits `data` into a request; `nil` without a request line.
    public static func decode(_ data: UnsafeRawBufferPointer, etag: String) -> Request? {
        let text = String(decoding: data, as: UTF8.self)
        let head: Substring
        let body: Substring
        if let blank = text.range(of: "\n\n") {
            head = text[..<blank.lowerBound]
            body = text[blank.upperBound...]
        } else {
            head = Substring(text)
            body = ""
        }
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).makeIterator()
        guard let requestLine = lines.next(), let space = requestLine.firstIndex(of: " ") else { return nil }
        let method = String(requestLine[..<space])
        let path = requestLine[requestLine.index(after: space)...]
        guard path.first == "/" else { return nil }
        var ifMatch: String?
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == "if-match" {
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                ifMatch = value.replacingOccurrences(of: "$ETAG", with: etag)
            }
        }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        return Request(method: method, segments: segments, ifMatch: ifMatch, body: String(body))
    }

    /// Runs one request from the baseline; throws the first broken invariant.
    public func run(_ data: UnsafeRawBufferPointer) throws(PipelineFuzzHarness.Violation) {
        if store.current.generation != cleanGeneration {
            let baseline = self.baseline
            do {
                cleanGeneration = try store.change { $0 = baseline }.generation
            } catch {
                throw .init(description: "the baseline could not be restored: \(error)")
            }
        }
        let before = store.current
        guard let request = Self.decode(data, etag: before.etag) else { return }
        let outcome: Result<ConfigurationStore.State, ChangeFailure>?
        do throws(ChangeFailure) {
            guard let state = try apply(request) else { return }
            outcome = .success(state)
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .failure(let failure)?: try check(failure, request: request, before: before)
        case .success(let state)?:
            try check(state, request: request, before: before)
            // PUT and PATCH are idempotent: the same request again changes nothing.
            if request.method != "DELETE" {
                let again: ConfigurationStore.State?
                do throws(ChangeFailure) {
                    again = try apply(
                        Request(
                            method: request.method, segments: request.segments, ifMatch: nil, body: request.body))
                } catch {
                    throw .init(description: "\(request.method) repeated was refused: \(error)")
                }
                guard let again, again.document == state.document, again.etag == state.etag else {
                    throw .init(description: "\(request.method) repeated changed the configuration")
                }
            }
        case nil: break
        }
    }

    /// Routes `request` as the API does; `nil` for a request no change route takes.
    public func apply(_ request: Request) throws(ChangeFailure) -> ConfigurationStore.State? {
        let s = request.segments
        let ifMatch = request.ifMatch
        switch (request.method, s.count) {
        case ("PUT", 2) where s[0] == "v1" && s[1] == "config":
            return try store.replace(body: request.body, ifMatch: ifMatch)
        case ("PUT", 6) where s[0] == "v1" && s[1] == "routing-domains" && s[3] == "lookup-records":
            let value = try ConfigValue.parse(body: request.body)
            return try store.change(ifMatch: ifMatch) { (document: inout ConfigurationDocument) throws(ChangeFailure) in
                try document.putLookupRecord(domain: s[2], vsid: s[4], ca: s[5], body: value)
            }
        case ("DELETE", 6) where s[0] == "v1" && s[1] == "routing-domains" && s[3] == "lookup-records":
            return try store.change(ifMatch: ifMatch) { (document: inout ConfigurationDocument) throws(ChangeFailure) in
                try document.deleteLookupRecord(domain: s[2], vsid: s[4], ca: s[5])
            }
        case ("PUT", 3) where s[0] == "v1" && s[1] == "load-balancers":
            let value = try ConfigValue.parse(body: request.body)
            return try store.change(ifMatch: ifMatch) { (document: inout ConfigurationDocument) throws(ChangeFailure) in
                try document.putLoadBalancer(name: s[2], body: value)
            }
        case ("DELETE", 3) where s[0] == "v1" && s[1] == "load-balancers":
            return try store.change(ifMatch: ifMatch) { (document: inout ConfigurationDocument) throws(ChangeFailure) in
                try document.deleteLoadBalancer(name: s[2])
            }
        case ("PATCH", 6) where s[0] == "v1" && s[1] == "load-balancers" && s[3] == "backends":
            let value = try ConfigValue.parse(body: request.body)
            return try store.change(ifMatch: ifMatch) { (document: inout ConfigurationDocument) throws(ChangeFailure) in
                try document.setBackendWeight(loadBalancer: s[2], vsid: s[4], ca: s[5], body: value)
            }
        default:
            return nil
        }
    }

    /// A refusal: a client error with usable problems, the running configuration untouched.
    func check(_ failure: ChangeFailure, request: Request, before: ConfigurationStore.State)
        throws(PipelineFuzzHarness.Violation)
    {
        func fail(_ what: String) -> PipelineFuzzHarness.Violation {
            .init(description: "\(request.method) /\(request.segments.joined(separator: "/")): \(what)")
        }
        switch failure {
        case .invalid(let problems), .conflict(let problems):
            guard !problems.isEmpty else { throw fail("refused without a problem") }
            for problem in problems {
                guard !problem.message.isEmpty, (problem.line ?? 1) >= 1, (problem.column ?? 1) >= 1,
                    (problem.line == nil) == (problem.column == nil)
                else { throw fail("badly formed problem \(problem)") }
            }
        case .notFound(let message):
            guard !message.isEmpty else { throw fail("404 without a message") }
        case .preconditionFailed(let current):
            guard request.ifMatch != nil, current == before.etag else {
                throw fail("412 without If-Match or with another ETag than the current one")
            }
        case .persistence(let message):
            throw fail("a request made the server fail (500): \(message)")
        }
        guard store.current.generation == before.generation, store.current.document == before.document else {
            throw fail("a refused change changed the configuration")
        }
    }

    /// A change: consistent ETag, JSON and file; the resource where the request put it.
    func check(_ state: ConfigurationStore.State, request: Request, before: ConfigurationStore.State)
        throws(PipelineFuzzHarness.Violation)
    {
        func fail(_ what: String) -> PipelineFuzzHarness.Violation {
            .init(description: "\(request.method) /\(request.segments.joined(separator: "/")): \(what)")
        }
        if let ifMatch = request.ifMatch {
            let digest = before.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard ifMatch.contains("*") || ifMatch.contains(digest) else {
                throw fail("If-Match \(ifMatch) accepted while the ETag was \(before.etag)")
            }
        }
        guard state.etag == "\"\(state.document.digest)\"" else { throw fail("ETag is not the document's") }
        do {
            let fromJSON = try ConfigurationDocument(text: state.document.json(), fileName: "json")
            guard fromJSON == state.document else { throw fail("the JSON of the configuration decodes differently") }
            let fromFile = try ConfigurationDocument(text: state.text, fileName: "file")
            guard fromFile == state.document else { throw fail("the written file decodes differently") }
            _ = try ConfigurationLoader.load(yaml: state.text, fileName: "file")
        } catch let violation as PipelineFuzzHarness.Violation {
            throw violation
        } catch {
            throw fail("the changed configuration does not read back: \(error)")
        }
        let s = request.segments
        let balancers = state.document.root["load_balancers"]?.elements ?? []
        switch (request.method, s.count) {
        case ("PUT", 6):
            let domains = state.document.root["routing_domains"]?.elements ?? []
            let records = domains.first { $0["name"]?.scalarText == s[2] }?["lookup_records"]?.elements ?? []
            guard records.contains(where: { ConfigurationDocument.isRecord($0, vsid: s[4], ca: s[5]) }) else {
                throw fail("the lookup record put is not there")
            }
        case ("DELETE", 6):
            let domains = state.document.root["routing_domains"]?.elements ?? []
            let records = domains.first { $0["name"]?.scalarText == s[2] }?["lookup_records"]?.elements ?? []
            guard !records.contains(where: { ConfigurationDocument.isRecord($0, vsid: s[4], ca: s[5]) }) else {
                throw fail("the lookup record deleted is still there")
            }
        case ("PUT", 3):
            guard balancers.contains(where: { $0["name"]?.scalarText == s[2] }) else {
                throw fail("the load balancer put is not there")
            }
        case ("DELETE", 3):
            guard !balancers.contains(where: { $0["name"]?.scalarText == s[2] }) else {
                throw fail("the load balancer deleted is still there")
            }
        case ("PATCH", 6):
            let backends = balancers.first { $0["name"]?.scalarText == s[2] }?["backends"]?.elements ?? []
            let weight = (try? ConfigValue.parse(body: request.body))?["weight"]
            guard let backend = backends.first(where: { ConfigurationDocument.isRecord($0, vsid: s[4], ca: s[5]) }),
                backend["weight"] == weight
            else { throw fail("the backend's weight is not the one patched") }
        default: break
        }
    }
}
