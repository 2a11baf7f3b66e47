import NVLBPolicy
import NVLBWire

/// `load_balancers[i].probes[j]` — a health check (docs/health.md).
struct RawProbe {
    static let keys = ["name", "protocol", "port", "path", "interval", "timeout", "rise", "fall"]

    var position: SourcePosition
    var path: String
    var name: Located<String>?
    var kind: Located<PolicyConfiguration.Probe.Kind>?
    var port: Located<Int>?
    var requestPath: Located<String>?
    var interval: Located<Int>?
    var timeout: Located<Int>?
    var rise: Located<Int>?
    var fall: Located<Int>?

    init(_ map: MappingReader) {
        position = map.position
        path = map.path
        name = map.string("name", required: true)
        if let node = map.node("protocol", required: true) {
            kind = map.reader.choice(
                node, path: map.path("protocol"),
                options: PolicyConfiguration.Probe.Kind.allCases.map { ($0.rawValue, $0) })
        }
        port = map.integer("port")
        requestPath = map.string("path")
        interval = map.integer("interval")
        timeout = map.integer("timeout")
        rise = map.integer("rise")
        fall = map.integer("fall")
    }

    /// The probe with defaults applied; `nil` if a required value is missing.
    func probe() -> PolicyConfiguration.Probe? {
        guard let name = name?.value, let kind = kind?.value else { return nil }
        var probe = PolicyConfiguration.Probe(name: name, kind: kind)
        if let port { probe.port = UInt16(port.value) }
        if let requestPath { probe.path = requestPath.value }
        if let interval { probe.interval = UInt32(interval.value) }
        if let timeout { probe.timeout = UInt32(timeout.value) }
        if let rise { probe.rise = UInt32(rise.value) }
        if let fall { probe.fall = UInt32(fall.value) }
        return probe
    }
}
