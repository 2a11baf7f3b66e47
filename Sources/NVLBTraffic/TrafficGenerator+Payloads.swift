// Application payloads of generated flows: what a real client and server of the rule's
// port would put on the wire, sized realistically (small requests, bigger responses).

import NVLBBalancing

/// The application protocol a flow speaks, chosen from the rule's ports.
enum ApplicationProtocol: Sendable {
    /// HTTP/1.1: text requests (GET with headers and a cookie), `200 OK` responses with an
    /// HTML body. Every TCP port that is not TLS.
    case http
    /// TLS application data records (opaque bytes): TCP 443 and 8443.
    case tls
    /// DNS queries and A-record answers: UDP 53.
    case dns
    /// Opaque datagrams: every other UDP port.
    case datagram

    init(protocolNumber: UInt8, frontendPort: UInt16, backendPort: UInt16) {
        let ports = [frontendPort, backendPort]
        if protocolNumber == 17 {
            self = ports.contains(53) ? .dns : .datagram
        } else {
            self = ports.contains(443) || ports.contains(8443) ? .tls : .http
        }
    }
}

/// One request/response exchange: the request bytes, and the response as a prefix plus
/// generated filler up to `responseLength` (so a 60 KB response is not held in memory).
struct Exchange {
    var request: [UInt8] = []
    var responsePrefix: [UInt8] = []
    var responseLength = 0
    /// Seeds the filler bytes of the response.
    var fillerSeed: UInt64 = 0
    var application: ApplicationProtocol = .http

