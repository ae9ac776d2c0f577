// The planning views: "Kế hoạch quầy" (staffing plan, managers) and "HVAC" (advice, facility staff).
// Loaded after app.js, whose state and helpers it uses. Tabs only for the roles the API lets in.
"use strict";

const VIEWS = [
  { id: "floor", label: "view.floor", roles: null },
  { id: "staffing", label: "view.staffing", roles: new Set(["manager", "admin"]), load: () => showStaffing() },
  { id: "hvac", label: "view.hvac", roles: new Set(["facility", "admin"]), load: () => loadHvac() },
];
const HVAC_REFRESH_MS = 60000;
const MAX_WAIT_MIN = 120;
const BACKTEST_WEEKS = 4;
// backtest: undefined while it loads, null if there is none, an Error if it failed.
const planning = { view: "floor", staffing: null, backtest: undefined, chartGroup: "all", hvac: null, timer: null, chartsWidth: 0 };

// ---------------------------------------------------------------- tabs

function buildViews() {
  const allowed = VIEWS.filter((v) => !v.roles || v.roles.has(state.me.role));
  const nav = $("#views");
  nav.replaceChildren(...(allowed.length > 1 ? allowed : []).map((v) => {
    const tab = el("button", { type: "button", role: "tab", class: "view-tab", "data-view": v.id });
    tab.addEventListener("click", () => showView(v.id));
    return tab;
  }));
  nav.hidden = allowed.length <= 1;
  $("#staffing-date").addEventListener("change", () => loadStaffing());
  // The charts are drawn to the width they have: a narrower window redraws them.
  new ResizeObserver(() => {
    if (planning.view === "staffing" && $("#staffing-charts").clientWidth !== planning.chartsWidth) drawCharts();
  }).observe($("#staffing-charts"));
  showView("floor");
}

function showView(id) {
  planning.view = id;
  document.body.dataset.view = id;
  for (const tab of document.querySelectorAll("#views .view-tab")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === id));
  }
  clearInterval(planning.timer);
  if (id === "hvac") planning.timer = setInterval(loadHvac, HVAC_REFRESH_MS);
  VIEWS.find((v) => v.id === id)?.load?.();
  renderViews();
}

function renderViews() {
  for (const tab of document.querySelectorAll("#views .view-tab")) {
    tab.textContent = T(VIEWS.find((v) => v.id === tab.dataset.view).label);
  }
  if (planning.staffing) renderStaffing(planning.staffing);
  if (planning.hvac) renderHvac(planning.hvac);
}

function siteDate(offsetDays) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: state.site?.timezone || "Asia/Ho_Chi_Minh", year: "numeric", month: "2-digit", day: "2-digit",
  }).formatToParts(new Date(Date.now() + offsetDays * 86400000));
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

function dayText(isoDate) {
  return window.I18N.day(isoDate);
}

// A band's edge or a setting: whole numbers without decimals, others with one (26,5).
const bound = (v) => fmt(v, Number.isInteger(v) ? 0 : 1);

function hhmm(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString("en-GB", {
    timeZone: state.site?.timezone || "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit",
  });
}

// The reason in the page's language; the gateway's own words (English) in the tooltip.
function showError(box, e) {
  box.hidden = false;
  box.title = e.message || "";
  box.textContent = e.status === 503 ? T("plan.unavailable")
    : e.status ? T("plan.failed", { status: e.status }) : T("login.network");
}

// ---------------------------------------------------------------- staffing plan

// The forecast's check against what happened is read once per showing, after a plan came.
async function showStaffing() {
  planning.backtest = undefined;
  if (await loadStaffing()) loadBacktest();
}

