import Hummingbird
import NIOCore

extension ManagementServer {
    /// The console's headers (docs/console.md "Security"): scripts only from the server's own
    /// files (no inline script), no framing, no MIME sniffing.
    static let consoleSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// `GET /` and the console's static files. They carry no data, so they load without a
    /// token (see `BearerAuthMiddleware`); the page sends its token with every `/v1` request.
    func addConsoleRoutes(to router: Router<ManagementContext>) {
        router.get("/") { _, _ in Self.consoleFile("/index.html") }
        for path in ConsoleAssets.files.keys {
            router.get(RouterPath(path)) { _, _ in Self.consoleFile(path) }
        }
    }

    static func consoleFile(_ path: String) -> Response {
        guard let file = ConsoleAssets.files[path] else { return Response(status: .notFound) }
        return Response(
            status: .ok,
            headers: [
                .contentType: file.contentType,
                .contentSecurityPolicy: consoleSecurityPolicy,
                .xContentTypeOptions: "nosniff",
                .cacheControl: "no-cache",
            ],
            body: .init(byteBuffer: ByteBuffer(string: file.body)))
    }
}
