/// IPv4 fragmentation helpers (RFC 791 §3.2 "Fragmentation"): headers of the fragments
/// after the first. Pure functions over buffers, no allocation.
public enum IPv4Fragmentation {
    /// Writes the IPv4 header of a non-first fragment at `destination` from the header of
    /// `headerLength` bytes at `source`: the 20 fixed bytes, then only the options whose
    /// copied flag is set (RFC 791: the others stay in the first fragment), padded with
    /// end-of-list bytes to a multiple of 4. Total length, flags, offset and checksum are
    /// left for `finish`. Returns the new header length. A malformed option list ends the
    /// copy at the malformed option.
    @inlinable
    public static func writeFragmentHeader(
        from source: UnsafeRawPointer, headerLength: Int, to destination: UnsafeMutableRawPointer
    ) -> Int {
        destination.copyMemory(from: source, byteCount: IPv4Header.minimumSize)
        var read = IPv4Header.minimumSize
        var written = IPv4Header.minimumSize
        while read < headerLength {
            let type = source.load(fromByteOffset: read, as: UInt8.self)
            if type == 0 { break }
            if type == 1 {
                read &+= 1
                continue
            }
            guard read &+ 1 < headerLength else { break }
            let length = Int(source.load(fromByteOffset: read &+ 1, as: UInt8.self))
            guard length >= 2, read &+ length <= headerLength else { break }
            if type & 0x80 != 0 {
                (destination + written).copyMemory(from: source + read, byteCount: length)
                written &+= length
            }
            read &+= length
        }
        while written & 3 != 0 {
            destination.storeBytes(of: 0 as UInt8, toByteOffset: written, as: UInt8.self)
            written &+= 1
        }
        destination.storeBytes(
            of: (0x40 | UInt8(truncatingIfNeeded: written >> 2)), toByteOffset: 0, as: UInt8.self)
        return written
    }

    /// Sets total length, the MF flag and the fragment offset (in 8-byte units, kept with
    /// the DF and reserved bits cleared) of the header at `header`, and its checksum.
    @inlinable
    public static func finish(
        _ header: UnsafeMutableRawPointer, headerLength: Int, totalLength: Int, moreFragments: Bool, offset: Int
    ) {
        header.storeBigEndian(UInt16(truncatingIfNeeded: totalLength), toByteOffset: 2)
        let flags: UInt16 = moreFragments ? 0x2000 : 0
        header.storeBigEndian(flags | UInt16(truncatingIfNeeded: offset >> 3) & 0x1FFF, toByteOffset: 6)
        header.storeBigEndian(0 as UInt16, toByteOffset: IPv4Header.checksumOffset)
        header.storeBigEndian(
            Checksum.internet(UnsafeRawPointer(header), count: headerLength), toByteOffset: IPv4Header.checksumOffset)
    }
}
