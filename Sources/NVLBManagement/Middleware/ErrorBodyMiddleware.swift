import Hummingbird
import Logging

/// Gives every error reply the API's body, `{"errors": [{path, message}]}`, including the
/// ones Hummingbird raises itself (no route: 404; bad parameters: 400), and turns an
/// unexpected error into a logged 500 rather than a dropped connection.
struct ErrorBodyMiddleware: RouterMiddleware {
    typealias Context = ManagementContext

    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            let message =
                error.status == .notFound
                ? "no such resource: \(request.method) \(request.uri.path)" : "\(error.status)"
            return APIError.response(error.status, [("", message)])
        } catch {
            logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return APIError.response(.internalServerError, [("", "internal error")])
        }
    }
}
