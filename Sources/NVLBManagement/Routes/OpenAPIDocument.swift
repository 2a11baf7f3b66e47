// Generated from docs/openapi.yaml — do not edit here. After changing docs/openapi.yaml run
//   python3 Sources/NVLBManagement/Routes/OpenAPIDocument.py
// (a test fails while the two differ).

/// docs/openapi.yaml, compiled in and served as is at `/v1/openapi.yaml` (the binary needs no
/// resource files next to it).
enum OpenAPIDocument {
    static let text = #"""
        openapi: 3.1.0
        info:
          title: nvlb management API
          version: "1.0"
          summary: The running configuration, its resources, status and health of an nvlb instance.
          description: |
            Served by `nvlb run` when the configuration has a `management:` section
            (docs/management.md). Every endpoint but `GET /healthz` and `GET /metrics` (unless
            `management.metrics_auth: true`) needs `Authorization: Bearer SECRET` with a secret
            of the token file. Bodies are JSON: the configuration of docs/configuration.md in JSON
            form. Every change goes through the same validation as `nvlb check`, is written to the
            configuration file before the reply, and reaches the workers by one snapshot swap.
            A refused change leaves the running policy and the file untouched.
        servers:
          - url: http://127.0.0.1:9180
        security:
          - bearer: []
        tags:
          - name: configuration
          - name: resources
          - name: observability

        paths:
          /healthz:
            get:
              tags: [observability]
              summary: Liveness of the management server (no token needed).
              operationId: getHealthz
              security: []
              responses:
                "200":
                  description: The process serves requests.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [status]
                        properties:
                          status: { const: ok }

          /metrics:
            get:
              tags: [observability]
              summary: Prometheus metrics (docs/metrics.md).
              operationId: getMetrics
              security: [{}, { bearer: [] }]
              responses:
                "200":
                  description: Prometheus text exposition format 0.0.4.
                  content:
                    text/plain:
                      schema: { type: string }
                "401": { $ref: "#/components/responses/Unauthorized" }

          /v1/openapi.yaml:
            get:
              tags: [observability]
              summary: This document.
              operationId: getOpenAPI
              responses:
                "200":
                  description: The OpenAPI document, as in the repository (docs/openapi.yaml).
                  content:
                    application/yaml:
                      schema: { type: object, required: [openapi, paths] }
                "401": { $ref: "#/components/responses/Unauthorized" }

          /v1/status:
            get:
              tags: [observability]
              summary: The instance, its workers, the policy generation and every VIP, rule and DIP.
              operationId: getStatus
              responses:
                "200":
                  description: Status at this moment.
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/Status" }
                "401": { $ref: "#/components/responses/Unauthorized" }

