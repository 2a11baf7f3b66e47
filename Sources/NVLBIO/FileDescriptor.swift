/// An open file descriptor as a typed value (after swift-system's `FileDescriptor`): a
/// socket, a capture's selectable descriptor or a namespace file, never confused with a
/// count or an index. Owning types close theirs with ``Syscalls/close(_:)``.
@frozen
public struct FileDescriptor: RawRepresentable, Hashable, Sendable {
    /// The kernel's descriptor number.
    public let rawValue: Int32

    /// The descriptor `rawValue`.
    @inlinable
    public init(rawValue: Int32) { self.rawValue = rawValue }
}
