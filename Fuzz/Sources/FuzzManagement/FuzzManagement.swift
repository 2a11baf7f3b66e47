import FuzzSupport
import NVLBTestSupport

/// One harness for the whole run: the store and its file are set up once; every input starts
/// from the baseline configuration (restored only after an input changed it).
nonisolated(unsafe) let harness: ManagementFuzzHarness = {
    do { return try ManagementFuzzHarness() } catch { fatalError("management harness: \(error)") }
}()

/// libFuzzer's input callback: any bytes as a management API request.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManagement(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(data, size, harness: "management") { try harness.run($0) }
}

/// The executable's entry point (as the package manager names it).
@_cdecl("FuzzManagement_main")
func fuzzManagementMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzManagement)
}
