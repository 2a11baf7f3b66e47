import ArgumentParser
import Foundation
import NVLBControl
import NVLBPolicy
import NVLBRuntime

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Loads and validates a configuration for a sub-command. An invalid file prints
/// every diagnostic (`FILE:LINE:COLUMN: key.path: message`) on stderr and exits 2.
func loadConfiguration(_ path: String) throws -> PolicyConfiguration {
    do {
        return try ConfigurationLoader.load(path: path)
    } catch {
        printError(error.description)
        throw ExitCode(2)
    }
}

/// Runs `body`, turning any error into a message on stderr and exit status 1
/// (failures that are not misuse: unreadable captures, I/O errors).
func failing<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        printError("nvlb: \(what): \(error)")
        throw ExitCode.failure
    }
}

/// The worker count of `balancer.workers`: a number, or `auto` resolved by the
/// placement plan (one per CPU of the home NUMA node).
func resolvedWorkers(_ configuration: PolicyConfiguration, interface: String? = nil) -> Int {
    WorkerPlacement.plan(workers: WorkerCount(configuration.balancer.workers), interface: interface).slots.count
}

/// A one-line progress bar on standard error (used only when it is a terminal).
enum ProgressBar {
    @Sendable static func update(_ done: Int, _ total: Int) {
        guard total > 0 else { return }
        let fraction = min(1, Double(done) / Double(total))
        let width = 40
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let text = "\r[\(bar)] \(Int(fraction * 100))%" + (done >= total ? "\n" : "")
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// `--config FILE`, shared by every sub-command.
struct ConfigurationOption: ParsableArguments {
    @Option(help: ArgumentHelp("The YAML configuration file (docs/configuration.md).", valueName: "FILE"))
    var config: String

    /// The validated configuration; an invalid file prints every problem and exits 2.
    func load() throws -> PolicyConfiguration { try loadConfiguration(config) }
}

/// `--workers N`, shared by replay, bench and run.
struct WorkersOption: ParsableArguments {
    @Option(help: ArgumentHelp("Worker count (default: the configuration's balancer.workers).", valueName: "N"))
    var workers: Int?

    func validate() throws {
        if let workers, !(1...256).contains(workers) { throw ValidationError("--workers must be between 1 and 256") }
    }
}
