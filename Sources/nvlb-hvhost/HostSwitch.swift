import NVLBDataplane
import NVLBWire

/// Where a frame comes from or goes to: the underlay interface or one VM's interface
/// (index into `HostPolicy.vms`).
enum HostPort: Hashable {
    case underlay
    case vm(Int)
}

/// The Hyper-V virtual switch of one host, as a function of frames: no I/O. Frames to send
/// collect in `outbox`; the event loop drains it.
///
/// From the underlay it decapsulates NVGRE addressed to this host (after the checks a
/// Hyper-V host makes) and answers ARP for the host's PA. From a VM it answers ARP (Hyper-V's
/// ARP proxy: lookup-record MACs in the VM's own subnet, the domain's gateway MAC for
/// everything else) and encapsulates IPv4 per lookup records, or to the gateway (nvlb) for
/// addresses without one. `HostSwitch+Underlay.swift` and `HostSwitch+VM.swift` hold the
/// two directions.
struct HostSwitch: ~Copyable {
    let policy: HostPolicy
    var neighbors: HostNeighbors
    var affinity = FlowAffinity()
    var counters: HostCounters
    /// Frames to send, in order.
    var outbox: [(port: HostPort, frame: [UInt8])] = []
    /// Receives one line per dropped frame when verbose.
    var log: ((String) -> Void)?

    /// (VSID, MAC) of a local VM.
    struct VMAddress: Hashable {
        var vsid: UInt32
        var mac: MACAddress
    }
    let vmByAddress: [VMAddress: Int]
    let vmsByVSID: [UInt32: [Int]]
    private var lastExpiry: UInt64 = 0

    init(policy: HostPolicy) {
        self.policy = policy
        neighbors = HostNeighbors(statics: policy.staticNeighbors)
        counters = HostCounters(vmCount: policy.vms.count)
        var byAddress: [VMAddress: Int] = [:]
        var byVSID: [UInt32: [Int]] = [:]
        for (index, vm) in policy.vms.enumerated() {
            byAddress[VMAddress(vsid: vm.vsid, mac: vm.mac)] = index
            byVSID[vm.vsid, default: []].append(index)
        }
        vmByAddress = byAddress
        vmsByVSID = byVSID
    }

    /// Handles one received frame.
    mutating func receive(_ frame: [UInt8], from port: HostPort, now: UInt64) {
        let parsed: ParsedFrame
        do {
            parsed = try ParsedFrame.parse(frame)
        } catch {
            if case .vm(let index) = port { counters.vms[index].framesFromVM += 1 } else { counters.fromUnderlay += 1 }
            drop(.malformed, "\(port): \(error)")
            return
        }
        switch port {
        case .underlay:
            counters.fromUnderlay += 1
            receiveFromUnderlay(frame, parsed, now: now)
        case .vm(let index):
            counters.vms[index].framesFromVM += 1
            receiveFromVM(index, frame, parsed, now: now)
        }
    }

    /// Periodic work (call a few times a second): ARP retries, expiry.
    mutating func tick(now: UInt64) {
        let (requests, dropped) = neighbors.tick(now: now)
        for (pa, destination) in requests { requestNeighbor(pa, to: destination) }
        if dropped > 0 {
            counters.drops[.neighborUnresolved, default: 0] += dropped
            log?("drop neighbor_unresolved: \(dropped) frame(s) waited too long for ARP")
        }
        if now &- lastExpiry > 10_000_000_000 {
            lastExpiry = now
            affinity.expire(now: now)
        }
    }

    // MARK: Shared helpers

    mutating func drop(_ reason: HostDropReason, _ detail: @autoclosure () -> String) {
        counters.drop(reason)
        log?("drop \(reason.rawValue): \(detail())")
    }

    mutating func send(_ frame: [UInt8], to port: HostPort) {
        outbox.append((port, frame))
        switch port {
        case .underlay: counters.toUnderlay += 1
        case .vm(let index): counters.vms[index].framesToVM += 1
        }
    }

    /// Asks "who has `pa`?" on the underlay (broadcast, or unicast to refresh a stale MAC).
    mutating func requestNeighbor(_ pa: IPv4Address, to destination: MACAddress) {
        counters.arpRequested += 1
        var request = [UInt8](repeating: 0, count: NeighborCache.requestLength)
        request.withUnsafeMutableBytes { buffer in
            _ = NeighborCache.writeRequest(
                for: pa, sourceMAC: policy.mac, sourceAddress: policy.pa, destination: destination,
                into: buffer.baseAddress!)
        }
        send(request, to: .underlay)
    }

    /// `inner` (a whole Ethernet frame) in NVGRE to `pa` with key `vsid << 8 | flowID`, outer
    /// TOS copied from the inner packet, DF, TTL 64; sent, or queued until `pa` resolves.
    mutating func encapsulate(
        _ inner: [UInt8], to pa: IPv4Address, vsid: UInt32, flowID: UInt8, tos: UInt8, now: UInt64
    ) {
        let frame = FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: policy.mac, outerDestinationMAC: .zero, outerSource: policy.pa,
            outerDestination: pa, vsid: vsid, flowID: flowID, tos: tos, ttl: 64)
        let mtu = policy.mtu
        guard frame.count - EthernetHeader.size <= mtu else {
            drop(.tooBig, "\(frame.count - EthernetHeader.size)-byte datagram to \(pa) exceeds MTU \(mtu)")
            return
        }
        counters.encapsulated += 1
        let (resolution, request) = neighbors.resolve(pa, frame: frame, now: now)
        switch resolution {
        case .resolved(let mac):
            var frame = frame
            Self.setMAC(mac, in: &frame, at: 0)
            send(frame, to: .underlay)
        case .queued: break
        case .overflow: drop(.neighborUnresolved, "queue for \(pa) is full")
        }
        if let request { requestNeighbor(pa, to: request) }
    }

    /// Writes `mac` into `frame` at byte `offset` (0: destination, 6: source).
    static func setMAC(_ mac: MACAddress, in frame: inout [UInt8], at offset: Int) {
        frame.withUnsafeMutableBytes { $0.baseAddress!.storeMACAddress(mac, toByteOffset: offset) }
    }
}

extension ParsedIPv4 {
    /// Source and destination ports of TCP or UDP (zero for other protocols and non-first fragments).
    var ports: (UInt16, UInt16) {
        if let tcp { return (tcp.sourcePort, tcp.destinationPort) }
        if let udp { return (udp.sourcePort, udp.destinationPort) }
        return (0, 0)
    }
}
