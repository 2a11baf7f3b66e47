import CNVLBShims
import Glibc
import Testing

@testable import NVLBRuntime

@Suite struct WorkerThreadTests {
    @Test func pinnedThreadRunsOnItsCPUAndIsNamed() throws {
        let cpus = NUMATopology.current().allowedCPUs
        for (index, cpu) in cpus.prefix(4).enumerated() {
            let seenCPU = Box()
            let nameOK = Flag()
            let thread = try WorkerThread.start(index: index, cpu: cpu) {
                seenCPU.value.store(Int(nvlb_current_cpu()), ordering: .relaxed)
                if SysfsFile.read("/proc/thread-self/comm")?.trimmingWhitespace() == "nvlb-w\(index)" { nameOK.set() }
            }
            thread.join()
            #expect(thread.name == "nvlb-w\(index)")
            #expect(thread.requestedCPU == cpu)
            #expect(thread.pinning == .pinned(cpu: cpu))
            if thread.pinning.isPinned { #expect(seenCPU.value.load(ordering: .relaxed) == Int(cpu)) }
            #expect(nameOK.isSet)
        }
    }

    @Test func pinFailureIsReportedAndTheBodyStillRuns() throws {
        let ran = Flag()
        let thread = try WorkerThread.start(index: 7, cpu: 100_000) { ran.set() }
        thread.join()
        #expect(thread.pinning == .failed(cpu: 100_000, errno: EINVAL))
        #expect(!thread.pinning.isPinned)
        #expect(ran.isSet)
    }

    @Test func unpinnedThreadWithCustomNameJoinsIdempotently() throws {
        let counter = Box()
        let thread = try WorkerThread.start(index: 0, cpu: nil, name: "nvlb-test-thread-long") {
            counter.value.add(1, ordering: .relaxed)
        }
        #expect(thread.pinning == .unpinned)
        thread.join()
        thread.join()
        #expect(thread.isJoined)
        #expect(counter.value.load(ordering: .relaxed) == 1)
    }

    @Test func unjoinedThreadIsDetached() throws {
        let ran = Flag()
        do {
            _ = try WorkerThread.start(index: 1, cpu: nil) { ran.set() }
        }
        let deadline = Deadline(seconds: 5)
        while !ran.isSet && !deadline.hasPassed { sched_yield() }
        #expect(ran.isSet)
    }
}
