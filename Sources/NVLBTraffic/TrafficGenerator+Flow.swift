import NVLBWire

/// The backend nvlb chose for a flow, as learned from the frame nvlb forwarded: everything
/// its Hyper-V host needs to send the DIP's answers.
struct ResolvedBackend: Sendable, Equatable {
    /// The DIP's VSID (GRE key of the forwarded frame).
    var vsid: UInt32
    /// The DIP's CA.
    var ca: IPv4Address
    /// The rule's backend port.
    var port: UInt16
    /// PA of the DIP's host (outer destination of the forwarded frame).
    var pa: IPv4Address
    /// The DIP VM's MAC (inner destination of the forwarded frame).
    var mac: MACAddress
    /// The DIP routing domain's gateway MAC (inner source of the forwarded frame).
    var gatewayMAC: MACAddress
}

/// The client side of a flow.
struct Client: Sendable {
    var address: IPv4Address
    var port: UInt16
    /// Internal clients: VSID, host PA and VM MAC of their lookup record; nil for external.
    var vsid: UInt32?
    var pa: IPv4Address
    var mac: MACAddress
}

/// One packet of a flow's script, before its sequence numbers are known.
struct FlowStep {
    enum Content {
        case none
        /// The whole request of the current exchange.
        case request
        /// Response bytes `offset ..< offset + length` of the current exchange.
        case response(offset: Int)
    }
    var fromClient: Bool
    var flags: TCPFlags = []
    var length = 0
    var content: Content = .none
}

/// A flow's script, produced lazily one phase at a time (handshake, one exchange, close),
/// so that a flow of a million packets needs no more memory than a flow of ten.
///
/// Packets the capture does not show (the server's, without `--replies`) still advance the
/// sequence numbers: the client acknowledges data its server sent.
struct FlowScript {
    enum Phase { case open, exchange, close, done }

    let isTCP: Bool
    /// The server's packets are written (replies asked and the DIP known).
    let serverVisible: Bool
    let application: ApplicationProtocol
    /// Largest TCP payload / UDP payload of one packet.
    let maximumSegment: Int
    let host: String

    var random: Xoshiro256
    /// Frames still to write, when the total is budgeted (`--packets`); nil: natural length.
    var budget: Int?
    /// Exchanges still to plan in natural mode.
    var exchangesLeft: Int
    var phase: Phase = .open
    var queue: [FlowStep] = []
    var cursor = 0
    var exchange = Exchange()

    // TCP sequence state: the next sequence number each side sends.
    let clientISN: UInt32
    let serverISN: UInt32
    var clientNext: UInt32
    var serverNext: UInt32
    // IPv4 identification counters (Linux and Windows count per connection with DF set).
    var clientID: UInt16
    var serverID: UInt16

    init(
        isTCP: Bool, serverVisible: Bool, application: ApplicationProtocol, maximumSegment: Int, host: String,
        budget: Int?, random: Xoshiro256
    ) {
        self.isTCP = isTCP
        self.serverVisible = serverVisible
        self.application = application
        self.maximumSegment = maximumSegment
        self.host = host
        self.random = random
        self.budget = budget
        clientISN = UInt32(truncatingIfNeeded: self.random.next())
        serverISN = UInt32(truncatingIfNeeded: self.random.next())
        clientNext = clientISN
        serverNext = serverISN
        clientID = UInt16(truncatingIfNeeded: self.random.next())
        serverID = UInt16(truncatingIfNeeded: self.random.next())
        exchangesLeft = isTCP ? 1 + self.random.below(3) : 1 + self.random.below(2)
    }

    func visible(_ step: FlowStep) -> Bool { step.fromClient || serverVisible }

    /// Written frames of the close phase (the FIN handshake).
    var closeFrames: Int { isTCP ? (serverVisible ? 3 : 2) : 0 }

    /// The next step to emit (visible or not), or nil when the flow is over.
    mutating func next() -> FlowStep? {
        while cursor == queue.count {
            guard plan() else { return nil }
        }
        let step = queue[cursor]
        cursor += 1
        if visible(step), budget != nil { budget! -= 1 }
        return step
    }

    /// Plans the next phase into `queue`; false when the flow is over.
    private mutating func plan() -> Bool {
        queue.removeAll(keepingCapacity: true)
        cursor = 0
        var limit = budget ?? Int.max
        switch phase {
        case .open:
            phase = .exchange
            if isTCP {
                queue = [
                    FlowStep(fromClient: true, flags: .syn), FlowStep(fromClient: false, flags: [.syn, .ack]),
                    FlowStep(fromClient: true, flags: .ack),
                ]
            }
        case .exchange:
            let more: Bool
            if let budget {
                more = budget > closeFrames
                limit = budget - closeFrames
            } else {
                more = exchangesLeft > 0
                exchangesLeft -= 1
            }
            guard more else {
                phase = .close
                return true
            }
            planExchange()
        case .close:
            phase = .done
            if isTCP {
                queue = [
                    FlowStep(fromClient: true, flags: [.fin, .ack]), FlowStep(fromClient: false, flags: [.fin, .ack]),
                    FlowStep(fromClient: true, flags: .ack),
                ]
            }
        case .done:
            return false
        }
        // A budget cuts the phase where the written frames run out.
        var written = 0
        var kept = 0
        for step in queue {
            if written == limit { break }
            kept += 1
            if visible(step) { written += 1 }
        }
        queue.removeSubrange(kept...)
        return true
    }

    private mutating func planExchange() {
        exchange = Exchange.random(application, host: host, maximumSegment: maximumSegment, random: &random)
        if isTCP {
            queue.append(
                FlowStep(fromClient: true, flags: [.psh, .ack], length: exchange.request.count, content: .request))
            var offset = 0
            while offset < exchange.responseLength {
                let length = min(maximumSegment, exchange.responseLength - offset)
                let last = offset + length == exchange.responseLength
                queue.append(
                    FlowStep(
                        fromClient: false, flags: last ? [.psh, .ack] : .ack, length: length,
                        content: .response(offset: offset)))
                offset += length
            }
            queue.append(FlowStep(fromClient: true, flags: .ack))
        } else {
            queue.append(FlowStep(fromClient: true, length: exchange.request.count, content: .request))
            queue.append(FlowStep(fromClient: false, length: exchange.responseLength, content: .response(offset: 0)))
        }
    }

    /// The payload bytes of `step`.
    func payload(_ step: FlowStep) -> [UInt8] {
        switch step.content {
        case .none: []
        case .request: exchange.request
        case .response(let offset): exchange.responseBytes(offset: offset, count: step.length)
        }
    }

    /// Sequence and acknowledgment numbers for `step`, advancing the sender's state.
    mutating func sequence(_ step: FlowStep) -> (seq: UInt32, ack: UInt32) {
        let seq: UInt32
        let ack: UInt32
        var consumed = UInt32(step.length)
        if step.flags.contains(.syn) || step.flags.contains(.fin) { consumed &+= 1 }
        if step.fromClient {
            seq = clientNext
            ack = step.flags.contains(.ack) ? serverNext : 0
            clientNext &+= consumed
        } else {
            seq = serverNext
            ack = clientNext
            serverNext &+= consumed
        }
        return (seq, ack)
    }

    /// The next IPv4 identification of the step's sender.
    mutating func identification(fromClient: Bool) -> UInt16 {
        if fromClient {
            clientID &+= 1
            return clientID
        }
        serverID &+= 1
        return serverID
    }
}
