import Hummingbird

/// The request context of the management server: Hummingbird's core storage plus the name
/// of the token that authenticated the request (for the audit log).
public struct ManagementContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// Name of the bearer token, once `BearerAuthMiddleware` accepted it.
    public var tokenName: String?

    /// Creates the context of a new request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        tokenName = nil
    }
}
