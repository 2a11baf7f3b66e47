// nvlb console: a client of the management API (docs/management.md, docs/openapi.yaml).
// The token secret lives in sessionStorage (this tab only); it is sent as a bearer token
// with every request and never put into a URL.
"use strict";

const TOKEN_KEY = "nvlb.token";
const DRAINED_KEY = "nvlb.drained"; // backend → weight before draining (no secret)
const REFRESH_MS = 2000;
const WINDOW_MS = 5 * 60 * 1000;
const COLORS = ["#0b5cad", "#c62828", "#1a7f37", "#9a6700", "#6f42c1", "#0e7490", "#b4237a", "#4b5563"];

const state = {
  timer: null,
  config: null,     // GET /v1/config body
  etag: null,       // its ETag (If-Match of every change)
  previous: null,   // the previous status sample and its time, for rates
  series: new Map(),// "lb vip" → [{t, v}] packets/s
  pending: null,   // the refresh under way
};

// ---- small DOM helpers ----
function el(tag, attributes, ...children) {
  const svg = ["svg", "polyline", "line", "text", "g"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else if (key === "className") node.setAttribute("class", value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
const $ = (id) => document.getElementById(id);
const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
const rate = (n) => (n === null || n === undefined ? "–" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
function duration(seconds) {
  const s = Math.floor(seconds), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

// ---- API ----
class APIError extends Error {
  constructor(status, errors) {
    super(errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join("; ") || `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

async function api(method, path, body, token) {
  const headers = { Authorization: "Bearer " + (token || sessionStorage.getItem(TOKEN_KEY) || "") };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.etag) headers["If-Match"] = state.etag;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
  });
  if (response.status === 401 && !token) {
    logout("The token was refused (HTTP 401). Log in again.");
    throw new APIError(401, [{ path: "", message: "unauthorized" }]);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!response.ok) {
    const errors = data && Array.isArray(data.errors) ? data.errors : [{ path: "", message: `HTTP ${response.status}` }];
    throw new APIError(response.status, errors);
  }
  const etag = response.headers.get("ETag");
  if (etag) state.etag = etag;
  return data;
}

// ---- login ----
async function login(event) {
  event.preventDefault();
  const input = $("token"), error = $("login-error");
  const secret = input.value.trim();
  error.textContent = "";
  input.removeAttribute("aria-invalid");
  if (!secret) { showLoginError("Enter the token secret."); return; }
  try {
    await api("GET", "/v1/status", undefined, secret);
  } catch (e) {
    showLoginError(e.status === 401 ? "This token is not accepted." : `The server could not be reached: ${e.message}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, secret);
  input.value = "";
  start();
}
function showLoginError(message) {
  $("login-error").textContent = message;
  $("token").value = "";
  $("token").setAttribute("aria-invalid", "true");
  $("token").focus();
}
function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(state.timer);
  state.timer = null;
  state.previous = null;
  state.series.clear();
  $("console").hidden = true;
  $("nav").hidden = true;
  $("login").hidden = false;
  $("instance").textContent = "";
  $("login-error").textContent = typeof message === "string" ? message : "";
  $("token").focus();
}
function start() {
  $("login").hidden = true;
  $("console").hidden = false;
  $("nav").hidden = false;
  refresh();
  state.timer = setInterval(refresh, REFRESH_MS);
}

// ---- refresh ----
// One refresh at a time; a refresh asked for during another runs after it.
function refresh() {
  const run = async () => {
    if (!sessionStorage.getItem(TOKEN_KEY)) return;
    await load();
  };
  state.pending = (state.pending || Promise.resolve()).then(run, run);
  return state.pending;
}
async function load() {
  try {
    const status = await api("GET", "/v1/status");
    const config = await api("GET", "/v1/config");
    state.config = config;
    render(status, config, Date.now());
    document.body.dataset.refreshed = String(Date.now());
  } catch (e) {
    if (e.status !== 401) banner(`Refresh failed: ${e.message}`);
  }
}

function banner(message, ok) {
  const node = $("banner");
  node.textContent = message || "";
  node.className = ok ? "banner ok" : "banner";
}

// Rates from two samples of a counter.
function perSecond(now, before, seconds) {
  if (before === undefined || before === null || now === null || now === undefined || seconds <= 0) return null;
  return Math.max(0, (now - before) / seconds);
}

function render(status, config, time) {
  const before = state.previous;
  const seconds = before ? (time - before.time) / 1000 : 0;
  const old = before ? before.status : null;
  const vipKey = (lb, f) => `${lb.name} ${f.vsid ? f.vsid + "/" : ""}${f.vip}`;
  const oldVIP = new Map(), oldDIP = new Map();
  if (old) for (const lb of old.load_balancers) {
    for (const f of lb.frontends) oldVIP.set(vipKey(lb, f), f.packets_in);
    for (const b of lb.backends) oldDIP.set(`${lb.name} ${b.backend}`, b.packets);
  }
  const rates = { vip: new Map(), dip: new Map() };
  for (const lb of status.load_balancers) {
    for (const f of lb.frontends) rates.vip.set(vipKey(lb, f), perSecond(f.packets_in, oldVIP.get(vipKey(lb, f)), seconds));
    for (const b of lb.backends) rates.dip.set(`${lb.name} ${b.backend}`, perSecond(b.packets, oldDIP.get(`${lb.name} ${b.backend}`), seconds));
  }
  for (const [key, value] of rates.vip) {
    if (value === null) continue;
    const list = state.series.get(key) || [];
    list.push({ t: time, v: value });
    while (list.length && list[0].t < time - WINDOW_MS) list.shift();
    state.series.set(key, list);
  }
  renderOverview(status, old, seconds);
  renderChart(time);
  renderLoadBalancers(status, config, rates);
  renderRoutingDomains(config);
  state.previous = { status, time };
}

function renderOverview(status, old, seconds) {
  const i = status.instance;
  $("instance").textContent = `${i.hostname} · pid ${i.pid}`;
  const p = status.packets, o = old ? old.packets : {};
  const items = [
    ["Uptime", duration(i.uptime_seconds)],
    ["Policy generation", status.generation],
    ["Workers", status.workers.length],
    ["Flows", fmt(status.workers.reduce((s, w) => s + (w.flows || 0), 0))],
    ["Received/s", rate(perSecond(p.received, o.received, seconds))],
    ["Forwarded/s", rate(perSecond(p.forwarded, o.forwarded, seconds))],
    ["Answered/s", rate(perSecond(p.answered, o.answered, seconds))],
    ["Dropped/s", rate(perSecond(p.dropped, o.dropped, seconds))],
    ["Received", fmt(p.received)],
    ["Dropped", fmt(p.dropped)],
  ];
  $("summary").replaceChildren(...items.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))));
  // Each worker's packets/s from its own counters in two successive samples.
  const oldWorkers = new Map((old ? old.workers : []).map((w) => [w.worker, w]));
  $("workers").tBodies[0].replaceChildren(...status.workers.map((w) => {
    const o = oldWorkers.get(w.worker) || {};
    return el("tr", { "data-worker": w.worker }, el("th", { scope: "row", text: w.worker }),
      el("td", { className: "num", "data-rate": "in", text: rate(perSecond(w.packets_in, o.packets_in, seconds)) }),
      el("td", { className: "num", "data-rate": "out", text: rate(perSecond(w.packets_out, o.packets_out, seconds)) }),
      el("td", { className: "num", text: fmt(w.flows) }), el("td", { className: "num", text: fmt(w.flow_table_capacity) }));
  }));
  const drops = Object.entries(status.drops).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const oldDrops = old ? old.drops : {};
  $("drops").tBodies[0].replaceChildren(...(drops.length ? drops.map(([reason, n]) =>
    el("tr", {}, el("td", { text: reason }), el("td", { className: "num", text: fmt(n) }), el("td", { className: "num", text: rate(perSecond(n, oldDrops[reason], seconds)) })))
    : [el("tr", {}, el("td", { colspan: 3, className: "muted", text: "No drops." }))]));
  const bgp = status.bgp;
  $("bgp-block").hidden = !bgp;
  if (bgp) {
    const rows = [
      ...Object.entries(bgp.peers).map(([peer, up]) => [`peer ${peer}`, up ? "established" : "down", up]),
      ...Object.entries(bgp.announced).map(([prefix, on]) => [`${prefix}`, on ? "announced" : "withdrawn", on]),
    ];
    $("bgp").tBodies[0].replaceChildren(...rows.map(([k, v, good]) =>
      el("tr", {}, el("td", { text: k }), el("td", { className: good ? "health up" : "health down", text: v }))));
  }
}

function renderChart(time) {
  const width = 1000, height = 220, left = 56, bottom = 20, top = 8;
  const keys = [...state.series.keys()].sort();
  let max = 1;
  for (const key of keys) for (const s of state.series.get(key)) max = Math.max(max, s.v);
  max = niceCeiling(max);
  const x = (t) => left + (width - left - 4) * (1 - (time - t) / WINDOW_MS);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img",
    "aria-label": `Packets per second per VIP over the last 5 minutes, scale 0 to ${max}` });
  for (const fraction of [0, 0.5, 1]) {
    svg.append(el("line", { className: "axis", x1: left, x2: width, y1: y(max * fraction), y2: y(max * fraction), "stroke-dasharray": fraction ? "3 4" : null }));
    svg.append(el("text", { x: left - 6, y: y(max * fraction) + 4, "text-anchor": "end", text: fmt(max * fraction) }));
  }
  for (const [label, minutes] of [["−5 min", 5], ["−2.5", 2.5], ["now", 0]]) {
    svg.append(el("text", { x: x(time - minutes * 60000), y: height - 4, "text-anchor": minutes === 5 ? "start" : minutes ? "middle" : "end", text: label }));
  }
  const legend = [];
  keys.forEach((key, index) => {
    const color = COLORS[index % COLORS.length];
    const points = state.series.get(key).map((s) => `${x(s.t).toFixed(1)},${y(s.v).toFixed(1)}`).join(" ");
    svg.append(el("polyline", { points, fill: "none", stroke: color, "stroke-width": 2, "vector-effect": "non-scaling-stroke", "data-vip": key }));
    const last = state.series.get(key).at(-1);
    const swatch = el("span", { className: "swatch" });
    swatch.style.background = color;
    legend.push(el("li", {}, swatch, `${key}: ${last ? rate(last.v) : "–"} /s`));
  });
  $("chart-box").replaceChildren(svg);
  $("legend").replaceChildren(...legend);
}
function niceCeiling(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// ---- load balancers ----
// Rows are rebuilt at every refresh, except that an input the operator is editing keeps its
// value and focus, and an error shown for a field stays until the next attempt.
const drafts = new Map();   // input id → value being edited
const errors = new Map();   // field id → message

function drainedWeights() {
  try { return JSON.parse(sessionStorage.getItem(DRAINED_KEY) || "{}"); } catch (_) { return {}; }
}

function field(id, attributes) {
  const input = el("input", Object.assign({ id }, attributes));
  if (drafts.has(id)) input.value = drafts.get(id);
  input.addEventListener("input", () => drafts.set(id, input.value));
  const message = errors.get(id);
  const error = el("span", { className: "field-error", id: id + "-error", role: "alert", text: message || "" });
  if (message) { input.setAttribute("aria-invalid", "true"); }
  input.setAttribute("aria-describedby", id + "-error");
  return [input, error];
}

function slug(text) { return String(text).replace(/[^A-Za-z0-9]+/g, "-"); }

// An input the operator is typing into is not replaced under their fingers: its list waits
// for the next refresh after the edit.
function editing(list) {
  const active = document.activeElement;
  return active && active.tagName === "INPUT" && list.contains(active);
}

function renderLoadBalancers(status, config, rates) {
  if (editing($("lb-list"))) return;
  const focused = document.activeElement && document.activeElement.id;
  const byName = new Map(status.load_balancers.map((lb) => [lb.name, lb]));
  const list = config.load_balancers.map((lbConfig) => {
    const lb = byName.get(lbConfig.name) || { frontends: [], rules: [], backends: [] };
    const weights = drainedWeights();
    const rows = lb.backends.map((b) => {
      const key = `${lbConfig.name} ${b.backend}`;
      const drained = b.weight === 0;
      const health = drained ? (b.health === "up" ? "drained" : "down, drained") : b.health;
      const id = `w-${slug(lbConfig.name)}-${slug(b.backend)}`;
      const [input, error] = field(id, { type: "number", min: 0, max: 1000, step: 1, className: "weight",
        "aria-label": `Weight ${b.backend}`, value: String(b.weight) });
      if (!drafts.has(id)) input.value = String(b.weight);
      const form = el("form", { className: "weight-form", novalidate: true, onsubmit: (e) => {
        e.preventDefault(); setWeight(lbConfig.name, b.backend, input.value, id);
      } }, input, el("button", { type: "submit", text: "Set" }), error);
      return el("tr", { "data-backend": b.backend, className: b.health === "down" ? "is-down" : drained ? "is-drained" : null },
        el("th", { scope: "row", text: b.backend }),
        el("td", { className: `health ${b.health === "down" ? "down" : drained ? "drained" : "up"}`, text: health }),
        el("td", {}, form),
        el("td", { className: "num", text: rate(rates.dip.get(key)) }),
        el("td", { className: "num", text: fmt(b.packets) }),
        el("td", { className: "num", text: fmt(b.flows) }),
        el("td", {},
          el("button", { type: "button", id: `drain-${id}`, "aria-label": `Drain ${b.backend}`, "aria-pressed": drained ? "true" : "false",
            text: drained ? "Undrain" : "Drain",
            onclick: () => drained ? setWeight(lbConfig.name, b.backend, String(weights[key] || 1), id)
              : drain(lbConfig.name, b.backend, b.weight, id) }), " ",
          el("button", { type: "button", id: `remove-${id}`, className: "danger", "aria-label": `Remove ${b.backend}`, text: "Remove",
            onclick: () => removeBackend(lbConfig.name, b.backend) })));
    });
    const vips = lb.frontends.map((f) => {
      const key = `${lbConfig.name} ${f.vsid ? f.vsid + "/" : ""}${f.vip}`;
      return el("li", { "data-vip": f.vip }, el("strong", { text: (f.vsid ? `${f.vsid}/` : "") + f.vip }),
        ` ${rate(rates.vip.get(key))} packets/s in, ${fmt(f.packets_in)} in / ${fmt(f.packets_out)} out`);
    });
    const rules = (lbConfig.rules || []).map((r) =>
      el("li", { text: `${r.protocol} ${r.frontend_port} → ${r.backend_port}` + (r.load_distribution ? ` (${r.load_distribution})` : "") + (r.probe ? ` probe ${r.probe}` : "") }));
    const probes = (lbConfig.probes || []).map((p) => el("li", { text: `${p.name || ""} ${p.protocol || ""} ${p.port || ""} ${p.path || ""}`.trim() }));
    const base = `add-${slug(lbConfig.name)}`;
    const [vsid, vsidError] = field(base + "-vsid", { inputmode: "numeric", size: 6, "aria-label": `New backend VSID for ${lbConfig.name}` });
    const [ca, caError] = field(base + "-ca", { size: 14, "aria-label": `New backend CA for ${lbConfig.name}` });
    const [weight, weightError] = field(base + "-weight", { type: "number", min: 0, max: 1000, className: "weight", "aria-label": `New backend weight for ${lbConfig.name}` });
    const add = el("form", { className: "inline", novalidate: true, onsubmit: (e) => { e.preventDefault(); addBackend(lbConfig.name, vsid.value, ca.value, weight.value, base); } },
      el("label", {}, "VSID", vsid, vsidError), el("label", {}, "CA", ca, caError), el("label", {}, "Weight", weight, weightError),
      el("button", { type: "submit", text: "Add backend" }),
      el("span", { className: "field-error", id: base + "-form-error", role: "alert", text: errors.get(base + "-form") || "" }));
    return el("article", { className: "lb", "data-lb": lbConfig.name, id: `lb-${slug(lbConfig.name)}` },
      el("h3", { text: lbConfig.name }),
      el("ul", { className: "facts" },
        el("li", { text: `routing domain ${lbConfig.routing_domain}` }),
        el("li", {}, "VIPs: ", el("ul", { className: "facts vips" }, vips)),
        el("li", {}, "rules: ", el("ul", { className: "facts" }, rules)),
        probes.length ? el("li", {}, "probes: ", el("ul", { className: "facts" }, probes)) : null),
      el("div", { className: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, ...["DIP", "Health", "Weight", "Packets/s", "Packets", "Flows", "Actions"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, rows))),
      add);
  });
  $("lb-list").replaceChildren(...list);
  if (focused && $(focused)) $(focused).focus({ preventScroll: true });
}

function showErrors(error, fieldFor, fallback) {
  // Each API error goes to the field its key path names (last component), else to `fallback`.
  for (const e of error.errors) {
    const last = (e.path || "").split(".").pop().replace(/\[\d+\]$/, "");
    const id = fieldFor(last) || fallback;
    errors.set(id, errors.has(id) && errors.get(id) !== "" ? `${errors.get(id)}; ${e.message}` : e.message);
  }
}

async function change(ids, fallback, fieldFor, action, done) {
  for (const id of [...ids, fallback]) errors.delete(id);
  const focused = document.activeElement && document.activeElement.id;
  if (document.activeElement) document.activeElement.blur();
  try {
    await action();
    for (const id of ids) drafts.delete(id);
    banner(done, true);
  } catch (e) {
    if (e.status === 401) return;
    if (e.status === 412) banner("The configuration changed meanwhile; the view is refreshed, try again.");
    else banner("");
    showErrors(e, fieldFor, fallback);
  }
  await refresh();
  const invalid = ids.concat([fallback]).find((id) => errors.has(id) && $(id) && $(id).tagName === "INPUT");
  if (invalid) $(invalid).focus();
  else if (focused && $(focused)) $(focused).focus({ preventScroll: true });
}

function setWeight(lb, backend, value, id) {
  const [vsid, ca] = backend.split("/");
  const weight = Number(value);
  const body = { weight: Number.isInteger(weight) && String(value).trim() !== "" ? weight : value };
  return change([id], id, () => id, async () => {
    await api("PATCH", `/v1/load-balancers/${encodeURIComponent(lb)}/backends/${encodeURIComponent(vsid)}/${encodeURIComponent(ca)}`, body);
    if (weight !== 0) {
      const drained = drainedWeights();
      delete drained[`${lb} ${backend}`];
      sessionStorage.setItem(DRAINED_KEY, JSON.stringify(drained));
    }
  }, `${lb}: weight of ${backend} set to ${value}.`);
}

function drain(lb, backend, current, id) {
  if (!window.confirm(`Drain ${backend} of ${lb}? It gets no new flows; open flows stay.`)) return;
  const drained = drainedWeights();
  drained[`${lb} ${backend}`] = current;
  sessionStorage.setItem(DRAINED_KEY, JSON.stringify(drained));
  return setWeight(lb, backend, "0", id);
}

function lbBody(name) {
  const lb = state.config.load_balancers.find((l) => l.name === name);
  return JSON.parse(JSON.stringify(lb));
}

function addBackend(lb, vsid, ca, weight, base) {
  const body = lbBody(lb);
  const backend = { vsid: /^\d+$/.test(vsid.trim()) ? Number(vsid) : vsid, ca: ca.trim() };
  if (weight.trim() !== "") backend.weight = /^\d+$/.test(weight.trim()) ? Number(weight) : weight;
  body.backends.push(backend);
  const ids = [base + "-vsid", base + "-ca", base + "-weight"];
  return change(ids, base + "-form", (last) => ({ vsid: ids[0], ca: ids[1], weight: ids[2] })[last],
    () => api("PUT", `/v1/load-balancers/${encodeURIComponent(lb)}`, body), `${lb}: backend ${vsid}/${ca} added.`);
}

function removeBackend(lb, backend) {
  if (!window.confirm(`Remove backend ${backend} from ${lb}? Its flows end.`)) return;
  const body = lbBody(lb);
  body.backends = body.backends.filter((b) => `${b.vsid}/${b.ca}` !== backend);
  return change([], `add-${slug(lb)}-form`, () => null,
    () => api("PUT", `/v1/load-balancers/${encodeURIComponent(lb)}`, body), `${lb}: backend ${backend} removed.`);
}

// ---- routing domains ----
function renderRoutingDomains(config) {
  if (editing($("rd-list"))) return;
  const focused = document.activeElement && document.activeElement.id;
  const list = config.routing_domains.map((rd) => {
    const rows = (rd.lookup_records || []).map((r) => {
      const id = `lr-${slug(rd.name)}-${r.vsid}-${slug(r.ca)}`;
      const [pa, paError] = field(id + "-pa", { size: 14, "aria-label": `PA of ${r.vsid}/${r.ca}`, value: r.pa });
      const [mac, macError] = field(id + "-mac", { size: 17, "aria-label": `MAC of ${r.vsid}/${r.ca}`, value: r.mac });
      if (!drafts.has(id + "-pa")) pa.value = r.pa;
      if (!drafts.has(id + "-mac")) mac.value = r.mac;
      const form = el("form", { id: id + "-form", novalidate: true, onsubmit: (e) => {
        e.preventDefault(); putRecord(rd.name, r.vsid, r.ca, pa.value, mac.value, id);
      } });
      return el("tr", { "data-record": `${r.vsid}/${r.ca}` },
        el("th", { scope: "row", text: `${r.vsid}/${r.ca}` }),
        el("td", {}, pa, paError), el("td", {}, mac, macError),
        el("td", {}, form,
          el("button", { type: "submit", form: id + "-form", "aria-label": `Save ${r.vsid}/${r.ca}`, text: "Save" }), " ",
          el("button", { type: "button", id: id + "-delete", className: "danger", "aria-label": `Delete ${r.vsid}/${r.ca}`, text: "Delete",
            onclick: () => deleteRecord(rd.name, r.vsid, r.ca, id) }),
          el("span", { className: "field-error", id: id + "-row-error", role: "alert", text: errors.get(id + "-row") || "" })));
    });
    // Enter in a row's inputs submits that row's form.
    const base = `new-${slug(rd.name)}`;
    const [vsid, vsidError] = field(base + "-vsid", { size: 6, inputmode: "numeric", "aria-label": `New record VSID in ${rd.name}` });
    const [ca, caError] = field(base + "-ca", { size: 14, "aria-label": `New record CA in ${rd.name}` });
    const [pa, paError] = field(base + "-pa", { size: 14, "aria-label": `New record PA in ${rd.name}` });
    const [mac, macError] = field(base + "-mac", { size: 17, "aria-label": `New record MAC in ${rd.name}` });
    const add = el("form", { className: "inline", novalidate: true, onsubmit: (e) => {
      e.preventDefault(); putRecord(rd.name, vsid.value, ca.value, pa.value, mac.value, base);
    } }, el("label", {}, "VSID", vsid, vsidError), el("label", {}, "CA", ca, caError),
      el("label", {}, "PA", pa, paError), el("label", {}, "MAC", mac, macError),
      el("button", { type: "submit", text: "Add record" }),
      el("span", { className: "field-error", id: base + "-row-error", role: "alert", text: errors.get(base + "-row") || "" }));
    return el("article", { className: "lb", "data-domain": rd.name },
      el("h3", { text: rd.name }),
      el("ul", { className: "facts" }, el("li", { text: `VSIDs ${(rd.subnets || []).join(", ")}` }),
        el("li", { text: `gateway MAC ${rd.gateway_mac || "–"}` }),
        rd.probe_source ? el("li", { text: `probe source ${rd.probe_source}` }) : null),
      el("div", { className: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, ...["VSID/CA", "PA", "MAC", "Actions"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, rows))),
      add);
  });
  $("rd-list").replaceChildren(...list);
  if (focused && $(focused)) $(focused).focus({ preventScroll: true });
  // Enter inside a lookup-record row submits its form (the inputs live outside the <form>).
  for (const row of $("rd-list").querySelectorAll("tr[data-record]")) {
    for (const input of row.querySelectorAll("input")) input.setAttribute("form", row.querySelector("form").id);
  }
}

function putRecord(domain, vsid, ca, pa, mac, id) {
  const body = { vsid: /^\d+$/.test(String(vsid).trim()) ? Number(vsid) : vsid, ca: String(ca).trim(), pa: pa.trim(), mac: mac.trim() };
  const ids = [id + "-pa", id + "-mac"];
  if (id.startsWith("new-")) ids.unshift(id + "-vsid", id + "-ca");
  const fieldFor = (last) => ({ pa: id + "-pa", mac: id + "-mac", vsid: id.startsWith("new-") ? id + "-vsid" : null, ca: id.startsWith("new-") ? id + "-ca" : null })[last];
  return change(ids, id + "-row", fieldFor,
    () => api("PUT", `/v1/routing-domains/${encodeURIComponent(domain)}/lookup-records/${encodeURIComponent(body.vsid)}/${encodeURIComponent(body.ca)}`, body),
    `${domain}: lookup record ${body.vsid}/${body.ca} saved.`);
}

function deleteRecord(domain, vsid, ca, id) {
  if (!window.confirm(`Delete the lookup record ${vsid}/${ca} of ${domain}?`)) return;
  return change([], id + "-row", () => null,
    () => api("DELETE", `/v1/routing-domains/${encodeURIComponent(domain)}/lookup-records/${vsid}/${encodeURIComponent(ca)}`),
    `${domain}: lookup record ${vsid}/${ca} deleted.`);
}

// ---- start ----
document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout(""));
  if (sessionStorage.getItem(TOKEN_KEY)) start();
  else $("token").focus();
});
