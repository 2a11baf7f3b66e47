import Foundation
import NVLBControl
import NVLBPolicy
import Testing

/// A small valid configuration. Tests change it with `base(replacing:)` (edits within one
/// line) or by appending sections at the end, so the line numbers below stay valid:
///
///     1 underlay:              8   - name: blue          14 load_balancers:
///     2   address: …           9     gateway_mac: …      15   - name: web
///     3   mac: …              10     subnets: [5001, 5002] 16  routing_domain: blue
///     4 external:             11     lookup_records:     17     frontends: …
///     5   mac: …              12       - { vsid: 5001 …  18     rules: …
///     6   gateway_mac: …      13       - { vsid: 5002 …  19     backends: …
///     7 routing_domains:
let baseYAML = """
    underlay:
      address: 192.168.6.2
      mac: 02:4c:42:00:06:02
    external:
      mac: 02:4c:42:00:00:01
      gateway_mac: 02:00:00:00:00:fe
    routing_domains:
      - name: blue
        gateway_mac: 02:4c:42:00:b1:00
        subnets: [5001, 5002]
        lookup_records:
          - { vsid: 5001, ca: 10.1.6.20, pa: 192.168.6.3, mac: 00:15:5d:01:06:20 }
          - { vsid: 5002, ca: 10.1.5.20, pa: 192.168.6.7, mac: 00:15:5d:01:05:20 }
    load_balancers:
      - name: web
        routing_domain: blue
        frontends: [ { vip: 131.107.10.10 } ]
        rules: [ { protocol: tcp, frontend_port: 80 } ]
        backends: [ { vsid: 5001, ca: 10.1.6.20 } ]

    """

/// `baseYAML` with each `(old, new)` replaced (each `old` must occur exactly once) and `appending` added at the end.
func base(replacing edits: (String, String)..., appending extra: String = "") -> String {
    var text = baseYAML
    for (old, new) in edits {
        precondition(text.components(separatedBy: old).count == 2, "'\(old)' must occur once in baseYAML")
        text = text.replacingOccurrences(of: old, with: new)
    }
    return text + extra
}

/// The diagnostics of loading `yaml` as `t.yaml`, formatted; empty if it is valid.
func problems(_ yaml: String) -> [String] {
    do {
        _ = try ConfigurationLoader.load(yaml: yaml, fileName: "t.yaml")
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

/// The configuration of `yaml`, which must be valid.
func configuration(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> PolicyConfiguration {
    do {
        return try ConfigurationLoader.load(yaml: yaml, fileName: "t.yaml")
    } catch {
        Issue.record("unexpected diagnostics:\n\(error)", sourceLocation: sourceLocation)
        throw error
    }
}
