// The province page: every center on one screen, most attention first, live from
// /api/v1/fleet/stream; a center's month beside the others. Same login as the control room.
"use strict";

const $ = (sel) => document.querySelector(sel);
const T = (key, vars) => window.I18N.t(key, vars);
const TZ = "Asia/Ho_Chi_Minh";

const state = {
  me: null,
  centers: new Map(), // key -> row from the API
  order: [], // keys, most attention first (the server's order)
  areas: [],
  counts: null,
  offset: 0, // server clock - local clock, ms (ages are computed from the server's time)
  source: null,
  live: false,
  open: null, // the center whose month is shown
};

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

const fmt = (value, digits = 0) => window.I18N.num(value, digits);

function ageText(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return T("age.s", { n: s });
  if (s < 3600) return T("age.m", { n: Math.floor(s / 60) });
  if (s < 86400) return T("age.h", { n: Math.floor(s / 3600) });
  return T("age.d", { n: Math.floor(s / 86400) });
}

function waitText(seconds) {
  return seconds === null || seconds === undefined ? "–" : T("province.minutes", { n: fmt(seconds / 60) });
}

// ---------------------------------------------------------------- login

async function start() {
  window.I18N.apply(document);
  for (const b of document.querySelectorAll(".lang-toggle")) b.addEventListener("click", switchLanguage);
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#area-filter").addEventListener("change", () => { render(); connect(); });
  setInterval(tick, 1000);
  try {
    state.me = await api("/api/v1/session");
    enter();
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
    enter();
  } catch (e) {
    if (e.status === 401) showLogin(T("login.bad"));
    else if (e.status === 429) showLogin(T("login.locked", { s: e.retryAfter || "?" }));
    else showLogin(e.status ? T("login.failed", { status: e.status }) : T("login.network"));
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
  renderUser();
  if (document.body.classList.contains("logged-in")) setLive(state.live);
  render();
  if (state.open) showMonth(state.open);
}

function renderUser() {
  if (!state.me) return;
  $("#user").textContent = `${state.me.name} (${T(`role.${state.me.role}`)})`;
}

function enter() {
  document.body.className = "logged-in";
  renderUser();
  connect();
}

// ---------------------------------------------------------------- live stream

function connect() {
  if (state.source) state.source.close();
  const area = $("#area-filter").value;
  const url = "/api/v1/fleet/stream" + (area ? `?area=${encodeURIComponent(area)}` : "");
  const source = new EventSource(url);
  state.source = source;
  source.onopen = () => setLive(true);
  source.onerror = async () => {
    setLive(false);
    if (source.readyState === EventSource.CLOSED) {
      try {
        await api("/api/v1/session");
        setTimeout(() => { if (state.source === source) connect(); }, 3000);
      } catch (e) {
        if (e.status === 401) showLogin(T("login.bad"));
      }
    }
  };
  source.addEventListener("centers", (event) => apply(JSON.parse(event.data)));
}

function setLive(live) {
  state.live = live;
  const status = $("#stream-status");
  status.className = `status ${live ? "live" : "down"}`;
  status.textContent = T(live ? "stream.live" : "stream.down");
  $("#stale-overlay").hidden = live;
}

function apply(frame) {
  if (frame.full) state.centers.clear();
  for (const row of frame.centers) state.centers.set(row.key, row);
  for (const key of frame.removed) state.centers.delete(key);
  state.order = frame.order;
  state.counts = frame.counts;
  state.offset = new Date(frame.time).getTime() - Date.now();
  for (const row of frame.centers) if (row.area && !state.areas.includes(row.area)) state.areas.push(row.area);
  render();
  // the open center's panel follows it live
  if (state.open && frame.centers.some((row) => row.key === state.open)) showCenter(state.open);
}

// ---------------------------------------------------------------- the board

function renderAreas() {
  const select = $("#area-filter");
  const chosen = select.value;
  const areas = [...state.areas].sort((a, b) => a.localeCompare(b, window.I18N.locale));
  select.replaceChildren(el("option", { value: "" }, T("province.all_areas")));
  for (const area of areas) select.append(el("option", { value: area, selected: area === chosen }, area));
}

function render() {
  renderAreas();
  const body = $("#centers tbody");
  const rows = state.order.map((key) => state.centers.get(key)).filter(Boolean);
  const focused = document.activeElement?.closest?.("#centers tbody tr")?.dataset.key;
  body.replaceChildren(...rows.map((row, i) => centerRow(row, i + 1)));
  // a row redrawn by a frame keeps the keyboard focus it had
  if (focused) body.querySelector(`tr[data-key="${CSS.escape(focused)}"]`)?.focus();
  $("#no-centers").hidden = rows.length > 0;
  const c = state.counts;
  $("#summary").textContent = c
    ? T("province.summary", {
      live: c.live, total: c.live + c.offline + c.never, people: fmt(c.people), alerts: c.open_alerts,
    })
    : "";
  tick();
}

// The link, its ages, and the center's own certificate when the server sends its days left
// (within the central file's nats.cert_warn_days; cert_days_left is null otherwise; 0 or
// less: expired).
function linkCell(row) {
  const td = el("td", {},
    el("span", { class: "link", "data-link": row.link, "data-seen": row.last_seen || "" }),
    el("span", { class: "sub ages", "data-data": row.data_seen || "", "data-beat": row.link_seen || "" }));
  const days = row.cert_days_left;
  if (days !== null && days !== undefined) {
    td.append(el("span", { class: "sub cert", "data-cert-days": String(days), title: row.cert_not_after || "" },
      days <= 0 ? T("link.cert_expired") : days === 1 ? T("link.cert_day") : T("link.cert_days", { n: days })));
  }
  return td;
}

function centerRow(row, rank) {
  const name = el("td", { class: "name" }, row.name);
  if (row.control_room) {
    name.append(el("a", {
      class: "sub control-room", href: row.control_room, target: "_blank", rel: "noopener",
    }, T("province.control_room")));
  }
  const levelKey = row.level || "unknown";
  const alerts = el("td", { class: "num alerts" }, String(row.open_alerts));
  if (row.critical_alerts) {
    alerts.classList.add("hot");
    alerts.append(el("span", { class: "sub" }, T("province.critical_alerts", { n: row.critical_alerts })));
  }
  const down = el("td", { class: "num devices-down" }, String(row.devices_down));
  if (row.devices_down) down.classList.add("hot");
  const wait = el("td", { class: "num wait" }, waitText(row.longest_wait_s));
  // over the province's wait threshold for this center: say which one (the reason of its rank)
  const over = row.reasons.includes("wait_act") ? ["act", row.wait_act_s]
    : row.reasons.includes("wait_watch") ? ["watch", row.wait_watch_s] : null;
  if (over && over[1] !== null) {
    wait.classList.add("hot");
    wait.setAttribute("data-over", over[0]);
    wait.append(el("span", { class: "sub wait-over" }, T("province.wait_over", { n: fmt(over[1] / 60) })));
  }
  const tr = el(
    "tr",
    { "data-key": row.key, "data-level": levelKey, "data-link": row.link, "data-attention": String(row.attention) },
    el("td", { class: "rank" }, String(rank)),
    name,
    el("td", { class: "area" }, row.area || "–"),
    el("td", { class: "level" }, el("span", { class: "badge", "data-level": levelKey }, T(`level.${row.level || "unknown"}`))),
    el("td", { class: "num people" }, fmt(row.people)),
    wait,
    alerts,
    down,
    linkCell(row),
  );
  if (state.open === row.key) tr.classList.add("open");
  tr.tabIndex = 0; // the month opens from the keyboard too
  tr.addEventListener("click", (e) => { if (!e.target.closest("a")) showMonth(row.key); });
  tr.addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === " ") && e.target === tr) { e.preventDefault(); showMonth(row.key); }
  });
  return tr;
}