async function loadStaffing() {
  const input = $("#staffing-date");
  if (!input.value) input.value = siteDate(1); // tomorrow, site time
  const day = input.value;
  $("#staffing-csv").href = `/api/v1/planning/staffing.csv?date=${encodeURIComponent(day)}`;
  $("#staffing-csv").setAttribute("download", `staffing-${day}.csv`);
  try {
    const plan = await api(`/api/v1/planning/staffing?date=${encodeURIComponent(day)}`);
    if (input.value !== day) return false; // the date changed meanwhile
    $("#staffing-error").hidden = true;
    planning.staffing = plan;
    renderStaffing(plan);
    return true;
  } catch (e) {
    if (e.status === 401) return showLogin();
    planning.staffing = null;
    $("#staffing-groups").replaceChildren();
    $("#staffing-charts").replaceChildren();
    $("#staffing-short").hidden = true;
    showError($("#staffing-error"), e);
    return false;
  }
}

function renderStaffing(plan) {
  const g0 = plan.groups[0];
  const basis = g0 ? T(`basis.${g0.forecast_basis}`) : "";
  $("#staffing-meta").textContent = T("staffing.meta", {
    day: dayText(plan.date),
    level: Math.round(plan.target_level * 100),
    wait: fmt(plan.target_wait_s / 60),
    source: T(`staffing.source.${plan.arrivals_source}`),
    basis: g0 ? `${basis} (${T("staffing.refdays", { n: g0.reference_days.length })})` : "–",
  });
  const names = new Map(plan.groups.map((g) => [g.id, g.name]));
  const short = plan.short_hours.map((s) => {
    const [group, hour] = s.split(" ");
    return `${names.get(group) || group} ${hour}:00`;
  });
  const summary = $("#staffing-short");
  summary.hidden = false;
  summary.className = `short-summary ${short.length ? "bad" : "good"}`;
  summary.textContent = short.length ? `⚠ ${T("staffing.short", { n: short.length, list: short.join(", ") })}`
    : `✔ ${T("staffing.no_short")}`;
  const open = plan.groups.some((g) => g.hours.length > 0);
  if (!open) {
    summary.hidden = true;
    $("#staffing-charts").replaceChildren();
    $("#staffing-groups").replaceChildren(el("p", { class: "muted" }, T("staffing.closed")));
    return;
  }
  $("#staffing-charts").replaceChildren(
    chartCard("counters", T("chart.counters.title"), groupPicker(plan)),
    chartCard("arrivals", T("chart.arrivals.title"), ""),
  );
  drawCharts();
  $("#staffing-groups").replaceChildren(totalCard(plan), ...plan.groups.map(groupCard));
}

const pad = (n) => String(n).padStart(2, "0");
const arrivalsText = (v) => fmt(v, v < 10 ? 1 : 0);

function hourTable(hours, rows) {
  const head = el("tr", {}, el("th", {}, T("staffing.hour")),
    ...hours.map((h) => el("th", { title: T("staffing.open_min", { m: h.open_minutes }) },
      `${pad(h.hour)}h`, h.open_minutes < 60 ? el("small", {}, `${h.open_minutes}′`) : "")));
  const body = rows.map(([label, cell]) => el("tr", {}, el("th", { title: T(label) }, T(label)), ...hours.map((h) => {
    const { text, cls = "", title = "" } = cell(h);
    return el("td", { class: cls, title, "data-hour": String(h.hour) }, text);
  })));
  return el("table", { class: "hours" }, el("thead", {}, head), el("tbody", {}, ...body));
}

