import Glibc
import NVLBIO
import NVLBWire

/// Interface queries and settings through `ioctl` on a throw-away datagram socket: the MAC
/// address, the MTU, and turning off the offloads that would hand a packet socket frames it
/// cannot forward as they are.
enum InterfaceControl {
    // <linux/sockios.h>, <linux/ethtool.h>
    private static let siocEthtool: UInt = 0x8946
    private static let ethtoolSetRXChecksum: UInt32 = 0x15
    private static let ethtoolSetTXChecksum: UInt32 = 0x17
    private static let ethtoolSetScatterGather: UInt32 = 0x19
    private static let ethtoolSetTSO: UInt32 = 0x1f
    private static let ethtoolSetGSO: UInt32 = 0x24
    private static let ethtoolSetGRO: UInt32 = 0x2c

    /// The interface's hardware address.
    static func macAddress(of interface: String) throws(LiveIOError) -> MACAddress {
        var request = try self.request(for: interface)
        try withControlSocket(interface) { fd throws(LiveIOError) in
            try control(fd, UInt(SIOCGIFHWADDR), &request, interface: interface, operation: "ioctl(SIOCGIFHWADDR)")
        }
        return withUnsafeMutableBytes(of: &request.ifr_ifru.ifru_hwaddr.sa_data) { raw in
            raw.baseAddress!.loadMACAddress(fromByteOffset: 0)
        }
    }

    /// The interface's MTU in bytes.
    static func mtu(of interface: String) throws(LiveIOError) -> Int {
        var request = try self.request(for: interface)
        try withControlSocket(interface) { fd throws(LiveIOError) in
            try control(fd, UInt(SIOCGIFMTU), &request, interface: interface, operation: "ioctl(SIOCGIFMTU)")
        }
        return Int(request.ifr_ifru.ifru_mtu)
    }

    /// Turns off transmit and receive checksum offload, scatter-gather, TSO, GSO and GRO.
    ///
    /// A veth hands its peer's packet sockets what the sending stack produced: with these on,
    /// TCP segments up to 64 KB with only the pseudo-header checksum filled in. With receive
    /// checksumming on, the receiving stack also trusts any checksum a packet socket injected,
    /// which would hide a load balancer's checksum errors; off, the kernel verifies them.
    static func disableOffloads(of interface: String) throws(LiveIOError) {
        let commands = [
            ethtoolSetTSO, ethtoolSetGSO, ethtoolSetGRO, ethtoolSetScatterGather, ethtoolSetTXChecksum,
            ethtoolSetRXChecksum,
        ]
        try withControlSocket(interface) { fd throws(LiveIOError) in
            for command in commands {
                var request = try self.request(for: interface)
                var value: (cmd: UInt32, data: UInt32) = (command, 0)  // struct ethtool_value
                let error = withUnsafeMutablePointer(to: &value) { pointer in
                    request.ifr_ifru.ifru_data = UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: CChar.self)
                    return Syscalls.ioctl(fd, siocEthtool, &request)
                }
                // A feature the driver cannot change (EOPNOTSUPP) is already off.
                if let error, error != .notSupported {
                    throw LiveIOError(
                        error, interface: interface, operation: "ioctl(SIOCETHTOOL 0x\(String(command, radix: 16)))")
                }
            }
        }
    }

    private static func control(
        _ fd: FileDescriptor, _ command: UInt, _ request: inout ifreq, interface: String, operation: String
    ) throws(LiveIOError) {
        if let error = Syscalls.ioctl(fd, command, &request) {
            throw LiveIOError(error, interface: interface, operation: operation)
        }
    }

    private static func request(for interface: String) throws(LiveIOError) -> ifreq {
        var request = ifreq()
        let name = Array(interface.utf8)
        guard !name.isEmpty, name.count < Int(IFNAMSIZ) else {
            throw LiveIOError(.invalidArgument, interface: interface, operation: "interface name")
        }
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { raw in
            raw.copyBytes(from: name)
        }
        return request
    }

    private static func withControlSocket<T>(
        _ interface: String, _ body: (FileDescriptor) throws(LiveIOError) -> T
    ) throws(LiveIOError) -> T {
        let fd = try Syscalls.socket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue))
            .get(interface: interface, operation: "socket(AF_INET)")
        defer { Syscalls.close(fd) }
        return try body(fd)
    }
}
