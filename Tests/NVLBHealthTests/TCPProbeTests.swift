import NVLBHealth
import NVLBWire
import Testing

/// The TCP/HTTP probe state machine against scripted replies.
@Suite struct TCPProbeTests {
    static let iss: UInt32 = 1000
    static let request = TCPProbe.httpRequest(path: "/healthz", host: Fixture.dip)

    static func synAck(ack: UInt32 = iss + 1) -> ProbeSegment {
        ProbeSegment(flags: [.syn, .ack], sequence: 5000, acknowledgment: ack)
    }

    @Test func synCarriesISSAndMSS() {
        var probe = TCPProbe(kind: .tcp, initialSequence: Self.iss)
        #expect(probe.start() == ProbeSegment(flags: .syn, sequence: 1000, options: [2, 4, 0x05, 0x50]))
        #expect(!probe.isFinished)
    }

    @Test func tcpSynAckIsUpThenReset() {
        var probe = TCPProbe(kind: .tcp, initialSequence: Self.iss)
        _ = probe.start()
        #expect(probe.receive(Self.synAck()) == [ProbeSegment(flags: .rst, sequence: 1001)])
        #expect(probe.result == .synAck && probe.result!.isSuccess)
        #expect(probe.receive(Self.synAck()) == [], "finished: further segments are ignored")
    }

    @Test func tcpResetIsDown() {
        var probe = TCPProbe(kind: .tcp, initialSequence: Self.iss)
        _ = probe.start()
        // A RST that does not acknowledge the SYN is not acceptable (RFC 9293).
        #expect(probe.receive(ProbeSegment(flags: .rst, sequence: 0, acknowledgment: 77)) == [])
        #expect(!probe.isFinished)
        #expect(probe.receive(ProbeSegment(flags: [.rst, .ack], sequence: 0, acknowledgment: 1001)) == [])
        #expect(probe.result == .reset && !probe.result!.isSuccess)
    }

    @Test func noAnswerTimesOut() {
        var probe = TCPProbe(kind: .tcp, initialSequence: Self.iss)
        _ = probe.start()
        #expect(probe.timeOut() == [], "nothing open to reset")
        #expect(probe.result == .timeout)
    }

    @Test func synAckForAnotherSequenceIsGarbage() {
        var probe = TCPProbe(kind: .tcp, initialSequence: Self.iss)
        _ = probe.start()
        #expect(probe.receive(Self.synAck(ack: 4242)) == [ProbeSegment(flags: .rst, sequence: 4242)])
        #expect(probe.result == .garbage("SYN-ACK acknowledges 4242, expected 1001"))
    }

    /// An HTTP probe through the handshake: returns the probe after the request was sent.
    static func httpAfterHandshake() -> TCPProbe {
        var probe = TCPProbe(kind: .http(request: request), initialSequence: iss)
        _ = probe.start()
        let answer = probe.receive(synAck())
        #expect(answer == [ProbeSegment(flags: [.psh, .ack], sequence: 1001, acknowledgment: 5001, payload: request)])
        #expect(!probe.isFinished)
        return probe
    }

    static func data(_ text: String, seq: UInt32 = 5001, flags: TCPFlags = [.psh, .ack]) -> ProbeSegment {
        ProbeSegment(
            flags: flags, sequence: seq, acknowledgment: 1001 + UInt32(request.count), payload: Array(text.utf8))
    }

    @Test func httpRequestText() {
        #expect(
            String(decoding: Self.request, as: UTF8.self)
                == "GET /healthz HTTP/1.1\r\nHost: 10.1.6.21\r\nUser-Agent: nvlb-probe\r\nConnection: close\r\n\r\n")
    }

    @Test func http200IsUpThenReset() {
        var probe = Self.httpAfterHandshake()
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let close = probe.receive(Self.data(response))
        #expect(probe.result == .httpStatus(200) && probe.result!.isSuccess)
        #expect(
            close == [
                ProbeSegment(
                    flags: [.rst, .ack], sequence: 1001 + UInt32(Self.request.count),
                    acknowledgment: 5001 + UInt32(response.utf8.count))
            ])
    }

    @Test func http301IsUp() {
        var probe = Self.httpAfterHandshake()
        _ = probe.receive(Self.data("HTTP/1.0 301 Moved Permanently\r\n"))
        #expect(probe.result == .httpStatus(301) && probe.result!.isSuccess)
    }

    @Test func http503IsDown() {
        var probe = Self.httpAfterHandshake()
        #expect(probe.receive(Self.data("HTTP/1.1 503 Service Unavailable\r\n\r\n")).count == 1)
        #expect(probe.result == .httpStatus(503) && !probe.result!.isSuccess)
        #expect(probe.result!.description == "HTTP 503")
    }

    @Test func garbageIsDown() {
        var probe = Self.httpAfterHandshake()
        _ = probe.receive(Self.data("SSH-2.0-OpenSSH_9.2\r\n"))
        #expect(probe.result == .garbage("'SSH-2.0-OpenSSH_9.2'"))
        #expect(!probe.result!.isSuccess)
    }

    @Test func statusLineAcrossSegments() {
        var probe = Self.httpAfterHandshake()
        #expect(probe.receive(Self.data("HTTP/1.1 2")) == [])
        #expect(!probe.isFinished)
        // Out of order: ignored until the DIP retransmits in order.
        #expect(probe.receive(Self.data("04 No Content\r\n", seq: 9999)) == [])
        #expect(!probe.isFinished)
        _ = probe.receive(Self.data("04 No Content\r\n", seq: 5011))
        #expect(probe.result == .httpStatus(204))
    }

    @Test func slowResponseTimesOutAndResets() {
        var probe = Self.httpAfterHandshake()
        #expect(probe.receive(ProbeSegment(flags: .ack, sequence: 5001, acknowledgment: 1001)) == [])
        let close = probe.timeOut()
        #expect(probe.result == .timeout)
        #expect(
            close == [
                ProbeSegment(flags: [.rst, .ack], sequence: 1001 + UInt32(Self.request.count), acknowledgment: 5001)
            ])
    }

    @Test func finBeforeStatusLineIsDown() {
        var probe = Self.httpAfterHandshake()
        #expect(probe.receive(ProbeSegment(flags: [.fin, .ack], sequence: 5001, acknowledgment: 1001)).count == 1)
        #expect(probe.result == .closed)
    }

    @Test func resetAfterRequestIsDown() {
        var probe = Self.httpAfterHandshake()
        _ = probe.receive(ProbeSegment(flags: .rst, sequence: 5001))
        #expect(probe.result == .reset)
    }

    @Test func endlessHeaderIsGarbage() {
        var probe = Self.httpAfterHandshake()
        _ = probe.receive(Self.data(String(repeating: "x", count: 1100)))
        #expect(probe.result == .garbage("no status line in 1024 bytes"))
    }
}
