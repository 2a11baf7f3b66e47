import NVLBWire

/// One TCP segment of a probe connection, without addresses and ports (the prober adds
/// those when it builds the frame).
public struct ProbeSegment: Sendable, Equatable {
    public var flags: TCPFlags
    public var sequence: UInt32
    public var acknowledgment: UInt32
    /// TCP options (the SYN carries an MSS option).
    public var options: [UInt8]
    public var payload: [UInt8]

    public init(
        flags: TCPFlags, sequence: UInt32, acknowledgment: UInt32 = 0, options: [UInt8] = [], payload: [UInt8] = []
    ) {
        self.flags = flags
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.options = options
        self.payload = payload
    }
}

/// The minimal TCP client of one probe attempt: a pure state machine, fed the DIP's
/// segments, returning the segments to send and, once known, the result.
///
/// `tcp`: SYN → SYN-ACK (up; then RST) or RST (down). `http`: SYN → SYN-ACK → ACK with
/// `GET path HTTP/1.1` (Host: the DIP's CA, `Connection: close`) → the status line
/// (2xx/3xx up, else down) → RST. No retransmission: a lost segment is a timeout, which
/// `fall` absorbs. Timeouts are the prober's: it calls `timeOut()` at the deadline.
public struct TCPProbe: Sendable {
    public enum Kind: Sendable, Equatable {
        case tcp
        case http(request: [UInt8])
    }

    enum State: Sendable, Equatable {
        case idle
        case synSent
        /// HTTP request sent; `received` holds the response bytes so far.
        case requestSent
        case finished
    }

    /// Longest response head read while looking for the end of the status line.
    static let statusLineLimit = 1024
    /// MSS announced in the SYN: small enough that a response fits an overlay MTU.
    public static let announcedMSS: UInt16 = 1360

    let kind: Kind
    let initialSequence: UInt32
    var state = State.idle
    var receiveNext: UInt32 = 0
    var received: [UInt8] = []
    /// The result, once known.
    public private(set) var result: ProbeResult?

    /// A probe of `kind` whose SYN carries sequence number `initialSequence`.
    public init(kind: Kind, initialSequence: UInt32) {
        self.kind = kind
        self.initialSequence = initialSequence
    }

    /// The HTTP/1.1 request of an `http` probe.
    public static func httpRequest(path: String, host: IPv4Address) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: nvlb-probe\r\nConnection: close\r\n\r\n".utf8)
    }

    /// True once the result is known.
    public var isFinished: Bool { result != nil }

    /// The opening SYN.
    public mutating func start() -> ProbeSegment {
        state = .synSent
        let mss = Self.announcedMSS
        return ProbeSegment(
            flags: .syn, sequence: initialSequence, options: [2, 4, UInt8(mss >> 8), UInt8(mss & 0xFF)])
    }

    /// Handles a segment from the DIP; returns what to send in answer.
    public mutating func receive(_ segment: ProbeSegment) -> [ProbeSegment] {
        let next = initialSequence &+ 1
        switch state {
        case .idle, .finished:
            return []
        case .synSent:
            if segment.flags.contains(.rst) {
                // RFC 9293: a RST in SYN-SENT is acceptable only when it acknowledges the SYN.
                guard segment.flags.contains(.ack), segment.acknowledgment == next else { return [] }
                finish(.reset)
                return []
            }
            guard segment.flags.contains([.syn, .ack]) else { return [] }
            guard segment.acknowledgment == next else {
                finish(.garbage("SYN-ACK acknowledges \(segment.acknowledgment), expected \(next)"))
                return [ProbeSegment(flags: .rst, sequence: segment.acknowledgment)]
            }
            receiveNext = segment.sequence &+ 1
            switch kind {
            case .tcp:
                finish(.synAck)
                return [ProbeSegment(flags: .rst, sequence: next)]
            case .http(let request):
                state = .requestSent
                return [
                    ProbeSegment(flags: [.psh, .ack], sequence: next, acknowledgment: receiveNext, payload: request)
                ]
            }
        case .requestSent:
            if segment.flags.contains(.rst) {
                finish(.reset)
                return []
            }
            // In-order bytes only: the status line is in the first segment in practice; an
            // out-of-order segment is retransmitted by the DIP (we never acknowledged it).
            if segment.sequence == receiveNext, !segment.payload.isEmpty {
                received += segment.payload.prefix(Self.statusLineLimit - received.count)
                receiveNext = receiveNext &+ UInt32(segment.payload.count)
                if let status = statusLine() {
                    finish(status)
                    return [close()]
                }
            }
            if segment.flags.contains(.fin) {
                finish(received.isEmpty ? .closed : .garbage(Self.printable(received)))
                return [close()]
            }
            return []
        }
    }

    /// The deadline passed without a result: the result is `timeout`; an open connection is reset.
    public mutating func timeOut() -> [ProbeSegment] {
        guard !isFinished else { return [] }
        let wasOpen = state == .requestSent
        finish(.timeout)
        return wasOpen ? [close()] : []
    }

    /// The probe could not be sent.
    public mutating func fail(_ result: ProbeResult) {
        if !isFinished { finish(result) }
    }

    private mutating func finish(_ result: ProbeResult) {
        self.result = result
        state = .finished
    }

    /// RST|ACK after everything received: the DIP frees the connection at once.
    private func close() -> ProbeSegment {
        let request: Int
        if case .http(let bytes) = kind { request = bytes.count } else { request = 0 }
        return ProbeSegment(
            flags: [.rst, .ack], sequence: initialSequence &+ 1 &+ UInt32(request), acknowledgment: receiveNext)
    }

    /// The result of the status line once it is complete (or once it cannot be one).
    private func statusLine() -> ProbeResult? {
        guard let end = received.firstIndex(of: 0x0A) else {
            return received.count >= Self.statusLineLimit
                ? .garbage("no status line in \(Self.statusLineLimit) bytes") : nil
        }
        var line = received[..<end]
        if line.last == 0x0D { line = line.dropLast() }
        // "HTTP/1.x NNN reason"
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]),
            (100...599).contains(status)
        else { return .garbage(Self.printable(Array(line))) }
        return .httpStatus(status)
    }

    /// At most 40 bytes, non-printable bytes as `.`, for a log line.
    static func printable(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(40).map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." }
        return "'" + String(shown) + (bytes.count > 40 ? "…" : "") + "'"
    }
}