function groupCard(g) {
  const rows = [
    ["staffing.arrivals", (h) => ({ text: arrivalsText(h.arrivals) })],
    ["staffing.counters", (h) => ({
      text: `${h.counters_needed}/${h.counters_available}`,
      cls: h.short ? "short counters" : "counters",
      title: h.short ? T("staffing.short_cell", { n: h.counters_needed, c: h.counters_available }) : "",
    })],
  ];
  if (g.hours.some((h) => h.counters_open_actual !== null)) {
    rows.push(["staffing.actual", (h) => ({ text: fmt(h.counters_open_actual, 1) })]);
  }
  // the counters' seat sensors: planned (the plan's counters) against staffed (somebody behind)
  if (g.hours.some((h) => h.counters_open_seats !== null && h.counters_open_seats !== undefined)) {
    rows.push(
      ["staffing.planned", (h) => ({ text: String(h.counters_staffed), cls: "planned" })],
      ["staffing.seats", (h) => seatsCell(h.counters_open_seats, h.counters_staffed)],
    );
  }
  rows.push(
    ["staffing.wait", (h) => waitCell(h.expected_wait_s)],
    ["staffing.occupancy", (h) => ({ text: `${Math.round(h.occupancy * 100)}%`, cls: h.occupancy >= 0.85 ? "high" : "" })],
  );
  const meta = T("staffing.group_meta", {
    c: g.counters, min: fmt(g.service_time_s / 60, 1), src: T(`staffing.st.${g.service_time_source}`),
  });
  const shortCount = g.hours.filter((h) => h.short).length;
  return el("section", { class: `card plan-group ${shortCount ? "has-short" : ""}`, "data-group": g.id },
    el("h3", {}, g.name, el("span", { class: "card-meta" }, meta)), hourTable(g.hours, rows));
}

// Counters with somebody behind them in the hour (mean); fewer than planned by half a
// counter or more is marked.
function seatsCell(seats, planned) {
  if (seats === null || seats === undefined) return { text: "–", cls: "seats" };
  const short = seats + 0.5 <= planned;
  return {
    text: fmt(seats, 1),
    cls: short ? "seats high" : "seats",
    title: short ? T("staffing.seats_short", { s: fmt(seats, 1), p: planned }) : "",
  };
}

// Mean wait in minutes; past two hours (or none: the queue grows all hour) the figure says
// only "the queue does not clear", the exact value is in the tooltip.
function waitCell(waitS) {
  if (waitS === null) return { text: "∞", cls: "short", title: T("staffing.grows") };
  const min = waitS / 60;
  if (min > MAX_WAIT_MIN) return { text: `>${MAX_WAIT_MIN}`, cls: "short", title: T("staffing.minutes", { m: fmt(min) }) };
  const target = planning.staffing?.target_wait_s ?? 900;
  return { text: fmt(min, min < 10 ? 1 : 0), cls: waitS > target ? "high" : "" };
}

// The whole center per open hour: arrivals and counters summed over the groups; the counters
// actually open only where every group open in that hour has the figure (else null).
function centerHours(plan) {
  const byHour = new Map();
  for (const g of plan.groups) for (const h of g.hours) {
    const t = byHour.get(h.hour) || {
      hour: h.hour, open_minutes: h.open_minutes, arrivals: 0, needed: 0, available: 0, short: 0, open: 0,
    };
    t.arrivals += h.arrivals;
    t.needed += h.counters_needed;
    t.available += h.counters_available;
    t.short += h.short ? 1 : 0;
    t.open = t.open === null || h.counters_open_actual === null ? null : t.open + h.counters_open_actual;
    t.open_minutes = Math.max(t.open_minutes, h.open_minutes);
    byHour.set(h.hour, t);
  }
  return [...byHour.values()].sort((a, b) => a.hour - b.hour);
}

function totalCard(plan) {
  const hours = centerHours(plan);
  // The center's counters are the same every hour (as a rule): then one figure in the label.
  const have = new Set(hours.map((h) => h.available));
  const same = have.size === 1 ? [...have][0] : null;
  const rows = [
    ["staffing.arrivals", (h) => ({ text: arrivalsText(h.arrivals) })],
    [same === null ? "staffing.counters" : T("staffing.needed_of", { c: same }), (h) => ({
      text: same === null ? `${h.needed}/${h.available}` : String(h.needed), cls: "counters",
    })],
    ["staffing.groups_short", (h) => ({ text: h.short ? String(h.short) : "–", cls: h.short ? "short" : "" })],
  ];
  const total = fmt(hours.reduce((s, h) => s + h.arrivals, 0));
  return el("section", { class: "card plan-total", "data-group": "all" },
    el("h3", {}, T("staffing.total"), el("span", { class: "card-meta" }, T("staffing.total_meta", { n: total }))),
    hourTable(hours, rows));
}

