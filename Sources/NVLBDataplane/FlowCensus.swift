import NVLBWire

/// Counts a worker's live flows, in total and per DIP (docs/metrics.md `nvlb_flows`),
/// without touching the packet path: flows expire lazily in the table (an expired entry is
/// a tombstone until reused), so no counter kept at insertion could say how many are live.
/// Instead the worker sweeps its own table a slice at a time between passes, at a rate
/// that covers the whole table once per ``period`` nanoseconds (a sequential read of
/// 64 MiB a second for a million-slot table: about 0.2 % of a core), and publishes the
/// result of each complete sweep. Figures are therefore up to two periods old.
///
/// Per-DIP counts are keyed by (DIP VSID, DIP CA) in a fixed open-addressing table of
/// ``dipCapacity`` keys, allocated once; flows of DIPs beyond it are in ``unattributed``.
/// Not thread-safe: the worker owns it; it copies ``total`` and ``dips()`` out with its
/// other counters.
public struct FlowCensus: ~Copyable {
    /// Nanoseconds per complete sweep.
    public let period: UInt64
    /// DIPs counted separately.
    public static let dipCapacity = 8192

    /// Live flows at the end of the last complete sweep; nil before the first.
    public private(set) var total: UInt64?
    /// Flows of the last sweep whose DIP did not fit the per-DIP table.
    public private(set) var unattributed: UInt64 = 0
    /// Complete sweeps.
    public private(set) var sweeps: UInt64 = 0

    private var cursor = 0
    private var sweepStart: UInt64 = 0
    private var started = false
    private var running: UInt64 = 0
    private var runningOverflow: UInt64 = 0
    /// Keys (`VSID << 32 | CA`, 0: empty) and counts: running sweep, then the completed one.
    private let keys: UnsafeMutablePointer<UInt64>
    private let counts: UnsafeMutablePointer<UInt32>
    private let doneKeys: UnsafeMutablePointer<UInt64>
    private let doneCounts: UnsafeMutablePointer<UInt32>

    /// A census sweeping once per `period` nanoseconds (default one second).
    public init(period: UInt64 = 1_000_000_000) {
        self.period = max(1, period)
        keys = .allocate(capacity: Self.dipCapacity)
        counts = .allocate(capacity: Self.dipCapacity)
        doneKeys = .allocate(capacity: Self.dipCapacity)
        doneCounts = .allocate(capacity: Self.dipCapacity)
        keys.initialize(repeating: 0, count: Self.dipCapacity)
        counts.initialize(repeating: 0, count: Self.dipCapacity)
        doneKeys.initialize(repeating: 0, count: Self.dipCapacity)
        doneCounts.initialize(repeating: 0, count: Self.dipCapacity)
    }

    deinit {
        keys.deallocate()
        counts.deallocate()
        doneKeys.deallocate()
        doneCounts.deallocate()
    }

    /// Sweeps the slots due by `clock` (monotonic nanoseconds); `now` is the flow clock
    /// (seconds) liveness is judged by. Returns true when a sweep completed.
    @discardableResult
    public mutating func advance(_ table: borrowing FlowTable, now: UInt32, clock: UInt64) -> Bool {
        if !started {
            started = true
            sweepStart = clock
        }
        let capacity = table.capacity
        let elapsed = clock &- sweepStart
        // elapsed < period here, so the product stays far below 2^64 for any table.
        let target = elapsed >= period ? capacity : Int(UInt64(capacity) &* elapsed / period)
        guard target > cursor else { return false }
        scan(table, from: cursor, to: target, now: now)
        cursor = target
        guard cursor == capacity else { return false }
        finish()
        sweepStart = clock
        return true
    }

    /// Sweeps the whole table at once (a test hook: engines sweep a slice per batch).
    package mutating func sweepAll(_ table: borrowing FlowTable, now: UInt32) {
        scan(table, from: cursor, to: table.capacity, now: now)
        finish()
    }

    /// Live flows per DIP (`VSID << 32 | CA` → flows) of the last complete sweep. Allocates:
    /// call where counters are copied out, not per pass.
    public func dips() -> [UInt64: UInt64] {
        var result: [UInt64: UInt64] = [:]
        for i in 0..<Self.dipCapacity where doneKeys[i] != 0 { result[doneKeys[i]] = UInt64(doneCounts[i]) }
        return result
    }

    private mutating func scan(_ table: borrowing FlowTable, from start: Int, to end: Int, now: UInt32) {
        var index = start
        while index < end {
            let entry = table[slot: index]
            if entry.pointee.isLive(now: now) {
                running &+= 1
                count(UInt64(entry.pointee.dipVSID) << 32 | UInt64(entry.pointee.dipCA))
            }
            index &+= 1
        }
    }

    private mutating func count(_ key: UInt64) {
        // The key is never 0: a DIP CA is a unicast address.
        // (No `&+=` on the pointee: under -sanitize=thread the compiler emits an invalid bitcast for it here.)
        var index = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & (Self.dipCapacity - 1)
        for _ in 0..<16 {
            if keys[index] == key {
                counts[index] = counts[index] &+ 1
                return
            }
            if keys[index] == 0 {
                keys[index] = key
                counts[index] = 1
                return
            }
            index = (index &+ 1) & (Self.dipCapacity - 1)
        }
        runningOverflow &+= 1
    }

    private mutating func finish() {
        total = running
        unattributed = runningOverflow
        sweeps &+= 1
        doneKeys.update(from: keys, count: Self.dipCapacity)
        doneCounts.update(from: counts, count: Self.dipCapacity)
        keys.update(repeating: 0, count: Self.dipCapacity)
        counts.update(repeating: 0, count: Self.dipCapacity)
        running = 0
        runningOverflow = 0
        cursor = 0
    }
}
