import FuzzSupport
import NVLBTestSupport

/// One harness for the whole run: flow state carries over between inputs, as in a worker.
nonisolated(unsafe) let harness = PipelineFuzzHarness()

/// libFuzzer's input callback: any bytes through the pipeline harness.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipeline(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(data, size, harness: "pipeline") { try harness.run($0) }
}

/// The executable's entry point (as the package manager names it).
@_cdecl("FuzzPipeline_main")
func fuzzPipelineMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzPipeline)
}
