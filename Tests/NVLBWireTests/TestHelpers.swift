import NVLBWire

/// Bytes from readable hex: whitespace-separated pairs, `#` starts a comment to end of line.
func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for token in code.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "|" }) {
            guard token.count == 2, let byte = UInt8(token, radix: 16) else {
                fatalError("bad hex token \(token)")
            }
            bytes.append(byte)
        }
    }
    return bytes
}

/// Runs `body` with a mutable raw pointer to `bytes`.
func withPointer<R>(_ bytes: inout [UInt8], _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
    try bytes.withUnsafeMutableBytes { try body($0.baseAddress!) }
}

/// A straightforward byte-at-a-time RFC 1071 checksum: the reference for the fast one.
func referenceChecksum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var index = 0
    while index < bytes.count {
        let high = UInt32(bytes[index]) << 8
        let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
        sum += high | low
        index += 2
    }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
}

func mac(_ text: String) -> MACAddress { MACAddress(text)! }
func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
