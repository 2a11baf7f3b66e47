import Hummingbird

/// Requires `Authorization: Bearer SECRET` on every request but the public ones
/// (`GET /healthz`, the console's static files, and `GET /metrics` unless
/// `management.metrics_auth`); answers 401 with `WWW-Authenticate: Bearer` otherwise.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = ManagementContext

    let tokens: TokenFile
    let metricsAuth: Bool

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if isPublic(request) { return try await next(request, context) }
        guard let header = request.headers[.authorization], let name = tokens.authenticate(authorization: header)
        else {
            var response = APIError.response(
                .unauthorized, [("", "a bearer token is required: Authorization: Bearer SECRET")])
            response.headers[.wwwAuthenticate] = "Bearer realm=\"nvlb\""
            return response
        }
        AuditNote.current?.token = name
        var context = context
        context.tokenName = name
        return try await next(request, context)
    }

    private func isPublic(_ request: Request) -> Bool {
        let path = request.uri.path
        if path == "/healthz" { return true }
        if path == "/metrics" { return !metricsAuth }
        // The console's static files carry no data; everything under /v1 does.
        return !(path == "/v1" || path.hasPrefix("/v1/")) && path != "/metrics"
    }
}
