import Foundation
import NVLBTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The lab's suites run one after the other: each builds a dozen namespaces and runs real
/// TCP stacks, which is enough load for a 2-core machine.
@Suite("Lab (network namespaces, emulated Hyper-V hosts)", .serialized)
enum LabSuites {}

/// What the lab needs from the machine, and why a test cannot run.
enum LabEnvironment {
    /// The directory of the built executables: next to the test bundle (`.build/<triple>/debug`).
    static let binDirectory: URL = {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let sibling = executable.deletingLastPathComponent()
        if FileManager.default.isExecutableFile(atPath: sibling.appendingPathComponent("nvlb-hvhost").path) {
            return sibling
        }
        return TestSupport.repositoryRoot.appendingPathComponent(".build/debug")
    }()

    static var hostEmulator: URL { binDirectory.appendingPathComponent("nvlb-hvhost") }
    static var nvlb: URL { binDirectory.appendingPathComponent("nvlb") }
    static let labDirectory = TestSupport.repositoryRoot.appendingPathComponent("lab")

    /// Why the lab cannot be built here, or nil.
    static let labUnavailableReason: String? = {
        guard geteuid() == 0 else { return "the lab needs root (network namespaces, raw sockets)" }
        guard FileManager.default.isExecutableFile(atPath: hostEmulator.path) else {
            return "nvlb-hvhost is not built (looked in \(binDirectory.path)); run 'swift build'"
        }
        guard
            FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
                || (try? Shell.run(["python3", "--version"], timeout: 10).status) == 0
        else { return "the lab needs python3 (the VMs' web servers)" }
        let probe = "nvlb-labprobe-\(getpid())"
        guard let added = try? Shell.run(["ip", "netns", "add", probe], timeout: 10), added.status == 0 else {
            return "network namespaces are not available here ('ip netns add' failed)"
        }
        _ = try? Shell.run(["ip", "netns", "del", probe], timeout: 10)
        return nil
    }()

    /// Why `nvlb run` cannot be used, or nil: the binary is missing, or `run` is not among
    /// the sub-commands `nvlb --help` lists.
    static let nvlbRunUnavailableReason: String? = {
        guard FileManager.default.isExecutableFile(atPath: nvlb.path) else {
            return "nvlb is not built (looked in \(binDirectory.path))"
        }
        guard let help = try? Shell.run([nvlb.path, "--help"], timeout: 20) else { return "nvlb --help failed" }
        let listsRun = help.output.split(separator: "\n").contains { line in
            line.split(separator: " ", omittingEmptySubsequences: true).first == "run"
        }
        return listsRun ? nil : "'nvlb run' is not available yet: no 'run' sub-command in 'nvlb --help'"
    }()
}

