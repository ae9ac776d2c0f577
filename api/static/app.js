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
  serviceNames: new Map(), // service group id -> name from /site
  seenCritical: new Set(JSON.parse(sessionStorage.getItem("fw-seen") || "[]")),
  source: null,
  live: false,
  alertErrors: new Map(), // alert id -> the error of the last action on it, shown inline
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
  return new Date(iso).toLocaleTimeString(window.I18N.locale, {
    timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

// A figure as the page's language writes it (vi: 28,9 and 3.000), "–" when there is none.
function fmt(value, digits = 0) {
  return window.I18N.num(value, digits);
}

// The label of a value from the API (a role, a method), or the value itself if it has none.
function label(prefix, value) {
  return window.I18N.has(`${prefix}.${value}`) ? T(`${prefix}.${value}`) : value;
}

// ---------------------------------------------------------------- login

async function start() {
  window.I18N.apply(document);
  for (const b of document.querySelectorAll(".lang-toggle")) b.addEventListener("click", switchLanguage);
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#critical-seen").addEventListener("click", markCriticalSeen);
  $("#zone-close").addEventListener("click", closeZone);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && state.openZone) closeZone(); });
  setInterval(() => { $("#clock").textContent = timeText(new Date().toISOString()); }, 1000);
  try {
    state.me = await api("/api/v1/session");
    await enterRoom();
  } catch (e) {
    showLogin();
  }
}

// The zone's detail closes with its ✕ or Escape; the focus goes back to the zone.
function closeZone() {
  const zoneId = state.openZone;
  state.openZone = null;
  $("#zone-detail").hidden = true;
  if (zoneId) document.querySelector(`g.zone[data-zone="${CSS.escape(zoneId)}"]`)?.focus();
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
  // The submit is the user gesture browsers want before a page may sound (alarm.js).
  if ($("#login-sound").checked) enableAlarmSound();
  else disableAlarmSound();
  const token = $("#token").value;
  try {
    state.me = await api("/api/v1/session", { method: "POST", body: JSON.stringify({ token }) });
    $("#token").value = "";
    await enterRoom();
  } catch (e) {
    if (e.status === 401) showLogin(T("login.bad"));
    else if (e.status === 429) showLogin(T("login.locked", { s: e.retryAfter || "?" }));
    else showLogin(e.status ? T("login.failed", { status: e.status }) : T("login.network"));
  }
}

async function logout() {
  if (state.source) state.source.close();
  stopAlarm();
  await api("/api/v1/session", { method: "DELETE" }).catch(() => null);
  location.reload();
}

function switchLanguage() {
  window.I18N.toggle();
  window.I18N.apply(document);
  if (state.site) renderAll();
  renderViews();
}

async function enterRoom() {
  document.body.className = "logged-in";
  if (WRITERS.has(state.me.role)) document.body.classList.add("can-write");
  renderUser();
  const [site, cameras, sensors] = await Promise.all([
    api("/api/v1/site"), api("/api/v1/cameras"), api("/api/v1/sensors"),
  ]);
  state.site = site;
  $("#site-name").textContent = site.name;
  $("#site-name").title = site.name; // the top bar may cut a long name short
  for (const floor of site.floors) for (const z of floor.zones) state.zonesCfg.set(z.id, z);
  for (const s of site.services) state.serviceNames.set(s.id, s.name);
  for (const c of cameras) {
    state.deviceNames.set(c.id, c.name);
    state.devices.set(c.id, { device_id: c.id, kind: "camera", health: c.health });
  }
  for (const s of sensors) {
    state.deviceNames.set(s.id, s.id);
    state.devices.set(s.id, { device_id: s.id, kind: "sensor", health: s.health });
  }
  buildPlans();
  buildViews();
  renderAll();
  connect();
  if (WRITERS.has(state.me.role)) pollDeadLetters();
  pollCounters(); // counters.js: the counter seats, every few seconds
}

// Dead letters per sensor (supervisor, admin): shown in the device list, every 30 s.
const deadLetters = new Map(); // sensor id -> payloads it sent that could not be decoded