    /// `count` response bytes starting at stream offset `offset`.
    /// - Complexity: O(`count`), copying the HTML pattern and mixing 8 opaque bytes at a time.
    func responseBytes(offset: Int, count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            var position = offset
            while index < count && position < responsePrefix.count {
                buffer[index] = responsePrefix[position]
                index += 1
                position += 1
            }
            switch application {
            case .http:
                while index < count {
                    let start = (position - responsePrefix.count) % Self.html.count
                    let run = min(count - index, Self.html.count - start)
                    for k in 0..<run { buffer[index + k] = Self.html[start + k] }
                    index += run
                    position += run
                }
            case .tls:
                while index < count {
                    // Consecutive application-data records: header 17 03 03 LEN, then ciphertext.
                    let record = position / Self.tlsRecord
                    let inRecord = position % Self.tlsRecord
                    if inRecord < 5 {
                        let length = min(16_384, responseLength - record * Self.tlsRecord - 5)
                        let header: [UInt8] = [
                            0x17, 0x03, 0x03, UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
                        ]
                        buffer[index] = header[inRecord]
                        index += 1
                        position += 1
                    } else {
                        let run = min(count - index, Self.tlsRecord - inRecord)
                        Self.fillOpaque(buffer, from: index, count: run, seed: fillerSeed, position: position)
                        index += run
                        position += run
                    }
                }
            case .dns, .datagram:
                Self.fillOpaque(buffer, from: index, count: count - index, seed: fillerSeed, position: position)
            }
            initialized = count
        }
    }

    private static let html = Array(
        "<li class=\"item\"><a href=\"/catalog/item\">Contoso widget</a> in stock, ships in 2 days</li>\n".utf8)
    /// Bytes of one TLS record, header included (16 KB of data, the TLS maximum).
    private static let tlsRecord = 16_384 + 5

    /// Pseudo-random bytes that depend only on the seed and the stream position.
    private static func fillOpaque(
        _ buffer: UnsafeMutableBufferPointer<UInt8>, from index: Int, count: Int, seed: UInt64, position: Int
    ) {
        var word = SplitMix64.mix(seed &+ UInt64(position / 8))
        for k in 0..<count {
            let p = position + k
            if p % 8 == 0 { word = SplitMix64.mix(seed &+ UInt64(p / 8)) }
            buffer[index + k] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(p % 8)))
        }
    }

    static func opaqueByte(_ seed: UInt64, _ position: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: SplitMix64.mix(seed &+ UInt64(position / 8)) >> (8 * UInt64(position % 8)))
    }

    /// A random exchange of `application`, with request and response segments of at most
    /// `maximumSegment` bytes (the TCP MSS or the largest UDP payload).
    static func random(
        _ application: ApplicationProtocol, host: String, maximumSegment: Int, random: inout Xoshiro256
    ) -> Exchange {
        var exchange = Exchange()
        exchange.application = application
        exchange.fillerSeed = random.next()
        switch application {
        case .http:
            exchange.request = httpRequest(host: host, limit: maximumSegment, random: &random)
            let body = responseBodySize(&random)
            var header = "HTTP/1.1 200 OK\r\n"
            header += "Server: Microsoft-IIS/10.0\r\n"
            header += "Content-Type: text/html; charset=utf-8\r\n"
            header += "Content-Length: \(body)\r\n"
            header += "Cache-Control: private, max-age=0\r\n"
            header += "X-Request-Id: \(hex(random.next()))\r\n\r\n"
            exchange.responsePrefix = Array(header.utf8)
            exchange.responseLength = exchange.responsePrefix.count + body
        case .tls:
            let size = min(maximumSegment, random.inRange(120...900))
            var request: [UInt8] = [0x17, 0x03, 0x03, UInt8((size - 5) >> 8), UInt8((size - 5) & 0xFF)]
            let seed = random.next()
            for position in 5..<size { request.append(opaqueByte(seed, position)) }
            exchange.request = request
            exchange.responseLength = max(64, responseBodySize(&random))
        case .dns:
            let id = UInt16(truncatingIfNeeded: random.next())
            let name = dnsNames[random.below(dnsNames.count)]
            let question = dnsQuestion(name)
            exchange.request = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + question
            var answer: [UInt8] = [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x01, 0x2C, 0, 4]
            answer += [203, 0, 113, UInt8(truncatingIfNeeded: random.inRange(1...254))]
            exchange.responsePrefix =
                [UInt8(id >> 8), UInt8(id & 0xFF), 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0] + question + answer
            exchange.responseLength = exchange.responsePrefix.count
        case .datagram:
            let seed = random.next()
            let size = min(maximumSegment, random.inRange(40...400))
            exchange.request = (0..<size).map { opaqueByte(seed, $0) }
            exchange.responseLength = min(maximumSegment, random.inRange(80...1200))
        }
        return exchange
    }

    /// Response body sizes of web traffic: mostly small pages and API answers, some
    /// scripts and images, a few large objects.
    private static func responseBodySize(_ random: inout Xoshiro256) -> Int {
        let roll = random.unit()
        if roll < 0.70 { return random.inRange(200...2_000) }
        if roll < 0.95 { return random.inRange(2_001...16_000) }
        return random.inRange(16_001...64_000)
    }

    private static let userAgents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "curl/8.5.0",
        "okhttp/4.12.0",
    ]

    private static let paths = [
        "/", "/index.html", "/api/v1/orders/", "/static/app.js", "/images/product-", "/search?q=widget",
        "/account/login", "/health",
    ]

    private static let dnsNames = [
        "www.contoso.com", "api.contoso.com", "login.fabrikam.net", "cdn.example.com", "mail.example.org",
        "time.example.net",
    ]

    private static func httpRequest(host: String, limit: Int, random: inout Xoshiro256) -> [UInt8] {
        var path = paths[random.below(paths.count)]
        if path.hasSuffix("/") && path.count > 1 || path.hasSuffix("-") { path += String(random.inRange(1...99_999)) }
        var text = "GET \(path) HTTP/1.1\r\n"
        text += "Host: \(host)\r\n"
        text += "User-Agent: \(userAgents[random.below(userAgents.count)])\r\n"
        text += "Accept: text/html,application/json;q=0.9,*/*;q=0.8\r\n"
        text += "Accept-Encoding: gzip, deflate, br\r\n"
        text += "Accept-Language: en-US,en;q=0.9\r\n"
        text += "Connection: keep-alive\r\n"
        // A session cookie brings requests to the 300–900 bytes browsers typically send.
        let cookie = random.inRange(0...16)
        if cookie > 0 {
            text += "Cookie: session="
            for _ in 0..<cookie { text += hex(random.next()) }
            text += "\r\n"
        }
        text += "\r\n"
        let bytes = Array(text.utf8)
        // A tiny MTU: keep the request in one segment (a shorter cookie, still ending in CRLF CRLF).
        return bytes.count <= limit ? bytes : Array(bytes.prefix(max(0, limit - 4))) + Array("\r\n\r\n".utf8)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func dnsQuestion(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for label in name.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes += Array(label.utf8)
        }
        return bytes + [0, 0, 1, 0, 1]
    }
}
