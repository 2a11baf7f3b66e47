import Hummingbird
import Logging

/// The first problem of a refused change, set by the route so that the audit line says why.
final class AuditNote: @unchecked Sendable {
    /// Written and read by the one task that handles the request.
    var problem: String?
    /// Name of the token that authenticated the request.
    var token: String?

    @TaskLocal static var current: AuditNote?
}

/// One log line per change request (PUT, PATCH, DELETE, POST), accepted, refused or
/// unauthenticated: the token's name (`-` without one), the request and its result
/// (docs/management.md "Audit log"). Runs before authentication, which reports the name.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = ManagementContext

    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.method != .get, request.method != .head, request.method != .options else {
            return try await next(request, context)
        }
        let note = AuditNote()
        do {
            let response = try await AuditNote.$current.withValue(note) { try await next(request, context) }
            var metadata: Logger.Metadata = [
                "token": .string(note.token ?? "-"), "request": .string("\(request.method) \(request.uri.path)"),
                "result": .stringConvertible(response.status.code),
                "etag": .string(response.headers[.eTag] ?? "-"),
            ]
            if let problem = note.problem { metadata["error"] = .string(problem) }
            logger.notice("audit", metadata: metadata)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            logger.notice(
                "audit",
                metadata: [
                    "token": .string(note.token ?? "-"), "request": .string("\(request.method) \(request.uri.path)"),
                    "result": .stringConvertible(status), "error": .string("\(error)"),
                ])
            throw error
        }
    }
}