async function pollDeadLetters() {
  try {
    const body = await api("/api/v1/dead-letters?limit=0");
    deadLetters.clear();
    for (const { sensor, count } of body.per_sensor) deadLetters.set(sensor, count);
    renderDevices();
  } catch (e) {
    if (e.status === 401) return; // logged out: the login screen takes over
  }
  setTimeout(pollDeadLetters, 30000);
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
    if (transition === "raised" && alert.severity === "critical") state.seenCritical.delete(alert.id);
    upsertAlert(alert);
    alarmOnAlert(alert, transition);
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
  if (!state.alerts.has(alert.id)) state.alertErrors.delete(alert.id);
  renderAlerts();
}

// ---------------------------------------------------------------- alerts

function alertValue(a) {
  if (a.value === null || a.value === undefined) return "";
  if (a.rule === "waiting_time") return fmt(a.value / 60);
  if (a.rule === "spool_backlog") return fmt(a.value * 100);
  return fmt(a.value, Number.isInteger(a.value) ? 0 : 1);
}

function alertText(a) {
  const untargeted = a.rule === "waiting_time" && !a.threshold;
  const key = untargeted ? "rule.waiting_time.no_target" : `rule.${a.rule}`;
  if (!window.I18N.has(key)) return a.message;
  const zone = state.zonesCfg.get(a.zone_id)?.name || a.zone_id || a.subject || "";
  const device = state.deviceNames.get(a.device_id) || a.device_id || "";
  // A crowd alert says the zone's level now; before the zone's state has come, its severity's.
  // A zone whose level is not known now (no source, or only a lower bound) does not
  // lend it: the alert then says its own severity's, never "calm" beside a crowd alert.
  const zone_ = state.zones.get(a.zone_id);
  const shownLevel = zone_ ? zoneShown(zone_).level : "unknown";
  const level = shownLevel !== "unknown" ? shownLevel : (a.severity === "critical" ? "critical" : "crowded");
  const service = a.rule === "waiting_time" ? state.serviceNames.get(a.subject) : undefined;
  const subject = service || a.subject || "";
  const target = untargeted ? "" : fmt((a.threshold || 0) / 60);
  return T(key, {
    zone, device, subject, target, value: alertValue(a), level: T(`level.alert.${level}`),
  });
}

// The note as people wrote it: the gateway appends an audit stamp ("[acknowledged by … from …
// at …]", English, UTC) that the line above already says in the page's language; it stays in
// the tooltip.
function noteText(note) {
  return (note || "").replace(/\s*\[(?:acknowledged|resolved) by [^\]]* at [^\]]*\]/g, "").trim();
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
  // The list is redrawn on every change: keep the focused alert (or its note, as typed).
  const focused = document.activeElement?.closest?.("li.alert");
  const focusId = focused?.dataset.alert;
  const inNote = document.activeElement?.matches?.("input.note");
  const notes = new Map([...list.querySelectorAll("li.alert")].map((li) => [li.dataset.alert, li.querySelector("input.note").value]));
  list.replaceChildren(...alerts.map(alertItem));
  for (const li of list.querySelectorAll("li.alert")) li.querySelector("input.note").value = notes.get(li.dataset.alert) || "";
  const again = focusId && list.querySelector(`li.alert[data-alert="${CSS.escape(focusId)}"]`);
  if (again) (inNote ? again.querySelector("input.note") : again).focus();
  $("#alert-count").textContent = String(alerts.length);
  $("#no-alerts").hidden = alerts.length > 0;
  renderBanner();
  updateAlarm();
}

