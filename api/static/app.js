// The control-room page: floor plans coloured by crowd level, alerts, climate, devices.
// Everything comes from /api/v1 (same origin, session cookie); live updates from the SSE stream.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const LEVELS = ["calm", "busy", "crowded", "critical"];
const WRITERS = new Set(["supervisor", "admin"]);
const $ = (sel) => document.querySelector(sel);
const T = (key, vars) => window.I18N.t(key, vars);

const state = {
  me: null,
  site: null,
  zonesCfg: new Map(), // id -> zone plan from /site
  zones: new Map(), // id -> live zone state
  alerts: new Map(), // id -> alert (not resolved)
  devices: new Map(), // id -> {device_id, kind, health}
  deviceNames: new Map(),
  seenCritical: new Set(JSON.parse(sessionStorage.getItem("fw-seen") || "[]")),
  source: null,
  live: false,
};

// ---------------------------------------------------------------- helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    ...options,
  });
  let body = null;
  if (response.status !== 204) body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body?.error?.message || response.statusText);
    error.status = response.status;
    error.retryAfter = response.headers.get("Retry-After");
    throw error;
  }
  return body;
}

function timeText(iso) {
  if (!iso) return "";
  const tz = state.site?.timezone || "Asia/Ho_Chi_Minh";
  return new Date(iso).toLocaleTimeString(window.I18N.lang === "vi" ? "vi-VN" : "en-GB", {
    timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

function fmt(value, digits = 0) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

// ---------------------------------------------------------------- login

async function start() {
  window.I18N.apply(document);
  for (const b of document.querySelectorAll(".lang-toggle")) b.addEventListener("click", switchLanguage);
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#critical-seen").addEventListener("click", markCriticalSeen);
  $("#zone-close").addEventListener("click", () => { state.openZone = null; $("#zone-detail").hidden = true; });
  setInterval(() => { $("#clock").textContent = timeText(new Date().toISOString()); }, 1000);
  try {
    state.me = await api("/api/v1/session");
    await enterRoom();
  } catch (e) {
    showLogin();
  }
}

function showLogin(message) {
  document.body.className = "logged-out";
  const err = $("#login-error");
  err.hidden = !message;
  err.textContent = message || "";
  $("#token").focus();
}

async function login(event) {
  event.preventDefault();
  const token = $("#token").value;
  try {
    state.me = await api("/api/v1/session", { method: "POST", body: JSON.stringify({ token }) });
    $("#token").value = "";
    await enterRoom();
  } catch (e) {
    if (e.status === 401) showLogin(T("login.bad"));
    else if (e.status === 429) showLogin(T("login.locked", { s: e.retryAfter || "?" }));
    else showLogin(T("login.failed", { status: e.status || "network" }));
  }
}

async function logout() {
  if (state.source) state.source.close();
  await api("/api/v1/session", { method: "DELETE" }).catch(() => null);
  location.reload();
}

function switchLanguage() {
  window.I18N.toggle();
  window.I18N.apply(document);
  if (state.site) renderAll();
}

async function enterRoom() {
  document.body.className = "logged-in";
  if (WRITERS.has(state.me.role)) document.body.classList.add("can-write");
  $("#user").textContent = `${state.me.name} (${state.me.role})`;
  const [site, cameras, sensors] = await Promise.all([
    api("/api/v1/site"), api("/api/v1/cameras"), api("/api/v1/sensors"),
  ]);
  state.site = site;
  $("#site-name").textContent = site.name;
  for (const floor of site.floors) for (const z of floor.zones) state.zonesCfg.set(z.id, z);
  for (const c of cameras) {
    state.deviceNames.set(c.id, c.name);
    state.devices.set(c.id, { device_id: c.id, kind: "camera", health: c.health });
  }
  for (const s of sensors) {
    state.deviceNames.set(s.id, s.id);
    state.devices.set(s.id, { device_id: s.id, kind: "sensor", health: s.health });
  }
  buildPlans();
  renderAll();
  connect();
}

// ---------------------------------------------------------------- live stream

function connect() {
  const source = new EventSource("/api/v1/stream");
  state.source = source;
  source.onopen = () => setLive(true);
  source.onerror = async () => {
    setLive(false);
    if (source.readyState === EventSource.CLOSED) {
      // The server refused the stream (session expired?) or went away: check, then retry.
      try {
        await api("/api/v1/session");
        setTimeout(connect, 3000);
      } catch (e) {
        if (e.status === 401) showLogin();
        else setTimeout(connect, 3000);
      }
    }
  };
  source.addEventListener("snapshot", (m) => {
    const snap = JSON.parse(m.data);
    state.zones = new Map(snap.zones.map((z) => [z.zone_id, z]));
    state.alerts = new Map(snap.alerts.filter((a) => a.state !== "resolved").map((a) => [a.id, a]));
    for (const d of snap.devices) state.devices.set(d.device_id, d);
    setLive(true);
    renderAll();
  });
  source.addEventListener("zone", (m) => {
    const z = JSON.parse(m.data).zone;
    state.zones.set(z.zone_id, z);
    renderZone(z.zone_id);
    if (state.openZone === z.zone_id) renderZoneDetail();
    renderTotals();
    renderClimate();
  });
  source.addEventListener("alert", (m) => {
    const { alert, transition } = JSON.parse(m.data);
    upsertAlert(alert);
    if (transition === "raised" && alert.severity === "critical") state.seenCritical.delete(alert.id);
  });
  source.addEventListener("device", (m) => {
    const d = JSON.parse(m.data).device;
    state.devices.set(d.device_id, d);
    renderDevices();
  });
}

function setLive(live) {
  state.live = live;
  const status = $("#stream-status");
  status.textContent = T(live ? "stream.live" : "stream.down");
  status.className = `status ${live ? "live" : "down"}`;
  document.body.classList.toggle("stream-down", !live);
  $("#stale-overlay").hidden = live;
}

function upsertAlert(alert) {
  if (alert.state === "resolved") state.alerts.delete(alert.id);
  else state.alerts.set(alert.id, alert);
  renderAlerts();
}

// ---------------------------------------------------------------- floor plans

function buildPlans() {
  const box = $("#floor-plans");
  box.replaceChildren();
  for (const floor of state.site.floors) {
    const plan = svg("svg", {
      viewBox: `-0.5 -0.5 ${floor.width_m + 1} ${floor.depth_m + 1}`,
      class: "plan",
      role: "img",
      "aria-label": floor.name,
      "data-floor": floor.id,
    });
    plan.append(svg("rect", { x: 0, y: 0, width: floor.width_m, height: floor.depth_m, class: "outline" }));
    for (const zone of floor.zones) {
      const g = svg("g", { class: "zone", "data-zone": zone.id, tabindex: "0" });
      g.addEventListener("click", () => openZone(zone.id));
      const points = zone.polygon.map(([x, y]) => `${x},${y}`).join(" ");
      g.append(svg("polygon", { points, "data-zone": zone.id }));
      const [cx, cy] = centroid(zone.polygon);
      const size = Math.max(0.9, Math.min(2.2, Math.sqrt(zone.area_m2) / 6));
      const xs = zone.polygon.map((p) => p[0]);
      const width = Math.max(...xs) - Math.min(...xs);
      const name = zoneName(zone.name, cx, cy - size * 0.9, size * 0.6, width);
      const count = svg("text", { x: cx, y: cy + size * 0.35, class: "zone-count", "font-size": size * 1.3 });
      const level = svg("text", { x: cx, y: cy + size * 1.2, class: "zone-level", "font-size": size * 0.55 });
      g.append(name, count, level);
      plan.append(g);
    }
    const title = el("h2", { class: "floor-title" });
    const figure = el("figure", { class: "floor", "data-floor": floor.id }, title, plan);
    box.append(figure);
  }
}

// The zone's name, on one line or two, as large as fits the zone's width (up to maxSize).
function zoneName(text, x, y, maxSize, width) {
  const fit = (line) => Math.min(maxSize, (0.92 * width) / (0.56 * Math.max(1, line.length)));
  const node = svg("text", { x, y, class: "zone-name" });
  let lines = [text];
  if (fit(text) < maxSize * 0.7 && text.includes(" ")) {
    const mid = text.length / 2;
    let cut = -1;
    for (let i = 0; i < text.length; i++) {
      if (text[i] === " " && (cut < 0 || Math.abs(i - mid) < Math.abs(cut - mid))) cut = i;
    }
    lines = [text.slice(0, cut), text.slice(cut + 1)];
  }
  const size = Math.min(...lines.map(fit));
  node.setAttribute("font-size", size);
  lines.forEach((line, i) => {
    const span = svg("tspan", { x, dy: i === 0 ? (lines.length > 1 ? -size * 1.1 : 0) : size * 1.1 });
    span.textContent = line;
    node.append(span);
  });
  return node;
}

function centroid(polygon) {
  const n = polygon.length;
  return [polygon.reduce((s, p) => s + p[0], 0) / n, polygon.reduce((s, p) => s + p[1], 0) / n];
}

function renderZone(zoneId) {
  const z = state.zones.get(zoneId);
  const cfg = state.zonesCfg.get(zoneId);
  const g = document.querySelector(`g.zone[data-zone="${CSS.escape(zoneId)}"]`);
  if (!g || !cfg) return;
  const level = z ? z.level : "calm";
  g.setAttribute("data-level", level);
  g.querySelector(".zone-count").textContent = z ? `${z.occupancy}/${cfg.capacity}` : "–";
  g.querySelector(".zone-level").textContent = T(`level.${level}`);
}

function renderTotals() {
  let people = 0;
  for (const z of state.zones.values()) people += z.occupancy;
  $("#site-total").textContent = T("total", { n: people });
  for (const floor of state.site.floors) {
    const n = floor.zones.reduce((s, z) => s + (state.zones.get(z.id)?.occupancy || 0), 0);
    const title = document.querySelector(`figure[data-floor="${CSS.escape(floor.id)}"] .floor-title`);
    title.textContent = `${floor.name} — ${n} ${T("people")}`;
  }
}

function renderLegend() {
  $("#legend").replaceChildren(...LEVELS.map((l) => el("li", { "data-level": l }, T(`level.${l}`))));
}

// ---------------------------------------------------------------- zone detail

async function openZone(zoneId) {
  state.openZone = zoneId;
  $("#zone-detail").hidden = false;
  renderZoneDetail();
  const box = $("#zone-history");
  box.replaceChildren(el("p", { class: "muted" }, "…"));
  const start = new Date(Date.now() - 8 * 3600 * 1000).toISOString();
  try {
    const h = await api(`/api/v1/zones/${encodeURIComponent(zoneId)}/history?resolution=15m&start=${encodeURIComponent(start)}`);
    if (state.openZone === zoneId) box.replaceChildren(sparkline(h));
  } catch (e) {
    if (state.openZone === zoneId) box.replaceChildren(el("p", { class: "muted" }, T("zone.no_history")));
  }
}

function renderZoneDetail() {
  const id = state.openZone;
  const cfg = state.zonesCfg.get(id);
  const z = state.zones.get(id);
  if (!cfg) return;
  $("#zone-title").textContent = cfg.name;
  $("#zone-summary").textContent = z
    ? `${z.occupancy}/${cfg.capacity} ${T("people")} · ${T(`level.${z.level}`)} · ${fmt(z.density_per_m2, 2)} ${T("zone.per_m2")}`
      + (z.level_of_service ? ` · LOS ${z.level_of_service}` : "")
    : "–";
  $("#zone-method").textContent = z
    ? `${T("zone.method")}: ${z.method} · ${T("zone.confidence")} ${Math.round(z.confidence * 100)} %`
      + (z.disagreement ? ` · ⚠ ${T("zone.disagreement")}` : "")
    : "";
  $("#zone-sources").replaceChildren(...(z?.sources || []).map((src) =>
    el("li", { class: `source ${src.fresh ? "fresh" : "stale"} ${src.used ? "used" : ""}` },
      `${src.source_id} (${src.kind}): ${fmt(src.count)} · ${T(src.fresh ? "zone.fresh" : "zone.stale")}`
      + (src.used ? "" : ` · ${T("zone.unused")}`))));
}

function sparkline(h) {
  // The busiest source per bucket: max of the means.
  const byTime = new Map();
  for (const series of h.occupancy) for (const p of series.points) {
    const t = Date.parse(p.time);
    byTime.set(t, Math.max(byTime.get(t) ?? 0, p.mean ?? 0));
  }
  const points = [...byTime.entries()].sort((a, b) => a[0] - b[0]);
  if (points.length < 2) return el("p", { class: "muted" }, T("zone.no_history"));
  const cap = state.zonesCfg.get(h.zone_id)?.capacity || 1;
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const top = Math.max(cap, ...points.map((p) => p[1]));
  const chart = svg("svg", { viewBox: "0 0 100 30", class: "spark", preserveAspectRatio: "none" });
  chart.append(svg("line", { x1: 0, x2: 100, y1: 30 - (cap / top) * 28, y2: 30 - (cap / top) * 28, class: "cap" }));
  chart.append(svg("polyline", {
    points: points.map(([t, v]) => `${((t - t0) / (t1 - t0)) * 100},${30 - (v / top) * 28}`).join(" "),
  }));
  return chart;
}

// ---------------------------------------------------------------- alerts

function alertValue(a) {
  if (a.value === null || a.value === undefined) return "";
  if (a.rule === "waiting_time") return String(Math.round(a.value / 60));
  if (a.rule === "spool_backlog") return String(Math.round(a.value * 100));
  return fmt(a.value, Number.isInteger(a.value) ? 0 : 1);
}

function alertText(a) {
  const key = `rule.${a.rule}`;
  if (!window.I18N.has(key)) return a.message;
  const zone = state.zonesCfg.get(a.zone_id)?.name || a.zone_id || a.subject || "";
  const device = state.deviceNames.get(a.device_id) || a.device_id || "";
  const level = state.zones.get(a.zone_id)?.level;
  const subject = a.subject || "";
  return T(key, { zone, device, subject, value: alertValue(a), level: level ? T(`level.${level}`) : "" });
}

function sortedAlerts() {
  const rank = { critical: 0, warning: 1, info: 2 };
  return [...state.alerts.values()].sort((a, b) =>
    (a.state === "active" ? 0 : 1) - (b.state === "active" ? 0 : 1)
    || rank[a.severity] - rank[b.severity]
    || b.raised_at.localeCompare(a.raised_at));
}

function renderAlerts() {
  const list = $("#alerts");
  const alerts = sortedAlerts();
  list.replaceChildren(...alerts.map(alertItem));
  $("#alert-count").textContent = String(alerts.length);
  $("#no-alerts").hidden = alerts.length > 0;
  renderBanner();
}

function alertItem(a) {
  const item = el("li", { class: `alert ${a.severity} ${a.state}`, "data-alert": a.id, "data-state": a.state });
  const head = el("div", { class: "alert-head" },
    el("span", { class: "badge" }, T(`severity.${a.severity}`)),
    el("span", { class: "alert-state" }, T(`state.${a.state}`)),
    el("time", {}, timeText(a.raised_at)));
  item.append(head, el("p", { class: "alert-text" }, alertText(a)));
  if (a.acknowledged_by) {
    item.append(el("p", { class: "alert-by" }, `✔ ${T("alerts.by", { who: a.acknowledged_by, at: timeText(a.acknowledged_at) })}`));
  }
  if (a.note) item.append(el("p", { class: "alert-note" }, a.note));
  const note = el("input", { type: "text", class: "note", maxLength: 500, placeholder: T("alerts.note") });
  const actions = el("div", { class: "alert-actions writer-only" }, note);
  if (a.state === "active") actions.append(actionButton(a, "acknowledge", note));
  actions.append(actionButton(a, "resolve", note));
  item.append(actions);
  return item;
}

function actionButton(a, action, note) {
  const label = action === "acknowledge" ? "alerts.ack" : "alerts.resolve";
  const button = el("button", { type: "button", class: `do-${action}` }, T(label));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const body = JSON.stringify({ note: note.value.trim() || null });
      upsertAlert(await api(`/api/v1/alerts/${encodeURIComponent(a.id)}/${action}`, { method: "POST", body }));
    } catch (e) {
      button.disabled = false;
      if (e.status === 401) showLogin();
      else window.alert(T("alerts.failed", { msg: e.message }));
    }
  });
  return button;
}

