import Glibc
import Testing

@testable import NVLBRuntime

@Suite struct NUMABufferTests {
    @Test(arguments: [nil, 0, 4095] as [Int32?])
    func zeroedAlignedWritable(node: Int32?) throws {
        let size = 3 * 4096 + 17
        let buffer = try NUMABuffer(byteCount: size, node: node)
        #expect(buffer.byteCount == size)
        #expect(Int(bitPattern: buffer.baseAddress) % NUMABuffer.alignment == 0)
        if node == nil || node == 4095 { #expect(buffer.node == nil) }
        if node == 0 && NUMATopology.isLibnumaAvailable { #expect(buffer.node == 0) }
        buffer.withUnsafeMutableBytes { bytes in
            #expect(bytes.count == size)
            #expect(bytes.allSatisfy { $0 == 0 })
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i) }
            #expect(bytes[size - 1] == UInt8(truncatingIfNeeded: size - 1))
        }
    }

    @Test func deinitReturnsTheMemory() throws {
        // 32 × 16 MiB, each written in full (zero-fill at init): a leak would grow the
        // resident set by 512 MiB.
        let before = residentBytes()
        for round in 0..<32 {
            let buffer = try NUMABuffer(byteCount: 16 << 20, node: round % 2 == 0 ? 0 : nil)
            buffer.baseAddress.storeBytes(of: UInt64(round), toByteOffset: (16 << 20) - 8, as: UInt64.self)
        }
        let after = residentBytes()
        #expect(after < before + (128 << 20), "resident set grew from \(before) to \(after) bytes")
    }

    /// The resident set size of this process, in bytes (`/proc/self/statm`).
    private func residentBytes() -> Int {
        let fields = SysfsFile.read("/proc/self/statm")?.split(separator: " ") ?? []
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    @Test func emptyBufferIsValid() throws {
        let buffer = try NUMABuffer(byteCount: 0, node: 0)
        #expect(buffer.byteCount == 0)
        #expect(Int(bitPattern: buffer.baseAddress) % NUMABuffer.alignment == 0)
    }

    @Test func movesToAnotherThread() throws {
        let buffer = try NUMABuffer(byteCount: 64, node: 0)
        buffer.baseAddress.storeBytes(of: 42, as: Int.self)
        let result = Box()
        let thread = try WorkerThread.start(index: 0, cpu: nil) { [buffer = consume buffer] in
            result.value.store(buffer.baseAddress.load(as: Int.self), ordering: .relaxed)
        }
        thread.join()
        #expect(result.value.load(ordering: .relaxed) == 42)
    }
}