function alertItem(a) {
  const item = el("li", {
    class: `alert ${a.severity} ${a.state}`, "data-alert": a.id, "data-state": a.state, tabIndex: 0,
  });
  // Keyboard: "a" acknowledges the focused alert (not while typing its note).
  item.addEventListener("keydown", (e) => {
    if (e.target !== item || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "a" || e.key === "A") {
      e.preventDefault();
      const current = state.alerts.get(a.id) || a;
      if (current.state === "active") alertAction(current, "acknowledge", item.querySelector("input.note"), null);
    }
  });
  const head = el("div", { class: "alert-head" },
    el("span", { class: "badge" }, T(`severity.${a.severity}`)),
    el("span", { class: "alert-state" }, T(`state.${a.state}`)),
    el("time", {}, timeText(a.raised_at)));
  item.append(head, el("p", { class: "alert-text" }, alertText(a)));
  if (a.acknowledged_by) {
    item.append(el("p", { class: "alert-by" }, `✔ ${T("alerts.by", { who: a.acknowledged_by, at: timeText(a.acknowledged_at) })}`));
  }
  const note = noteText(a.note);
  if (note) item.append(el("p", { class: "alert-note", title: a.note }, note));
  if (typeof deliveriesElement === "function") item.append(deliveriesElement(a)); // notify.js
  const input = el("input", { type: "text", class: "note", maxLength: 500, placeholder: T("alerts.note") });
  const actions = el("div", { class: "alert-actions writer-only" }, input);
  if (a.state === "active") actions.append(actionButton(a, "acknowledge", input));
  actions.append(actionButton(a, "resolve", input));
  item.append(actions);
  const error = state.alertErrors.get(a.id);
  if (error) item.append(el("p", { class: "alert-error", role: "alert", title: error.detail }, T(error.key, error.vars)));
  return item;
}

function actionButton(a, action, note) {
  const label = action === "acknowledge" ? "alerts.ack" : "alerts.resolve";
  const button = el("button", { type: "button", class: `do-${action}` }, T(label));
  button.addEventListener("click", () => alertAction(a, action, note, button));
  return button;
}

// Acknowledge or resolve; a refusal is said inside the alert (never a browser dialog), in the
// page's language, the gateway's own words in the tooltip.
async function alertAction(a, action, note, button) {
  if (button) button.disabled = true;
  state.alertErrors.delete(a.id);
  try {
    const body = JSON.stringify({ note: note?.value.trim() || null });
    upsertAlert(await api(`/api/v1/alerts/${encodeURIComponent(a.id)}/${action}`, { method: "POST", body }));
  } catch (e) {
    if (button) button.disabled = false;
    if (e.status === 401) return showLogin();
    const [key, vars] = e.status === 403 || e.status === 409 ? [`alerts.failed.${e.status}`, {}]
      : e.status ? ["alerts.failed", { status: e.status }] : ["login.network", {}];
    state.alertErrors.set(a.id, { key, vars, detail: e.message || "" });
    renderAlerts();
  }
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
      cell(c.humidity_pct, 0, c.humidity_status, "%"),
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
    const extra = d.health?.fps !== null && d.health?.fps !== undefined ? ` · ${T("devices.fps", { v: fmt(d.health.fps, 1) })}`
      : d.health?.battery_pct !== null && d.health?.battery_pct !== undefined ? ` · ${T("devices.battery")} ${fmt(d.health.battery_pct)}%` : "";
    const dead = deadLetters.get(d.device_id);
    return el("li", { class: `device ${s}`, "data-device": d.device_id, title: d.health?.detail || "" },
      el("span", { class: "dot" }), `${state.deviceNames.get(d.device_id) || d.device_id} — ${T(`devices.${s}`)}${extra}`,
      dead ? el("span", { class: "dead-letters" }, ` · ${T("devices.dead_letters", { n: dead })}`) : "");
  }));
  const off = devices.filter((d) => status(d) === "offline").length;
  $("#devices-summary").textContent = T("devices.summary", { off, all: devices.length });
}

function renderUser() {
  if (state.me) $("#user").textContent = `${state.me.name} (${label("role", state.me.role)})`;
}

function renderAll() {
  renderUser();
  for (const id of state.zonesCfg.keys()) renderZone(id);
  renderTotals();
  renderLegend();
  renderAlerts();
  renderClimate();
  renderDevices();
  renderCounters();
  setLive(state.live);
}

document.addEventListener("DOMContentLoaded", start);