function renderBanner() {
  const open = sortedAlerts().filter((a) => a.severity === "critical" && a.state === "active"
    && !state.seenCritical.has(a.id));
  const banner = $("#critical-banner");
  banner.hidden = open.length === 0;
  document.body.classList.toggle("critical-open", open.length > 0);
  if (open.length) $("#critical-text").textContent = `${T("banner.critical")}: ${alertText(open[0])}`
    + (open.length > 1 ? ` (+${open.length - 1})` : "");
}

function markCriticalSeen() {
  for (const a of state.alerts.values()) if (a.severity === "critical") state.seenCritical.add(a.id);
  sessionStorage.setItem("fw-seen", JSON.stringify([...state.seenCritical]));
  renderBanner();
}

// ---------------------------------------------------------------- climate, devices

function renderClimate() {
  const rows = [];
  for (const floor of state.site.floors) for (const cfg of floor.zones) {
    const c = state.zones.get(cfg.id)?.climate || {};
    const cell = (value, digits, status, unit) =>
      el("td", { class: `v ${status || ""}` }, value === null || value === undefined ? "–" : `${fmt(value, digits)}${unit}`);
    rows.push(el("tr", { "data-zone": cfg.id },
      el("th", {}, cfg.name),
      cell(c.temperature_c, 1, c.temperature_status, " °C"),
      cell(c.humidity_pct, 0, c.humidity_status, " %"),
      cell(c.co2_ppm, 0, c.co2_status, "")));
  }
  $("#climate tbody").replaceChildren(...rows);
}