// ---------------------------------------------------------------- charts above the tables

// The forecast against what happened, hour by hour over the recent open days (the backtest
// the plan's method gets on this site's history); read once per showing of the view.
async function loadBacktest() {
  try {
    const results = await api(`/api/v1/planning/backtest?weeks=${BACKTEST_WEEKS}`);
    planning.backtest = results.find((r) => r.group === "all") || null;
  } catch (e) {
    if (e.status === 401) return showLogin();
    planning.backtest = e;
  }
  drawCharts();
}

function chartCard(key, title, meta) {
  return el("section", { class: "card chart-card", "data-chart": key },
    el("h3", {}, title, el("span", { class: "card-meta" }, meta)), el("div", { class: "chart-box" }));
}

// Which hours the counters chart shows: the whole center, or one service group (kept across
// dates while the plan has that group).
function groupPicker(plan) {
  if (!plan.groups.some((g) => g.id === planning.chartGroup)) planning.chartGroup = "all";
  const picker = el("select", { id: "chart-group", "aria-label": T("chart.group") },
    el("option", { value: "all" }, T("staffing.total")),
    ...plan.groups.map((g) => el("option", { value: g.id }, g.name)));
  picker.value = planning.chartGroup;
  picker.addEventListener("change", () => {
    planning.chartGroup = picker.value;
    drawCharts();
  });
  return picker;
}

// One group's hours in the shape of centerHours'.
function groupHours(g) {
  return g.hours.map((h) => ({
    hour: h.hour, open_minutes: h.open_minutes, arrivals: h.arrivals, needed: h.counters_needed,
    available: h.counters_available, short: h.short ? 1 : 0, open: h.counters_open_actual,
  }));
}

const hourText = (hour) => `${pad(hour)}h`;
const dm = (isoDate) => `${isoDate.slice(8, 10)}/${isoDate.slice(5, 7)}`;

function drawCharts() {
  const box = $("#staffing-charts");
  planning.chartsWidth = box.clientWidth;
  const counters = box.querySelector('[data-chart="counters"] .chart-box');
  if (counters && planning.staffing) counters.replaceChildren(countersChart(planning.staffing, counters.clientWidth));
  const arrivals = box.querySelector('[data-chart="arrivals"]');
  if (arrivals && planning.backtest === undefined) {
    arrivals.querySelector(".chart-box").replaceChildren(el("p", { class: "muted chart-empty" }, T("chart.loading")));
  } else if (arrivals) drawArrivals(arrivals, planning.backtest);
}

function countersChart(plan, width) {
  const group = plan.groups.find((g) => g.id === planning.chartGroup);
  const hours = group ? groupHours(group) : centerHours(plan);
  if (!hours.length) return el("p", { class: "muted chart-empty" }, T("chart.group_closed"));
  const peak = hours.reduce((a, b) => (b.needed > a.needed ? b : a));
  const have = [...new Set(hours.map((h) => h.available))];
  const short = hours.filter((h) => h.short).length;
  const desc = T("chart.counters.desc", {
    day: dayText(plan.date), from: hourText(hours[0].hour), to: hourText(hours.at(-1).hour),
    max: peak.needed, at: hourText(peak.hour), have: have.length === 1 ? have[0] : `${Math.min(...have)}–${Math.max(...have)}`,
    short: short ? T(group ? "chart.group_short_hours" : "chart.short_hours", { n: short }) : T("chart.no_short"),
    who: group ? group.name : T("staffing.total"),
  });
  return hourChart({
    id: "chart-counters", title: `${T("chart.counters.title")} – ${group ? group.name : T("staffing.total")}`, desc, hours, width, integer: true,
    series: [
      { key: "needed", label: T("chart.needed"), kind: "bar", values: hours.map((h) => h.needed), cls: (i) => (hours[i].short ? "short" : "") },
      { key: "available", label: T("chart.available"), kind: "level", values: hours.map((h) => h.available) },
      ...(hours.some((h) => h.open !== null)
        ? [{ key: "open", label: T("chart.open"), kind: "points", values: hours.map((h) => h.open) }] : []),
    ],
    notes: short ? [{ key: "short", label: T(group ? "chart.group_short" : "chart.short"), cls: "short" }] : [],
    tip: (i) => {
      const h = hours[i];
      const text = T("chart.tip.counters", { h: hourText(h.hour), n: h.needed, c: h.available });
      return h.open === null ? text : `${text}; ${T("chart.tip.open", { o: fmt(h.open, 1) })}`;
    },
  });
}

