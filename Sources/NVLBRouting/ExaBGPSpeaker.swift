import CNVLBSpawn
import Glibc
import NVLBIO
import NVLBWire

/// An error of the speaker process's plumbing.
public struct BGPSpeakerError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// ExaBGP as nvlb's child: started with PR_SET_PDEATHSIG (it dies with nvlb, so a crashed
/// instance's sessions drop and routers withdraw its routes at once), fed through FIFOs by
/// its API process (``ExaBGPConfiguration``), its own log copied to nvlb's.
public final class ExaBGPSpeaker: BGPSpeakerIO {
    public let configuration: ExaBGPConfiguration
    /// The `exabgp` program.
    public let program: String
    private let log: (String) -> Void
    private var pid: pid_t = 0
    private var commands: FileDescriptor?
    private var events: FileDescriptor?
    private var output: FileDescriptor?
    private var eventBuffer: [UInt8] = []
    private var outputBuffer: [UInt8] = []

    /// `directory` is created (mode 0700) and holds the generated files and FIFOs.
    public init(
        configuration: ExaBGPConfiguration, program: String = "/usr/sbin/exabgp", log: @escaping (String) -> Void
    ) {
        self.configuration = configuration
        self.program = program
        self.log = log
    }

    deinit { stop() }

    public func start() throws {
        closeAll()
        guard access(program, X_OK) == 0 else {
            throw BGPSpeakerError(description: "\(program) is not an executable (install Debian's exabgp)")
        }
        let c = configuration
        if mkdir(c.directory, 0o700) != 0 && errno != EEXIST { throw failure("mkdir \(c.directory)") }
        try write(c.configurationText, to: c.configurationPath, mode: 0o600)
        try write(c.scriptText, to: c.scriptPath, mode: 0o700)
        // Fresh FIFOs each time: commands left unread by a dead speaker must not replay.
        for path in [c.commandsPath, c.eventsPath] {
            unlink(path)
            if mkfifo(path, 0o600) != 0 { throw failure("mkfifo \(path)") }
        }
        // Read-write opens never block and keep each FIFO open whatever the other side does.
        let pipe: (read: FileDescriptor, write: FileDescriptor)
        do {
            commands = try Syscalls.open(c.commandsPath, O_RDWR | O_NONBLOCK | O_CLOEXEC).get()
            events = try Syscalls.open(c.eventsPath, O_RDWR | O_NONBLOCK | O_CLOEXEC).get()
            pipe = try Syscalls.pipe().get()
        } catch {
            throw failure("open the FIFOs", error)
        }
        output = pipe.read
        _ = Syscalls.setCloseOnExec(pipe.read)
        _ = Syscalls.setNonBlocking(pipe.read)
        let arguments = [program, c.configurationPath]
        let child = withCStrings(arguments) { argv in
            withCStrings(ExaBGPConfiguration.environment) { envp in
                nvlb_spawn_child(program, argv, envp, pipe.write.rawValue, SIGTERM)
            }
        }
        Syscalls.close(pipe.write)
        guard child > 0 else { throw failure("start \(program)", Errno(-child)) }
        pid = child
    }

    public func send(_ command: String) throws {
        guard let commands else { throw BGPSpeakerError(description: "the speaker is not running") }
        let bytes = Array((command + "\n").utf8)
        switch bytes.withUnsafeBytes({ Syscalls.write(commands, $0) }) {
        case .success(bytes.count): return
        case .success: throw failure("write to \(configuration.commandsPath)")
        case .failure(let error): throw failure("write to \(configuration.commandsPath)", error)
        }
    }

    public func poll(timeout: Double) -> (lines: [String], exitStatus: Int32?) {
        var entries = [
            pollfd(fd: events?.rawValue ?? -1, events: Int16(POLLIN), revents: 0),
            pollfd(fd: output?.rawValue ?? -1, events: Int16(POLLIN), revents: 0),
        ]
        _ = entries.withUnsafeMutableBufferPointer {
            Syscalls.poll($0, timeoutMilliseconds: Int32(max(0, min(timeout, 60)) * 1000))
        }
        let lines = Self.drain(events, into: &eventBuffer)
        for line in Self.drain(output, into: &outputBuffer) where !line.isEmpty { log("exabgp: \(line)") }
        var status: Int32 = 0
        guard pid > 0, waitpid(pid, &status, WNOHANG) == pid else { return (lines, nil) }
        pid = 0
        closeAll()
        return (lines, Self.exitCode(status))
    }

    public func stop() {
        if pid > 0 {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            var waited = 0
            while waitpid(pid, &status, WNOHANG) == 0 {
                if waited == 40 { kill(pid, SIGKILL) }
                usleep(50_000)
                waited += 1
            }
            pid = 0
        }
        closeAll()
    }

    private func closeAll() {
        for descriptor in [commands, events, output].compactMap({ $0 }) { Syscalls.close(descriptor) }
        commands = nil
        events = nil
        output = nil
        eventBuffer.removeAll()
        outputBuffer.removeAll()
    }

    /// Complete lines read from nonblocking `descriptor` (a partial last line stays in `buffer`).
    private static func drain(_ descriptor: FileDescriptor?, into buffer: inout [UInt8]) -> [String] {
        guard let descriptor else { return [] }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while case .success(let count) = chunk.withUnsafeMutableBytes({ Syscalls.read(descriptor, into: $0) }),
            count > 0
        {
            buffer += chunk[0..<count]
        }
        var lines: [String] = []
        while let newline = buffer.firstIndex(of: 0x0A) {
            lines.append(String(decoding: buffer[..<newline], as: UTF8.self))
            buffer.removeSubrange(...newline)
        }
        return lines
    }

    static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    private func write(_ text: String, to path: String, mode: mode_t) throws {
        let descriptor: FileDescriptor
        switch Syscalls.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: mode) {
        case .success(let opened): descriptor = opened
        case .failure(let error): throw failure("create \(path)", error)
        }
        defer { Syscalls.close(descriptor) }
        if let error = Array(text.utf8).withUnsafeBytes({ Syscalls.writeAll(descriptor, $0) }) {
            throw failure("write \(path)", error)
        }
        _ = Syscalls.fchmod(descriptor, mode)
    }

    /// The error of `what`, which failed with `error` (by default the thread's `errno` now).
    private func failure(_ what: String, _ error: Errno = .current) -> BGPSpeakerError {
        BGPSpeakerError(description: "\(what): \(error)")
    }

    private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// CLOCK_MONOTONIC in seconds.
public struct SystemMonotonicClock: MonotonicClock {
    public init() {}
    public func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
