/// libFuzzer glue shared by the harness executables (docs/robustness.md "Fuzzing").

/// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Hands libFuzzer's flags and corpus folders (the process's arguments) to its driver with
/// `test` as the input callback. Called from a harness's entry point: the package manager
/// links an executable's entry point under its own name, so libFuzzer's `main` is not used.
public func runLibFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, test)
}

/// Runs `body` over one input; a thrown invariant aborts with `harness` named, which libFuzzer
/// reports as a crash and saves the input.
public func fuzzOne(
    _ data: UnsafePointer<UInt8>?, _ size: Int, harness: String, _ body: (UnsafeRawBufferPointer) throws -> Void
) -> CInt {
    do {
        try body(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    } catch {
        fatalError("\(harness) invariant broken: \(error)")
    }
    return 0
}
