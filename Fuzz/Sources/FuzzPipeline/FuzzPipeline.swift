import NVLBTestSupport

/// One harness for the whole run: flow state carries over between inputs, as in a worker.
nonisolated(unsafe) let harness = PipelineFuzzHarness()

/// libFuzzer's entry point: any bytes through the pipeline harness. A broken invariant
/// aborts, which libFuzzer reports as a crash and saves the input. libFuzzer's own `main`
/// (linked by `-sanitize=fuzzer`) parses its flags and corpus folders (`make fuzz`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipeline(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try harness.run(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        fatalError("pipeline invariant broken: \(error)")
    }
    return 0
}

/// The package manager links an executable's entry point under this name; libFuzzer's flags
/// and corpus folders are handed to its driver with the harness above.
@_cdecl("FuzzPipeline_main")
func fuzzPipelineMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return fuzzPipeline(data, size)
    }
}

/// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