function renderDevices() {
  const devices = [...state.devices.values()];
  const status = (d) => (d.health ? (d.health.online ? "online" : "offline") : "unknown");
  const order = { offline: 0, unknown: 1, online: 2 };
  devices.sort((a, b) => order[status(a)] - order[status(b)] || a.device_id.localeCompare(b.device_id));
  $("#devices").replaceChildren(...devices.map((d) => {
    const s = status(d);
    const extra = d.health?.fps !== null && d.health?.fps !== undefined ? ` · ${fmt(d.health.fps, 1)} fps`
      : d.health?.battery_pct !== null && d.health?.battery_pct !== undefined ? ` · 🔋${fmt(d.health.battery_pct)} %` : "";
    return el("li", { class: `device ${s}`, "data-device": d.device_id, title: d.health?.detail || "" },
      el("span", { class: "dot" }), `${state.deviceNames.get(d.device_id) || d.device_id} — ${T(`devices.${s}`)}${extra}`);
  }));
  const off = devices.filter((d) => status(d) === "offline").length;
  $("#devices-summary").textContent = T("devices.summary", { off, all: devices.length });
}

function renderAll() {
  for (const id of state.zonesCfg.keys()) renderZone(id);
  renderTotals();
  renderLegend();
  renderAlerts();
  renderClimate();
  renderDevices();
  setLive(state.live);
}

document.addEventListener("DOMContentLoaded", start);
