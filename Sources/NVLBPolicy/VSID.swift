/// NVGRE virtual subnet IDs (24 bits, carried in the GRE key).
public enum VSID {
    /// The range of VSIDs a configuration may use: 0x000000–0x000FFF and 0xFFFFFF are reserved.
    public static let valid: ClosedRange<UInt32> = 4096...16_777_214

    /// True for the reserved values 0x000000–0x000FFF and 0xFFFFFF.
    @inlinable
    public static func isReserved(_ vsid: UInt32) -> Bool { vsid < 4096 || vsid == 0xFF_FFFF }
}
