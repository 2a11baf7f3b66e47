/// The management API's resources as edits of the document (docs/management.md
/// "Endpoints"). Each edit only changes the tree; `ConfigurationStore.change` then
/// validates the whole result like a file, so range and reference rules live in one place.
extension ConfigurationDocument {
    /// `PUT /v1/routing-domains/{domain}/lookup-records/{vsid}/{ca}` with `{pa, mac}`.
    ///
    /// - Returns: `true` when the record was created, `false` when replaced.
    @discardableResult
    public mutating func putLookupRecord(domain: String, vsid: String, ca: String, body: ConfigValue)
        throws(ChangeFailure) -> Bool
    {
        let d = try domainIndex(domain)
        guard case .object(let fields) = body else {
            throw .invalid([ChangeProblem(path: "", message: "expected a JSON object {pa, mac}")])
        }
        var record: [ConfigMember] = [
            ConfigMember(key: "vsid", value: Self.number(vsid)), ConfigMember(key: "ca", value: .string(ca)),
        ]
        for field in fields {
            if field.key == "vsid" || field.key == "ca" {
                guard Self.same(field.value, field.key == "vsid" ? Self.number(vsid) : .string(ca)) else {
                    throw .invalid([ChangeProblem(path: field.key, message: "differs from the request path")])
                }
                continue
            }
            record.append(field)
        }
        var domains = root["routing_domains"]?.elements ?? []
        var records = domains[d]["lookup_records"]?.elements ?? []
        let existing = records.firstIndex { Self.isRecord($0, vsid: vsid, ca: ca) }
        if let existing { records[existing] = .object(record) } else { records.append(.object(record)) }
        domains[d]["lookup_records"] = .array(records)
        root["routing_domains"] = .array(domains)
        return existing == nil
    }

    /// `DELETE /v1/routing-domains/{domain}/lookup-records/{vsid}/{ca}`; refused with
    /// `.conflict` while a backend of the domain's load balancers uses the record.
    public mutating func deleteLookupRecord(domain: String, vsid: String, ca: String) throws(ChangeFailure) {
        let d = try domainIndex(domain)
        var domains = root["routing_domains"]?.elements ?? []
        var records = domains[d]["lookup_records"]?.elements ?? []
        guard let index = records.firstIndex(where: { Self.isRecord($0, vsid: vsid, ca: ca) }) else {
            throw .notFound("no lookup record for VSID \(vsid) CA \(ca) in routing domain \(domain)")
        }
        var users: [ChangeProblem] = []
        for (i, lb) in (root["load_balancers"]?.elements ?? []).enumerated()
        where lb["routing_domain"]?.scalarText == domain {
            for (j, backend) in (lb["backends"]?.elements ?? []).enumerated()
            where Self.isRecord(backend, vsid: vsid, ca: ca) {
                users.append(
                    ChangeProblem(
                        path: "load_balancers[\(i)].backends[\(j)]",
                        message: "uses the lookup record for VSID \(vsid) CA \(ca); remove the backend first"))
            }
        }
        guard users.isEmpty else { throw .conflict(users) }
        records.remove(at: index)
        domains[d]["lookup_records"] = .array(records)
        root["routing_domains"] = .array(domains)
    }

    /// `PUT /v1/load-balancers/{name}` with the load balancer object (`name` optional).
    ///
    /// - Returns: `true` when created.
    @discardableResult
    public mutating func putLoadBalancer(name: String, body: ConfigValue) throws(ChangeFailure) -> Bool {
        guard case .object(var fields) = body else {
            throw .invalid([ChangeProblem(path: "", message: "expected a JSON object (a load balancer)")])
        }
        if let written = fields.first(where: { $0.key == "name" }) {
            guard written.value.scalarText == name else {
                throw .invalid([ChangeProblem(path: "name", message: "differs from the request path")])
            }
        } else {
            fields.insert(ConfigMember(key: "name", value: .string(name)), at: 0)
        }
        var balancers = root["load_balancers"]?.elements ?? []
        let existing = balancers.firstIndex { $0["name"]?.scalarText == name }
        if let existing { balancers[existing] = .object(fields) } else { balancers.append(.object(fields)) }
        root["load_balancers"] = .array(balancers)
        return existing == nil
    }

    /// `DELETE /v1/load-balancers/{name}`.
    public mutating func deleteLoadBalancer(name: String) throws(ChangeFailure) {
        var balancers = root["load_balancers"]?.elements ?? []
        guard let index = balancers.firstIndex(where: { $0["name"]?.scalarText == name }) else {
            throw .notFound("no load balancer named \(name)")
        }
        balancers.remove(at: index)
        root["load_balancers"] = .array(balancers)
    }

    /// `PATCH /v1/load-balancers/{name}/backends/{vsid}/{ca}` with `{weight}` (0 drains).
    public mutating func setBackendWeight(loadBalancer name: String, vsid: String, ca: String, body: ConfigValue)
        throws(ChangeFailure)
    {
        var balancers = root["load_balancers"]?.elements ?? []
        guard let i = balancers.firstIndex(where: { $0["name"]?.scalarText == name }) else {
            throw .notFound("no load balancer named \(name)")
        }
        var backends = balancers[i]["backends"]?.elements ?? []
        guard let j = backends.firstIndex(where: { Self.isRecord($0, vsid: vsid, ca: ca) }) else {
            throw .notFound("load balancer \(name) has no backend \(vsid)/\(ca)")
        }
        guard case .object(let fields) = body, let weight = body["weight"] else {
            throw .invalid([ChangeProblem(path: "weight", message: "missing required key")])
        }
        if let unknown = fields.first(where: { $0.key != "weight" }) {
            throw .invalid([ChangeProblem(path: unknown.key, message: "unknown key; expected weight")])
        }
        guard case .integer = weight else {
            throw .invalid([
                ChangeProblem(
                    path: "load_balancers[\(i)].backends[\(j)].weight",
                    message: "expected an integer between 0 and 1000")
            ])
        }
        backends[j]["weight"] = weight
        balancers[i]["backends"] = .array(backends)
        root["load_balancers"] = .array(balancers)
    }

    private func domainIndex(_ name: String) throws(ChangeFailure) -> Int {
        guard
            let index = (root["routing_domains"]?.elements ?? []).firstIndex(where: { $0["name"]?.scalarText == name })
        else { throw .notFound("no routing domain named \(name)") }
        return index
    }

    /// A mapping with this `vsid` and `ca` (VSIDs compare as numbers when both are).
    public static func isRecord(_ value: ConfigValue, vsid: String, ca: String) -> Bool {
        guard let v = value["vsid"], let c = value["ca"]?.scalarText, c == ca else { return false }
        return same(v, number(vsid))
    }

    static func same(_ a: ConfigValue, _ b: ConfigValue) -> Bool {
        if let x = a.scalarText.flatMap(ConfigValue.strictInteger),
            let y = b.scalarText.flatMap(ConfigValue.strictInteger)
        {
            return x == y
        }
        return a.scalarText == b.scalarText
    }

    /// A path segment as an integer when it is one (so that it validates as a VSID).
    static func number(_ text: String) -> ConfigValue {
        ConfigValue.strictInteger(text).map(ConfigValue.integer) ?? .string(text)
    }
}
