import Foundation
import Hummingbird
import NIOCore
import NVLBControl

extension ManagementServer {
    func addRoutes(to router: Router<ManagementContext>) {
        router.get("/healthz") { _, _ in
            JSONReply.response(text: "{\"status\":\"ok\"}")
        }
        router.get("/v1/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
        }
        router.get("/metrics") { _, _ in
            let text = MetricsExporter.render(
                figures: backend.figures(), state: store.current, publishSeconds: publisher.histogram.snapshot())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/v1/status") { _, _ in
            JSONReply.response(encodable: StatusReport(store.current, figures: backend.figures(), started: started))
        }
        router.get("/v1/config") { _, _ in
            let state = store.current
            var response = JSONReply.response(text: state.document.json())
            response.headers[.eTag] = state.etag
            return response
        }
        router.put("/v1/config") { request, _ in
            try await change(request) { body throws(ChangeFailure) in
                try store.replace(body: body, ifMatch: request.headers[.ifMatch])
            } reply: { state in
                (.ok, state.document.json())
            }
        }
        router.put("/v1/routing-domains/:domain/lookup-records/:vsid/:ca") { request, context in
            let (domain, vsid, ca) = try lookupRecordPath(context)
            var created = false
            return try await change(request) { body throws(ChangeFailure) in
                let value = try ConfigValue.parse(body: body)
                return try store.change(ifMatch: request.headers[.ifMatch]) {
                    (document: inout ConfigurationDocument) throws(ChangeFailure) in
                    created = try document.putLookupRecord(domain: domain, vsid: vsid, ca: ca, body: value)
                }
            } reply: { state in
                (created ? .created : .ok, Self.lookupRecord(state.document, domain: domain, vsid: vsid, ca: ca))
            }
        }
        router.delete("/v1/routing-domains/:domain/lookup-records/:vsid/:ca") { request, context in
            let (domain, vsid, ca) = try lookupRecordPath(context)
            return try await change(request, needsBody: false) { _ throws(ChangeFailure) in
                try store.change(ifMatch: request.headers[.ifMatch]) {
                    (document: inout ConfigurationDocument) throws(ChangeFailure) in
                    try document.deleteLookupRecord(domain: domain, vsid: vsid, ca: ca)
                }
            } reply: { _ in
                (.noContent, nil)
            }
        }
        router.put("/v1/load-balancers/:name") { request, context in
            let name = try context.parameters.require("name")
            var created = false
            return try await change(request) { body throws(ChangeFailure) in
                let value = try ConfigValue.parse(body: body)
                return try store.change(ifMatch: request.headers[.ifMatch]) {
                    (document: inout ConfigurationDocument) throws(ChangeFailure) in
                    created = try document.putLoadBalancer(name: name, body: value)
                }
            } reply: { state in
                (created ? .created : .ok, Self.loadBalancer(state.document, name: name))
            }
        }
        router.delete("/v1/load-balancers/:name") { request, context in
            let name = try context.parameters.require("name")
            return try await change(request, needsBody: false) { _ throws(ChangeFailure) in
                try store.change(ifMatch: request.headers[.ifMatch]) {
                    (document: inout ConfigurationDocument) throws(ChangeFailure) in
                    try document.deleteLoadBalancer(name: name)
                }
            } reply: { _ in
                (.noContent, nil)
            }
        }
        router.patch("/v1/load-balancers/:name/backends/:vsid/:ca") { request, context in
            let name = try context.parameters.require("name")
            let vsid = try context.parameters.require("vsid")
            let ca = try context.parameters.require("ca")
            return try await change(request) { body throws(ChangeFailure) in
                let value = try ConfigValue.parse(body: body)
                return try store.change(ifMatch: request.headers[.ifMatch]) {
                    (document: inout ConfigurationDocument) throws(ChangeFailure) in
                    try document.setBackendWeight(loadBalancer: name, vsid: vsid, ca: ca, body: value)
                }
            } reply: { state in
                (.ok, Self.backend(state.document, loadBalancer: name, vsid: vsid, ca: ca))
            }
        }
    }

    private func lookupRecordPath(_ context: ManagementContext) throws -> (String, String, String) {
        (
            try context.parameters.require("domain"), try context.parameters.require("vsid"),
            try context.parameters.require("ca")
        )
    }

    /// Reads the body (≤ 4 MiB), runs `apply` and turns its outcome into a reply; the ETag
    /// of the resulting configuration goes into every success.
    private func change(
        _ request: Request, needsBody: Bool = true,
        _ apply: (String) throws(ChangeFailure) -> ConfigurationStore.State,
        reply: (ConfigurationStore.State) -> (HTTPResponse.Status, String?)
    ) async throws -> Response {
        var body = ""
        if needsBody {
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > Self.maxBodySize {
                return APIError.response(.contentTooLarge, [("", "the request body exceeds 4 MiB")])
            }
            do {
                let buffer = try await request.body.collect(upTo: Self.maxBodySize)
                body = String(buffer: buffer)
            } catch is NIOTooManyBytesError {
                return APIError.response(.contentTooLarge, [("", "the request body exceeds 4 MiB")])
            }
        }
        let state: ConfigurationStore.State
        do {
            state = try apply(body)
        } catch {
            AuditNote.current?.problem = Self.summary(error)
            return APIError.response(error)
        }
        let (status, text) = reply(state)
        var response =
            text.map { JSONReply.response(status: status, text: $0) } ?? Response(status: status)
        response.headers[.eTag] = state.etag
        return response
    }

    /// The first problem of a refused change, for the audit line.
    static func summary(_ failure: ChangeFailure) -> String {
        switch failure {
        case .invalid(let problems), .conflict(let problems):
            let first = problems.first.map { $0.path.isEmpty ? $0.message : "\($0.path): \($0.message)" } ?? ""
            return problems.count > 1 ? "\(first) (and \(problems.count - 1) more)" : first
        case .notFound(let message), .persistence(let message): return message
        case .preconditionFailed(let current): return "stale If-Match (current \(current))"
        }
    }

    static func lookupRecord(_ document: ConfigurationDocument, domain: String, vsid: String, ca: String) -> String? {
        let domains = document.root["routing_domains"]?.elements ?? []
        let records = domains.first { $0["name"]?.scalarText == domain }?["lookup_records"]?.elements ?? []
        return records.first { ConfigurationDocument.isRecord($0, vsid: vsid, ca: ca) }.map {
            ConfigurationDocument(root: $0).json()
        }
    }

    static func loadBalancer(_ document: ConfigurationDocument, name: String) -> String? {
        (document.root["load_balancers"]?.elements ?? []).first { $0["name"]?.scalarText == name }.map {
            ConfigurationDocument(root: $0).json()
        }
    }

    static func backend(_ document: ConfigurationDocument, loadBalancer: String, vsid: String, ca: String) -> String? {
        let lb = (document.root["load_balancers"]?.elements ?? []).first { $0["name"]?.scalarText == loadBalancer }
        return (lb?["backends"]?.elements ?? []).first { ConfigurationDocument.isRecord($0, vsid: vsid, ca: ca) }.map {
            ConfigurationDocument(root: $0).json()
        }
    }
}