          /v1/config:
            get:
              tags: [configuration]
              summary: The running configuration (as written, defaults not filled in).
              operationId: getConfig
              responses:
                "200":
                  description: The configuration in JSON form.
                  headers:
                    ETag: { $ref: "#/components/headers/ETag" }
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/Configuration" }
                "401": { $ref: "#/components/responses/Unauthorized" }
            put:
              tags: [configuration]
              summary: Replace the whole configuration.
              description: |
                The body is validated like a configuration file; errors carry the key path, the
                message of `nvlb check` and the line and column in the body. With `If-Match`, the
                change is refused with 412 unless the running configuration still has that ETag.
                Everything takes effect at once — nvlb's own PA and MACs and `bgp.next_hop` included
                (gratuitous ARP follows) — except the interfaces, `balancer.workers`,
                `balancer.flow_table_capacity`, `bgp:` itself and its keys other than `next_hop`: a
                change of one of those is refused with 422 at its key ("takes effect only at a restart
                of nvlb"); change them in the file and restart.
              operationId: putConfig
              parameters:
                - $ref: "#/components/parameters/IfMatch"
              requestBody:
                required: true
                content:
                  application/json:
                    schema: { $ref: "#/components/schemas/Configuration" }
              responses:
                "200":
                  description: Accepted, persisted and published; the new configuration.
                  headers:
                    ETag: { $ref: "#/components/headers/ETag" }
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/Configuration" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "412": { $ref: "#/components/responses/PreconditionFailed" }
                "413": { $ref: "#/components/responses/TooLarge" }
                "422": { $ref: "#/components/responses/Invalid" }
                "500": { $ref: "#/components/responses/NotPersisted" }

          /v1/routing-domains/{domain}/lookup-records/{vsid}/{ca}:
            parameters:
              - { name: domain, in: path, required: true, schema: { type: string }, description: Routing domain name. }
              - $ref: "#/components/parameters/VSID"
              - $ref: "#/components/parameters/CA"
            put:
              tags: [resources]
              summary: Create or move a lookup record (VM placement, live migration).
              description: |
                A changed PA applies to existing flows too: replies and further packets of open
                connections go to the VM's new host.
              operationId: putLookupRecord
              parameters:
                - $ref: "#/components/parameters/IfMatch"
              requestBody:
                required: true
                content:
                  application/json:
                    schema: { $ref: "#/components/schemas/LookupRecordPlacement" }
              responses:
                "200":
                  description: Replaced.
                  headers: { ETag: { $ref: "#/components/headers/ETag" } }
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/LookupRecord" }
                "201":
                  description: Created.
                  headers: { ETag: { $ref: "#/components/headers/ETag" } }
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/LookupRecord" }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "404": { $ref: "#/components/responses/NotFound" }
                "412": { $ref: "#/components/responses/PreconditionFailed" }
                "413": { $ref: "#/components/responses/TooLarge" }
                "422": { $ref: "#/components/responses/Invalid" }
                "500": { $ref: "#/components/responses/NotPersisted" }
            delete:
              tags: [resources]
              summary: Remove a lookup record (409 while a backend uses it).
              operationId: deleteLookupRecord
              parameters:
                - $ref: "#/components/parameters/IfMatch"
              responses:
                "204":
                  description: Removed.
                  headers: { ETag: { $ref: "#/components/headers/ETag" } }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "404": { $ref: "#/components/responses/NotFound" }
                "409": { $ref: "#/components/responses/Conflict" }
                "412": { $ref: "#/components/responses/PreconditionFailed" }
                "422": { $ref: "#/components/responses/Invalid" }
                "500": { $ref: "#/components/responses/NotPersisted" }

          /v1/load-balancers/{name}:
            parameters:
              - { name: name, in: path, required: true, schema: { type: string }, description: Load balancer name. }
            put:
              tags: [resources]
              summary: Create or replace a load balancer.
              operationId: putLoadBalancer
              parameters:
                - $ref: "#/components/parameters/IfMatch"
              requestBody:
                required: true
                content:
                  application/json:
                    schema: { $ref: "#/components/schemas/LoadBalancer" }
              responses:
                "200":
                  description: Replaced.
                  headers: { ETag: { $ref: "#/components/headers/ETag" } }
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/LoadBalancer" }
                "201":
                  description: Created.
                  headers: { ETag: { $ref: "#/components/headers/ETag" } }
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/LoadBalancer" }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "404": { $ref: "#/components/responses/NotFound" }
                "412": { $ref: "#/components/responses/PreconditionFailed" }
                "413": { $ref: "#/components/responses/TooLarge" }
                "422": { $ref: "#/components/responses/Invalid" }
                "500": { $ref: "#/components/responses/NotPersisted" }
            delete:
              tags: [resources]
              summary: Remove a load balancer.
              operationId: deleteLoadBalancer
              parameters:
                - $ref: "#/components/parameters/IfMatch"
              responses:
                "204":
                  description: Removed.
                  headers: { ETag: { $ref: "#/components/headers/ETag" } }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "404": { $ref: "#/components/responses/NotFound" }
                "412": { $ref: "#/components/responses/PreconditionFailed" }
                "422": { $ref: "#/components/responses/Invalid" }
                "500": { $ref: "#/components/responses/NotPersisted" }

          /v1/load-balancers/{name}/backends/{vsid}/{ca}:
            parameters:
              - { name: name, in: path, required: true, schema: { type: string }, description: Load balancer name. }
              - $ref: "#/components/parameters/VSID"
              - $ref: "#/components/parameters/CA"
            patch:
              tags: [resources]
              summary: Set a DIP's weight (0 drains it, open connections stay).
              operationId: patchBackendWeight
              parameters:
                - $ref: "#/components/parameters/IfMatch"
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [weight]
                      additionalProperties: false
                      properties:
                        weight: { type: integer, minimum: 0, maximum: 1000 }
              responses:
                "200":
                  description: The backend with its new weight.
                  headers: { ETag: { $ref: "#/components/headers/ETag" } }
                  content:
                    application/json:
                      schema: { $ref: "#/components/schemas/Backend" }
                "400": { $ref: "#/components/responses/BadRequest" }
                "401": { $ref: "#/components/responses/Unauthorized" }
                "404": { $ref: "#/components/responses/NotFound" }
                "412": { $ref: "#/components/responses/PreconditionFailed" }
                "413": { $ref: "#/components/responses/TooLarge" }
                "422": { $ref: "#/components/responses/Invalid" }
                "500": { $ref: "#/components/responses/NotPersisted" }

        components:
          securitySchemes:
            bearer:
              type: http
              scheme: bearer
              description: A secret of `management.token_file` (lines `NAME SECRET`).

          headers:
            ETag:
              description: Strong entity tag of the resulting configuration (quoted hex digest).
              schema: { type: string, pattern: '^"[0-9a-f]{16}"$' }

          parameters:
            IfMatch:
              name: If-Match
              in: header
              required: false
              description: Apply only if the running configuration has this ETag (`*` matches any).
              schema: { type: string }
            VSID:
              name: vsid
              in: path
              required: true
              description: Virtual subnet ID (4096–16777214).
              schema: { type: integer }
            CA:
              name: ca
              in: path
              required: true
              description: Customer address (IPv4).
              schema: { type: string }

          responses:
            BadRequest:
              description: A path parameter the server cannot route or decode.
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Errors" }
            Unauthorized:
              description: "No token, or an unknown one. Carries `WWW-Authenticate: Bearer`."
              headers:
                WWW-Authenticate: { schema: { type: string } }
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Errors" }
            NotFound:
              description: The routing domain, record, load balancer or backend does not exist.
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Errors" }
            Conflict:
              description: The change would leave a reference dangling; each error names a user.
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Errors" }
            PreconditionFailed:
              description: "`If-Match` names another version; `ETag` carries the current one."
              headers: { ETag: { $ref: "#/components/headers/ETag" } }
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Errors" }
            TooLarge:
              description: The body exceeds 4 MiB.
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Errors" }
            Invalid:
              description: |
                The result would not be a valid configuration. Paths and messages are those of
                `nvlb check`; `line`/`column` are given when they point into the request body.
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Errors" }
            NotPersisted:
              description: The configuration file could not be written; nothing was applied.
              content:
                application/json:
                  schema: { $ref: "#/components/schemas/Errors" }

          schemas:
            Errors:
              type: object
              required: [errors]
              properties:
                errors:
                  type: array
                  minItems: 1
                  items:
                    type: object
                    required: [path, message]
                    properties:
                      path: { type: string, description: "Key path, e.g. load_balancers[0].backends[1].weight; empty for the whole body." }
                      message: { type: string }
                      line: { type: integer, minimum: 1 }
                      column: { type: integer, minimum: 1 }

            Configuration:
              type: object
              description: docs/configuration.md in JSON form; keys as in the file.
              required: [underlay, routing_domains, load_balancers]
              properties:
                balancer:
                  type: object
                  properties:
                    workers: { oneOf: [{ const: auto }, { type: integer, minimum: 1, maximum: 256 }] }
                    flow_table_capacity: { type: integer }
                    maglev_table_size: { type: integer }
                    hash_seed: { type: integer }
                underlay:
                  type: object
                  required: [address, mac]
                  properties:
                    interface: { type: string }
                    address: { type: string }
                    mac: { type: string }
                    gateway_mac: { type: string }
                    neighbors:
                      type: array
                      items:
                        type: object
                        required: [address, mac]
                        properties:
                          address: { type: string }
                          mac: { type: string }
                    mtu: { type: integer }
                    ttl: { type: integer }
                    flow_id: { enum: [hash, zero] }
                    io: { enum: [pcap, af_xdp] }
                    mss_clamp:
                      description: "auto (underlay.mtu - 82), off, or an MSS in bytes (docs/packets.md ICMP and path MTU)."
                      oneOf: [{ enum: [auto, "off"] }, { type: integer }]
                    icmp_rate: { type: integer, minimum: 0, maximum: 1000000, description: "fragmentation needed messages per second and worker" }
                external:
                  type: object
                  required: [mac, gateway_mac]
                  properties:
                    interface: { type: string }
                    mac: { type: string }
                    gateway_mac: { type: string }
                routing_domains:
                  type: array
                  items: { $ref: "#/components/schemas/RoutingDomain" }
                load_balancers:
                  type: array
                  items: { $ref: "#/components/schemas/LoadBalancer" }
                bgp: { $ref: "#/components/schemas/BGP" }
                management:
                  type: object
                  required: [token_file]
                  properties:
                    listen: { type: string, description: "ADDRESS:PORT, default 127.0.0.1:9180" }
                    token_file: { type: string }
                    tls:
                      type: object
                      required: [certificate, key]
                      properties:
                        certificate: { type: string }
                        key: { type: string }
                    metrics_auth: { type: boolean }

            RoutingDomain:
              type: object
              required: [name, gateway_mac, subnets]
              properties:
                name: { type: string }
                gateway_mac: { type: string }
                subnets: { type: array, items: { type: integer } }
                lookup_records:
                  type: array
                  items: { $ref: "#/components/schemas/LookupRecord" }
                probe_source: { type: string, description: A CA of the domain no VM uses, the source of health probes. }

            BGP:
              type: object
              required: [speaker, local_as, router_id, local_address, next_hop, peers]
              properties:
                speaker: { enum: [exabgp] }
                local_as: { type: integer }
                router_id: { type: string }
                local_address: { type: string }
                next_hop: { type: string }
                peers:
                  type: array
                  items:
                    type: object
                    required: [address, as]
                    properties:
                      address: { type: string }
                      as: { type: integer }
                hold_time: { type: integer }
                drain_seconds: { type: integer }

            Probe:
              type: object
              required: [name, protocol]
              properties:
                name: { type: string }
                protocol: { enum: [tcp, http] }
                port: { type: integer }
                path: { type: string }
                interval: { type: integer }
                timeout: { type: integer }
                rise: { type: integer }
                fall: { type: integer }

            LookupRecordPlacement:
              type: object
              required: [pa, mac]
              properties:
                pa: { type: string, description: PA of the Hyper-V host. }
                mac: { type: string, description: MAC of the VM. }

            LookupRecord:
              type: object
              required: [vsid, ca, pa, mac]
              properties:
                vsid: { type: integer }
                ca: { type: string }
                pa: { type: string }
                mac: { type: string }

            LoadBalancer:
              type: object
              required: [routing_domain, frontends, rules, backends]
              properties:
                name: { type: string, description: Optional in a PUT body; must equal the path when given. }
                routing_domain: { type: string }
                frontends:
                  type: array
                  items:
                    type: object
                    required: [vip]
                    properties:
                      vsid: { type: integer, description: Present for an internal (CA) VIP. }
                      vip: { type: string }
                rules:
                  type: array
                  items:
                    type: object
                    required: [protocol, frontend_port]
                    properties:
                      protocol: { enum: [tcp, udp] }
                      frontend_port: { type: integer }
                      backend_port: { type: integer }
                      idle_timeout: { type: integer }
                      load_distribution: { enum: [five_tuple, source_ip, source_ip_protocol] }
                      probe: { type: string, description: The name of a probe of this load balancer. }
                backends:
                  type: array
                  items: { $ref: "#/components/schemas/Backend" }
                probes:
                  type: [array, "null"]
                  description: Health checks the rules name; null or absent for none.
                  items: { $ref: "#/components/schemas/Probe" }

            Backend:
              type: object
              required: [vsid, ca]
              properties:
                vsid: { type: integer }
                ca: { type: string }
                weight: { type: integer, minimum: 0, maximum: 1000 }

            Status:
              type: object
              required: [instance, workers, generation, etag, packets, drops, load_balancers]
              properties:
                instance:
                  type: object
                  required: [hostname, pid, started, uptime_seconds]
                  properties:
                    hostname: { type: string }
                    pid: { type: integer }
                    started: { type: string, format: date-time }
                    uptime_seconds: { type: number }
                workers:
                  type: array
                  items:
                    type: object
                    required: [worker, flow_table_capacity, packets_in, packets_out]
                    properties:
                      worker: { type: integer }
                      flows: { type: integer, description: Live flows, when the runtime reports them. }
                      flow_table_capacity: { type: integer }
                      packets_in:
                        type: integer
                        description: >-
                          Frames this worker's data plane took in (a frame handed off counts at its
                          flow's owner); `packets.received` is the sum over workers.
                      packets_out:
                        type: integer
                        description: Frames this worker forwarded; `packets.forwarded` is the sum over workers.
                generation: { type: integer, description: Policies published since start (1 = the initial one). }
                etag: { type: string }
                packets:
                  type: object
                  required: [received, forwarded, answered, dropped, handoffs]
                  properties:
                    received: { type: integer }
                    forwarded: { type: integer }
                    answered: { type: integer }
                    dropped: { type: integer }
                    handoffs: { type: integer }
                drops:
                  type: object
                  description: Every drop reason of docs/packets.md, zeros included.
                  additionalProperties: { type: integer }
                load_balancers:
                  type: array
                  items:
                    type: object
                    required: [name, routing_domain, frontends, rules, backends]
                    properties:
                      name: { type: string }
                      routing_domain: { type: string }
                      frontends:
                        type: array
                        items:
                          type: object
                          required: [vip]
                          properties:
                            vip: { type: string }
                            vsid: { type: integer }
                            packets_in: { type: integer }
                            packets_out: { type: integer }
                      rules:
                        type: array
                        items:
                          type: object
                          required: [protocol, frontend_port, backend_port]
                          properties:
                            protocol: { enum: [tcp, udp] }
                            frontend_port: { type: integer }
                            backend_port: { type: integer }
                      backends:
                        type: array
                        items:
                          type: object
                          required: [backend, health, weight, packets]
                          properties:
                            backend: { type: string, description: "VSID/CA" }
                            health: { enum: [up, down] }
                            weight: { type: integer }
                            packets: { type: integer }
                            flows: { type: integer }
                bgp:
                  type: object
                  properties:
                    peers: { type: object, additionalProperties: { type: boolean } }
                    announced: { type: object, additionalProperties: { type: boolean } }

        """#
}
