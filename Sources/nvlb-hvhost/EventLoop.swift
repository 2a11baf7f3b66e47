import CNVLBShims
import Foundation
import Glibc
import NVLBIO
import Synchronization

/// Set by SIGTERM/SIGINT; the loop checks it at least every `pollTimeout`.
let stopRequested = Atomic<Bool>(false)

/// One thread: `poll` over the underlay socket and every VM socket, each readable socket
/// drained in bursts, the switch's outbox sent, timers run. The timeout bounds how long a
/// stop request or an ARP retry waits.
struct EventLoop: ~Copyable {
    var hostSwitch: HostSwitch
    let underlay: PacketSocket
    let vmSockets: [PacketSocket]
    let statsPath: String?
    let pollTimeoutMilliseconds: Int32 = 100
    let burst = 64

    static func installSignalHandlers() {
        let handler: @convention(c) (Int32) -> Void = { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
        signal(SIGPIPE, SIG_IGN)
        // A parent may have started us with these blocked (a thread of a test runner, say):
        // then SIGTERM would stay pending forever.
        nvlb_unblock_signals()
    }

    mutating func run() throws {
        var descriptors = ([underlay] + vmSockets).map {
            pollfd(fd: $0.descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        }
        let ports: [HostPort] = [.underlay] + vmSockets.indices.map { .vm($0) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }
        var lastTick: UInt64 = 0
        var lastStats: UInt64 = 0
        writeStats()
        while !stopRequested.load(ordering: .relaxed) {
            let polled = descriptors.withUnsafeMutableBufferPointer { entries in
                Syscalls.poll(entries, timeoutMilliseconds: pollTimeoutMilliseconds)
            }
            let ready = try polled.get(interface: underlay.interface, operation: "poll")
            let now = nvlb_monotonic_nanoseconds()
            if ready > 0 {
                for (slot, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                    try drain(slot == 0 ? underlay : vmSockets[slot - 1], as: ports[slot], buffer: buffer, now: now)
                }
            }
            if now &- lastTick >= 100_000_000 {
                lastTick = now
                hostSwitch.tick(now: now)
            }
            flush()
            if statsPath != nil && now &- lastStats >= 500_000_000 {
                lastStats = now
                writeStats()
            }
        }
        writeStats()
    }

    private mutating func drain(
        _ socket: PacketSocket, as port: HostPort, buffer: UnsafeMutableRawBufferPointer, now: UInt64
    )
        throws
    {
        for _ in 0..<burst {
            switch try socket.receive(into: buffer) {
            case .empty: return
            case .outgoing: continue
            case .truncated(let length):
                hostSwitch.drop(.malformed, "\(socket.interface): \(length)-byte frame (offloads on?)")
            case .frame(let count):
                hostSwitch.receive(Array(buffer[0..<count]), from: port, now: now)
            }
            flush()
        }
        // The rest of a super-frame the port cut in segments: it will not poll readable.
        while socket.hasPendingSegments {
            if case .frame(let count) = try socket.receive(into: buffer) {
                hostSwitch.receive(Array(buffer[0..<count]), from: port, now: now)
            }
            flush()
        }
    }

    private mutating func flush() {
        for (port, frame) in hostSwitch.outbox {
            let socket: PacketSocket
            switch port {
            case .underlay: socket = underlay
            case .vm(let index): socket = vmSockets[index]
            }
            do {
                try frame.withUnsafeBytes { try socket.send($0) }
            } catch {
                hostSwitch.drop(.sendFailed, "\(error)")
            }
        }
        hostSwitch.outbox.removeAll(keepingCapacity: true)
    }

    /// Writes the counters to `statsPath` atomically (a temporary file renamed over it).
    func writeStats() {
        guard let statsPath else { return }
        let data = hostSwitch.counters.json(policy: hostSwitch.policy)
        try? data.write(to: URL(fileURLWithPath: statsPath), options: .atomic)
    }
}