// The clock and each center's age move every second without a frame from the server.
function tick() {
  const now = Date.now() + state.offset;
  $("#clock").textContent = new Date(now).toLocaleTimeString(window.I18N.locale, {
    timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  for (const span of document.querySelectorAll("#centers .link")) {
    const link = span.dataset.link;
    const seen = span.dataset.seen ? new Date(span.dataset.seen).getTime() : null;
    span.textContent = link === "offline" && seen !== null
      ? T("link.offline", { age: ageText((now - seen) / 1000) })
      : T(`link.${link}`);
  }
  // data age (zones unchanged at a live center) apart from link age (the gateway's heartbeat)
  for (const span of document.querySelectorAll("#centers .ages")) {
    const since = (at) => (at ? ageText((now - new Date(at).getTime()) / 1000) : null);
    const data = since(span.dataset.data);
    const beat = since(span.dataset.beat);
    span.textContent = [data && T("link.data_age", { age: data }), beat && T("link.beat_age", { age: beat })]
      .filter(Boolean).join(" · ");
  }
}

// ---------------------------------------------------------------- a center's month

async function showCenter(key) {
  const panel = $("#center-panel");
  try {
    const detail = await api(`/api/v1/fleet/centers/${encodeURIComponent(key)}`);
    if (state.open !== key) return;
    panel.hidden = false;
    const at = new Date(detail.center.last_seen || detail.time).toLocaleTimeString(window.I18N.locale, {
      timeZone: TZ, hour: "2-digit", minute: "2-digit",
    });
    $("#center-title").textContent = T("center.title", { name: detail.center.name, time: at });
    $("#center-zones tbody").replaceChildren(...detail.zones.map((z) => el("tr", { "data-zone": z.zone_id },
      el("td", {}, z.zone_id),
      el("td", {}, el("span", { class: "badge", "data-level": z.level || "unknown" }, T(`level.${z.level || "unknown"}`))),
      el("td", { class: "num" }, fmt(z.occupancy)),
      el("td", { class: "num" }, waitText(z.expected_wait_s)))));
    const problems = [
      ...detail.alerts.map((a) => el("li", { class: a.severity || "" }, T("center.alert", {
        severity: T(`severity.${a.severity}`), rule: a.rule || "", where: a.zone_id || a.device_id || "",
      }))),
      ...detail.devices.filter((d) => d.online === false).map((d) => el("li", { class: "device-down" },
        T("center.device_down", { device: d.device_id, detail: d.detail || "–" }))),
    ];
    $("#center-problems").replaceChildren(...problems);
  } catch (e) {
    if (state.open !== key) return;
    panel.hidden = false;
    $("#center-title").textContent = T("center.failed", { status: e.status || "?" });
    $("#center-zones tbody").replaceChildren();
    $("#center-problems").replaceChildren();
  }
}

async function showMonth(key) {
  state.open = key;
  showCenter(key);
  for (const tr of document.querySelectorAll("#centers tbody tr")) tr.classList.toggle("open", tr.dataset.key === key);
  const row = state.centers.get(key);
  const note = $("#month-note");
  try {
    const month = await api(`/api/v1/fleet/centers/${encodeURIComponent(key)}/month`);
    if (state.open !== key) return;
    $("#month-title").textContent = T("month.title", { name: row ? row.name : key, month: month.month });
    note.textContent = month.hours.length
      ? `${T("month.top", { hours: month.busiest.map((h) => T("month.hour", { h })).join(", ") })} ${T(`month.source.${month.wait_source}`)}`
      : T("month.empty");
    renderHours(month.hours);
    renderLeague(month.league);
  } catch (e) {
    if (state.open !== key) return;
    note.textContent = T("month.failed", { status: e.status || "?" });
    $("#month-hours tbody").replaceChildren();
    $("#league tbody").replaceChildren();
  }
}

function renderHours(hours) {
  const top = Math.max(1, ...hours.flatMap((h) => [h.people || 0, h.others_mean || 0]));
  const bar = (cls) => el("span", { class: `bar ${cls}` });
  $("#month-hours tbody").replaceChildren(...hours.map((h) => {
    const mine = bar("mine");
    mine.style.width = `${(75 * (h.people || 0)) / top}%`;
    const theirs = bar("others");
    theirs.style.width = `${(75 * (h.others_mean || 0)) / top}%`;
    return el("tr", { "data-hour": String(h.hour) },
      el("th", {}, T("month.hour", { h: h.hour })),
      el("td", { class: "cmp", title: T("month.this") }, mine, ` ${fmt(h.people)}`),
      el("td", { class: "cmp", title: T("month.others") }, theirs, ` ${fmt(h.others_mean)}`));
  }));
}

function renderLeague(league) {
  $("#league tbody").replaceChildren(...league.map((x) => el("tr", { class: x.this ? "this" : "", "data-key": x.key },
    el("td", {}, String(x.rank)),
    el("td", {}, x.name),
    el("td", { class: "num" }, waitText(x.mean_wait_s)),
    el("td", { class: "num" }, waitText(x.p90_wait_s)))));
}

document.addEventListener("DOMContentLoaded", start);
