import Foundation

/// Picks ranks `0 ..< count` with probability proportional to `1 / (rank + 1)^exponent`
/// (Zipf), or uniformly when `exponent` is nil. O(count) to build, O(log count) per draw.
struct PopularitySampler: Sendable {
    /// Cumulative probabilities; empty for the uniform distribution.
    private let cumulative: [Double]
    private let count: Int

    init(count: Int, exponent: Double?) {
        precondition(count > 0)
        self.count = count
        guard let exponent else {
            cumulative = []
            return
        }
        var weights = (1...count).map { 1 / pow(Double($0), exponent) }
        let total = weights.reduce(0, +)
        var running = 0.0
        for index in weights.indices {
            running += weights[index] / total
            weights[index] = running
        }
        weights[count - 1] = 1
        cumulative = weights
    }

    func draw(_ random: inout Xoshiro256) -> Int {
        guard !cumulative.isEmpty else { return random.below(count) }
        let u = random.unit()
        var low = 0
        var high = count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > u { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
