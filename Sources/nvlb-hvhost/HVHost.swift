import ArgumentParser
import Foundation
import NVLBControl
import NVLBIO
import NVLBPolicy
import NVLBWire

/// `nvlb-hvhost`: a user-space Hyper-V host (NVGRE endpoint, RFC 7637) for the lab.
///
/// This kernel has no GRE, so the host's virtual switch runs in user space on `AF_PACKET`
/// sockets: the underlay interface (where the host's PA lives, *not* configured on the
/// kernel interface, so the kernel never answers GRE with ICMP protocol-unreachable) and one
/// veth or tap per VM. docs/lab.md describes the lab built from it.
@main
struct HVHost: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nvlb-hvhost",
        abstract: "Emulates one Hyper-V host (HNV, NVGRE) in user space for the nvlb lab.",
        subcommands: [Run.self, DisableOffloads.self],
        defaultSubcommand: Run.self)

    /// Writes a line to standard error.
    static func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

extension HVHost {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the host's virtual switch until SIGTERM/SIGINT.",
            discussion: """
                Lookup records, routing domains and the gateway come from the nvlb configuration: \
                the gateway (nvlb) is underlay.address at underlay.mac, each routing domain's \
                gateway_mac is the VMs' default-gateway MAC and nvlb's inner source MAC.

                Each --vm attaches a lookup record of this host's PA to an interface in this \
                network namespace (the host side of the VM's veth, or a tap). The VM must use \
                the record's MAC. Frames from the VM are encapsulated to the PA of the \
                destination's lookup record, or to nvlb for addresses without one (VIPs, \
                Internet clients) and for answers to flows nvlb delivered. NVGRE to this PA is \
                delivered after checking VSID, inner destination MAC and the source (a lookup \
                record, or nvlb's PA with the domain's gateway MAC).

                Run as root (raw sockets). Example:
                  nvlb-hvhost --config Config/lab.yaml --pa 192.168.6.3 --underlay pa0 \\
                    --vm 5001:10.1.6.20:blue-vm1 --vm 6001:10.1.6.21:red-vm1
                """)

        @Option(help: "The nvlb configuration file (docs/configuration.md).")
        var config: String

        @Option(help: "This host's provider address (PA).")
        var pa: String

        @Option(help: "The underlay interface (no IPv4 address configured on it).")
        var underlay: String

        @Option(help: "This host's underlay MAC (default: the interface's).")
        var mac: String?

        @Option(
            name: .customLong("vm"),
            help: ArgumentHelp("A VM: VSID:CA:INTERFACE, e.g. 5001:10.1.6.20:blue-vm1 (repeat).", valueName: "vm"))
        var vms: [String] = []

        @Option(help: "The gateway's (nvlb's) PA (default: underlay.address).")
        var gatewayPA: String?

        @Option(help: "The gateway's underlay MAC (default: underlay.mac).")
        var gatewayMAC: String?

        @Option(help: "Write counters as JSON to this file (twice a second and at exit).")
        var stats: String?

        @Flag(help: "Log every dropped frame to stderr.")
        var verbose = false

        func validate() throws {
            guard IPv4Address(pa) != nil else { throw ValidationError("--pa: '\(pa)' is not an IPv4 address") }
            if let mac, MACAddress(mac) == nil { throw ValidationError("--mac: '\(mac)' is not a MAC address") }
            if let gatewayPA, IPv4Address(gatewayPA) == nil {
                throw ValidationError("--gateway-pa: '\(gatewayPA)' is not an IPv4 address")
            }
            if let gatewayMAC, MACAddress(gatewayMAC) == nil {
                throw ValidationError("--gateway-mac: '\(gatewayMAC)' is not a MAC address")
            }
            guard !vms.isEmpty else { throw ValidationError("give at least one --vm VSID:CA:INTERFACE") }
            for vm in vms where HostPolicy.VMArgument(vm) == nil {
                throw ValidationError("--vm: '\(vm)' is not VSID:CA:INTERFACE")
            }
        }

        func run() throws {
            let configuration: PolicyConfiguration
            do {
                configuration = try ConfigurationLoader.load(path: config)
            } catch {
                HVHost.printError(error.description)
                throw ExitCode(2)
            }
            do {
                let underlaySocket = try PacketSocket(interface: underlay)
                let hostMAC = try mac.flatMap(MACAddress.init) ?? InterfaceControl.macAddress(of: underlay)
                let mtu = min(configuration.underlay.mtu, try InterfaceControl.mtu(of: underlay))
                let policy: HostPolicy
                do {
                    policy = try HostPolicy(
                        configuration: configuration, pa: IPv4Address(pa)!, mac: hostMAC,
                        vms: vms.compactMap(HostPolicy.VMArgument.init), gatewayPA: gatewayPA.flatMap(IPv4Address.init),
                        gatewayMAC: gatewayMAC.flatMap(MACAddress.init), mtu: mtu)
                } catch {
                    HVHost.printError("nvlb-hvhost: \(error)")
                    throw ExitCode(2)
                }
                // VMs keep their offloads, as on Hyper-V: the port finishes them.
                let vmSockets = try policy.vms.map {
                    try PacketSocket(interface: $0.interface, finishingOffloads: true)
                }
                var hostSwitch = HostSwitch(policy: policy)
                if verbose { hostSwitch.log = { HVHost.printError("nvlb-hvhost \(policy.pa): \($0)") } }
                EventLoop.installSignalHandlers()
                HVHost.printError(
                    "nvlb-hvhost: PA \(policy.pa) at \(hostMAC) on \(underlay) (MTU \(mtu)), gateway \(policy.gatewayPA) at "
                        + "\(policy.gatewayUnderlayMAC); VMs: "
                        + policy.vms.map { "\($0.name) \($0.mac) on \($0.interface)" }.joined(separator: ", "))
                var loop = EventLoop(
                    hostSwitch: hostSwitch, underlay: underlaySocket, vmSockets: vmSockets, statsPath: stats)
                try loop.run()
                HVHost.printError("nvlb-hvhost \(policy.pa): stopped")
            } catch let exit as ExitCode {
                throw exit
            } catch {
                HVHost.printError("nvlb-hvhost: \(error)")
                throw ExitCode.failure
            }
        }
    }

    struct DisableOffloads: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable-offloads",
            abstract: "Turn off checksum offloads, TSO, GSO and GRO of interfaces (as ethtool -K would).",
            discussion: """
                Run in the namespace of each lab interface whose traffic a packet socket carries \
                (VMs' and clients' veths): otherwise the sending kernel hands over 64 KB segments \
                with partial checksums, and the receiving kernel trusts injected checksums.
                """)

        @Argument(help: "Interface names.")
        var interfaces: [String]

        func run() throws {
            for interface in interfaces {
                do {
                    try InterfaceControl.disableOffloads(of: interface)
                } catch {
                    HVHost.printError("nvlb-hvhost: \(error)")
                    throw ExitCode.failure
                }
            }
        }
    }
}