/// Runs commands with a time limit (coreutils `timeout`).
///
/// Not Foundation's `Process`: its children inherit the spawning thread's signal mask, and
/// the test runner's threads block SIGHUP, SIGINT and SIGTERM — a daemon started that way
/// never sees SIGTERM or a SIGHUP reload. `posix_spawn` here starts every child with an
/// empty mask and default handlers, and `waitpid` waits without a run loop. Output goes
/// through files, so background children holding it open can never block the test.
enum Shell {
    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    @discardableResult
    static func run(_ arguments: [String], timeout: Double = 30) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
        let outputPath = directory.appendingPathComponent("nvlb-lab-out-\(UUID().uuidString)").path
        let errorPath = directory.appendingPathComponent("nvlb-lab-err-\(UUID().uuidString)").path
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let error = open(errorPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer {
            close(output)
            close(error)
            unlink(outputPath)
            unlink(errorPath)
        }
        guard output >= 0, error >= 0 else { throw LabError("cannot create output files in \(directory.path)") }
        let pid = try spawn(timed(arguments, timeout), input: nil, output: output, error: error)
        let status = wait(pid)
        return Result(
            status: status,
            output: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
            error: (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
    }

    /// `arguments` under `timeout -k 2 SECONDS` (SIGTERM, then SIGKILL 2 s later).
    static func timed(_ arguments: [String], _ seconds: Double) -> [String] {
        ["/usr/bin/timeout", "-k", "2", String(format: "%.1f", seconds)] + arguments
    }

    /// Starts `arguments[0]` (searched in PATH) with the given descriptors as stdin (nil:
    /// /dev/null), stdout and stderr, an empty signal mask and default signal handlers.
    static func spawn(_ arguments: [String], input: Int32?, output: Int32, error: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let input {
            posix_spawn_file_actions_adddup2(&actions, input, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, error, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawnp(&pid, argv[0]!, &actions, &attributes, &argv, environ)
        guard result == 0 else {
            throw LabError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits for `pid`; its exit status, or 128 + the signal that ended it.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// The exit status of `pid` if it has ended, else nil (does not block).
    static func poll(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// One lab instance (lab/up.sh, lab/down.sh) under its own namespace prefix, so that two
/// runs (or a developer's lab) never collide.
final class Lab {
    let prefix: String
    let runDirectory: URL
    let configuration: URL
    private(set) var isUp = false

    /// The VM names and the CA each serves.
    static let blueVMs = ["blue-vm1": "10.1.6.20", "blue-vm2": "10.1.6.21", "blue-vm3": "10.1.6.22"]
    static let redVMs = ["red-vm1": "10.1.6.21", "red-vm2": "10.1.6.22"]

    init(tag: String, configuration: URL) {
        prefix = "nvlb-lab\(getpid())\(tag)-"
        runDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)run")
        self.configuration = configuration
    }

    /// Builds the lab (bounded: every process it starts exits after `lifetime` seconds).
    func up(lifetime: Int = 300) throws {
        Self.removeStaleLabs()
        isUp = true
        let result = try Shell.run(
            [
                LabEnvironment.labDirectory.appendingPathComponent("up.sh").path, "--prefix", prefix, "--config",
                configuration.path, "--bin", LabEnvironment.binDirectory.path, "--run-dir", runDirectory.path,
                "--lifetime", String(lifetime),
            ], timeout: 90)
        guard result.status == 0 else {
            // isUp stays set: down() removes whatever a killed up.sh left behind.
            throw LabError("lab/up.sh failed (\(result.status)):\n\(result.error)\n\(result.output)")
        }
    }

    /// Tears everything down (idempotent).
    func down() {
        guard isUp else { return }
        isUp = false
        _ = try? Shell.run(
            [
                LabEnvironment.labDirectory.appendingPathComponent("down.sh").path, "--prefix", prefix, "--run-dir",
                runDirectory.path, "--quiet",
            ], timeout: 30)
    }

    deinit { down() }

    func namespace(_ name: String) -> String { prefix + name }

    /// Tears down labs of earlier test processes that died before their clean-up (their
    /// namespaces carry the dead process's pid: `nvlb-lab<pid><tag>-`).
    static func removeStaleLabs() {
        guard let list = try? Shell.run(["ip", "netns", "list"], timeout: 10) else { return }
        var prefixes: Set<String> = []
        for line in list.output.split(separator: "\n") {
            let name = line.split(separator: " ").first.map(String.init) ?? ""
            guard name.hasPrefix("nvlb-lab"), let dash = name.dropFirst(8).firstIndex(of: "-") else { continue }
            let middle = name[name.index(name.startIndex, offsetBy: 8)..<dash]
            guard let pid = Int32(middle.prefix(while: \.isNumber)), pid != getpid(), kill(pid, 0) != 0,
                errno == ESRCH
            else { continue }
            prefixes.insert(String(name[...dash]))
        }
        for prefix in prefixes {
            _ = try? Shell.run(
                [LabEnvironment.labDirectory.appendingPathComponent("down.sh").path, "--prefix", prefix, "--quiet"],
                timeout: 30)
        }
    }

    /// Runs `arguments` inside the lab namespace `name`.
    @discardableResult
    func exec(_ name: String, _ arguments: [String], timeout: Double = 30) throws -> Shell.Result {
        try Shell.run(["ip", "netns", "exec", namespace(name)] + arguments, timeout: timeout)
    }

    /// The JSON of `lab/http-client.py many`.
    struct ManyResult: Decodable, CustomStringConvertible {
        var ok: Int
        var failed: Int
        var by: [String: Int]
        var peers: [String: Int]
        var errors: [String]
        var seconds: Double
        /// With `--times`: each request's start (Unix seconds), duration and outcome (1 ok, 0 failed).
        var times: [[Double]]?
        var description: String {
            "ok \(ok), failed \(failed), by \(by), peers \(peers), errors \(errors), \(seconds) s"
        }
    }

    static var python: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
    }

    /// `count` HTTP GETs of `url` from namespace `name`, each on a new connection.
    func requests(from name: String, _ url: String, count: Int, timeout: Double = 3) throws -> ManyResult {
        let script = LabEnvironment.labDirectory.appendingPathComponent("http-client.py").path
        let result = try exec(
            name, [Self.python, script, "many", url, "--count", String(count), "--timeout", String(timeout)],
            timeout: Double(count) * timeout + 10)
        guard result.status == 0, let data = result.output.data(using: .utf8),
            let decoded = try? JSONDecoder().decode(ManyResult.self, from: data)
        else { throw LabError("http-client.py many \(url) from \(name) failed (\(result.status)): \(result.error)") }
        return decoded
    }

    /// One large download from `name`, checked byte for byte; the answering VM.
    func download(from name: String, _ url: String) throws -> (ok: Bool, vm: String?) {
        let script = LabEnvironment.labDirectory.appendingPathComponent("http-client.py").path
        let result = try exec(name, [Self.python, script, "blob", url, "--timeout", "10"], timeout: 30)
        guard let data = result.output.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return (false, nil) }
        return (object["ok"] as? Bool ?? false, object["vm"] as? String)
    }

    /// The counters an emulated host writes (`nvlb-hvhost --stats`), read after they settle.
    func hostCounters(_ host: String) throws -> [String: Any] {
        let url = runDirectory.appendingPathComponent("\(host).json")
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LabError("\(url.path) is not a JSON object")
        }
        return object
    }

    /// TCP connection attempts (SYN) each VM received, by destination port, over all hosts.
    func connectionsByVM() throws -> [String: [String: Int]] {
        let vmOfCA: [String: String] = [
            "5001/10.1.6.20": "blue-vm1", "5001/10.1.6.21": "blue-vm2", "5001/10.1.6.22": "blue-vm3",
            "6001/10.1.6.21": "red-vm1", "6001/10.1.6.22": "red-vm2", "5002/10.1.5.20": "blue-client",
        ]
        var result: [String: [String: Int]] = [:]
        for host in ["hv1", "hv2", "hv3"] {
            let vms = try hostCounters(host)["vms"] as? [String: [String: Any]] ?? [:]
            for (key, counters) in vms {
                result[vmOfCA[key] ?? key] = counters["tcp_syns_in"] as? [String: Int] ?? [:]
            }
        }
        return result
    }

    /// The last lines of every log of the lab, for failure messages.
    func logTails(lines: Int = 15) -> String {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory.path)) ?? []
        return files.filter { $0.hasSuffix(".log") }.sorted().map { file in
            let text = (try? String(contentsOf: runDirectory.appendingPathComponent(file), encoding: .utf8)) ?? ""
            return "--- \(file)\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Lab {
    /// Whether `url` answers one request from the `client` namespace within 20 s, tried every
    /// 0.5 s while `nvlb` runs: the lab is ready once nvlb runs and the ARP exchanges (for the
    /// VIP, for nvlb's PA at the hosts) have settled.
    func awaitAnswer(_ url: String, while nvlb: LabDaemon) throws -> Bool {
        for _ in 0..<40 {
            if try requests(from: "client", url, count: 1, timeout: 0.5).ok == 1 { return true }
            guard nvlb.isRunning else { return false }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return false
    }
}