function drawArrivals(card, backtest) {
  const box = card.querySelector(".chart-box");
  const meta = card.querySelector(".card-meta");
  if (backtest === null || backtest instanceof Error || !backtest.hours?.length) {
    meta.textContent = "";
    const reason = backtest instanceof Error
      ? (backtest.status === 503 ? T("plan.unavailable") : T("plan.failed", { status: backtest.status || "–" }))
      : T("chart.no_backtest");
    box.replaceChildren(el("p", { class: "muted chart-empty", title: backtest?.message || "" }, reason));
    return;
  }
  const hours = backtest.hours.map((h) => ({ hour: h.hour, forecast: h.mean_actual + h.bias, actual: h.mean_actual, days: h.days }));
  const days = backtest.days;
  const bias = backtest.bias_pct === null ? ""
    : ` · ${T(backtest.bias_pct >= 0 ? "chart.bias.high" : "chart.bias.low", { p: fmt(Math.abs(backtest.bias_pct) * 100) })}`;
  meta.textContent = T("chart.arrivals.meta", {
    n: days.length, first: dm(days[0]), last: dm(days.at(-1)),
    wape: backtest.wape === null ? "–" : fmt(backtest.wape * 100),
  }) + bias;
  const peak = hours.reduce((a, b) => (b.actual > a.actual ? b : a));
  const desc = T("chart.arrivals.desc", {
    n: days.length, first: dm(days[0]), last: dm(days.at(-1)),
    at: hourText(peak.hour), a: fmt(peak.actual, 1), f: fmt(peak.forecast, 1),
  }) + bias;
  box.replaceChildren(hourChart({
    id: "chart-arrivals", title: T("chart.arrivals.title"), desc, hours, width: box.clientWidth,
    series: [
      { key: "forecast", label: T("chart.forecast"), kind: "bar", values: hours.map((h) => h.forecast) },
      { key: "actual", label: T("chart.actual"), kind: "points", values: hours.map((h) => h.actual) },
    ],
    tip: (i) => T("chart.tip.arrivals", {
      h: hourText(hours[i].hour), f: fmt(hours[i].forecast, 1), a: fmt(hours[i].actual, 1), d: hours[i].days,
    }),
  }));
}

// ---------------------------------------------------------------- HVAC advice

async function loadHvac() {
  try {
    const advice = await api("/api/v1/planning/hvac");
    $("#hvac-error").hidden = true;
    planning.hvac = advice;
    renderHvac(advice);
  } catch (e) {
    if (e.status === 401) return showLogin();
    showError($("#hvac-error"), e);
  }
}

function renderHvac(advice) {
  const order = [...state.zonesCfg.keys()];
  const worst = (a) => (a.actions.some((x) => x.severity === "warning") ? 0 : a.actions.length ? 1 : 2);
  const sorted = [...advice].sort((a, b) => worst(a) - worst(b) || order.indexOf(a.zone) - order.indexOf(b.zone));
  $("#hvac-meta").textContent = advice.length
    ? T("hvac.meta", { at: timeText(advice[0].at), std: T(`hvac.std.${advice[0].outdoor_air.standard}`) }) : "";
  $("#hvac-zones").replaceChildren(...(sorted.length ? sorted.map(hvacCard)
    : [el("p", { class: "muted" }, T("hvac.none"))]));
}

