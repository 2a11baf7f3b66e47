import CPcap

/// The link-layer header type of a capture (libpcap's `DLT_` value): what the first byte of
/// every frame is. nvlb reads and writes Ethernet only; other values exist so that a
/// capture of another type can be named in an error, and written by tests.
public struct PcapLinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `DLT_` value as libpcap's `pcap_datalink` returns it (not the `LINKTYPE_` value
    /// stored in the file; libpcap maps between the two).
    public let rawValue: Int32

    /// The link type with `DLT_` value `rawValue`.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `DLT_EN10MB`: Ethernet II / 802.3 frames starting with the destination MAC address.
    public static let ethernet = PcapLinkType(rawValue: DLT_EN10MB)
    /// `DLT_RAW`: raw IPv4/IPv6 packets with no link-layer header.
    public static let raw = PcapLinkType(rawValue: DLT_RAW)
    /// `DLT_LINUX_SLL`: Linux "cooked" headers, what a live capture on the `any` device gives.
    public static let linuxCooked = PcapLinkType(rawValue: DLT_LINUX_SLL)

    /// libpcap's short name without the `DLT_` prefix (`EN10MB`, `RAW`), or nil if it knows
    /// none for this value.
    public var name: String? { LibPcap.linkTypeName(rawValue) }

    /// e.g. `EN10MB (Ethernet)`, `RAW (Raw IP)`, or `DLT 4000` for a value libpcap does not know.
    public var description: String {
        guard let name else { return "DLT \(rawValue)" }
        guard let text = LibPcap.linkTypeDescription(rawValue) else { return name }
        return "\(name) (\(text))"
    }
}
