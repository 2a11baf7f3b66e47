import NVLBDataplane
import NVLBPolicy
import NVLBWire

/// Learns which DIP nvlb chooses for a flow by asking nvlb itself: the flow's first request
/// frame goes through a private `DataplaneWorker` with the compiled policy, and the frame it
/// forwards names the DIP (GRE key, outer destination, inner destination MAC and address).
///
/// Why the pipeline rather than re-deriving the choice from `PolicySnapshot.selectBackend`:
/// it is exact by construction (load distribution, FlowID, weights, drained DIPs, MTU and
/// neighbour checks all included) and cannot drift when the pipeline changes. A flow nvlb
/// would drop gets no backend, hence no replies. The worker's flow table is small: when it
/// is full nvlb still forwards by the Maglev choice, and the choice for a 5-tuple is a pure
/// function of the policy, so evictions never change the answer.
final class BackendResolver {
    private var worker: DataplaneWorker
    private let snapshot: PolicySnapshot
    private let buffer: UnsafeMutableRawPointer
    private static let capacity = 65_536

    init(snapshot: PolicySnapshot) {
        self.snapshot = snapshot
        worker = DataplaneWorker(flowCapacity: 1 << 14)
        buffer = .allocate(byteCount: Packet.headroom + Self.capacity, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// The DIP nvlb forwards `request` to, or nil when nvlb does not forward it.
    func resolve(_ request: [UInt8], now: UInt32) -> ResolvedBackend? {
        guard request.count <= Self.capacity else { return nil }
        request.withUnsafeBytes { (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var packet = Packet(base: buffer, start: Packet.headroom, length: request.count)
        guard case .forward(.underlay) = worker.process(&packet, snapshot: snapshot, now: now) else { return nil }
        let output = Array(UnsafeRawBufferPointer(start: packet.bytes, count: packet.length))
        guard let frame = ParsedFrame(output), let outer = frame.ipv4, let gre = outer.gre, let vsid = gre.vsid,
            let inner = gre.inner, let ip = inner.ipv4,
            let port = ip.tcp?.destinationPort ?? ip.udp?.destinationPort
        else { return nil }
        return ResolvedBackend(
            vsid: vsid, ca: ip.destination, port: port, pa: outer.destination, mac: inner.destination,
            gatewayMAC: inner.source)
    }
}