function hvacCard(a) {
  const name = state.zonesCfg.get(a.zone)?.name || a.zone;
  const trend = a.occupancy_trend_per_h;
  const people = `${fmt(a.occupancy)} ${T("people")}` + (trend === null ? "" : ` (${trend >= 0 ? "+" : ""}${fmt(trend)}${T("hvac.per_h")})`);
  const band = a.band;
  const row = (label, value, unit, digits, status, range) => el("tr", {},
    el("th", {}, T(label)),
    el("td", { class: `v ${status || ""}` }, value === null ? "–" : `${fmt(value, digits)}${unit}`),
    el("td", { class: "muted" }, range));
  const figures = el("table", { class: "hvac-figures" }, el("tbody", {},
    row("climate.temp", a.temperature_c, " °C", 1, a.status.temperature, `${bound(band.temperature_c[0])}–${bound(band.temperature_c[1])} °C`),
    row("climate.rh", a.humidity_pct, "%", 0, a.status.humidity, `${bound(band.humidity_pct[0])}–${bound(band.humidity_pct[1])}%`),
    el("tr", {}, el("th", {}, "CO₂"),
      el("td", { class: `v ${a.status.co2 || ""}` }, a.co2_ppm === null ? "–" : `${fmt(a.co2_ppm)} ppm`),
      el("td", { class: "muted" }, `≤ ${fmt(band.co2_ppm_max)} ppm`)),
    el("tr", {}, el("th", {}, T("hvac.outdoor_air")),
      el("td", { class: "v" }, `${fmt(a.outdoor_air.needed_m3h)} m³/h`),
      el("td", { class: "muted" }, a.outdoor_air.estimated_m3h === null ? ""
        : T("hvac.estimated", { v: fmt(a.outdoor_air.estimated_m3h) })))));
  const actions = a.actions.map((x) => el("li", { class: `action ${x.severity}`, "data-code": x.code, title: x.message },
    el("span", { class: "badge" }, T(`hvac.code.${x.code}`)), " ", actionText(a, x)));
  // No advice is "nothing to change" only if there were figures to judge.
  const missing = [["temperature", a.temperature_c], ["humidity", a.humidity_pct], ["co2", a.co2_ppm]]
    .filter(([, v]) => v === null).map(([k]) => T(`hvac.missing.${k}`));
  if (missing.length === 3) {
    actions.push(el("li", { class: "action no-data", "data-code": "no_data" }, T("hvac.no_data")));
  } else if (!actions.length) {
    actions.push(el("li", { class: "action none" }, `✔ ${missing.length
      ? T("hvac.ok_partial", { missing: missing.join(", ") }) : T("hvac.ok")}`));
  }
  return el("section", { class: "card hvac-zone", "data-zone": a.zone },
    el("h3", {}, name, el("span", { class: `chip ${a.open ? "open" : "closed"}` }, T(a.open ? "hvac.open" : "hvac.closed"))),
    el("p", { class: "hvac-people" }, people),
    figures,
    el("ul", { class: "actions" }, ...actions));
}

// Said by the page from the payload's figures, in its language (the gateway's own Vietnamese
// sentence is in the tooltip); a code the page does not know shows the gateway's sentence.
function actionText(a, x) {
  const variant = `hvac.say.${x.code}.${x.severity}`; // e.g. CO₂ near the limit (info), not over it
  const key = window.I18N.has(variant) ? variant : `hvac.say.${x.code}`;
  if (!window.I18N.has(key)) return x.message;
  return T(key, {
    needed: fmt(a.outdoor_air.needed_m3h), co2: fmt(a.co2_ppm), max: fmt(a.band.co2_ppm_max),
    n: fmt(a.occupancy), t: fmt(a.temperature_c, 1), hi: bound(a.band.temperature_c[1]), lo: bound(a.band.temperature_c[0]),
    rh: fmt(a.humidity_pct), rh_hi: bound(a.band.humidity_pct[1]), rh_lo: bound(a.band.humidity_pct[0]),
    start: hhmm(a.precool_start), rise: hhmm(a.rise_at),
  });
}
