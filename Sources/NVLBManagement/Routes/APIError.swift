import Foundation
import Hummingbird
import NVLBControl

/// Error replies: every non-2xx answer of the API carries `{"errors": [{path, message}]}`
/// (docs/openapi.yaml `Errors`).
enum APIError {
    struct Body: Encodable {
        var errors: [ChangeProblem]
    }

    static func response(_ status: HTTPResponse.Status, _ problems: [(String, String)]) -> Response {
        response(status, problems.map { ChangeProblem(path: $0.0, message: $0.1) })
    }

    static func response(_ status: HTTPResponse.Status, _ problems: [ChangeProblem]) -> Response {
        JSONReply.response(status: status, encodable: Body(errors: problems))
    }

    /// The reply for a refused change.
    static func response(_ failure: ChangeFailure) -> Response {
        switch failure {
        case .invalid(let problems): return response(.unprocessableContent, problems)
        case .notFound(let message): return response(.notFound, [("", message)])
        case .conflict(let problems): return response(.conflict, problems)
        case .preconditionFailed(let current):
            var reply = response(
                .preconditionFailed, [("", "the configuration changed (current ETag \(current)); GET it and retry")])
            reply.headers[.eTag] = current
            return reply
        case .persistence(let message):
            return response(.internalServerError, [("", "the change was not applied: \(message)")])
        }
    }
}

/// JSON bodies.
enum JSONReply {
    static func response(status: HTTPResponse.Status = .ok, encodable: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(encodable)) ?? Data("{}".utf8)
        return response(status: status, text: String(decoding: data, as: UTF8.self))
    }

    static func response(status: HTTPResponse.Status = .ok, text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
