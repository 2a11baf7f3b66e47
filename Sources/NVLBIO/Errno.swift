#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An `errno` value as a typed error, with its `strerror` text (after swift-system's
/// `Errno`). ``Syscalls`` returns it instead of leaving `errno` to be read later.
@frozen
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The value (`EAGAIN`, `ENOBUFS` …).
    public let rawValue: Int32

    /// The error `rawValue`.
    @inlinable
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The error `rawValue`.
    @inlinable
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's `errno` now (right after a failed libc call).
    public static var current: Errno { Errno(errno) }

    /// `EINTR`: a signal interrupted the call (retried by ``Syscalls``, never returned by it
    /// except from `poll`, where it means "wake up").
    public static let interrupted = Errno(EINTR)
    /// `EAGAIN`/`EWOULDBLOCK`: a non-blocking call found nothing to do.
    public static let wouldBlock = Errno(EAGAIN)
    /// `ENOBUFS`: the kernel is out of buffers (a full transmit queue).
    public static let noBufferSpace = Errno(ENOBUFS)
    /// `EMSGSIZE`: a frame longer than the interface takes.
    public static let messageTooLong = Errno(EMSGSIZE)
    /// `EINVAL`.
    public static let invalidArgument = Errno(EINVAL)
    /// `ENOENT`.
    public static let noSuchFile = Errno(ENOENT)
    /// `EOPNOTSUPP`: the driver or protocol does not support the operation.
    public static let notSupported = Errno(EOPNOTSUPP)
    /// `ENOPROTOOPT`: the kernel does not know the socket option.
    public static let optionNotSupported = Errno(ENOPROTOOPT)

    /// `strerror(rawValue)`.
    public var description: String { String(cString: strerror(rawValue)) }

    /// The ``LiveIOError`` kind this errno means.
    package var liveKind: LiveIOError.Kind {
        switch rawValue {
        case EPERM, EACCES: .permissionDenied
        case ENODEV, ENXIO: .noSuchDevice
        case ENETDOWN: .interfaceDown
        default: .other
        }
    }
}

extension LiveIOError {
    /// The error of `operation` on `interface` that failed with `errno` (kind from the value).
    package init(_ errno: Errno, interface: String, operation: String) {
        self.init(kind: errno.liveKind, interface: interface, operation: operation, message: errno.description)
    }
}

extension Result where Failure == Errno {
    /// The value, or the failure as a ``LiveIOError`` of `operation` on `interface`.
    package func get(interface: String, operation: String) throws(LiveIOError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let error): throw LiveIOError(error, interface: interface, operation: operation)
        }
    }
}
