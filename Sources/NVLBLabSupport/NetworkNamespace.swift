import NVLBIO

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Network namespaces by name (`ip netns add NAME`, bound at `/var/run/netns/NAME`), entered
/// by one thread at a time with `setns(2)`. Sockets and captures keep the namespace they were
/// opened in, so a thread may enter a namespace, open a ``LiveCapture`` or
/// ``BatchTransmitter`` there, leave, and use them anywhere: tests and the lab do this.
public enum NetworkNamespace {
    /// Runs `body` with the calling thread in namespace `name`, then returns the thread to
    /// the namespace it was in (also when `body` throws). Other threads are unaffected.
    /// `body` must not suspend (no `await`): the thread must not change under it.
    ///
    /// - Throws: ``LiveIOError`` when the namespace does not exist or `setns` is refused
    ///   (not root), or whatever `body` throws.
    public static func run<R: ~Copyable>(in name: String, _ body: () throws -> R) throws -> R {
        let original = try open("/proc/thread-self/ns/net", name: name)
        defer { Syscalls.close(original) }
        let target = try open("/var/run/netns/\(name)", name: name)
        defer { Syscalls.close(target) }
        if let error = Syscalls.enterNetworkNamespace(target) {
            throw LiveIOError(
                kind: error.liveKind, interface: name, operation: "setns", message: error.description)
        }
        defer {
            if let error = Syscalls.enterNetworkNamespace(original) {
                // The thread would stay in the wrong namespace: nothing sane can follow.
                fatalError("setns back to the original network namespace failed: \(error)")
            }
        }
        return try body()
    }

    /// Counters of `interface` in the calling thread's namespace, from `/proc/thread-self/net/dev`
    /// (which, unlike `/sys/class/net`, follows the thread's namespace); nil when absent.
    public static func statistics(interface: String) -> InterfaceStatistics? {
        guard case .success(let bytes) = Syscalls.readFile("/proc/thread-self/net/dev") else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            guard line[..<colon].trimmingPrefix(while: { $0 == " " }) == interface else { continue }
            let fields = line[line.index(after: colon)...].split(separator: " ").compactMap { UInt64($0) }
            guard fields.count >= 16 else { return nil }
            return InterfaceStatistics(
                receivedBytes: fields[0], receivedPackets: fields[1], receiveDropped: fields[3],
                transmittedBytes: fields[8], transmittedPackets: fields[9], transmitDropped: fields[11])
        }
        return nil
    }

    private static func open(_ path: String, name: String) throws -> FileDescriptor {
        switch Syscalls.openReadOnly(path) {
        case .success(let descriptor): return descriptor
        case .failure(let error):
            throw LiveIOError(
                kind: error == .noSuchFile ? .noSuchDevice : error.liveKind, interface: name,
                operation: "open \(path)", message: error.description)
        }
    }
}

/// An interface's kernel counters (`/proc/net/dev`).
public struct InterfaceStatistics: Hashable, Sendable {
    /// Bytes received.
    public var receivedBytes: UInt64
    /// Frames received (`rx_packets`).
    public var receivedPackets: UInt64
    /// Frames dropped on receive (`rx_dropped`).
    public var receiveDropped: UInt64
    /// Bytes transmitted.
    public var transmittedBytes: UInt64
    /// Frames transmitted (`tx_packets`).
    public var transmittedPackets: UInt64
    /// Frames dropped on transmit (`tx_dropped`).
    public var transmitDropped: UInt64
}
