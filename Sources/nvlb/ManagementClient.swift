import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `--url` and `--token-file`, shared by the management API clients (status, weight, apply).
struct ManagementClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Base URL of the management API.", valueName: "URL"))
    var url: String = "http://127.0.0.1:9180"

    @Option(
        help: ArgumentHelp(
            "File with the bearer secret: a token file line 'NAME SECRET' (the first is used) or the secret alone.",
            valueName: "FILE"))
    var tokenFile: String

    func validate() throws {
        guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil
        else { throw ValidationError("--url must be an http:// or https:// URL, found '\(url)'") }
    }

    /// The secret of the token file; exit 2 when it cannot be read.
    func secret() throws -> String {
        guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
            printError("nvlb: cannot read the token file \(tokenFile)")
            throw ExitCode(2)
        }
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return String(fields.count >= 2 ? fields[1] : fields[0])
        }
        printError("nvlb: the token file \(tokenFile) holds no secret")
        throw ExitCode(2)
    }

    /// Sends one request; returns status and body. Exit 1 when the server cannot be reached.
    func send(_ method: String, _ path: String, body: Data? = nil) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url.trimmingSuffix("/") + path)!)
        request.httpMethod = method
        request.setValue("Bearer \(try secret())", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 30
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            printError("nvlb: \(method) \(url)\(path): \(error.localizedDescription)")
            throw ExitCode.failure
        }
    }

    /// Prints the errors of a non-2xx reply (as `SOURCE:LINE:COLUMN: path: message` when
    /// positioned) and exits: 2 for a refused (invalid) change, 1 otherwise.
    func fail(_ status: Int, _ data: Data, source: String = "request") throws -> Never {
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        let errors = object?["errors"] as? [[String: Any]] ?? []
        if errors.isEmpty { printError("nvlb: HTTP \(status)") }
        for error in errors {
            let path = error["path"] as? String ?? ""
            let message = error["message"] as? String ?? ""
            var line = path.isEmpty ? message : "\(path): \(message)"
            if let l = error["line"] as? Int, let c = error["column"] as? Int { line = "\(source):\(l):\(c): " + line }
            printError(status == 422 ? line : "nvlb: HTTP \(status): \(line)")
        }
        throw ExitCode(status == 422 || status == 400 ? 2 : 1)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
