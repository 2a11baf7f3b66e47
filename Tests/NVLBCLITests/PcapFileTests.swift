import Foundation
import NVLBIO
import NVLBTestSupport
import Testing

@Suite struct PcapFileTests {
    // MARK: Fixtures

    /// Runs `body` with a new temporary directory, removed afterwards.
    private func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory)
    }

    /// A frame of `length` bytes whose content depends on `seed`, so frames differ.
    private static func frame(length: Int, seed: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ 1) }
    }

    /// Frames of different lengths (a minimum Ethernet frame, a header only, a full MTU frame,
    /// an NVGRE-encapsulated MTU frame, a jumbo frame, a single byte) with increasing
    /// timestamps whose fractions use all nine digits.
    private static let sampleFrames: [CapturedFrame] = [60, 14, 1514, 1556, 9018, 1].enumerated().map {
        index, length in
        CapturedFrame(
            bytes: frame(length: length, seed: index),
            timestamp: PacketTimestamp(
                seconds: 1_700_000_000 + Int64(index), nanoseconds: UInt32(123_456_789 &* (index + 1) % 1_000_000_000)))
    }

    /// Writes `frames` to a new capture at `path`.
    private static func writeCapture(
        _ frames: [CapturedFrame], to path: String, precision: PacketTimestamp.Precision = .microsecond,
        linkType: PcapLinkType = .ethernet
    ) throws {
        var writer = try PcapFileWriter(path: path, linkType: linkType, precision: precision)
        for frame in frames { try writer.write(frame) }
        try writer.close()
    }

    /// The ``PcapError`` `body` throws, failing the test when it throws none or another error.
    private static func pcapError(_ body: () throws -> Void) -> PcapError? {
        do {
            try body()
            Issue.record("expected a PcapError")
        } catch let error as PcapError {
            return error
        } catch {
            Issue.record("expected a PcapError, got \(error)")
        }
        return nil
    }

    // MARK: Round trips

    @Test(arguments: [PacketTimestamp.Precision.microsecond, .nanosecond])
    func framesRoundTripThroughTheCallerBuffer(precision: PacketTimestamp.Precision) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("frames.pcap").path
            try Self.writeCapture(Self.sampleFrames, to: path, precision: precision)

            var reader = try PcapFileReader(path: path)
            #expect(reader.linkType == .ethernet)
            #expect(reader.snapshotLength == PcapFileWriter.defaultSnapshotLength)
            let capacity = 16_384
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
            defer { buffer.deallocate() }
            var read: [CapturedFrame] = []
            while let record = try reader.read(into: buffer, capacity: capacity) {
                #expect(!record.isTruncated)
                let bytes = Array(UnsafeRawBufferPointer(start: buffer, count: record.capturedLength))
                read.append(
                    CapturedFrame(bytes: bytes, originalLength: record.originalLength, timestamp: record.timestamp))
            }
            #expect(try reader.read(into: buffer, capacity: capacity) == nil, "end of capture is sticky")

            let expected = Self.sampleFrames.map {
                CapturedFrame(bytes: $0.bytes, timestamp: $0.timestamp.truncated(to: precision))
            }
            #expect(read == expected)
            #expect(read.map(\.timestamp) == read.map(\.timestamp).sorted())
        }
    }

    @Test func readAllReturnsTheSameFramesAsNext() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("frames.pcap").path
            try Self.writeCapture(Self.sampleFrames, to: path, precision: .nanosecond)

            var reader = try PcapFileReader(path: path)
            let first = try #require(try reader.next())
            let rest = try reader.readAll()
            #expect([first] + rest == Self.sampleFrames)
        }
    }

    @Test func truncatedRecordsKeepTheirOriginalLength() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("truncated.pcap").path
            let frame = CapturedFrame(
                bytes: Self.frame(length: 96, seed: 3), originalLength: 1514,
                timestamp: PacketTimestamp(seconds: 5, microseconds: 250))
            try Self.writeCapture([frame], to: path)

            var reader = try PcapFileReader(path: path)
            var buffer = [UInt8](repeating: 0, count: 128)
            let record = try buffer.withUnsafeMutableBytes {
                try reader.read(into: $0.baseAddress!, capacity: $0.count)
            }
            #expect(record == PcapRecord(capturedLength: 96, originalLength: 1514, timestamp: frame.timestamp))
            #expect(record?.isTruncated == true)
            #expect(Array(buffer.prefix(96)) == frame.bytes)
        }
    }

    /// The format's seconds field is unsigned 32-bit; libpcap 1.10 sign-extends it, the reader
    /// undoes that.
    @Test func timestampsBeyond2038RoundTrip() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("late.pcap").path
            let frames = [
                CapturedFrame(bytes: [1, 2, 3], timestamp: .zero),
                CapturedFrame(bytes: [4, 5, 6], timestamp: PacketTimestamp(seconds: 3_000_000_000, nanoseconds: 1)),
                CapturedFrame(bytes: [7], timestamp: PacketTimestamp(seconds: 4_294_967_295, nanoseconds: 999_999_999)),
            ]
            try Self.writeCapture(frames, to: path, precision: .nanosecond)
            var reader = try PcapFileReader(path: path)
            #expect(try reader.readAll() == frames)
        }
    }

    @Test func emptyCapture() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("empty.pcap").path
            try Self.writeCapture([], to: path)

            var reader = try PcapFileReader(path: path)
            var byte: UInt8 = 0
            #expect(
                try withUnsafeMutableBytes(of: &byte) { try reader.read(into: $0.baseAddress!, capacity: 1) } == nil)
            #expect(try reader.readAll().isEmpty)
        }
    }

    // MARK: Errors

    @Test func aFileThatIsNotACaptureIsRejectedWithLibpcapsMessage() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("policy.yaml").path
            try Data("tenants:\n  - name: blue\n    vsid: 5001\n".utf8).write(to: URL(fileURLWithPath: path))

            let error = try #require(Self.pcapError { _ = try PcapFileReader(path: path) })
            #expect(error.operation == "pcap_open_offline")
            #expect(error.path == path)
            #expect(error.message == "unknown file format")
            #expect(error.description.contains(path))
        }
    }

    @Test func anEmptyFileIsRejectedWithLibpcapsMessage() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("empty").path
            try Data().write(to: URL(fileURLWithPath: path))

            let error = try #require(Self.pcapError { _ = try PcapFileReader(path: path) })
            #expect(error.operation == "pcap_open_offline")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func aMissingFileIsReportedWithItsName() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("absent.pcap").path
            let error = try #require(Self.pcapError { _ = try PcapFileReader(path: path) })
            #expect(error.operation == "pcap_open_offline")
            #expect(error.message.contains("No such file or directory"))
            #expect(error.description.contains(path))
        }
    }

    @Test func aCaptureOfAnotherLinkTypeIsRejectedNamingIt() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("raw.pcap").path
            try Self.writeCapture(
                [CapturedFrame(bytes: [0x45, 0, 0, 20], timestamp: .zero)], to: path, linkType: .raw)

            let error = try #require(Self.pcapError { _ = try PcapFileReader(path: path) })
            #expect(error.operation == "link type")
            #expect(error.message.contains("RAW"))
            #expect(error.message.contains("EN10MB"))
            // Asked for explicitly, the same capture opens.
            var reader = try PcapFileReader(path: path, expectedLinkType: .raw)
            #expect(try reader.readAll().map(\.bytes) == [[0x45, 0, 0, 20]])
        }
    }

    @Test func aFrameLargerThanTheBufferIsAnError() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("jumbo.pcap").path
            try Self.writeCapture(
                [
                    CapturedFrame(bytes: Self.frame(length: 9018, seed: 1), timestamp: .zero),
                    CapturedFrame(bytes: Self.frame(length: 60, seed: 2), timestamp: .zero),
                ], to: path)

            var reader = try PcapFileReader(path: path)
            var buffer = [UInt8](repeating: 0, count: 2048)
            try buffer.withUnsafeMutableBytes { buffer in
                let error = try #require(
                    Self.pcapError { _ = try reader.read(into: buffer.baseAddress!, capacity: buffer.count) })
                #expect(error.message.contains("9018"))
                // The oversized frame is skipped; the next one reads.
                let record = try reader.read(into: buffer.baseAddress!, capacity: buffer.count)
                #expect(record?.capturedLength == 60)
            }
        }
    }

    @Test func aTruncatedFileIsAReadError() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("cut.pcap").path
            try Self.writeCapture(Array(Self.sampleFrames.prefix(2)), to: path)
            let url = URL(fileURLWithPath: path)
            let whole = try Data(contentsOf: url)
            try whole.dropLast(10).write(to: url)

            var reader = try PcapFileReader(path: path)
            _ = try reader.next()
            let error = try #require(Self.pcapError { _ = try reader.next() })
            #expect(error.operation == "pcap_next_ex")
            #expect(error.message.contains("truncated"))
        }
    }

    @Test func theWriterRejectsWhatTheFormatCannotHold() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("out.pcap").path
            var writer = try PcapFileWriter(path: path, snapshotLength: 128)
            let tooLong = Self.pcapError { try writer.write(Self.frame(length: 129, seed: 0), timestamp: .zero) }
            #expect(tooLong?.message.contains("snapshot length 128") == true)
            let shorterOriginal = Self.pcapError { try writer.write([1, 2, 3], originalLength: 2, timestamp: .zero) }
            #expect(shorterOriginal?.operation == "write")
            let beforeEpoch = Self.pcapError {
                try writer.write([1], timestamp: PacketTimestamp(seconds: -1, nanoseconds: 0))
            }
            #expect(beforeEpoch?.message.contains("range") == true)
            try writer.write([9, 9], timestamp: .zero)
            try writer.flush()
            try writer.close()

            var reader = try PcapFileReader(path: path)
            #expect(reader.snapshotLength == 128)
            #expect(try reader.readAll() == [CapturedFrame(bytes: [9, 9], timestamp: .zero)])
        }
    }

    @Test func aWriterInAMissingDirectoryReportsLibpcapsMessage() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("no/such/dir/out.pcap").path
            let error = try #require(Self.pcapError { _ = try PcapFileWriter(path: path) })
            #expect(error.operation == "pcap_dump_open")
            #expect(error.message.contains("No such file or directory"))
        }
    }

    // MARK: Values

    @Test func timestampsOrderAndNormalize() {
        let a = PacketTimestamp(seconds: 10, nanoseconds: 999_999_999)
        let b = PacketTimestamp(seconds: 11, nanoseconds: 0)
        #expect(a < b)
        #expect(a.advanced(byNanoseconds: 1) == b)
        #expect(b.advanced(byNanoseconds: -1) == a)
        #expect(a.advanced(byNanoseconds: 2_000_000_001) == PacketTimestamp(seconds: 13, nanoseconds: 0))
        #expect(PacketTimestamp(seconds: 1, microseconds: 250).nanoseconds == 250_000)
        #expect(a.truncated(to: .microsecond) == PacketTimestamp(seconds: 10, microseconds: 999_999))
        #expect(PacketTimestamp(seconds: 1_700_000_000, nanoseconds: 250_000).description == "1700000000.000250000")
    }

    @Test func linkTypesAreNamedByLibpcap() {
        #expect(PcapLinkType.ethernet.description == "EN10MB (Ethernet)")
        #expect(PcapLinkType.raw.name == "RAW")
        #expect(PcapLinkType(rawValue: 4000).description == "DLT 4000")
    }

    // MARK: Interoperability

    @Test(
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark"),
            "tshark is not installed (/usr/bin/tshark); install it (make test-deps) to check the files with Wireshark"),
        arguments: [PacketTimestamp.Precision.microsecond, .nanosecond])
    func tsharkReadsTheWrittenCapture(precision: PacketTimestamp.Precision) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("frames.pcap").path
            try Self.writeCapture(Self.sampleFrames, to: path, precision: precision)

            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
            process.arguments = ["-r", path, "-T", "fields", "-e", "frame.len", "-e", "frame.time_epoch"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)

            let rows = text.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
            #expect(rows.map { $0.first } == Self.sampleFrames.map { String($0.bytes.count) })
            // tshark prints the epoch time with nine fraction digits, as PacketTimestamp does.
            #expect(rows.map { $0.last } == Self.sampleFrames.map { $0.timestamp.truncated(to: precision).description })
        }
    }
}
