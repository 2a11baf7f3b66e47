import Synchronization

/// A stop request shared by a controller and its workers.
public final class StopFlag: Sendable {
    public let value = Atomic<Bool>(false)
    public init() {}
}
