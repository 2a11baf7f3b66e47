import Hummingbird
import Logging

/// One log line per change request (PUT, PATCH, DELETE, POST), accepted or not: the token's
/// name, the request and its result (docs/management.md "Audit log").
struct AuditMiddleware: RouterMiddleware {
    typealias Context = ManagementContext

    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.method != .get, request.method != .head, request.method != .options else {
            return try await next(request, context)
        }
        let token = context.tokenName ?? "-"
        do {
            let response = try await next(request, context)
            logger.notice(
                "audit",
                metadata: [
                    "token": .string(token), "request": .string("\(request.method) \(request.uri.path)"),
                    "result": .stringConvertible(response.status.code),
                    "etag": .string(response.headers[.eTag] ?? "-"),
                ])
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            logger.notice(
                "audit",
                metadata: [
                    "token": .string(token), "request": .string("\(request.method) \(request.uri.path)"),
                    "result": .stringConvertible(status), "error": .string("\(error)"),
                ])
            throw error
        }
    }
}
