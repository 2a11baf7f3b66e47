import FuzzSupport
import NVLBTestSupport

/// libFuzzer's input callback: any bytes as a configuration file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(data, size, harness: "configuration") { try ConfigurationFuzzHarness.run($0) }
}

/// The executable's entry point (as the package manager names it).
@_cdecl("FuzzConfiguration_main")
func fuzzConfigurationMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzConfiguration)
}
