import ArgumentParser
import Foundation
import NVLBControl
import NVLBPolicy

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
