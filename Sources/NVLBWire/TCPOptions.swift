/// TCP options (RFC 9293 §3.1) as far as a middlebox rewrites them: the MSS option.
public enum TCPOptions {
    /// Kind of the end-of-option-list option.
    @inlinable public static var kindEnd: UInt8 { 0 }
    /// Kind of the no-operation option.
    @inlinable public static var kindNoOperation: UInt8 { 1 }
    /// Kind of the maximum segment size option (length 4).
    @inlinable public static var kindMSS: UInt8 { 2 }

    /// Lowers the MSS option of the TCP header at `segment` to `clamp` when it is larger,
    /// updating the TCP checksum incrementally (RFC 1624). Returns true when it changed.
    ///
    /// `headerLength` is the header length from the data offset, `available` how many of
    /// its bytes lie in the buffer: options are read within both, never past them. A
    /// malformed option list (a length below 2 or past the header, an MSS option whose
    /// length is not 4) is left as it is. O(options), no allocation.
    @inlinable
    public static func clampMSS(_ segment: UnsafeMutableRawPointer, headerLength: Int, available: Int, to clamp: UInt16)
        -> Bool
    {
        let end = min(headerLength, available)
        var offset = TCPHeader.minimumSize
        while offset < end {
            let kind = segment.load(fromByteOffset: offset, as: UInt8.self)
            if kind == kindEnd { return false }
            if kind == kindNoOperation {
                offset &+= 1
                continue
            }
            guard offset &+ 1 < end else { return false }
            let length = Int(segment.load(fromByteOffset: offset &+ 1, as: UInt8.self))
            guard length >= 2, offset &+ length <= end else { return false }
            if kind == kindMSS {
                guard length == 4 else { return false }
                let field = offset &+ 2
                let mss = segment.loadBigEndian(fromByteOffset: field, as: UInt16.self)
                guard mss > clamp else { return false }
                segment.storeBigEndian(clamp, toByteOffset: field)
                // The checksum sums 16-bit words from the header start: a field at an odd
                // offset (after a NOP) straddles two words and counts byte-swapped.
                let odd = field & 1 != 0
                let checksum = segment.loadBigEndian(fromByteOffset: TCPHeader.checksumOffset, as: UInt16.self)
                let updated = Checksum.updated(
                    checksum, replacing: odd ? mss.byteSwapped : mss, with: odd ? clamp.byteSwapped : clamp)
                segment.storeBigEndian(updated, toByteOffset: TCPHeader.checksumOffset)
                return true
            }
            offset &+= length
        }
        return false
    }
}
